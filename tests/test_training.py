"""fit, prediction and model files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP


def blobs(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


@pytest.mark.parametrize("optimizer", ["sgd", "adam", pyfastnn.SGD(lr=0.05, momentum=0.9)])
def test_backends_train_to_the_same_weights(optimizer) -> None:
    X, y = blobs(45, 5, 3)
    models = {b: MLP([5, 7, 3], "tanh", dtype="float64", backend=b) for b in ("native", "vector")}
    models["loop"] = MLP([5, 7, 3], "tanh", dtype="float64", backend="loop")
    for m in models.values():
        m.fit(X, y, epochs=2, batch_size=8, optimizer=optimizer, l2=1e-3, seed=3)
    ref = models["loop"].params
    for b in ("native", "vector"):
        np.testing.assert_allclose(models[b].params, ref, rtol=1e-10, atol=1e-12)


def test_fit_learns_and_records_history(tmp_path) -> None:
    X, y = blobs(300, 4, 3)
    model = MLP([4, 16, 3], dtype="float64")
    before = model.loss(X, y)
    history = model.fit(
        X[:240], y[:240], epochs=15, batch_size=16, lr=0.05, X_val=X[240:], y_val=y[240:]
    )
    assert model.loss(X, y) < 0.5 * before
    assert len(history.epochs) == 15
    assert all(e.seconds > 0 and e.val_accuracy is not None for e in history.epochs)
    assert model.score(X[240:], y[240:]) == pytest.approx(history.best.val_accuracy)
    history.to_json(str(tmp_path / "h.json"))
    saved = json.loads((tmp_path / "h.json").read_text())
    assert saved["best_epoch"] == history.best_epoch
    assert saved["best_val_accuracy"] == history.best.val_accuracy


def test_best_epoch_weights_are_restored() -> None:
    X, y = blobs(200, 4, 3, seed=1)
    model = MLP([4, 8, 3], dtype="float64")
    history = model.fit(
        X[:150], y[:150], epochs=12, batch_size=4, lr=0.5, X_val=X[150:], y_val=y[150:]
    )
    best = history.best
    assert best.val_accuracy == max(e.val_accuracy for e in history.epochs)
    assert model.score(X[150:], y[150:]) == pytest.approx(best.val_accuracy)


def test_early_stopping() -> None:
    X, y = blobs(60, 3, 2)
    model = MLP([3, 4, 2], dtype="float64")
    history = model.fit(X, y, epochs=50, lr=1e-12, X_val=X, y_val=y, patience=3)
    assert history.stopped_early
    assert len(history.epochs) == 4  # the first epoch, then 3 without improvement


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_partial_and_single_batches(batch_size: int) -> None:
    X, y = blobs(23, 3, 2)
    a = MLP([3, 4, 2], dtype="float64", backend="native")
    b = MLP([3, 4, 2], dtype="float64", backend="vector")
    for m in (a, b):
        m.fit(X, y, epochs=1, batch_size=batch_size, lr=0.1)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)


def test_divergence_names_the_epoch() -> None:
    X, y = blobs(40, 3, 2)
    model = MLP([3, 16, 2], "relu", "identity", dtype="float32")
    with pytest.raises(FloatingPointError, match=r"epoch \d.*smaller learning rate"):
        model.fit(X * 1e3, np.eye(2)[y] * 1e3, epochs=3, lr=1e3)


def test_fit_rejects_bad_arguments() -> None:
    X, y = blobs(10, 3, 2)
    model = MLP([3, 2])
    for kwargs, name in [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"clip_norm": float("nan")}, "clip_norm"),
        ({"lr": -1.0}, "lr"),
        ({"X_val": X}, "X_val"),
        ({"patience": 0}, "patience"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            model.fit(X, y, **kwargs)
    with pytest.raises(ValueError, match="y"):
        model.fit(X, y[:5])


def test_predict_and_score() -> None:
    X, y = blobs(50, 3, 4)
    model = MLP([3, 4], dtype="float64")
    P = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))
    assert model.score(X, y) == pytest.approx(np.mean(P.argmax(axis=1) == y))


@pytest.mark.parametrize("output", ["softmax", "relumax", "identity"])
def test_save_and_load_roundtrip(tmp_path, output: str) -> None:
    model = MLP(
        [4, 5, 3],
        "leaky_relu",
        output,
        dtype="float64",
        activation_param=0.2,
        relumax_b=0.7,
        seed=5,
    )
    path = tmp_path / "model.npz"
    model.save(str(path))
    back = pyfastnn.load(str(path))
    assert (back.layer_sizes, back.activation, back.activation_param, back.output) == (
        model.layer_sizes,
        model.activation,
        model.activation_param,
        model.output,
    )
    assert back.relumax_b == model.relumax_b and back.dtype == model.dtype
    np.testing.assert_array_equal(back.params, model.params)
    X = np.random.default_rng(0).normal(size=(6, 4))
    np.testing.assert_array_equal(back.forward(X), model.forward(X))


def test_load_rejects_bad_files(tmp_path) -> None:
    model = MLP([3, 2])
    good = tmp_path / "good.npz"
    model.save(str(good))
    data = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip at all")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    np.savez(
        tmp_path / "pickled.npz",
        params=np.zeros(8, np.float32),
        meta=np.array([{"format": "pyfastnn.mlp"}], dtype=object),
    )
    meta = {
        "format": "pyfastnn.mlp",
        "version": 1,
        "layer_sizes": [3, 2],
        "activation": "relu",
        "activation_param": 0.0,
        "output": "softmax",
        "loss": "cross_entropy",
        "relumax_b": 1.0,
        "eps": 1e-3,
        "dtype": "float32",
    }
    np.savez(
        tmp_path / "wrongshape.npz", params=np.zeros(5, np.float32), meta=np.array(json.dumps(meta))
    )
    np.savez(
        tmp_path / "nan.npz", params=np.full(8, np.nan, np.float32), meta=np.array(json.dumps(meta))
    )
    np.savez(
        tmp_path / "badmeta.npz",
        params=np.zeros(8, np.float32),
        meta=np.array(json.dumps({**meta, "activation": "__import__('os')"})),
    )
    for name in ("truncated", "garbage", "other", "pickled", "wrongshape", "nan", "badmeta"):
        with pytest.raises(ValueError):
            pyfastnn.load(str(tmp_path / f"{name}.npz"))
    with pytest.raises(FileNotFoundError):
        pyfastnn.load(str(tmp_path / "missing.npz"))
