"""decision_function (logits), n_params, summary() and evaluation in chunks
(predict / predict_proba / decision_function with batch_size)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ACTIVATIONS, OUTPUTS
from hypothesis import given, settings
from hypothesis import strategies as st

import pyfastnn
from pyfastnn import MLP, LogisticRegression, Perceptron
from pyfastnn.backends import BACKENDS

BACKEND_NAMES = ["loop", "vector", "native"]


def data(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def numpy_logits(model: MLP, X: np.ndarray) -> np.ndarray:
    """The last layer's Z from the weights, in float64."""
    H = X
    for layer, (W, b) in enumerate(zip(model.weights, model.biases)):
        Z = H @ W.astype(np.float64) + b
        if layer < model.n_layers - 1:
            H = {"relu": np.maximum(Z, 0), "tanh": np.tanh(Z)}[model.activation]
    return Z


# ---- decision_function ----------------------------------------------------------------------


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_logits_agree_across_backends(activation: str, output: str) -> None:
    X = data(7, 4)
    results = {}
    for backend in BACKEND_NAMES:
        model = MLP([4, 6, 5, 3], activation, output, dtype="float64", backend=backend, seed=3)
        results[backend] = model.decision_function(X)
        assert results[backend].shape == (7, 3) and results[backend].dtype == np.float64
    np.testing.assert_allclose(results["vector"], results["loop"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results["native"], results["loop"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_logits_are_the_last_layers_z(backend: str, activation: str) -> None:
    X = data(9, 3)
    model = MLP([3, 8, 4], activation, dtype="float64", backend=backend, seed=1)
    model.biases = [np.linspace(-1, 1, 8), np.array([0.5, -0.25, 0.0, 2.0])]
    np.testing.assert_allclose(model.decision_function(X), numpy_logits(model, X), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_the_output_map_of_the_logits_is_the_output(backend: str) -> None:
    X = data(11, 3)
    maps = {
        "softmax": pyfastnn.softmax,
        "sparsemax": pyfastnn.sparsemax,
        "relumax": lambda z: pyfastnn.relumax(z, 0.7),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "identity": lambda z: z,
    }
    for output, g in maps.items():
        options = {"relumax_b": 0.7} if output == "relumax" else {}
        model = MLP([3, 5, 4], "tanh", output, dtype="float64", backend=backend, seed=2, **options)
        z = model.decision_function(X)
        np.testing.assert_allclose(g(z), model.predict_proba(X), rtol=1e-12, atol=1e-15)
        if output != "identity":
            assert not np.allclose(z, model.predict_proba(X))  # logits, not outputs


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_linear_models_scores(backend: str) -> None:
    X = data(10, 4)
    for cls in (LogisticRegression, Perceptron):
        model = cls(4, 3, backend=backend, dtype="float64")
        model.weights = [data(4, 3, seed=5)]
        model.biases = [np.array([0.1, -0.2, 0.3])]
        expected = X @ model.weights[0] + model.biases[0]
        np.testing.assert_allclose(model.decision_function(X), expected, rtol=1e-12)
        np.testing.assert_array_equal(model.predict(X), np.argmax(expected, axis=1))
    p = Perceptron(4, 3, backend=backend, dtype="float64")
    p.weights = [data(4, 3, seed=5)]
    np.testing.assert_array_equal(
        p.predict_proba(X), np.eye(3)[np.argmax(p.decision_function(X), axis=1)]
    )


def test_logits_name_bad_input() -> None:
    model = MLP([3, 4, 2], dtype="float64")
    with pytest.raises(ValueError, match="X: expected 3 columns"):
        model.decision_function(data(2, 4))
    X = data(5, 3)
    X[3, 1] = np.nan
    with pytest.raises(pyfastnn.mlp.NonFiniteResultError, match="X: contains NaN"):
        model.decision_function(X)
    with pytest.raises(pyfastnn.mlp.NonFiniteResultError, match="X: contains NaN"):
        model.decision_function(np.repeat(X, 1000, axis=0), batch_size=7)


# ---- n_params and summary ----------------------------------------------------------------------


def test_n_params_counts_every_weight_and_bias() -> None:
    for sizes in ([3, 2], [64, 100, 10], [5, 7, 7, 7, 1]):
        model = MLP(sizes)
        expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        assert model.n_params == expected == model.params.size
        assert model.n_params == sum(w.size for w in model.weights) + sum(
            b.size for b in model.biases
        )
    assert LogisticRegression(10, 4).n_params == 44


def test_summary_lists_layers_shapes_functions_and_counts() -> None:
    model = MLP([64, 100, 10], "scaled_relu", dtype="float64", backend="vector")
    text = model.summary()
    lines = text.splitlines()
    assert lines[0] == "MLP: 64 -> 100 -> 10"
    assert lines[1].split() == ["layer", "maps", "weights", "biases", "function", "params"]
    assert re.fullmatch(
        r"0 +64 -> 100 +\(64, 100\) +\(100,\) +scaled_relu \(c=5\) +6,500", lines[2]
    )
    assert re.fullmatch(r"1 +100 -> 10 +\(100, 10\) +\(10,\) +output softmax +1,010", lines[3])
    assert lines[4] == "loss   cross_entropy"
    assert lines[5] == "total  7,510 parameters (58.7 KiB of float64), backend vector"
    counts = [int(line.split()[-1].replace(",", "")) for line in lines[2:4]]
    assert sum(counts) == model.n_params
    # columns line up: the counts end in the same column
    assert len({len(line) for line in lines[1:4]}) == 1


def test_summary_of_other_models() -> None:
    text = Perceptron(3, 4).summary()
    assert text.splitlines()[0] == "Perceptron: 3 -> 4"
    assert "output identity" in text and "loss   perceptron" in text
    assert "16 parameters (64 B of float32), backend native" in text
    relumax = MLP([2, 3], output="relumax", relumax_b=0.5, loss="sparsemax").summary()
    assert "output relumax (b=0.5)" in relumax and "loss   sparsemax" in relumax
    entmax = MLP([2, 3], output="entmax", alpha=1.25).summary()
    assert "output entmax (alpha=1.25)" in entmax
    deep = MLP([2] + [3] * 12 + [2], "leaky_relu").summary().splitlines()
    assert len(deep) == 2 + 13 + 2 and "leaky_relu (alpha=0.01)" in deep[2]


# ---- evaluation in chunks ----------------------------------------------------------------------

# sizes whose GEMM paths change with the row count (small layers: the matrix-vector
# kernels up to a product volume), a one-output and a one-input network
SHAPES = [[64, 100, 50, 10], [2, 32, 32, 2], [6, 1], [1, 5, 3]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", SHAPES)
def test_batches_give_the_bits_of_one_call_native(isa: str, sizes: list[int], dtype: str) -> None:
    model = MLP(sizes, "tanh", "softmax" if sizes[-1] > 1 else "sigmoid", dtype=dtype, seed=1)
    for n in (3, 70, 2100):  # fewer rows than any chunk; more than the native chunk
        X = data(n, sizes[0], seed=n)
        logits, proba, labels = model.decision_function(X), model.predict_proba(X), model.predict(X)
        np.testing.assert_array_equal(model.forward(X), proba)
        for batch_size in (1, 3, 4, 64, 65, 999, 2048, 2049, 5000):
            np.testing.assert_array_equal(model.decision_function(X, batch_size), logits)
            np.testing.assert_array_equal(model.predict_proba(X, batch_size=batch_size), proba)
            np.testing.assert_array_equal(model.predict(X, batch_size=batch_size), labels)


def test_batches_give_the_bits_of_one_call_loop_and_to_rounding_vector() -> None:
    X = data(50, 5)
    for backend in ("loop", "vector"):
        model = MLP([5, 8, 3], "relu", dtype="float64", backend=backend, seed=4)
        full = model.decision_function(X)
        for batch_size in (1, 7, 49, 50, 51):
            got = model.decision_function(X, batch_size=batch_size)
            if backend == "loop":
                np.testing.assert_array_equal(got, full)
            else:  # NumPy's BLAS rounds differently for different row counts
                np.testing.assert_allclose(got, full, rtol=1e-13, atol=1e-15)


def test_regression_predict_in_batches() -> None:
    X = data(300, 3)
    model = MLP([3, 4, 2], output="identity", dtype="float64", seed=1)
    np.testing.assert_array_equal(model.predict(X, batch_size=16), model.predict(X))
    assert model.predict(X, batch_size=16).shape == (300, 2)


def test_native_chunk_range_is_what_the_kernels_need() -> None:
    """The row range eval_rows gives keeps each row's result to itself: evaluating
    rows alone in windows of the range's ends matches one call over all of them."""
    native = BACKENDS["native"]
    for sizes in SHAPES:
        model = MLP(sizes, "relu", dtype="float64", seed=2)
        fewest, most = native.eval_rows(model.spec)
        assert 4 <= fewest <= most
        X = data(most + fewest, sizes[0], seed=9)
        whole = native.logits(model.spec, model.params, X[:most])
        for lo in (0, 1, most - fewest):
            part = native.logits(model.spec, model.params, X[lo : lo + fewest])
            np.testing.assert_array_equal(part, whole[lo : lo + fewest])


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_batch_size_is_checked(bad: object, error: type) -> None:
    model = MLP([3, 2])
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(error, match="batch_size"):
            method(data(4, 3), batch_size=bad)
    with pytest.raises(TypeError, match="batch_size"):
        model.predict(data(4, 3), batch_size=True)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    sizes=st.lists(st.integers(1, 70), min_size=2, max_size=4),
    n=st.integers(1, 2200),
    batch_size=st.integers(1, 2300),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_any_chunking_gives_one_calls_bits(sizes, n, batch_size, dtype) -> None:
    """Random shapes around the GEMM's thresholds (layer volumes near 16^3 per row),
    row counts and batch sizes: the native chunks match one call, bit for bit."""
    model = MLP(sizes, "tanh", "identity", dtype=dtype, seed=len(sizes))
    X = data(n, sizes[0], seed=n)
    np.testing.assert_array_equal(
        model.decision_function(X, batch_size=batch_size), model.decision_function(X)
    )
