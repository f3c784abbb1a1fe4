"""MLP.score and MLP.predict beyond softmax classifiers: real targets, the
identity output (regression), sigmoid outputs and the perceptron loss."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import MLP

BACKENDS = ["loop", "vector", "native"]


def data(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def bce(logits: np.ndarray, t: np.ndarray) -> float:
    """Mean over samples of the mean over outputs of -[t log p + (1-t) log(1-p)]."""
    p = 1 / (1 + np.exp(-logits))
    return float(np.mean(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=1)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_score_is_minus_the_mean_squared_error(backend):
    X, T = data(9, 3), data(9, 2, seed=1)
    model = MLP([3, 4, 2], "tanh", "identity", dtype="float64", backend=backend, seed=2)
    mse = np.mean(np.sum((model.forward(X) - T) ** 2, axis=1))
    assert model.score(X, T) == pytest.approx(-mse, rel=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.forward(X))


def test_regression_score_with_one_output_and_targets_of_shape_n():
    X, t = data(7, 3), data(7, 1, seed=1)[:, 0]
    model = MLP([3, 1], output="identity", dtype="float64", seed=2)
    mse = np.mean((model.forward(X)[:, 0] - t) ** 2)
    assert model.score(X, t) == pytest.approx(-mse, rel=1e-12)
    assert model.score(X, t.reshape(-1, 1)) == model.score(X, t)


def test_regression_score_with_integer_labels_is_against_one_hot_not_accuracy():
    X, y = data(8, 3), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model = MLP([3, 3], output="identity", dtype="float64", seed=2)
    mse = np.mean(np.sum((model.forward(X) - np.eye(3)[y]) ** 2, axis=1))
    assert model.score(X, y) == pytest.approx(-mse, rel=1e-12)


def test_regression_score_has_no_penalty_and_improves_with_fit():
    X = data(60, 3)
    T = X @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0]])
    model = MLP([3, 2], output="identity", dtype="float64", seed=2)
    before = model.score(X, T)
    model.fit(X, T, epochs=20, batch_size=10, lr=0.05, l2=0.1)
    assert model.score(X, T) == -model.loss(X, T)
    assert before < model.score(X, T) <= 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_score_on_real_targets_is_minus_the_cross_entropy(backend):
    X = data(9, 3)
    T = np.random.default_rng(1).uniform(0.05, 0.95, size=(9, 2))
    model = MLP([3, 4, 2], "relu", "sigmoid", dtype="float64", backend=backend, seed=2)
    Z = np.log(model.forward(X)) - np.log1p(-model.forward(X))  # the logits
    assert model.score(X, T) == pytest.approx(-bce(Z, T), rel=1e-10)


def test_sigmoid_score_on_labels_is_the_accuracy_of_the_argmax():
    X, y = data(20, 3), np.random.default_rng(1).integers(0, 3, size=20)
    model = MLP([3, 3], output="sigmoid", dtype="float64", seed=2)
    assert model.score(X, y) == np.mean(model.forward(X).argmax(axis=1) == y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_sigmoid_output_predicts_and_scores_by_the_one_half_threshold(backend):
    X = data(80, 2)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    model = MLP([2, 1], output="sigmoid", dtype="float64", backend=backend, seed=2)
    model.fit(X, y, epochs=30, batch_size=8, lr=0.5)
    p = model.forward(X)[:, 0]
    np.testing.assert_array_equal(model.predict(X), (p > 0.5).astype(np.int64))
    assert model.score(X, y) == np.mean((p > 0.5) == y)
    assert model.score(X, y) > 0.9
    assert model.score(X, y.astype(np.float64)) == pytest.approx(-model.loss(X, y))


def test_perceptron_loss_scores_accuracy():
    X, y = data(20, 3), np.random.default_rng(1).integers(0, 3, size=20)
    model = MLP([3, 3], output="identity", loss="perceptron", dtype="float64", seed=2)
    assert model.score(X, y) == np.mean(model.forward(X).argmax(axis=1) == y)
