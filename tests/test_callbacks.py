"""fit's per-epoch callbacks: what they see, how they stop training, and what an
exception in one leaves behind."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import MLP, Adam

BACKENDS = ("loop", "vector", "native")


def problem(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def net(backend: str = "native") -> MLP:
    return MLP([4, 6, 3], "tanh", dtype="float64", backend=backend, seed=2)


OPTIONS = dict(batch_size=8, optimizer=Adam(lr=0.01), dropout=0.2, seed=5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_callbacks_see_the_model_and_the_record_of_every_epoch(backend: str) -> None:
    X, y = problem()
    seen = []

    def watch(model, record):
        seen.append((record, model.params.copy()))

    model = net(backend)
    history = model.fit(X, y, epochs=4, callbacks=[watch], **OPTIONS)
    assert [r for r, _ in seen] == history.epochs  # the very records of the History
    assert [r.epoch for r, _ in seen] == [1, 2, 3, 4]
    # the model a callback sees holds that epoch's weights: those of a shorter run
    for k in (2, 4):
        shorter = net(backend)
        shorter.fit(X, y, epochs=k, **OPTIONS)
        np.testing.assert_array_equal(seen[k - 1][1], shorter.params)


def test_a_callback_returning_true_stops_training() -> None:
    X, y = problem()
    calls = []

    def second(model, record):
        calls.append(record.epoch)
        return record.epoch == 3

    def stop_at_three(model, record):
        return record.epoch >= 3

    model = net()
    history = model.fit(X, y, epochs=10, callbacks=[stop_at_three, second], **OPTIONS)
    assert len(history.epochs) == 3 and history.stopped_early
    assert history.stop_reason == "callback stop_at_three returned True"
    assert calls == [1, 2, 3]  # every callback sees the last epoch too
    assert "stop_at_three" in repr(history)
    assert history.as_dict()["stop_reason"] == history.stop_reason
    shorter = net()
    shorter.fit(X, y, epochs=3, **OPTIONS)
    np.testing.assert_array_equal(model.params, shorter.params)
    # False and None go on
    history = net().fit(X, y, epochs=3, callbacks=[lambda m, r: False, lambda m, r: None])
    assert len(history.epochs) == 3 and not history.stopped_early and history.stop_reason is None


def test_a_callback_stop_still_restores_the_best_epoch() -> None:
    X, y = problem()
    Xv, yv = problem(20, seed=1)
    model = net()
    history = model.fit(
        X, y, epochs=10, X_val=Xv, y_val=yv, callbacks=[lambda m, r: r.epoch == 4], **OPTIONS
    )
    assert len(history.epochs) == 4 and history.best_epoch is not None
    kept = net()
    kept.fit(X, y, epochs=history.best_epoch, **OPTIONS)
    np.testing.assert_array_equal(model.params, kept.params)


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_exception_in_a_callback_propagates_and_leaves_the_last_epoch(backend: str) -> None:
    X, y = problem()
    Xv, yv = problem(20, seed=1)

    def explode(model, record):
        if record.epoch == 3:
            raise Boom("epoch 3")

    model = net(backend)
    with pytest.raises(Boom, match="epoch 3"):
        model.fit(X, y, epochs=6, X_val=Xv, y_val=yv, callbacks=[explode], **OPTIONS)
    # the weights at the end of epoch 3 (no best-epoch restore)
    shorter = net(backend)
    shorter.fit(X, y, epochs=3, X_val=Xv, y_val=yv, restore_best=False, **OPTIONS)
    np.testing.assert_array_equal(model.params, shorter.params)


@pytest.mark.parametrize(
    "callbacks, error, match",
    [
        ([1], TypeError, r"callbacks\[0\]"),
        ("stop", TypeError, "callbacks"),
        ([lambda m, r: None, lambda m, r: 1.0], TypeError, r"callbacks\[1\]"),
    ],
)
def test_bad_callbacks_are_named(callbacks, error, match) -> None:
    X, y = problem()
    with pytest.raises(error, match=match):
        net().fit(X, y, epochs=2, callbacks=callbacks)


def test_one_callable_is_a_list_of_one() -> None:
    X, y = problem()
    history = net().fit(X, y, epochs=5, callbacks=lambda m, r: r.epoch == 2)
    assert len(history.epochs) == 2
