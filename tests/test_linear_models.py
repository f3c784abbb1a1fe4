"""Perceptron and LogisticRegression: update rules, three backends, files."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import LogisticRegression, Perceptron

BACKENDS = ("loop", "vector", "native")


def blobs(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


def textbook_perceptron(X, y, k, epochs, lr=1.0):
    """Rosenblatt's multiclass perceptron, one sample at a time, from zero."""
    W = np.zeros((X.shape[1], k))
    b = np.zeros(k)
    for _ in range(epochs):
        for x, t in zip(X, y):
            p = int(np.argmax(x @ W + b))
            if p != t:
                W[:, t] += lr * x
                b[t] += lr
                W[:, p] -= lr * x
                b[p] -= lr
    return W, b


@pytest.mark.parametrize("backend", BACKENDS)
def test_perceptron_follows_the_textbook_update(backend: str) -> None:
    X, y = blobs(40, 3, 3)
    model = Perceptron(3, 3, backend=backend, dtype="float64")
    model.fit(X, y, epochs=3, shuffle=False, lr=0.5)
    W, b = textbook_perceptron(X, y, 3, 3, lr=0.5)
    np.testing.assert_allclose(model.weights[0], W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.biases[0], b, rtol=1e-12, atol=1e-12)


def test_perceptron_minibatch_averages_the_mistakes() -> None:
    X, y = blobs(12, 4, 3, seed=2)
    model = Perceptron(4, 3, dtype="float64")
    model.weights = [np.random.default_rng(0).normal(size=(4, 3))]
    W0 = model.weights[0].copy()
    p = np.argmax(X @ W0, axis=1)
    expected = W0.copy()
    for x, t, q in zip(X, y, p):
        if q != t:
            expected[:, t] += 0.1 * x / len(X)
            expected[:, q] -= 0.1 * x / len(X)
    model.fit(X, y, epochs=1, batch_size=len(X), lr=0.1, shuffle=False)
    np.testing.assert_allclose(model.weights[0], expected, rtol=1e-12, atol=1e-14)


def test_perceptron_separates_separable_data() -> None:
    X, y = blobs(200, 5, 4, seed=1)
    X += 6.0 * np.eye(4, 5)[y]  # push the classes apart: linearly separable
    model = Perceptron(5, 4)
    model.fit(X, y, epochs=30)
    assert model.score(X, y) == 1.0
    proba = model.predict_proba(X)
    assert set(np.unique(proba)) <= {0.0, 1.0}
    np.testing.assert_array_equal(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(proba, axis=1), model.predict(X))
    np.testing.assert_array_equal(np.argmax(model.decision_function(X), axis=1), model.predict(X))


@pytest.mark.parametrize("cls", [Perceptron, LogisticRegression])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", pyfastnn.SGD(lr=0.05, momentum=0.9)])
def test_backends_train_linear_models_alike(cls, optimizer) -> None:
    X, y = blobs(37, 4, 3)
    models = {
        b: cls(4, 3, backend=b, init="glorot_uniform", seed=1, dtype="float64") for b in BACKENDS
    }
    for m in models.values():
        m.fit(X, y, epochs=2, batch_size=5, optimizer=optimizer, l2=1e-3, l1=1e-3, seed=4)
    for b in ("native", "vector"):
        np.testing.assert_allclose(models[b].params, models["loop"].params, rtol=1e-10, atol=1e-12)


def test_logistic_regression_matches_scikit_learn() -> None:
    """Full-batch training of the L2-penalised loss reaches sklearn's optimum.

    Ours: mean CE + l2 ||W||^2; sklearn: C * sum CE + ||W||^2 / 2, the same
    minimiser when C = 1 / (2 N l2) (neither penalises the intercept).
    """
    sk = pytest.importorskip("sklearn.linear_model")
    X, y = blobs(150, 4, 3, seed=5)
    l2 = 0.01
    ours = LogisticRegression(4, 3, dtype="float64")
    ours.fit(X, y, epochs=3000, batch_size=150, lr=0.5, l2=l2, shuffle=False)
    ref = sk.LogisticRegression(C=1.0 / (2 * len(X) * l2), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=2e-5)
    # the penalty makes W's rows sum to zero over classes, as sklearn's do
    np.testing.assert_allclose(ours.weights[0], ref.coef_.T, atol=2e-4)


def test_logistic_regression_gradient_matches_finite_differences() -> None:
    X, y = blobs(9, 3, 4, seed=3)
    model = LogisticRegression(3, 4, init="glorot_normal", seed=2, dtype="float64")
    result = pyfastnn.gradcheck(model, X, y, l2=0.05)
    assert max(result.errors.values()) < 1e-6


@pytest.mark.parametrize("cls", [Perceptron, LogisticRegression])
def test_linear_models_round_trip_through_files(cls, tmp_path) -> None:
    X, y = blobs(30, 3, 3)
    model = cls(3, 3)
    model.fit(X, y, epochs=2)
    path = tmp_path / "m.npz"
    model.save(str(path))
    back = pyfastnn.load(str(path))
    assert type(back) is cls
    np.testing.assert_array_equal(back.params, model.params)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((0, 3), ValueError),
        ((3, 1), ValueError),
        ((3.0, 3), TypeError),
        ((3, True), TypeError),
    ],
)
@pytest.mark.parametrize("cls", [Perceptron, LogisticRegression])
def test_bad_sizes_are_rejected(cls, args, error) -> None:
    with pytest.raises(error, match="n_features|n_classes"):
        cls(*args)


def test_perceptron_rejects_real_targets_and_dropout() -> None:
    model = Perceptron(3, 2)
    X = np.ones((4, 3))
    with pytest.raises(TypeError, match="y"):
        model.fit(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="dropout"):
        model.fit(X, np.array([0, 1, 0, 1]), dropout=0.5)


def test_crafted_file_with_wrong_kind_is_rejected(tmp_path) -> None:
    import json

    model = LogisticRegression(3, 2)
    path = tmp_path / "m.npz"
    model.save(str(path))
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        params = f["params"]
    for kind, fix in (("perceptron", {}), ("spaceship", {}), (["mlp"], {})):
        bad = tmp_path / "bad.npz"
        np.savez(bad, params=params, meta=np.array(json.dumps({**meta, "model": kind, **fix})))
        with pytest.raises(ValueError, match="path"):
            pyfastnn.load(str(bad))
