"""Bad input to the public API: a clear TypeError/ValueError naming the argument,
or correct handling -- never a crash.

Every error message of the package starts with the argument's name followed by
a colon ("X: ...", "weights[0]: ..."), so the checks below anchor on that.

"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, _native, gradcheck, matmul

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["loop", "vector", "native"]
METHODS = ["forward", "loss", "loss_and_grad", "input_grad"]


def named(name: str) -> str:
    """Regex: the message starts with ``name:``."""
    return "^" + re.escape(name) + ":"


def run(model: MLP, method: str, X: object, y: object = None) -> tuple:
    """Call ``method``; return everything it computed as a tuple of arrays/floats."""
    if method == "forward":
        return (model.forward(X),)
    if method == "loss":
        return (model.loss(X, y),)
    if method == "loss_and_grad":
        loss, grads = model.loss_and_grad(X, y)
        return (loss, grads.flat)
    if method == "input_grad":
        return (model.input_grad(X, y),)
    raise AssertionError(method)


def assert_same(a: tuple, b: tuple) -> None:
    assert len(a) == len(b)
    for u, v in zip(a, b):
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype, (u.dtype, v.dtype)
        assert u.shape == v.shape, (u.shape, v.shape)
        assert np.array_equal(u, v), f"max difference {np.max(np.abs(u - v))}"


def make_model(backend: str, sizes=(3, 4, 2), dtype="float32", **kw) -> MLP:
    model = MLP(list(sizes), dtype=dtype, backend=backend, seed=1, **kw)
    rng = np.random.default_rng(7)
    model.biases = [rng.normal(scale=0.3, size=b.shape) for b in model.biases]
    return model


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


# ============================================================================
# MLP constructor
# ============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "sizes, exc",
    [
        (5, TypeError),
        ("3,4", TypeError),
        (b"\x03\x04", TypeError),
        (None, TypeError),
        ({3, 4}, TypeError),
        (3.5, TypeError),
        ([], ValueError),
        ([3], ValueError),
        ((7,), ValueError),
        ([3, 0], ValueError),
        ([0, 3], ValueError),
        ([3, -2], ValueError),
        ([3, 4, 0, 2], ValueError),
        ([3, 2.0], TypeError),
        ([3, 2.5], TypeError),
        ([3, "2"], TypeError),
        ([3, None], TypeError),
        ([3, True], TypeError),
        ([False, 3], TypeError),
        ([3, np.float64(2)], TypeError),
    ],
)
def test_layer_sizes_invalid(backend, sizes, exc):
    with pytest.raises(exc, match=named("layer_sizes")):
        MLP(sizes, backend=backend)


@pytest.mark.parametrize("sizes", [(3, 2), [np.int64(3), np.int32(2)], range(3, 1, -1)])
def test_layer_sizes_valid_sequences(sizes):
    model = MLP(sizes)
    assert model.layer_sizes == (3, 2)
    assert all(type(s) is int for s in model.layer_sizes)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["relu6", "", "RELU", None, 1, "softmax"])
def test_unknown_activation(backend, activation):
    expected = ValueError if isinstance(activation, str) else TypeError
    with pytest.raises(expected, match=named("activation")):
        MLP([3, 2], activation=activation, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["linear", "", "Softmax", None, 0, "relu"])
def test_unknown_output(backend, output):
    expected = ValueError if isinstance(output, str) else TypeError
    with pytest.raises(expected, match=named("output")):
        MLP([3, 2], output=output, backend=backend)


@pytest.mark.parametrize("arg", ["activation", "output"])
def test_unhashable_activation_or_output(arg):
    with pytest.raises((TypeError, ValueError), match=named(arg)):
        MLP([3, 2], **{arg: ["relu"]})


@pytest.mark.parametrize("backend", ["gpu", "", "Native", None, 1, ["native"]])
def test_unknown_backend(backend):
    with pytest.raises(ValueError, match=named("backend")):
        MLP([3, 2], backend=backend)


@pytest.mark.parametrize("backend", ["gpu", None, "NATIVE"])
def test_backend_setter_rejects_and_keeps_old_value(backend):
    model = MLP([3, 2], backend="vector")
    with pytest.raises(ValueError, match=named("backend")):
        model.backend = backend
    assert model.backend == "vector"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "dtype", ["float16", "int32", "int64", "bool", "complex128", "bogus", np.complex64, int, "U3"]
)
def test_unknown_dtype(backend, dtype):
    with pytest.raises(TypeError, match=named("dtype")):
        MLP([3, 2], dtype=dtype, backend=backend)


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", np.float32, np.dtype("float64"), "f4", "<f8"]
)
def test_valid_dtype_spellings(dtype):
    assert MLP([3, 2], dtype=dtype).dtype == np.dtype(dtype)


def test_dtype_none_rejected():
    with pytest.raises(TypeError, match=named("dtype")):
        MLP([3, 2], dtype=None)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "sigmoid", "softplus", "gelu"])
@pytest.mark.parametrize("param", [0.0, 1.0, 5.0])
def test_activation_param_for_activation_without_one(backend, activation, param):
    with pytest.raises(ValueError, match=named("activation_param")):
        MLP([3, 4, 2], activation=activation, activation_param=param, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "c, exc",
    [
        (0.0, ValueError),
        (0, ValueError),
        (-1.0, ValueError),
        (-1e-300, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (float("-inf"), ValueError),
        ("5", TypeError),
        (True, TypeError),
        ([5.0], TypeError),
    ],
)
def test_scaled_relu_bad_c(backend, c, exc):
    with pytest.raises(exc, match=named("activation_param")):
        MLP([3, 4, 2], activation="scaled_relu", activation_param=c, backend=backend)


@pytest.mark.parametrize(
    "alpha, exc",
    [(float("nan"), ValueError), (float("inf"), ValueError), ("0.1", TypeError), (1j, TypeError)],
)
def test_leaky_relu_bad_alpha(alpha, exc):
    with pytest.raises(exc, match=named("activation_param")):
        MLP([3, 4, 2], activation="leaky_relu", activation_param=alpha)


def test_activation_params_accepted():
    assert (
        MLP([3, 4, 2], activation="scaled_relu", activation_param=np.float32(2)).activation_param
        == 2.0
    )
    assert MLP([3, 4, 2], activation="scaled_relu", activation_param=3).activation_param == 3.0
    assert MLP([3, 4, 2], activation="scaled_relu").activation_param == 5.0
    assert MLP([3, 4, 2], activation="leaky_relu").activation_param == 0.01


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [-1, -(2**70), 1.5, "3", None, True, np.float64(2.0), [1]])
def test_bad_seed(backend, seed):
    with pytest.raises((TypeError, ValueError), match=named("seed")):
        MLP([3, 2], seed=seed, backend=backend)
    model = MLP([3, 2], backend=backend)
    before = model.params.copy()
    with pytest.raises((TypeError, ValueError), match=named("seed")):
        model.reset_parameters(seed)
    assert np.array_equal(model.params, before)


def test_negative_seed_is_a_value_error():
    with pytest.raises(ValueError, match=named("seed")):
        MLP([3, 2], seed=-1)


def test_valid_seeds():
    a = MLP([3, 2], seed=np.int64(5))
    b = MLP([3, 2], seed=5)
    c = MLP([3, 2], seed=2**70)
    assert np.array_equal(a.params, b.params)
    assert c.params.shape == a.params.shape


def test_layer_sizes_too_large_named():
    try:
        MLP([2**62, 2])
    except MemoryError:
        return
    except ValueError as err:
        assert re.match(named("layer_sizes"), str(err)), str(err)
        return
    raise AssertionError("no error")


# ============================================================================
# X
# ============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "X, exc",
    [
        (np.ones(3), ValueError),  # 1-D
        (np.ones((2, 3, 1)), ValueError),  # 3-D
        (np.float32(1.0), ValueError),  # 0-D
        (np.ones((2, 4)), ValueError),  # too many columns
        (np.ones((2, 2)), ValueError),  # too few columns
        (np.ones((2, 0)), ValueError),
        (np.ones((0, 3)), ValueError),  # empty batch
        (np.ones((0, 0)), ValueError),
        ([[]], ValueError),
        ("abc", TypeError),
        (b"abc", TypeError),
        (None, TypeError),
        ([["a", "b", "c"], ["d", "e", "f"]], TypeError),
        ([[1, 2, 3], [1, 2]], TypeError),  # ragged
        ([[1, 2, 3], None], TypeError),
        (np.ones((2, 3), dtype=np.complex128), TypeError),
        (np.ones((2, 3), dtype=np.complex64), TypeError),
        (np.ones((2, 3), dtype=object), TypeError),
        (np.array([["1", "2", "3"]] * 2), TypeError),
        (np.zeros((2, 3), dtype="datetime64[s]"), TypeError),
        ({"a": 1}, TypeError),
    ],
)
def test_bad_X(backend, method, X, exc):
    model = make_model(backend)
    with pytest.raises(exc, match=named("X")):
        run(model, method, X, np.array([0, 1]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["int64", "int8", "uint16", "bool", "float64", "float16", "list"])
def test_X_converted_to_model_dtype(backend, method, kind, rng):
    model = make_model(backend, dtype="float32")
    Xi = rng.integers(-3, 4, size=(5, 3))
    X = Xi.tolist() if kind == "list" else Xi.astype(kind)
    if kind == "float64":
        X = X + rng.normal(size=X.shape)
    y = np.array([0, 1, 1, 0, 1])
    expected = run(model, method, np.asarray(X).astype(np.float32), y)
    assert_same(run(model, method, X, y), expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
def test_float32_X_into_float64_model(backend, method, rng):
    model = make_model(backend, dtype="float64")
    X = rng.normal(size=(4, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0])
    assert_same(run(model, method, X, y), run(model, method, X.astype(np.float64), y))


def _layouts(rng: np.random.Generator, dtype: str) -> dict[str, np.ndarray]:
    big = rng.normal(size=(12, 7)).astype(dtype)
    ro = big[:6, :3].copy()
    ro.flags.writeable = False
    return {
        "column_slice": big[:6, 2:5],
        "transposed": np.ascontiguousarray(rng.normal(size=(3, 6)).astype(dtype)).T,
        "row_strided": big[::2, :3],
        "both_strided": big[::2, ::2][:, :3],
        "negative_strides": big[::-2, 5:2:-1],
        "fortran": np.asfortranarray(big[:6, :3]),
        "broadcast": np.broadcast_to(big[0, :3], (6, 3)),
        "read_only": ro,
        "big_endian": big[:6, :3].astype(np.dtype(dtype).newbyteorder(">")),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "layout",
    [
        "column_slice",
        "transposed",
        "row_strided",
        "both_strided",
        "negative_strides",
        "fortran",
        "broadcast",
        "read_only",
        "big_endian",
    ],
)
def test_X_layouts_match_contiguous_copy(backend, method, dtype, layout, rng):
    X = _layouts(rng, dtype)[layout]
    assert X.shape == (6, 3)
    model = make_model(backend, dtype=dtype)
    y = np.array([0, 1, 1, 0, 1, 0])
    before = X.copy()
    expected = run(model, method, np.ascontiguousarray(X, dtype=dtype), y)
    assert_same(run(model, method, X, y), expected)
    assert np.array_equal(X, before)  # the caller's array is left alone


@pytest.mark.parametrize(
    "backend",
    [
        "loop",
        "vector",
        "native",
    ],
)
def test_X_with_dtype_metadata(backend, rng):
    dt = np.dtype(np.float64, metadata={"unit": "m"})
    X = rng.normal(size=(4, 3)).astype(dt)
    assert X.dtype == np.float64
    model = make_model(backend, dtype="float64")
    y = np.array([0, 1, 1, 0])
    for method in METHODS:
        assert_same(run(model, method, X, y), run(model, method, X.astype(np.float64), y))


# ============================================================================
# y
# ============================================================================

N = 4


def _softmax_model(backend: str) -> MLP:
    return make_model(backend, sizes=(3, 5, 3), dtype="float64")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["loss", "loss_and_grad", "input_grad"])
@pytest.mark.parametrize(
    "y, exc",
    [
        (np.array([0.0, 1.0, 2.0, 0.0]), TypeError),  # float labels
        (np.array([0, 1, 2, 0], dtype=np.float32), TypeError),
        (np.array([0.5, 1.0, 2.0, 0.0]), TypeError),
        (np.array([True, False, True, False]), TypeError),
        (np.array([0, 1, 2, 0], dtype=np.complex128), TypeError),
        (np.array([0, 1, 2, 0], dtype=object), TypeError),
        (None, TypeError),
        ("0120", TypeError),
        (np.array([[0], [1], [2], [0]]), ValueError),  # 2-D labels
        (np.eye(3, dtype=np.int64)[[0, 1, 2, 0]], ValueError),  # one-hot ints
        (np.eye(3)[[0, 1, 2, 0]], TypeError),  # one-hot floats
        (np.array(1), ValueError),  # 0-D
        (np.array([0, 1, 2]), ValueError),  # too short
        (np.array([0, 1, 2, 0, 1]), ValueError),  # too long
        (np.array([], dtype=np.int64), ValueError),
        (np.array([0, -1, 2, 0]), ValueError),  # negative
        (np.array([0, 1, 3, 0]), ValueError),  # == K
        (np.array([0, 1, 2**40, 0]), ValueError),
        (np.array([0, 1, 2, 2**63 - 1]), ValueError),
        (np.array([0, 1, 2, 2**64 - 1], dtype=np.uint64), ValueError),
        (np.array([0, 1, 2, 255], dtype=np.uint8), ValueError),
        (np.array([0, 1, -128, 0], dtype=np.int8), ValueError),
    ],
)
def test_bad_softmax_labels(backend, method, y, exc):
    model = _softmax_model(backend)
    X = np.ones((N, 3))
    with pytest.raises(exc, match=named("y")):
        run(model, method, X, y)


@pytest.mark.parametrize("output", ["softmax", "identity", "sigmoid"])
def test_ragged_y_named(output):
    model = make_model("vector", sizes=(3, 3), output=output)
    with pytest.raises((TypeError, ValueError), match=named("y")):
        model.loss(np.ones((2, 3)), [[0.0], [1.0, 2.0]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "convert",
    [
        lambda y: y.tolist(),
        lambda y: tuple(y.tolist()),
        lambda y: y.astype(np.int32),
        lambda y: y.astype(np.uint8),
        lambda y: y.astype(np.uint64),
        lambda y: np.repeat(y, 2)[::2],  # non-contiguous
        lambda y: y.astype(">i8"),
    ],
    ids=["list", "tuple", "int32", "uint8", "uint64", "strided", "big_endian"],
)
def test_softmax_label_conversions(backend, convert):
    model = _softmax_model(backend)
    X = np.linspace(-1, 1, N * 3).reshape(N, 3)
    y = np.array([2, 0, 1, 2])
    for method in ["loss", "loss_and_grad", "input_grad"]:
        assert_same(run(model, method, X, convert(y)), run(model, method, X, y))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
@pytest.mark.parametrize("method", ["loss", "loss_and_grad", "input_grad"])
@pytest.mark.parametrize(
    "y, exc",
    [
        (np.full((N, 2), 0.5), ValueError),
        (np.full((N, 4), 0.5), ValueError),
        (np.full((N - 1, 3), 0.5), ValueError),
        (np.full((N + 1, 3), 0.5), ValueError),
        (np.full((3, N), 0.5), ValueError),  # transposed
        (np.full((N, 3, 1), 0.5), ValueError),
        (np.full((0, 3), 0.5), ValueError),
        (np.full(N, 0.5), TypeError),  # 1-D real targets need K == 1
        (np.full(N * 3, 0.5), TypeError),
        (np.array([0, 1, 3, 0]), ValueError),  # labels out of range
        (np.array([0, -1, 2, 0]), ValueError),
        (np.array([0, 1, 2]), ValueError),
        (np.full((N, 3), 0.5 + 0j), TypeError),
        (np.full((N, 3), "a"), TypeError),
        (np.full((N, 3), None), TypeError),
        (None, TypeError),
        (0.5, ValueError),  # scalar target
    ],
)
def test_bad_real_targets(backend, output, method, y, exc):
    model = make_model(backend, sizes=(3, 5, 3), dtype="float64", output=output)
    X = np.ones((N, 3))
    with pytest.raises(exc, match=named("y")):
        run(model, method, X, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_integer_labels_equal_one_hot_targets(backend, output, dtype):
    model = make_model(backend, sizes=(3, 5, 3), dtype=dtype, output=output)
    X = np.linspace(-1, 1, N * 3).reshape(N, 3).astype(dtype)
    labels = np.array([2, 0, 1, 2])
    onehot = np.eye(3, dtype=dtype)[labels]
    for method in ["loss", "loss_and_grad", "input_grad"]:
        a = run(model, method, X, labels)
        b = run(model, method, X, onehot)
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-6 if dtype == "float32" else 1e-14, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_dimensional_targets_when_single_output(backend, output, dtype):
    model = make_model(backend, sizes=(3, 5, 1), dtype=dtype, output=output)
    X = np.linspace(-1, 1, N * 3).reshape(N, 3).astype(dtype)
    t = np.array([0.1, 0.9, 0.3, 0.6])
    for method in ["loss", "loss_and_grad", "input_grad"]:
        expected = run(model, method, X, t.reshape(-1, 1).astype(dtype))
        assert_same(run(model, method, X, t.astype(dtype)), expected)
        assert_same(
            run(model, method, X, t.tolist() if dtype == "float64" else t.astype(dtype)), expected
        )
    with pytest.raises(ValueError, match=named("y")):
        model.loss(X, t[:3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_target_conversions(backend, rng):
    model = make_model(backend, sizes=(3, 5, 3), dtype="float32", output="identity")
    X = rng.normal(size=(N, 3)).astype(np.float32)
    t64 = rng.normal(size=(N, 3))
    t32 = t64.astype(np.float32)
    for method in ["loss", "loss_and_grad", "input_grad"]:
        expected = run(model, method, X, t32)
        assert_same(run(model, method, X, t64), expected)
        assert_same(run(model, method, X, np.asfortranarray(t32)), expected)
        assert_same(run(model, method, X, t32.tolist()), expected)


# ============================================================================
# NaN and infinity
# ============================================================================

BAD_VALUES = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("value", BAD_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_non_finite_X(backend, method, value, output, dtype):
    model = make_model(backend, sizes=(3, 4, 2), dtype=dtype, output=output)
    X = np.ones((3, 3), dtype=dtype)
    X[1, 2] = value
    y = np.array([0, 1, 1]) if output == "softmax" else np.zeros((3, 2))
    with pytest.raises(ValueError, match=named("X")):
        run(model, method, X, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("where", ["weights[0]", "weights[1]", "biases[0]", "biases[1]"])
def test_non_finite_parameters(backend, method, value, where):
    model = make_model(backend, sizes=(3, 4, 2), dtype="float64")
    for W in model.weights:  # positive weights: +inf cannot be cancelled by relu
        W[...] = np.abs(W) + 0.1
    kind, idx = where[:-3], int(where[-2])
    getattr(model, kind)[idx].flat[0] = value  # writes through the view into params
    assert not np.isfinite(model.params).all()
    X = np.ones((3, 3))
    with pytest.raises(ValueError, match=named(where)):
        run(model, method, X, np.array([0, 1, 1]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["loss", "loss_and_grad", "input_grad"])
@pytest.mark.parametrize("value", BAD_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
def test_non_finite_targets(backend, method, value, output):
    model = make_model(backend, sizes=(3, 4, 2), dtype="float64", output=output)
    y = np.full((3, 2), 0.5)
    y[2, 1] = value
    with pytest.raises(ValueError, match=named("y")):
        run(model, method, np.ones((3, 3)), y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_finite_reported_in_argument_order(backend):
    """With several bad arguments, the first of X, weights, biases, y is named."""
    model = make_model(backend, sizes=(3, 4, 2), dtype="float64", output="identity")
    model.biases[1][0] = np.nan
    y = np.full((2, 2), np.nan)
    with pytest.raises(ValueError, match=named("biases[1]")):
        model.loss(np.ones((2, 3)), y)
    model.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=named("weights[1]")):
        model.loss(np.ones((2, 3)), y)
    with pytest.raises(ValueError, match=named("X")):
        model.loss(np.full((2, 3), np.inf), y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("method", ["forward", "loss_and_grad", "input_grad"])
def test_inf_X_with_saturating_activation(backend, activation, method):
    model = make_model(backend, sizes=(3, 4, 2), dtype="float64", activation=activation)
    X = np.ones((2, 3))
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match=named("X")):
        run(model, method, X, np.array([0, 1]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", METHODS)
def test_minus_inf_hidden_bias_with_relu(backend, method):
    model = make_model(backend, sizes=(3, 4, 2), dtype="float64", activation="relu")
    model.biases[0][1] = -np.inf
    with pytest.raises(ValueError, match=named("biases[0]")):
        run(model, method, np.ones((2, 3)), np.array([0, 1]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_without_bad_argument(backend):
    """Finite but huge inputs that overflow are reported, not returned as NaN."""
    model = make_model(backend, sizes=(3, 4, 1), dtype="float32", output="identity")
    for W in model.weights:
        W[...] = 1.0
    with pytest.raises(ValueError, match="overflow"):
        model.loss(np.full((2, 3), 3e37, dtype=np.float32), np.zeros(2))


# ============================================================================
# weights / biases setters
# ============================================================================


def _setter_cases(model: MLP) -> list:
    W0, W1 = (w.copy() for w in model.weights)
    b0, b1 = (b.copy() for b in model.biases)
    nanW1 = W1.copy()
    nanW1[0, 0] = np.nan
    infb1 = b1.copy()
    infb1[-1] = np.inf
    return [
        ("weights", [W0], ValueError, "weights"),
        ("weights", [W0, W1, W1], ValueError, "weights"),
        ("weights", [], ValueError, "weights"),
        ("biases", [b0], ValueError, "biases"),
        ("biases", [b0, b1, b1], ValueError, "biases"),
        ("weights", np.stack([W0.ravel()[:2], W1.ravel()[:2]]), TypeError, "weights"),
        ("weights", None, TypeError, "weights"),
        ("weights", 3.0, TypeError, "weights"),
        ("weights", (w for w in [W0, W1]), TypeError, "weights"),
        ("weights", [W0 + 1, W1.T], ValueError, "weights[1]"),
        ("weights", [W0.T + 1, W1], ValueError, "weights[0]"),
        ("weights", [W0 + 1, W1.ravel()], ValueError, "weights[1]"),
        ("weights", [W0 + 1, W1[:, :, None]], ValueError, "weights[1]"),
        ("weights", [W0 + 1, nanW1], ValueError, "weights[1]"),
        ("weights", [W0 + 1, W1 * np.inf], ValueError, "weights[1]"),
        ("weights", [W0 + 1, W1.astype(complex)], TypeError, "weights[1]"),
        ("weights", [W0 + 1, None], TypeError, "weights[1]"),
        ("weights", [W0 + 1, "W1"], TypeError, "weights[1]"),
        ("biases", [b0 + 1, b1[:-1]], ValueError, "biases[1]"),
        ("biases", [b0 + 1, b1[:, None]], ValueError, "biases[1]"),
        ("biases", [b0 + 1, 1.0], ValueError, "biases[1]"),
        ("biases", [b0 + 1, infb1], ValueError, "biases[1]"),
        ("biases", [np.full_like(b0, np.nan), b1], ValueError, "biases[0]"),
        ("biases", [b0 + 1, b1.astype(object)], TypeError, "biases[1]"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(24))
def test_setters_reject_all_or_nothing(dtype, case):
    model = make_model("native", sizes=(3, 4, 2), dtype=dtype)
    cases = _setter_cases(model)
    assert len(cases) == 24
    attr, value, exc, name = cases[case]
    X = np.linspace(-1, 1, 6).reshape(2, 3)
    before = model.params.copy()
    out_before = model.forward(X)
    with pytest.raises(exc, match=named(name)):
        setattr(model, attr, value)
    assert np.array_equal(model.params, before, equal_nan=True)  # nothing written
    assert_same((model.forward(X),), (out_before,))


@pytest.mark.parametrize("backend", BACKENDS)
def test_setters_accept_convertible_values(backend):
    model = make_model(backend, sizes=(3, 4, 2), dtype="float32")
    W = [np.arange(12).reshape(3, 4), np.ones((4, 2), dtype=np.float64).tolist()]
    model.weights = tuple(W)
    assert model.weights[0].dtype == np.float32
    assert np.array_equal(model.weights[0], np.arange(12).reshape(3, 4))
    assert np.array_equal(model.weights[1], np.ones((4, 2)))
    model.biases = [np.zeros(4, dtype=np.int8), np.asfortranarray(np.ones(2))]
    assert np.array_equal(model.params[12:16], np.zeros(4))
    # the views still alias params after assignment
    model.weights[0][0, 0] = 42
    assert model.params[0] == 42


def test_assigning_params_is_consistent_or_rejected():
    model = make_model("native", sizes=(3, 4, 2), dtype="float64")
    new = np.linspace(-1, 1, model.params.size)
    try:
        model.params = new
    except (AttributeError, TypeError, ValueError):
        return
    X = np.linspace(-1, 1, 6).reshape(2, 3)
    outs = []
    for backend in BACKENDS:
        model.backend = backend
        outs.append(model.forward(X))
    np.testing.assert_allclose(outs[0], outs[2], rtol=1e-12)
    np.testing.assert_allclose(outs[1], outs[2], rtol=1e-12)
    assert np.array_equal(model.weights[0].ravel(), new[:12])


# ============================================================================
# l1 / l2
# ============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["loss", "loss_and_grad"])
@pytest.mark.parametrize("which", ["l1", "l2"])
@pytest.mark.parametrize(
    "value, exc",
    [
        (-1.0, ValueError),
        (-1e-12, ValueError),
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (np.float64("nan"), ValueError),
        ("0.1", TypeError),
        (None, TypeError),
        (True, TypeError),
        (0.1j, TypeError),
        (np.array([0.1, 0.2]), TypeError),
        ([0.1], TypeError),
    ],
)
def test_bad_penalty(backend, method, which, value, exc):
    model = make_model(backend)
    X = np.ones((2, 3))
    y = np.array([0, 1])
    fn = model.loss if method == "loss" else model.loss_and_grad
    with pytest.raises(exc, match=named(which)):
        fn(X, y, **{which: value})


@pytest.mark.parametrize("backend", BACKENDS)
def test_penalty_accepts_real_scalars(backend):
    model = make_model(backend, dtype="float64")
    X = np.ones((2, 3))
    y = np.array([0, 1])
    base = model.loss(X, y, l1=0.25, l2=0.5)
    assert model.loss(X, y, l1=np.float32(0.25), l2=np.float64(0.5)) == pytest.approx(
        base, rel=1e-15
    )
    from fractions import Fraction

    assert model.loss(X, y, l1=Fraction(1, 4), l2=Fraction(1, 2)) == pytest.approx(base, rel=1e-15)
    assert model.loss(X, y, l1=0, l2=0) == pytest.approx(model.loss(X, y), rel=1e-15)


# ============================================================================
# matmul
# ============================================================================


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "a, b, exc, name",
    [
        (np.ones((2, 3)), np.ones((4, 5)), ValueError, "b"),
        (np.ones((2, 3)), np.ones((2, 3)), ValueError, "b"),
        (np.ones((3, 2)).T, np.ones((4, 5)), ValueError, "b"),  # transposed view
        (np.ones((2, 3)), np.ones((5, 4)).T, ValueError, "b"),
        (np.ones((2, 3), np.float32), np.ones((3, 4)), TypeError, "b"),
        (np.ones((2, 3)), np.ones((3, 4), np.float32), TypeError, "b"),
        (np.ones((2, 3), np.float32), np.ones((3, 4), np.int64), TypeError, "b"),
        (np.ones(3), np.ones((3, 4)), ValueError, "a"),
        (np.ones((2, 3)), np.ones(3), ValueError, "b"),
        (np.ones((1, 2, 3)), np.ones((3, 4)), ValueError, "a"),
        (np.ones((2, 3)), np.ones((1, 3, 4)), ValueError, "b"),
        (np.float64(2.0), np.ones((1, 4)), ValueError, "a"),
        (np.ones((2, 3), complex), np.ones((3, 4)), TypeError, "a"),
        (np.ones((2, 3)), np.ones((3, 4), object), TypeError, "b"),
        (None, np.ones((3, 4)), TypeError, "a"),
        ("abc", np.ones((3, 4)), TypeError, "a"),
        (np.ones((2, 3)), [[1, 2], [3]], TypeError, "b"),
        (np.ones((2, 3)), np.full((3, 4), "x"), TypeError, "b"),
    ],
)
def test_matmul_bad_operands(backend, a, b, exc, name):
    with pytest.raises(exc, match=named(name)):
        matmul(a, b, backend=backend)


def _bad_outs() -> list:
    ro = np.zeros((2, 4))
    ro.flags.writeable = False
    return [
        (np.zeros((4, 2)), ValueError),
        (np.zeros((2, 5)), ValueError),
        (np.zeros(8), ValueError),
        (np.zeros((2, 4, 1)), ValueError),
        (np.zeros((2, 4), np.float32), TypeError),
        (np.zeros((2, 4), np.int64), TypeError),
        (np.zeros((2, 8))[:, ::2], ValueError),  # non-contiguous
        (np.zeros((4, 2)).T, ValueError),  # F-ordered
        (np.asfortranarray(np.zeros((2, 4))), ValueError),
        (ro, ValueError),
        ([[0.0] * 4] * 2, TypeError),
        ("out", TypeError),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(12))
def test_matmul_bad_out(backend, case):
    out, exc = _bad_outs()[case]
    before = np.array(out, copy=True) if isinstance(out, np.ndarray) else None
    with pytest.raises(exc, match=named("out")):
        matmul(np.ones((2, 3)), np.ones((3, 4)), out=out, backend=backend)
    if before is not None:
        assert np.array_equal(out, before)


@pytest.mark.parametrize("backend", ["gpu", "", None, 0, "Native"])
def test_matmul_bad_backend(backend):
    with pytest.raises(ValueError, match=named("backend")):
        matmul(np.ones((2, 3)), np.ones((3, 4)), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "m, k, n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (0, 3, 0), (1, 0, 1), (0, 0, 5)]
)
@pytest.mark.parametrize("transpose", [False, True])
def test_matmul_zero_size(backend, dtype, m, k, n, transpose):
    a = np.ones((m, k), dtype)
    b = np.ones((k, n), dtype)
    if transpose:
        a = np.ascontiguousarray(a.T).T
        b = np.ascontiguousarray(b.T).T
    out = np.full((m, n), np.nan, dtype)  # must be overwritten by zeros when k == 0
    r = matmul(a, b, out=out, backend=backend)
    assert r is out
    assert r.shape == (m, n) and r.dtype == dtype
    assert np.array_equal(r, np.zeros((m, n), dtype))
    r2 = matmul(a, b, backend=backend)
    assert r2.shape == (m, n) and r2.dtype == dtype
    assert np.array_equal(r2, np.zeros((m, n), dtype))


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_converts_inputs(backend):
    ai = np.arange(6).reshape(2, 3)
    bi = np.arange(12).reshape(3, 4) - 5
    expected = (ai @ bi).astype(np.float64)
    for a, b in [
        (ai, bi),
        (ai.tolist(), bi.tolist()),
        (ai.astype(np.int8), bi),
        (ai, bi.astype(np.float64)),
    ]:
        r = matmul(a, b, backend=backend)
        assert r.dtype == np.float64
        assert np.array_equal(r, expected)
    r = matmul(ai.astype(bool), bi.astype(np.uint16) * 0 + 1, backend=backend)
    assert np.array_equal(r, ai.astype(bool).astype(float) @ np.ones((3, 4)))
    r = matmul(ai.astype(np.float16), bi.astype(np.float32), backend=backend)  # float16 -> float32
    assert r.dtype == np.float32 and np.array_equal(r, expected.astype(np.float32))
    r = matmul(ai.astype(">f8"), bi.astype(">f8"), backend=backend)
    assert np.array_equal(r, expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_layouts(backend, dtype, rng):
    big_a = rng.normal(size=(9, 11)).astype(dtype)
    big_b = rng.normal(size=(10, 12)).astype(dtype)
    a_variants = [
        big_a[:5, 2:6],
        big_a[::2, ::3][:, :4],
        np.ascontiguousarray(big_a[:4, :5]).T,
        big_a[5:0:-1, :4],
    ]
    b_variants = [
        big_b[:4, 3:9],
        np.ascontiguousarray(big_b[:6, :4]).T,
        np.asfortranarray(big_b[:4, :6]),
        big_b[::-2, ::2][:4],
    ]
    ro = big_b[:4, :6].copy()
    ro.flags.writeable = False
    b_variants.append(ro)
    tol = 1e-5 if dtype == "float32" else 1e-13
    for a in a_variants:
        for b in b_variants:
            assert a.shape == (5, 4) and b.shape == (4, 6)
            a_before, b_before = a.copy(), b.copy()
            r = matmul(a, b, backend=backend)
            expected = a.astype(np.float64) @ b.astype(np.float64)
            np.testing.assert_allclose(r, expected, rtol=tol, atol=tol)
            assert np.array_equal(a, a_before) and np.array_equal(b, b_before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_propagates_nan(backend):
    a = np.ones((2, 3))
    a[0, 1] = np.nan
    r = matmul(a, np.ones((3, 2)), backend=backend)
    assert np.isnan(r[0]).all() and np.array_equal(r[1], [3.0, 3.0])


@pytest.mark.parametrize(
    "backend, n",
    [
        pytest.param("loop", 4),
        ("vector", 4),
        ("vector", 600),
        pytest.param("native", 600),
    ],
)
def test_matmul_out_aliasing_operand(backend, n, rng):
    a = rng.normal(size=(n, n))
    b = rng.normal(size=(n, n))
    expected = a @ b
    for which in ("a", "b"):
        a2, b2 = a.copy(), b.copy()
        out = a2 if which == "a" else b2
        try:
            r = matmul(a2, b2, out=out, backend=backend)
        except ValueError as err:
            assert re.match(named("out"), str(err))
            continue
        np.testing.assert_allclose(r, expected, rtol=1e-9, atol=1e-9)


def test_matmul_dtype_metadata():
    dt = np.dtype(np.float64, metadata={"unit": "m"})
    a = np.ones((2, 3), dtype=dt)
    np.testing.assert_array_equal(matmul(a, np.ones((3, 2))), np.full((2, 2), 3.0))


# ============================================================================
# gradcheck
# ============================================================================


def test_gradcheck_rejects_float32_model():
    model = MLP([3, 2], dtype="float32")
    with pytest.raises(ValueError, match=named("model")):
        gradcheck(model, np.ones((2, 3)), [0, 1])


@pytest.mark.parametrize(
    "model", [None, "MLP", 3, {"layer_sizes": [3, 2]}, _native.Network64([3, 2], 1, 0.0, 0), MLP]
)
def test_gradcheck_rejects_non_mlp(model):
    with pytest.raises(TypeError, match=named("model")):
        gradcheck(model, np.ones((2, 3)), [0, 1])


def test_gradcheck_bad_X_and_y_named():
    model = MLP([3, 2], dtype="float64")
    with pytest.raises(ValueError, match=named("X")):
        gradcheck(model, np.ones((2, 4)), [0, 1])
    with pytest.raises(ValueError, match=named("y")):
        gradcheck(model, np.ones((2, 3)), [0, 2])
    assert gradcheck(model, np.ones((2, 3)) * 0.3, [0, 1], max_entries=5).passed


# ============================================================================
# threads and kernels
# ============================================================================


@pytest.fixture
def restore_runtime():
    threads = pyfastnn.get_num_threads()
    isa = pyfastnn.kernel_info()["isa"]
    yield
    pyfastnn.set_num_threads(threads)
    pyfastnn.set_kernel(isa)


@pytest.mark.parametrize(
    "n, exc",
    [
        (0, ValueError),
        (-1, ValueError),
        (-(2**70), ValueError),
        (1.5, TypeError),
        (2.0, TypeError),
        ("2", TypeError),
        (None, TypeError),
        (True, TypeError),
        (np.float64(2), TypeError),
    ],
)
def test_set_num_threads_bad(restore_runtime, n, exc):
    pyfastnn.set_num_threads(2)
    with pytest.raises(exc, match=named("n")):
        pyfastnn.set_num_threads(n)
    assert pyfastnn.get_num_threads() == 2


def test_set_num_threads_accepts_numpy_int(restore_runtime):
    pyfastnn.set_num_threads(np.int64(1))
    assert pyfastnn.get_num_threads() == 1


def test_set_num_threads_too_large(restore_runtime):
    pyfastnn.set_num_threads(2)
    with pytest.raises((ValueError, OverflowError), match=named("n")):
        pyfastnn.set_num_threads(2**40)
    assert pyfastnn.get_num_threads() == 2


@pytest.mark.parametrize(
    "isa, exc",
    [
        ("bogus", ValueError),
        ("", ValueError),
        ("AVX2_FMA", ValueError),
        (None, TypeError),
        (3, TypeError),
    ],
)
def test_set_kernel_bad(restore_runtime, isa, exc):
    before = pyfastnn.kernel_info()["isa"]
    with pytest.raises(exc, match=named("isa")):
        pyfastnn.set_kernel(isa)
    assert pyfastnn.kernel_info()["isa"] == before


# ============================================================================
# the raw native module guards itself
# ============================================================================


def _net(dtype: str, output: int = 0):
    cls = _native.Network32 if dtype == "float32" else _native.Network64
    return cls([3, 4, 2], 1, 0.0, output)


@pytest.mark.parametrize("cls", [_native.Network32, _native.Network64])
@pytest.mark.parametrize(
    "args, exc",
    [
        (([3], 1, 0.0, 0), ValueError),
        (([], 1, 0.0, 0), ValueError),
        (([3, 0], 1, 0.0, 0), ValueError),
        (([3, -1, 2], 1, 0.0, 0), ValueError),
        (([3, 2], -1, 0.0, 0), ValueError),
        (([3, 2], 8, 0.0, 0), ValueError),
        (([3, 2], 1, 0.0, 3), ValueError),
        (([3, 2], 1, 0.0, -1), ValueError),
        (("ab", 1, 0.0, 0), TypeError),
        (([3, 2.5], 1, 0.0, 0), TypeError),
        (([3, 2], "relu", 0.0, 0), TypeError),
        (([3, 2], 1, "x", 0), TypeError),
        ((None, 1, 0.0, 0), TypeError),
        (([3, 2], 1, 0.0), TypeError),
    ],
)
def test_native_constructor(cls, args, exc):
    with pytest.raises(exc):
        cls(*args)


def test_native_constructor_param_count_overflow():
    with pytest.raises((ValueError, OverflowError, MemoryError)):
        _native.Network64([1, 2**62, 2], 1, 0.0, 2)


def _native_forward_cases(dt, other):
    P = 3 * 4 + 4 + 4 * 2 + 2
    ro = np.zeros((2, 2), dt)
    ro.flags.writeable = False
    good = (np.zeros(P, dt), np.ones((2, 3), dt), np.empty((2, 2), dt))
    return good, [
        ((np.zeros(P, other), good[1], good[2]), TypeError, "params"),
        ((np.zeros(P - 1, dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros(P + 1, dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros((1, P), dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros(2 * P, dt)[::2], good[1], good[2]), ValueError, "params"),
        ((np.zeros(P, np.int64), good[1], good[2]), TypeError, "params"),
        ((good[0], np.ones((2, 3), other), good[2]), TypeError, "X"),
        ((good[0], np.ones(3, dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 3, 1), dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 4), dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((0, 3), dt), np.empty((0, 2), dt)), ValueError, "X"),
        ((good[0], np.ones((2, 6), dt)[:, ::2], good[2]), ValueError, "X"),
        ((good[0], np.asfortranarray(np.ones((2, 3), dt)), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 3), object), good[2]), TypeError, "X"),
        ((good[0], good[1], np.empty((2, 2), other)), TypeError, "out"),
        ((good[0], good[1], np.empty((3, 2), dt)), ValueError, "out"),
        ((good[0], good[1], np.empty((2, 3), dt)), ValueError, "out"),
        ((good[0], good[1], np.empty(4, dt)), ValueError, "out"),
        ((good[0], good[1], np.empty((2, 4), dt)[:, ::2]), ValueError, "out"),
        ((good[0], good[1], ro), ValueError, "out"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(20))
def test_native_forward_guards(dtype, case):
    dt = np.dtype(dtype)
    other = np.dtype(np.float64 if dtype == "float32" else np.float32)
    good, cases = _native_forward_cases(dt, other)
    assert len(cases) == 20
    args, exc, name = cases[case]
    net = _net(dtype)
    with pytest.raises(exc, match=named(name)):
        net.forward(*args)
    out = good[2]
    net.forward(good[0], good[1], out)  # still works afterwards
    np.testing.assert_allclose(out, 0.5, rtol=1e-6)


def _lag_cases(dt, other):
    P = 26
    params = np.zeros(P, dt)
    X = np.ones((3, 3), dt)
    y = np.array([0, 1, 1])
    ro_dp = np.empty(P, dt)
    ro_dp.flags.writeable = False
    ro_dx = np.empty((3, 3), dt)
    ro_dx.flags.writeable = False
    return [
        ((params, X, np.array([0, 1, 2]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, -1, 1]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1, 2**62]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1, 1, 0]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([[0, 1, 1]]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 0, 1, 1, 1, 1])[::2], 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, y.astype(np.int32), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y.astype(np.uint64), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y.astype(dt), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, np.zeros((3, 2), dt), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y, -1.0, 0.0, None, None), ValueError, "l1, l2"),
        ((params, X, y, 0.0, float("nan"), None, None), ValueError, "l1, l2"),
        ((params, X, y, 0.0, 0.0, np.empty(P - 1, dt), None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, np.empty(P, other), None), TypeError, "dparams"),
        ((params, X, y, 0.0, 0.0, ro_dp, None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, np.empty(2 * P, dt)[::2], None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, None, np.empty((3, 2), dt)), ValueError, "dX"),
        ((params, X, y, 0.0, 0.0, None, np.empty((3, 3), other)), TypeError, "dX"),
        ((params, X, y, 0.0, 0.0, None, ro_dx), ValueError, "dX"),
        ((params.astype(other), X, y, 0.0, 0.0, None, None), TypeError, "params"),
        ((params, X.astype(other), y, 0.0, 0.0, None, None), TypeError, "X"),
        ((params, X[:0], y[:0], 0.0, 0.0, None, None), ValueError, "X"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(23))
def test_native_loss_and_grad_guards(dtype, case):
    dt = np.dtype(dtype)
    other = np.dtype(np.float64 if dtype == "float32" else np.float32)
    cases = _lag_cases(dt, other)
    assert len(cases) == 23
    args, exc, name = cases[case]
    net = _net(dtype)
    with pytest.raises(exc, match=named(name)):
        net.loss_and_grad(*args)
    loss = net.loss_and_grad(
        np.zeros(26, dt), np.ones((3, 3), dt), np.array([0, 1, 1]), 0.0, 0.0, None, None
    )
    assert loss == pytest.approx(np.log(2), rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_real_targets_guards(dtype):
    dt = np.dtype(dtype)
    net = _net(dtype, output=2)  # identity output, MSE
    params = np.zeros(26, dt)
    X = np.ones((3, 3), dt)
    for y, exc in [
        (np.zeros((3, 3), dt), ValueError),
        (np.zeros((2, 2), dt), ValueError),
        (np.zeros(3, dt), ValueError),
        (np.zeros((3, 2), np.int32), TypeError),
        (np.zeros((3, 4), dt)[:, ::2], ValueError),
        (np.array([0, 2, 1]), ValueError),  # int64 labels out of range
    ]:
        with pytest.raises(exc, match=named("y")):
            net.loss_and_grad(params, X, y, 0.0, 0.0, None, None)
    assert net.loss_and_grad(params, X, np.zeros((3, 2), dt), 0.0, 0.0, None, None) == 0.0


def _native_matmul_cases():
    ro = np.zeros((2, 4))
    ro.flags.writeable = False
    A, B, C = np.ones((2, 3)), np.ones((3, 4)), np.empty((2, 4))
    return [
        ((A.astype(np.float32), B, False, False, C), TypeError, "A"),
        ((A, B.astype(np.float32), False, False, C), TypeError, "B"),
        ((A, B, False, False, C.astype(np.int64)), TypeError, "out"),
        ((A, B, False, False, C.astype(np.float16)), TypeError, "out"),
        ((A.astype(np.float32), B.astype(np.float32), False, False, C), TypeError, "A"),
        ((np.ones(3), B, False, False, C), ValueError, "A"),
        ((A, np.ones((1, 3, 4)), False, False, C), ValueError, "B"),
        ((A, B, False, False, np.empty(8)), ValueError, "out"),
        ((np.ones((2, 6))[:, ::2], B, False, False, C), ValueError, "A"),
        ((A, np.ones((3, 8))[:, ::2], False, False, C), ValueError, "B"),
        ((A, B, False, False, np.empty((2, 8))[:, ::2]), ValueError, "out"),
        ((A, B, False, False, np.empty((4, 2)).T), ValueError, "out"),
        ((A, B, False, False, ro), ValueError, "out"),
        ((A, B, False, False, np.empty((2, 5))), ValueError, "out"),
        ((A, B, False, False, np.empty((4, 2))), ValueError, "out"),
        ((A, B, True, False, C), ValueError, "matmul"),
        ((A, B, False, True, C), ValueError, "matmul"),
        ((A, np.ones((4, 3)), False, False, C), ValueError, "matmul"),
        ((A, B, False, False, None), TypeError, ""),
        ((A, B, False, False, [[0.0] * 4] * 2), TypeError, ""),
        ((A, B, "x", False, C), TypeError, ""),
    ]


@pytest.mark.parametrize("case", range(21))
def test_native_matmul_guards(case):
    cases = _native_matmul_cases()
    assert len(cases) == 21
    args, exc, name = cases[case]
    with pytest.raises(exc, match=named(name) if name else None):
        _native.matmul(*args)
    out = np.empty((2, 4))
    _native.matmul(np.ones((2, 3)), np.ones((3, 4)), False, False, out)
    assert np.array_equal(out, np.full((2, 4), 3.0))


def test_native_matmul_transpose_flags_and_zero_k():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 5))
    b = rng.normal(size=(6, 4))
    out = np.full((5, 6), np.nan)
    _native.matmul(a, b, True, True, out)
    np.testing.assert_allclose(out, a.T @ b.T, rtol=1e-13)
    out = np.full((5, 6), 2.0)
    _native.matmul(np.empty((0, 5)), np.empty((6, 0)), True, True, out, True)  # accumulate + K=0
    assert np.array_equal(out, np.full((5, 6), 2.0))
    _native.matmul(np.empty((0, 5)), np.empty((6, 0)), True, True, out)
    assert np.array_equal(out, np.zeros((5, 6)))


@pytest.mark.parametrize(
    "fn",
    [_native.set_num_threads, _native.set_active_isa],
    ids=["set_num_threads", "set_active_isa"],
)
def test_native_runtime_guards(restore_runtime, fn):
    for bad in (0, -1, 1.5, "2", None) if fn is _native.set_num_threads else ("bogus", 1, None):
        with pytest.raises((TypeError, ValueError)):
            fn(bad)


# ============================================================================
# unaligned arrays and a long hostile sequence, in subprocesses (a crash there
# shows up as a non-zero return code instead of killing the test session)
# ============================================================================


def _run_script(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc


def test_unaligned_arrays_subprocess():
    code = """
    import numpy as np
    from pyfastnn import MLP, matmul
    rng = np.random.default_rng(0)
    def unaligned(shape, dt):
        dt = np.dtype(dt)
        buf = np.zeros(int(np.prod(shape)) * dt.itemsize + 1, np.uint8)
        a = buf[1:].view(dt).reshape(shape)
        a[...] = rng.normal(size=shape)
        assert not a.flags.aligned and a.flags.c_contiguous
        return a
    for dt in ("float32", "float64"):
        a, b = unaligned((70, 90), dt), unaligned((90, 50), dt)
        assert np.array_equal(matmul(a, b), matmul(a.copy(), b.copy()))
        for backend in ("vector", "native"):
            m = MLP([90, 20, 5], dtype=dt, backend=backend)
            y = rng.integers(0, 5, 70)
            l1, g1 = m.loss_and_grad(a, y)
            l2, g2 = m.loss_and_grad(a.copy(), y)
            # native: bit-identical; vector: NumPy may take another (non-BLAS) path
            same = np.array_equal if backend == "native" else np.allclose
            assert np.isclose(l1, l2, rtol=1e-6) and same(g1.flat, g2.flat)
            assert same(m.forward(a), m.forward(a.copy()))
            assert same(m.input_grad(a, y), m.input_grad(a.copy(), y))
    print("OK")
    """
    proc = _run_script(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")


HOSTILE = r"""
import itertools, sys
import numpy as np
from pyfastnn import _native as N

rng = np.random.default_rng(11)
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.float16, np.complex128, object, bool]

def arrays(shape):
    out = []
    for dt in DTYPES:
        try:
            a = np.zeros(shape, dtype=dt) if dt is not object else np.empty(shape, dtype=object)
        except Exception:
            continue
        out.append(a)
        if a.ndim == 2 and a.size:
            out.append(np.asfortranarray(a) if min(a.shape) > 1 else a)
            out.append(np.repeat(a, 2, axis=1)[:, ::2])
            r = a.copy(); r.flags.writeable = False; out.append(r)
    return out

SHAPES = [(), (0,), (5,), (26,), (25,), (0, 0), (0, 3), (3, 0), (3, 3), (3, 2), (2, 3),
          (3, 4), (4, 3), (1, 1), (3, 3, 1)]
POOL = [a for s in SHAPES for a in arrays(s)]
POOL += [None, 0, 1.5, "x", [[1.0, 2.0]], np.array([0, 1, 2]), np.array([-1, 0, 1]),
         np.array([0, 1, 2**62]), np.array([0, 1, 1]), np.array([0, 1])]

calls = errors = 0
def attempt(fn, *args):
    global calls, errors
    calls += 1
    try:
        fn(*args)
    except (TypeError, ValueError, OverflowError, MemoryError):
        errors += 1

for dt in (np.float32, np.float64):
    cls = N.Network32 if dt is np.float32 else N.Network64
    for output in (0, 1, 2):
        net = cls([3, 4, 2], 1, 0.0, output)
        P = net.num_params
        good_p = np.zeros(P, dt); good_X = np.ones((3, 3), dt); good_y = np.array([0, 1, 1])
        # one bad argument at a time, the others good
        for bad in POOL:
            attempt(net.forward, bad, good_X, np.empty((3, 2), dt))
            attempt(net.forward, good_p, bad, np.empty((3, 2), dt))
            attempt(net.forward, good_p, good_X, bad)
            attempt(net.loss_and_grad, bad, good_X, good_y, 0.0, 0.0, None, None)
            attempt(net.loss_and_grad, good_p, bad, good_y, 0.0, 0.0, np.empty(P, dt), None)
            attempt(net.loss_and_grad, good_p, good_X, bad, 0.0, 0.0, np.empty(P, dt),
                    np.empty((3, 3), dt))
            attempt(net.loss_and_grad, good_p, good_X, good_y, 0.0, 0.0, bad, None)
            attempt(net.loss_and_grad, good_p, good_X, good_y, 0.0, 0.0, None, bad)
        for l1, l2 in [(-1.0, 0.0), (0.0, -1.0), (float("nan"), 0.0), (0.0, float("inf")),
                       (1e300, 1e300)]:
            attempt(net.loss_and_grad, good_p, good_X, good_y, l1, l2, np.empty(P, dt),
                    np.empty((3, 3), dt))
        # random combinations
        for _ in range(3000):
            args = [POOL[i] for i in rng.integers(0, len(POOL), size=3)]
            attempt(net.forward, *args)
            args = [POOL[i] for i in rng.integers(0, len(POOL), size=5)]
            attempt(net.loss_and_grad, args[0], args[1], args[2], 0.0, 0.0, args[3], args[4])
        # still correct afterwards
        out = np.empty((3, 2), dt)
        net.forward(good_p, good_X, out)
        assert np.allclose(out, 0.5 if output != 2 else 0.0), out

for _ in range(6000):
    a, b, c = (POOL[i] for i in rng.integers(0, len(POOL), size=3))
    ta, tb = (bool(t) for t in rng.integers(0, 2, size=2))
    attempt(N.matmul, a, b, ta, tb, c)
    attempt(N.matmul, a, b, ta, tb, c, True)
for sizes in ([], [3], [0, 2], [3, -5], [2**62, 2**62], [1, 2**40, 1]):
    for act, out in ((1, 0), (99, 0), (1, 99), (-1, -1)):
        attempt(N.Network64, sizes, act, 0.0, out)
        attempt(N.Network32, sizes, act, float("nan"), out)
for n in (0, -1, -2**31, 2**31, 2**63, 1.5, None, "3"):
    attempt(N.set_num_threads, n)
for isa in ("", "bogus", None, 3, "avx512"):
    attempt(N.set_active_isa, isa)
N.set_num_threads(2)
out = np.empty((2, 2))
N.matmul(np.eye(2), np.full((2, 2), 3.0), False, False, out)
assert np.array_equal(out, np.full((2, 2), 3.0))
print("DONE", calls, errors)
"""


def test_hostile_native_calls_do_not_crash():
    proc = _run_script(HOSTILE, timeout=240)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[0] == "DONE"
    calls, errors = int(last[1]), int(last[2])
    assert calls > 40000
    assert errors > 0.9 * calls  # nearly everything in the pool is invalid
