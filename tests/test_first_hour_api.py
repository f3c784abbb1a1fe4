"""What a new user meets first in the Python API: Python floats from every
backend, result files written whole or not at all, a short ``History`` whose
JSON keys are its attribute names, and whole-number float labels in ``fit``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyfastnn import MLP
from pyfastnn._files import check_writable_dir, write_json_atomic, write_text_atomic
from pyfastnn.training import History

BACKENDS = ("loop", "vector", "native")


def _data(n: int = 24, d: int = 3, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.arange(n) % k


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_backend_returns_python_floats(backend, dtype) -> None:
    X, y = _data()
    model = MLP([3, 4, 3], dtype=dtype, backend=backend, seed=0)
    assert type(model.loss(X, y)) is float
    loss, _ = model.loss_and_grad(X, y, l2=1e-3)
    assert type(loss) is float
    history = model.fit(X, y, epochs=2, batch_size=8, X_val=X, y_val=y)
    for record in history.epochs:
        for value in (record.train_loss, record.val_loss, record.train_accuracy, record.seconds):
            assert type(value) is float
    # and so the history is JSON as it stands (no default= needed)
    assert json.loads(json.dumps(history.as_dict()))["best_epoch"] == history.best_epoch


def test_backends_agree_on_the_loss_value() -> None:
    X, y = _data()
    losses = []
    for backend in BACKENDS:
        model = MLP([3, 4, 3], dtype="float64", backend=backend, seed=3)
        losses.append(model.loss(X, y, l2=1e-2))
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    assert losses[2] == pytest.approx(losses[1], rel=1e-12)


def test_json_is_written_whole_or_not_at_all(tmp_path) -> None:
    path = tmp_path / "results.json"
    write_json_atomic(path, {"loss": 1.5})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"loss": np.float32(2.0), "bad": object()})
    assert json.loads(path.read_text()) == {"loss": 1.5}  # the old file, intact
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
    write_text_atomic(path, "new")
    assert path.read_text() == "new"


def test_check_writable_dir(tmp_path) -> None:
    check_writable_dir(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir() and not list((tmp_path / "a" / "b").iterdir())
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="file"):
        check_writable_dir(tmp_path / "file")
    with pytest.raises(OSError):
        check_writable_dir(tmp_path / "file" / "below")


def _history(epochs: int) -> History:
    X, y = _data(60)
    model = MLP([3, 5, 3], dtype="float64", backend="vector", seed=0)
    return model.fit(X, y, epochs=epochs, batch_size=8, X_val=X, y_val=y)


def test_history_repr_is_short_whatever_the_epochs() -> None:
    short, long = _history(2), _history(40)
    assert len(repr(long)) < 160
    assert len(repr(long)) - len(repr(short)) < 10  # does not grow with the epochs
    assert repr(long).startswith("History(40 epochs")
    assert f"best_epoch={long.best_epoch}" in repr(long)


def test_history_documents_its_methods() -> None:
    for name in ("best", "as_dict", "to_json", "from_dict", "seconds", "best_val_accuracy"):
        assert getattr(History, name).__doc__, name


def test_history_json_keys_are_attribute_names_and_round_trip(tmp_path) -> None:
    history = _history(5)
    d = history.as_dict()
    for key in d:
        value = getattr(history, key)
        assert (value if key != "epochs" else [vars(e) for e in value]) == d[key], key
    history.to_json(tmp_path / "h.json")
    again = History.from_dict(json.loads((tmp_path / "h.json").read_text()))
    assert again.as_dict() == d


def test_history_reads_the_older_keys() -> None:
    history = _history(3)
    old = history.as_dict()
    old["selected_epoch"] = old.pop("best_epoch")
    old["best_valid"] = old.pop("best_val_accuracy")
    old["time"] = old.pop("seconds")
    again = History.from_dict(old)
    assert again.best_epoch == history.best_epoch
    assert again.best_val_accuracy == history.best_val_accuracy


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_accepts_whole_number_float_labels(backend) -> None:
    X, y = _data(30)
    a = MLP([3, 4, 3], dtype="float64", backend=backend, seed=1)
    b = MLP([3, 4, 3], dtype="float64", backend=backend, seed=1)
    ha = a.fit(X, y, epochs=2, batch_size=7, X_val=X, y_val=y)
    hb = b.fit(X, y.astype(float), epochs=2, batch_size=7, X_val=X, y_val=y.astype(np.float32))
    assert np.array_equal(a.params, b.params)
    assert ha.as_dict()["epochs"][-1]["val_accuracy"] == hb.as_dict()["epochs"][-1]["val_accuracy"]
    c = MLP([3, 4, 3], dtype="float64", backend=backend, seed=1)
    c.fit(X, list(y.astype(float)), epochs=2, batch_size=7, X_val=X, y_val=y)
    assert np.array_equal(a.params, c.params)  # lists convert too
    with pytest.raises(TypeError, match="y"):
        a.fit(X, y + 0.5, epochs=1)
    with pytest.raises((TypeError, ValueError), match="y"):
        a.fit(X, np.where(y == 0, np.nan, y.astype(float)), epochs=1)


def test_regression_targets_stay_real() -> None:
    """One real output: float y is a target, not a label, and is left as it is."""
    X, _ = _data(20)
    t = X[:, 0] * 0.5
    model = MLP([3, 1], output="identity", dtype="float64", backend="vector")
    history = model.fit(X, t, epochs=30, batch_size=5, lr=0.05)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
