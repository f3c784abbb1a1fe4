"""Bad input to X and y of the MLP methods, NaN and infinity."""

from __future__ import annotations

import numpy as np
import pytest
from _bad_input_helpers import BACKENDS, METHODS, assert_same, make_model, named, run

from pyfastnn import MLP

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def rng() -> np.random.Generator:
    """This file's own seed (the conftest's rng has another)."""
    return np.random.default_rng(2024)


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
