"""Accuracy facts on real and synthetic data (fixed splits and seeds).

Digits: scikit-learn's bundled 8x8 digits (read from a file inside the
package, no download), features / 16, a stratified 20% test split.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pyfastnn


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    return selection.train_test_split(X / 16.0, y, test_size=0.2, stratify=y, random_state=0)


MLP_SETTINGS = {"epochs": 50, "batch_size": 32, "optimizer": "adam", "lr": 1e-3}


def test_mlp_reaches_97_percent_on_digits(digits) -> None:
    Xtr, Xte, ytr, yte = digits
    model = pyfastnn.MLP([64, 100, 10], "relu", dtype="float64", seed=0)
    model.fit(Xtr, ytr, seed=0, **MLP_SETTINGS)
    assert model.score(Xte, yte) >= 0.97


def test_mlp_is_within_one_and_a_half_points_of_scikit_learn(digits) -> None:
    nn = pytest.importorskip("sklearn.neural_network")
    Xtr, Xte, ytr, yte = digits
    ours, theirs = [], []
    for seed in range(3):
        model = pyfastnn.MLP([64, 100, 10], "relu", dtype="float64", seed=seed)
        model.fit(Xtr, ytr, seed=seed, **MLP_SETTINGS)
        ours.append(model.score(Xte, yte))
        ref = nn.MLPClassifier(
            (100,),
            activation="relu",
            solver="adam",
            learning_rate_init=1e-3,
            batch_size=32,
            max_iter=50,
            alpha=0.0,
            tol=0.0,
            n_iter_no_change=1000,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            theirs.append(ref.fit(Xtr, ytr).score(Xte, yte))
    assert np.mean(ours) >= np.mean(theirs) - 0.015, (ours, theirs)


def test_logistic_regression_reaches_95_percent_on_digits(digits) -> None:
    Xtr, Xte, ytr, yte = digits
    model = pyfastnn.LogisticRegression(64, 10)
    model.fit(Xtr, ytr, epochs=100, batch_size=32, lr=0.5)
    assert model.score(Xte, yte) >= 0.95


def test_perceptron_reaches_90_percent_on_digits(digits) -> None:
    Xtr, Xte, ytr, yte = digits
    model = pyfastnn.Perceptron(64, 10)
    model.fit(Xtr, ytr, epochs=5)
    assert model.score(Xte, yte) >= 0.90


def circles(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric noisy rings (radius 1 and 0.5), n/2 points each."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    y = np.arange(n) % 2
    radius = np.where(y == 0, 1.0, 0.5)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + rng.normal(scale=0.05, size=X.shape), y


@pytest.mark.parametrize("backend", ["native", "vector"])
def test_circles_are_memorised_by_100_hidden_units(backend: str) -> None:
    X, y = circles(200)
    model = pyfastnn.MLP([2, 100, 2], "relu", dtype="float64", backend=backend, seed=0)
    model.fit(X, y, epochs=100, batch_size=10, lr=0.05, seed=0)
    assert model.score(X, y) == 1.0
