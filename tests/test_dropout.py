"""Inverted dropout: the same masks in every backend, exact gradients, statistics."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import MLP
from pyfastnn._dropout import DropoutStream

BACKENDS = ("loop", "vector", "native")


def data(n: int = 10, d: int = 5, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, size=n)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("output", ["softmax", "sparsemax"])
def test_backends_agree_with_dropout(activation: str, output: str) -> None:
    X, y = data()
    model = MLP([5, 8, 6, 3], activation, output, dtype="float64", seed=1)
    results = {}
    for b in BACKENDS:
        model.backend = b
        loss, g = model.loss_and_grad(X, y, dropout=0.4, dropout_stream=(7, 2, 5))
        results[b] = (loss, g.flat.copy())
    for b in ("loop", "native"):
        assert results[b][0] == pytest.approx(results["vector"][0], rel=1e-12)
        np.testing.assert_allclose(results[b][1], results["vector"][1], rtol=1e-10, atol=1e-13)


def test_dropout_gradient_matches_finite_differences() -> None:
    """With the mask fixed by its stream the loss is smooth in the parameters."""
    X, y = data(6, 4, 3, seed=2)
    model = MLP([4, 7, 3], "tanh", dtype="float64", seed=3)
    kw = {"dropout": 0.3, "dropout_stream": (1, 1, 0)}
    _, g = model.loss_and_grad(X, y, **kw)
    grad = g.flat.copy()
    base = model.params.copy()
    h = 1e-6
    numeric = np.empty_like(grad)
    for i in range(base.size):
        values = []
        for sign in (1, -1):
            p = base.copy()
            p[i] += sign * h
            model.params = p
            values.append(model.loss_and_grad(X, y, **kw)[0])
        numeric[i] = (values[0] - values[1]) / (2 * h)
    model.params = base
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_masks_have_the_rate_and_keep_the_mean() -> None:
    mask = DropoutStream(0.3, seed=5, epoch=1, step=2).mask(0, 400, 250, np.dtype(np.float64))
    dropped = np.mean(mask == 0)
    assert abs(dropped - 0.3) < 0.01  # 100000 draws: sd 0.0015
    assert abs(mask.mean() - 1.0) < 0.02  # inverted dropout keeps E[h]
    np.testing.assert_allclose(np.unique(mask), [0.0, 1 / 0.7])


def test_masks_change_with_every_coordinate() -> None:
    base = DropoutStream(0.5, 1, 1, 1).mask(0, 20, 20, np.dtype(np.float32))
    for other in (
        DropoutStream(0.5, 2, 1, 1).mask(0, 20, 20, np.dtype(np.float32)),
        DropoutStream(0.5, 1, 2, 1).mask(0, 20, 20, np.dtype(np.float32)),
        DropoutStream(0.5, 1, 1, 2).mask(0, 20, 20, np.dtype(np.float32)),
        DropoutStream(0.5, 1, 1, 1).mask(1, 20, 20, np.dtype(np.float32)),
    ):
        assert np.mean(base != other) > 0.3


def test_zero_rate_is_no_dropout() -> None:
    X, y = data()
    model = MLP([5, 8, 3], dtype="float64")
    a = model.loss_and_grad(X, y)[1].flat.copy()
    b = model.loss_and_grad(X, y, dropout=0.0, dropout_stream=(3, 3, 3))[1].flat
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_changes_training_but_identically_across_backends(backend: str) -> None:
    X, y = data(30, 5, 3, seed=4)
    ref = MLP([5, 9, 3], dtype="float64", backend="vector", seed=2)
    ref.fit(X, y, epochs=2, batch_size=7, lr=0.1, dropout=0.5, seed=11)
    plain = MLP([5, 9, 3], dtype="float64", backend="vector", seed=2)
    plain.fit(X, y, epochs=2, batch_size=7, lr=0.1, seed=11)
    assert np.abs(ref.params - plain.params).max() > 1e-3
    model = MLP([5, 9, 3], dtype="float64", backend=backend, seed=2)
    model.fit(X, y, epochs=2, batch_size=7, lr=0.1, dropout=0.5, seed=11)
    np.testing.assert_allclose(model.params, ref.params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"dropout": 1.0}, ValueError),
        ({"dropout": -0.1}, ValueError),
        ({"dropout": float("nan")}, ValueError),
        ({"dropout": "0.5"}, TypeError),
        ({"dropout": 0.5, "dropout_stream": (1, 2)}, ValueError),
        ({"dropout": 0.5, "dropout_stream": (1, 2, -3)}, ValueError),
        ({"dropout": 0.5, "dropout_stream": (1, 2, 2**64)}, ValueError),
        ({"dropout": 0.5, "dropout_stream": [1, 2, 3]}, ValueError),
    ],
)
def test_bad_dropout_arguments(kwargs, error) -> None:
    X, y = data()
    model = MLP([5, 4, 3], dtype="float64")
    with pytest.raises(error, match="dropout"):
        model.loss_and_grad(X, y, **kwargs)


def test_dropout_needs_a_hidden_layer() -> None:
    X, y = data()
    with pytest.raises(ValueError, match="dropout"):
        MLP([5, 3]).loss_and_grad(X, y, dropout=0.5)
