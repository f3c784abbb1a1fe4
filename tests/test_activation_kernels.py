"""The activation kernel family (bias + relu family in the forward product's
epilogue, the relu family's derivative in the backward one) on every ISA.

The forward check is exact: with small integers in X, W and b every product
and sum is exact in float32 and float64, whatever the GEMM's order or FMAs, so
the hidden layer's activations must equal NumPy's bit for bit; an output layer
W = I, b = 0 returns them as the logits. The backward check compares each ISA's
gradient with the NumPy backend's.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_kernel_registry import supported_isas

import pyfastnn
from pyfastnn.mlp import NonFiniteResultError

ISAS = supported_isas()
RELU_FAMILY = {  # activation: (param, NumPy reference)
    "identity": (None, lambda z, p: z),
    "relu": (None, lambda z, p: np.where(z < 0, 0, z)),
    "scaled_relu": (2.5, lambda z, p: p * np.where(z < 0, 0, z)),
    "leaky_relu": (0.25, lambda z, p: np.where(z < 0, p * z, z)),
}
# Widths that cover whole and partial vectors and micro-tiles on every ISA.
HIDDEN = [1, 7, 26, 33, 100]


@pytest.fixture
def restore_kernel():
    before = pyfastnn.kernel_info()["isa"]
    yield
    pyfastnn.set_kernel(before)


def integer_net(activation: str, hidden: int, dtype: str, rng) -> tuple[pyfastnn.MLP, np.ndarray]:
    param = RELU_FAMILY[activation][0]
    model = pyfastnn.MLP(
        [9, hidden, hidden], activation, dtype=dtype, activation_param=param, seed=0
    )
    W1 = rng.integers(-3, 4, size=(9, hidden)).astype(dtype)
    b1 = rng.integers(-4, 5, size=hidden).astype(dtype)
    model.weights = [W1, np.eye(hidden, dtype=dtype)]
    model.biases = [b1, np.zeros(hidden, dtype=dtype)]
    X = rng.integers(-2, 3, size=(67, 9)).astype(dtype)
    return model, X


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("activation", list(RELU_FAMILY))
def test_forward_epilogue_is_exact(isa, dtype, hidden, activation, restore_kernel) -> None:
    rng = np.random.default_rng(hidden)
    model, X = integer_net(activation, hidden, dtype, rng)
    param, reference = RELU_FAMILY[activation]
    W1, b1 = model.weights[0], model.biases[0]
    Z = X @ W1 + b1  # exact: small integers
    assert (Z < 0).any() and (Z > 0).any()  # both sides of the kink are tested
    expected = reference(Z, param).astype(dtype)
    pyfastnn.set_kernel(isa)
    got = model.decision_function(X)
    assert got.dtype == np.dtype(dtype)
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("row", [0, 33, 66])
def test_overflow_in_the_epilogue_is_reported(isa, activation, row, restore_kernel) -> None:
    """A hidden value that overflows (finite inputs) is flagged by the kernel,
    in any row and in a partial vector: the forward pass raises."""
    rng = np.random.default_rng(0)
    model, X = integer_net(activation, 33, "float64", rng)
    W1 = model.weights[0].copy()
    W1[:, 32] = 0.0  # the last column: a partial vector on every ISA
    W1[0, 32] = 1e308
    model.weights = [W1, model.weights[1]]
    X[:, 0] = 0.0
    X[row, 0] = 2.0
    pyfastnn.set_kernel(isa)
    with pytest.raises(NonFiniteResultError, match="overflowed") as err:
        model.decision_function(X)
    assert err.value.culprit is None
    X[row, 0] = 1.0  # 1e308: no overflow, no error
    assert np.isfinite(model.decision_function(X)).all()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("activation", ["relu", "scaled_relu", "leaky_relu"])
def test_backward_matches_numpy_backend(isa, activation, restore_kernel) -> None:
    rng = np.random.default_rng(1)
    param = RELU_FAMILY[activation][0]
    model = pyfastnn.MLP([12, 37, 5], activation, dtype="float64", activation_param=param, seed=3)
    X = rng.standard_normal((50, 12))
    y = rng.integers(0, 5, size=50)
    model.backend = "vector"
    loss_ref, grad_ref = model.loss_and_grad(X, y)
    model.backend = "native"
    pyfastnn.set_kernel(isa)
    loss, grad = model.loss_and_grad(X, y)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad.flat, grad_ref.flat, rtol=1e-10, atol=1e-12)
