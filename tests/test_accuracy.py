"""Accuracy facts on real and synthetic data (fixed splits and seeds).

Digits: scikit-learn's bundled 8x8 digits (read from a file inside the
package, no download) through pyfastnn.data.load_digits: features / 16, a
stratified 20% test split (seed 0), the other 80% for training.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pyfastnn
from pyfastnn.data import load_digits, make_circles


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    d = load_digits(dtype=np.float64, val_fraction=0.0)  # stratified 80/20, seed 0
    return d.X_train, d.X_test, d.y_train, d.y_test


MLP_SETTINGS = {"epochs": 50, "batch_size": 32, "optimizer": "adam", "lr": 1e-3}
SEEDS = (0, 1, 2)


def standardized(Xtr: np.ndarray, Xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit variance per feature, with the training part's statistics."""
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    std[std == 0] = 1.0
    return (Xtr - mean) / std, (Xte - mean) / std


@pytest.fixture(scope="module")
def mlp_scores(digits) -> list[float]:
    Xtr, Xte, ytr, yte = digits
    Str, Ste = standardized(Xtr, Xte)
    scores = []
    for seed in SEEDS:
        model = pyfastnn.MLP([64, 100, 10], "relu", dtype="float64", seed=seed)
        model.fit(Str, ytr, seed=seed, **MLP_SETTINGS)
        scores.append(model.score(Ste, yte))
    return scores


def test_mlp_reaches_97_percent_on_digits(mlp_scores) -> None:
    # single seeds give 96.7-97.5% on this split: the claim is about the mean
    assert np.mean(mlp_scores) >= 0.97, mlp_scores


def test_mlp_is_within_one_and_a_half_points_of_scikit_learn(digits, mlp_scores) -> None:
    nn = pytest.importorskip("sklearn.neural_network")
    Xtr, Xte, ytr, yte = digits
    Str, Ste = standardized(Xtr, Xte)
    ours, theirs = mlp_scores, []
    for seed in SEEDS:
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
            theirs.append(ref.fit(Str, ytr).score(Ste, yte))
    assert np.mean(ours) >= np.mean(theirs) - 0.015, (ours, theirs)


def test_logistic_regression_reaches_95_percent_on_digits(digits) -> None:
    Xtr, Xte, ytr, yte = digits
    model = pyfastnn.LogisticRegression(64, 10)
    model.fit(Xtr, ytr, epochs=100, batch_size=32, lr=0.5)
    assert model.score(Xte, yte) >= 0.95


def test_perceptron_reaches_90_percent_on_digits(digits) -> None:
    Xtr, Xte, ytr, yte = digits
    model = pyfastnn.Perceptron(64, 10)
    model.fit(Xtr, ytr, epochs=10)
    assert model.score(Xte, yte) >= 0.90


@pytest.mark.parametrize("backend", ["native", "vector"])
def test_circles_are_memorised_by_100_hidden_units(backend: str) -> None:
    X, y = make_circles(200, noise=0.05, factor=0.5, seed=0)
    model = pyfastnn.MLP([2, 100, 2], "relu", dtype="float64", backend=backend, seed=0)
    model.fit(X, y, epochs=100, batch_size=10, lr=0.05, seed=0)
    assert model.score(X, y) == 1.0
