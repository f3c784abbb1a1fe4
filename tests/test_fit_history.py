"""fit's History, best-epoch selection and early stopping, on validation curves
scripted epoch by epoch (a regression model, so the score is -val_loss and fit
calls ``model.loss`` exactly once per epoch, on the validation data)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pyfastnn import MLP


def regression_problem(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ rng.normal(size=(3, 2))


def regression_model(backend: str = "native") -> MLP:
    return MLP([3, 4, 2], "tanh", "identity", dtype="float64", backend=backend, seed=1)


def script_val_losses(model: MLP, losses: list[float]) -> list[np.ndarray]:
    """Make ``model.loss`` return ``losses`` in turn; return the parameters it
    saw at each call (the weights at the end of each epoch)."""
    seen: list[np.ndarray] = []
    values = iter(losses)

    def loss(X: object, y: object, l1: float = 0.0, l2: float = 0.0) -> float:
        seen.append(model.params.copy())
        return next(values)

    model.loss = loss  # type: ignore[method-assign]
    return seen


def fit_scripted(losses: list[float], **kwargs: object):
    X, T = regression_problem()
    model = regression_model()
    seen = script_val_losses(model, losses)
    history = model.fit(X, T, X_val=X, y_val=T, batch_size=8, lr=0.05, **kwargs)
    return model, history, seen


def test_patience_counter_restarts_at_each_improvement():
    # improvements at epochs 1, 4 and 7, each after 2 epochs without: patience 3
    # must not stop before the 3 bad epochs 8, 9, 10
    losses = [5.0, 6.0, 6.0, 4.0, 7.0, 7.0, 3.0, 8.0, 8.0, 8.0, 0.0, 0.0]
    model, history, seen = fit_scripted(losses, epochs=12, patience=3)
    assert [e.epoch for e in history.epochs] == list(range(1, 11))
    assert history.stopped_early
    assert history.best_epoch == 7 and history.best.val_loss == 3.0
    np.testing.assert_array_equal(model.params, seen[6])


def test_no_early_stop_when_each_plateau_is_shorter_than_patience():
    losses = [5.0, 6.0, 4.0, 6.0, 3.0, 6.0]
    _, history, _ = fit_scripted(losses, epochs=6, patience=2)
    assert len(history.epochs) == 6 and not history.stopped_early
    assert history.best_epoch == 5


def test_a_tie_is_no_improvement():
    _, history, _ = fit_scripted([2.0, 2.0, 2.0, 2.0, 2.0], epochs=5, patience=3)
    assert history.best_epoch == 1
    assert history.stopped_early and len(history.epochs) == 4


@pytest.mark.parametrize("restore_best", [True, False])
def test_restore_best_or_keep_the_final_weights(restore_best):
    model, history, seen = fit_scripted([1.0, 2.0, 3.0], epochs=3, restore_best=restore_best)
    assert history.best_epoch == 1  # selected either way
    assert not np.array_equal(seen[0], seen[2])  # training moved the weights
    np.testing.assert_array_equal(model.params, seen[0] if restore_best else seen[2])


def test_without_validation_the_trained_weights_are_kept_and_patience_ignored():
    X, T = regression_problem()
    model = regression_model()
    initial = model.params.copy()
    history = model.fit(X, T, epochs=4, batch_size=8, lr=0.05, patience=1)
    assert len(history.epochs) == 4 and not history.stopped_early
    assert history.best_epoch is None and history.best is None
    assert all(e.val_loss is None and e.val_accuracy is None for e in history.epochs)
    assert not np.array_equal(model.params, initial)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


@pytest.mark.parametrize("backend", ["vector", "native"])
def test_train_loss_is_the_mean_of_the_minibatch_losses(backend):
    # 10 rows in batches of 4, 4, 2 with a negligible step: the mean of the three
    # batch means, which differs from the mean over the 10 rows
    X, T = regression_problem(10)
    model = regression_model(backend)
    batches = [model.loss(X[a:b], T[a:b]) for a, b in [(0, 4), (4, 8), (8, 10)]]
    history = model.fit(X, T, epochs=1, batch_size=4, lr=1e-12, shuffle=False)
    assert history.epochs[0].train_loss == pytest.approx(np.mean(batches), rel=1e-9)
    assert np.mean(batches) != pytest.approx(model.loss(X, T), rel=1e-3)


def test_train_metrics_off_leaves_the_train_accuracy_out():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    model = MLP([3, 2], dtype="float64")
    on = model.fit(X, y, epochs=2, lr=0.1)
    assert on.epochs[-1].train_accuracy == model.score(X, y)
    off = model.fit(X, y, epochs=2, lr=0.1, train_metrics=False)
    assert all(e.train_accuracy is None for e in off.epochs)


def test_history_as_dict_and_json(tmp_path):
    _, history, _ = fit_scripted([3.0, 1.0, 2.0, 2.0], epochs=4, patience=2)
    d = history.as_dict()
    assert d["best_epoch"] == 2 and d["stopped_early"] is True
    assert d["best_val_accuracy"] is None  # no accuracy for a regression model
    assert [e["epoch"] for e in d["epochs"]] == [1, 2, 3, 4]
    assert [e["val_loss"] for e in d["epochs"]] == [3.0, 1.0, 2.0, 2.0]
    assert d["seconds"] == pytest.approx(sum(e.seconds for e in history.epochs))
    # every key is the name of an attribute holding the same value
    for key in ("best_epoch", "best_val_accuracy", "seconds", "stopped_early"):
        assert getattr(history, key) == d[key]
    history.to_json(str(tmp_path / "h.json"))
    assert json.loads((tmp_path / "h.json").read_text()) == d


def test_progress_bar_counts_the_epochs_run(capsys):
    pytest.importorskip("tqdm")
    _, history, _ = fit_scripted([3.0, 1.0, 2.0, 2.0, 2.0], epochs=5, patience=2, progress=True)
    assert len(history.epochs) == 4
    err = capsys.readouterr().err
    assert "4/5" in err and "5/5" not in err and "loss=" in err


def test_progress_without_tqdm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    X, T = regression_problem()
    with pytest.raises(ImportError, match="pip install tqdm"):
        regression_model().fit(X, T, epochs=1, progress=True)
