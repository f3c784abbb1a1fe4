"""Bad input to the MLP weights/biases setters and the l1/l2 penalties."""

from __future__ import annotations

import numpy as np
import pytest
from _bad_input_helpers import BACKENDS, assert_same, make_model, named

from pyfastnn import MLP

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


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
