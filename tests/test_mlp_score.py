"""MLP.score and MLP.predict beyond softmax classifiers: real targets (R^2), the
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


def r2(truth: np.ndarray, pred: np.ndarray) -> float:
    """R^2 per output column from its definition, averaged uniformly."""
    truth, pred = truth.reshape(len(truth), -1), pred.reshape(len(pred), -1)
    per = [1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2) for t, p in zip(truth.T, pred.T)]
    return float(np.mean(per))


@pytest.mark.parametrize("backend", BACKENDS)
def test_regression_score_is_r2_uniformly_averaged(backend):
    X, T = data(9, 3), data(9, 2, seed=1)
    model = MLP([3, 4, 2], "tanh", "identity", dtype="float64", backend=backend, seed=2)
    assert model.score(X, T) == pytest.approx(r2(T, model.forward(X)), rel=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.forward(X))


def test_regression_score_agrees_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    X, T = data(30, 3), data(30, 3, seed=1)
    T[:, 2] = 0.7  # a constant column: scikit-learn's force_finite rule (0.0 when missed)
    model = MLP([3, 5, 3], "tanh", "identity", dtype="float64", seed=2)
    expected = metrics.r2_score(T, model.forward(X), multioutput="uniform_average")
    assert model.score(X, T) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    model.weights = [model.weights[0], np.zeros((5, 3))]
    means = T.mean(axis=0)
    means[2] = 0.7  # the constant column exactly (its float mean may round off)
    model.biases = [model.biases[0], means]  # predicts the column means
    assert model.score(X, T) == pytest.approx(metrics.r2_score(T, model.forward(X)), abs=1e-12)
    assert model.score(X, T) == pytest.approx(1 / 3, abs=1e-12)  # 0, 0 and 1 (exact const)


def test_regression_score_with_one_output_and_targets_of_shape_n():
    X, t = data(7, 3), data(7, 1, seed=1)[:, 0]
    model = MLP([3, 1], output="identity", dtype="float64", seed=2)
    assert model.score(X, t) == pytest.approx(r2(t, model.forward(X)[:, 0]), rel=1e-12)
    assert model.score(X, t.reshape(-1, 1)) == model.score(X, t)


def test_regression_score_with_integer_labels_is_against_one_hot_not_accuracy():
    X, y = data(8, 3), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model = MLP([3, 3], output="identity", dtype="float64", seed=2)
    assert model.score(X, y) == pytest.approx(r2(np.eye(3)[y], model.forward(X)), rel=1e-12)


def test_regression_score_improves_with_fit_towards_one():
    X = data(60, 3)
    T = X @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0]])
    model = MLP([3, 2], output="identity", dtype="float64", seed=2)
    before = model.score(X, T)
    model.fit(X, T, epochs=40, batch_size=10, lr=0.05)
    assert before < 0.5 < model.score(X, T) <= 1


def test_regression_score_refuses_what_has_no_r2():
    model = MLP([3, 2], output="identity", dtype="float64", seed=2)
    with pytest.raises(ValueError, match="X: R\\^2 needs at least 2 samples"):
        model.score(data(1, 3), data(1, 2))
    T = data(5, 2)
    T[1, 1] = np.nan
    with pytest.raises(ValueError, match="y: contains NaN"):
        model.score(data(5, 3), T)
    with pytest.raises(ValueError, match="y: expected targets of shape"):
        model.score(data(5, 3), data(5, 3))


def test_classifier_score_refuses_real_targets():
    model = MLP([3, 2], dtype="float64", seed=2)
    with pytest.raises(TypeError, match="y: expected integer class labels"):
        model.score(data(5, 3), data(5, 2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_score_on_real_targets_is_r2_of_the_probabilities(backend):
    X = data(9, 3)
    T = np.random.default_rng(1).uniform(0.05, 0.95, size=(9, 2))
    model = MLP([3, 4, 2], "relu", "sigmoid", dtype="float64", backend=backend, seed=2)
    assert model.score(X, T) == pytest.approx(r2(T, model.forward(X)), rel=1e-10)


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
    assert model.score(X, y.astype(np.float64)) == pytest.approx(r2(y, p), rel=1e-12)


def test_perceptron_loss_scores_accuracy():
    X, y = data(20, 3), np.random.default_rng(1).integers(0, 3, size=20)
    model = MLP([3, 3], output="identity", loss="perceptron", dtype="float64", seed=2)
    assert model.score(X, y) == np.mean(model.forward(X).argmax(axis=1) == y)
