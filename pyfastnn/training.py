"""Minibatch training with a per-epoch history, through the backend protocol.

``fit`` shuffles with a seeded generator (the same order for every backend),
takes one optimiser step per minibatch (the last one may be partial), records
per-epoch losses, accuracies and wall time, keeps the weights of the best
validation epoch and can stop early. Each epoch is one ``train_epoch`` of the
model's backend (:mod:`pyfastnn.backends.protocol`): for loop and vector a
Python loop of ``loss_and_grad`` + optimiser steps, for native one C++ call.

Between epochs: the learning-rate schedule (:mod:`pyfastnn.schedules`) picks
the next epoch's rate (handed to the backend as a replaced optimiser), the
callbacks see the model and the epoch's record, and a checkpoint
(:mod:`pyfastnn._checkpoint`) may be written, from which ``fit(resume=...)``
continues to the same weights, bit for bit, as a run without the break.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from . import _checkpoint, schedules
from ._checks import all_finite, as_float_array, check_positive_int, check_real, check_seed
from ._dropout import check_dropout
from ._errors import NonFiniteResultError
from ._files import write_json_atomic
from ._memory import aligned_zeros
from ._spec import NetSpec
from ._targets import make_target, predicted_labels, whole_float_labels, with_weights
from .backends import BACKENDS, EpochPlan
from .optim import DEFAULT_LR, Optimizer, check_clip_norm, make_optimizer

#: ``cb(model, record) -> bool | None``: called after every epoch; True stops training.
Callback = Callable[[Any, "EpochRecord"], "bool | None"]


class Trainable(Protocol):
    """What ``fit`` needs of a model (:class:`pyfastnn.MLP` is one)."""

    @property
    def spec(self) -> NetSpec: ...

    @property
    def backend(self) -> str: ...

    params: np.ndarray

    def forward(self, X: ArrayLike) -> np.ndarray: ...

    def loss(self, X: ArrayLike, y: ArrayLike, l1: float = 0.0, l2: float = 0.0) -> float: ...

    def _description(self) -> dict[str, object]: ...


@dataclass
class EpochRecord:
    """One epoch's figures; ``History.as_dict()["epochs"]`` holds these as dicts."""

    epoch: int  # 1-based
    train_loss: float  # mean of the minibatch losses during the epoch
    seconds: float  # wall time of the epoch's training steps
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    lr: float | None = None  # the learning rate of the epoch's steps


#: Keys that earlier versions wrote in ``History.as_dict()``; ``from_dict`` still reads them
#: ("best_valid" and "time" were derived values, now ``best_val_accuracy`` and ``seconds``).
_OLD_KEYS = {"selected_epoch": "best_epoch"}


@dataclass(repr=False)
class History:
    """What ``fit`` observed, epoch by epoch; ``to_json`` writes it out.

    ``epochs`` holds one :class:`EpochRecord` per epoch run; ``best_epoch`` is
    the 1-based epoch whose weights were kept (best validation accuracy, or
    validation loss without labels; None without validation data);
    ``stopped_early`` is True when training ended before ``epochs``:
    ``patience``, a callback or the schedule, as ``stop_reason`` says.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based; by validation accuracy (loss if no labels)
    stopped_early: bool = False
    stop_reason: str | None = None

    @property
    def best(self) -> EpochRecord | None:
        """The :class:`EpochRecord` of ``best_epoch`` (None without validation data)."""
        return None if self.best_epoch is None else self.epochs[self.best_epoch - 1]

    @property
    def best_val_accuracy(self) -> float | None:
        """Validation accuracy of the best epoch (None without validation labels)."""
        best = self.best
        return None if best is None else best.val_accuracy

    @property
    def lr(self) -> list[float | None]:
        """The learning rate of each epoch (a schedule's values)."""
        return [e.lr for e in self.epochs]

    @property
    def seconds(self) -> float:
        """Total wall time of the epochs' training steps, in seconds."""
        return float(sum(e.seconds for e in self.epochs))

    def __repr__(self) -> str:
        n = len(self.epochs)
        last = self.epochs[-1] if n else None
        parts = [f"{n} epochs"]
        if last is not None:
            parts.append(f"last train_loss={last.train_loss:.4g}")
        if self.best_epoch is not None:
            acc = self.best_val_accuracy
            parts.append(
                f"best_epoch={self.best_epoch}"
                + ("" if acc is None else f" (val_accuracy={acc:.4g})")
            )
        if self.stopped_early:
            parts.append("stopped early" + (f" ({self.stop_reason})" if self.stop_reason else ""))
        parts.append(f"{self.seconds:.2f} s")
        return f"History({', '.join(parts)})"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict whose keys are this object's attribute names.

        ``{"epochs": [EpochRecord fields, ...], "best_epoch", "best_val_accuracy",
        "seconds", "stopped_early", "stop_reason"}``; all numbers are Python ints/floats.
        :meth:`from_dict` reads it back (and the older key ``selected_epoch``).
        """
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "seconds": self.seconds,
            "stopped_early": self.stopped_early,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """The History of an :meth:`as_dict` (or of a results JSON's ``history``)."""
        data = {_OLD_KEYS.get(k, k): v for k, v in data.items()}
        names = {f.name for f in fields(EpochRecord)}
        return cls(
            epochs=[
                EpochRecord(**{k: v for k, v in e.items() if k in names}) for e in data["epochs"]
            ],
            best_epoch=data.get("best_epoch"),
            stopped_early=bool(data.get("stopped_early", False)),
            stop_reason=data.get("stop_reason"),
        )

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`as_dict` to ``path`` as JSON (the whole file or nothing)."""
        write_json_atomic(path, self.as_dict())


def accuracy(model: Trainable, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose predicted label (as ``MLP.predict``) equals y (N,)."""
    return float(np.mean(predicted_labels(model.spec.output, model.forward(X)) == y))


def fit(
    model: Trainable,
    X: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: str | Optimizer = "sgd",
    lr: float | None = None,
    lr_schedule: schedules.ScheduleLike = None,
    l1: float = 0.0,
    l2: float = 0.0,
    dropout: float = 0.0,
    X_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    shuffle: bool = True,
    seed: int = 0,
    train_metrics: bool = True,
    progress: bool = False,
    sample_weight: ArrayLike | None = None,
    class_weight: str | Mapping[int, float] | None = None,
    callbacks: Iterable[Callback] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: str | os.PathLike[str] | None = None,
    clip_norm: float | None = None,
) -> History:
    """Train ``model`` in place with minibatches; return the :class:`History`.

    Shapes: X (N, D), y (N,) labels or (N, K) targets; X_val/y_val likewise.
    Class labels are integers, or floats holding whole numbers (``y.astype(float)``).
    Each epoch visits the rows in an order drawn from
    ``numpy.random.default_rng(seed)`` (storage order when ``shuffle=False``);
    the last minibatch holds the remaining rows. ``dropout`` in [0, 1) applies
    inverted dropout to the hidden activations, with masks drawn from
    ``seed`` (the same in every backend). With the native backend a whole
    epoch is one call into C++; X is used in place (not copied) when it is
    C-contiguous in the model's dtype.

    ``optimizer`` is a name ("sgd", "adam", "adamw", "rmsprop") or an optimiser
    object (:mod:`pyfastnn.optim`); ``lr``
    overrides its learning rate (for a name, None means
    :data:`pyfastnn.optim.DEFAULT_LR`). ``lr_schedule`` changes the rate from
    epoch to epoch (:mod:`pyfastnn.schedules`: None for a constant rate, a
    name such as "cosine", a schedule object, or any ``f(epoch) -> lr`` of the
    0-based epoch); each epoch's rate is its record's ``lr``.

    With validation data the weights of the best validation epoch (accuracy
    for classifiers, loss otherwise) are restored at the end unless
    ``restore_best=False``; ``patience`` stops after that many epochs without
    improvement. ``train_metrics=False`` skips the train accuracy (one forward
    pass over X per epoch). A NaN or infinite loss stops training with
    ``FloatingPointError`` naming the epoch and what overflowed; the model keeps
    finite parameters (those of the last finite step, or, if a step overflowed
    them, those at the end of the previous epoch). ``clip_norm`` clips each
    step's gradient (penalties included) by its global L2 norm over all
    parameters: ``g * min(1, clip_norm / ||g||)``. All arguments, X_val and y_val
    included, are checked before the first epoch.

    ``sample_weight`` (N,) (finite, >= 0, not all 0) and ``class_weight``
    (None, "balanced" = n_samples / (n_classes * bincount(y)) as scikit-learn, or a
    mapping {class label 0..K-1: weight}, others 1) weight the rows: each minibatch
    loss is the weighted mean ``sum_i w_i loss_i / sum_i w_i`` with
    w_i = sample_weight_i * class_weight[y_i] (a minibatch whose weights are all 0
    contributes loss 0 and gradient 0; the penalties as usual). The validation
    loss stays unweighted.
    ``callbacks``: after every epoch, each ``cb(model, record)`` is called
    (the model holds that epoch's weights, ``record`` is its
    :class:`EpochRecord`); if one returns True, training stops there
    (``History.stopped_early``, ``History.stop_reason``). An exception raised
    by a callback propagates and leaves the model at the end of that epoch.

    ``checkpoint``: a model file (.npz, written whole or not at all) replaced
    every ``checkpoint_every`` epochs and after the last epoch, holding the
    weights and all the run's state (optimiser state and step count, epoch,
    schedule state, shuffling generator, best-epoch bookkeeping, history);
    ``pyfastnn.load`` reads it as the model. ``fit(..., resume=path)`` with
    the arguments of the interrupted run (``epochs`` may be larger) loads that
    state into ``model`` and trains the remaining epochs, ending with the same
    weights and history figures as the uninterrupted run (a run that had
    stopped -- patience, a callback, the schedule -- stays stopped); ``ValueError`` if
    the file is not a checkpoint, holds another kind of model or a run with
    other settings (each named).

    Ctrl-C (``KeyboardInterrupt``) stops training after the step running at
    the time, also inside a native epoch (checked every ~20 ms); the model
    keeps the weights of that last finished step (no best-epoch restore), and
    the exception carries the :class:`History` of the finished epochs as its
    ``history`` attribute.
    """
    spec = model.spec
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    l1 = check_real(l1, "l1", minimum=0.0)
    l2 = check_real(l2, "l2", minimum=0.0)
    check_seed(seed)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
    # validates the rate and that there is a hidden layer to drop from
    if check_dropout(dropout, (0, 0, 0), spec.n_layers) is None:
        dropout = 0.0
    if lr is None and isinstance(optimizer, str):
        lr = DEFAULT_LR.get(optimizer.lower())  # an unknown name: make_optimizer says so
    opt = make_optimizer(optimizer, lr)
    schedule = schedules.make_schedule(lr_schedule, epochs)
    callbacks = _check_callbacks(callbacks)
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if checkpoint is not None:
        checkpoint = _checkpoint.check_path(checkpoint, "checkpoint")
    if resume is not None:
        resume = _checkpoint.check_path(resume, "resume")
    clip_norm = check_clip_norm(clip_norm)
    X = as_float_array(X, "X", 2, dtype=spec.dtype)
    if X.shape[1] != spec.n_inputs:
        raise ValueError(f"X: expected {spec.n_inputs} columns, got shape {X.shape}")
    y = whole_float_labels(y, spec.labels_only, spec.n_outputs)
    target = make_target(y, spec.labels_only, X.shape[0], spec.n_outputs, spec.dtype)
    if target.values is not None and not all_finite(target.values):
        raise ValueError("y: contains NaN or infinity")
    target = with_weights(target, sample_weight, class_weight, spec.n_outputs, spec.dtype)
    y = target.labels if target.labels is not None else target.values
    has_val = X_val is not None or y_val is not None
    if has_val:  # checked in full before training changes the model
        if X_val is None or y_val is None:
            raise ValueError("X_val, y_val: give both or neither")
        X_val = as_float_array(X_val, "X_val", 2, dtype=spec.dtype)
        if X_val.shape[1] != spec.n_inputs:
            raise ValueError(f"X_val: expected {spec.n_inputs} columns, got shape {X_val.shape}")
        y_val = whole_float_labels(np.asarray(y_val), spec.labels_only, spec.n_outputs)
        val = make_target(
            y_val, spec.labels_only, X_val.shape[0], spec.n_outputs, spec.dtype, name="y_val"
        )
        if val.values is not None and not all_finite(val.values):
            raise ValueError("y_val: contains NaN or infinity")
        y_val = val.labels if val.labels is not None else val.values
    labels = spec.labels_only
    _check_monitor(schedule, has_val, labels)
    # one batch of all rows is what any batch_size >= N means (and fits the C++ int64)
    batch_size = min(batch_size, X.shape[0])
    n = X.shape[0]
    config = _run_config(
        opt,
        schedule,
        batch_size,
        l1,
        l2,
        dropout,
        seed,
        shuffle,
        n,
        has_val,
        patience,
        target.weights,
        clip_norm,
    )

    backend = BACKENDS[model.backend]
    params = model.params
    run = _start(model, opt, schedule, seed, has_val, config, resume)
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = run.rng_state
    state, sched_state, history = run.optimizer_state, run.schedule_state, _history_of(run)
    best_score = -math.inf if run.best_score is None else run.best_score
    best_params = run.best_params if run.best_params is not None else params.copy()
    last_finite = params.copy()  # restored if an epoch leaves non-finite parameters
    bad_epochs = run.bad_epochs
    steps = run.steps
    grad = aligned_zeros(params.size, spec.dtype)
    first = run.epoch + 1 if not history.stopped_early else epochs + 1
    bar = _progress(epochs, run.epoch) if progress and first <= epochs else None
    try:
        for epoch in range(first, epochs + 1):
            rate = schedules.check_lr(schedule.lr(epoch - 1, opt.lr, sched_state), epoch - 1)
            epoch_opt = opt if rate == opt.lr else replace(opt, lr=rate)
            start = time.perf_counter()
            order = rng.permutation(n) if shuffle else None
            plan = EpochPlan(batch_size, l1, l2, dropout, seed, epoch, steps, clip_norm=clip_norm)
            loss_sum, batches, failed = backend.train_epoch(
                spec, params, grad, X, target, order, plan, epoch_opt, state
            )
            if failed >= 0:
                raise _failed_batch(X[plan.rows(failed, order)], epoch, failed, params, last_finite)
            steps += batches
            seconds = time.perf_counter() - start
            record = EpochRecord(epoch, float(loss_sum) / batches, seconds, lr=rate)
            if not math.isfinite(record.train_loss) or not all_finite(params):
                raise _diverged(epoch, f"mean loss {record.train_loss}", params, last_finite)
            last_finite[...] = params
            if labels and train_metrics:
                record.train_accuracy = accuracy(model, X, y)
            if has_val:
                record.val_loss = float(model.loss(X_val, y_val))
                if labels:
                    record.val_accuracy = accuracy(model, X_val, y_val)
                score = record.val_accuracy if labels else -record.val_loss
                if score > best_score:
                    best_score, history.best_epoch, bad_epochs = score, epoch, 0
                    best_params[...] = params
                else:
                    bad_epochs += 1
            history.epochs.append(record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{record.train_loss:.4f}")
            reason = _stop_reason(
                schedule.update(sched_state, record, n),
                [cb(model, record) for cb in callbacks],
                callbacks,
                patience if has_val else None,
                bad_epochs,
            )
            if reason is not None:
                history.stopped_early, history.stop_reason = True, reason
            if checkpoint is not None and (
                epoch % checkpoint_every == 0 or epoch == epochs or reason is not None
            ):
                _checkpoint.save(
                    checkpoint,
                    model._description(),
                    params,
                    _checkpoint.RunState(
                        epoch=epoch,
                        steps=steps,
                        rng_state=rng.bit_generator.state,
                        optimizer_state=state,
                        schedule_state=sched_state,
                        best_score=best_score if math.isfinite(best_score) else None,
                        best_epoch=history.best_epoch,
                        bad_epochs=bad_epochs,
                        best_params=best_params if has_val else None,
                        history=_history_array(history),
                        history_columns=_HISTORY_COLUMNS,
                        stopped_early=history.stopped_early,
                        stop_reason=history.stop_reason,
                        config=config,
                    ),
                )
            if reason is not None:
                break
    except KeyboardInterrupt as interrupt:
        if bar is not None:
            bar.close()
        interrupt.history = history  # type: ignore[attr-defined]
        raise
    if bar is not None:
        bar.close()
    if has_val and restore_best:
        model.params = best_params
    return history


def _check_callbacks(callbacks: object) -> list[Callback]:
    """``callbacks`` as a list of callables (one callable alone is accepted too)."""
    if callable(callbacks):
        return [callbacks]  # type: ignore[list-item]
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks: expected a sequence of callables, got {callbacks!r}")
    out = list(callbacks)
    for i, cb in enumerate(out):
        if not callable(cb):
            raise TypeError(f"callbacks[{i}]: expected a callable cb(model, record), got {cb!r}")
    return out


def _check_monitor(schedule: schedules.Schedule, has_val: bool, labels: bool) -> None:
    """A schedule watching validation figures needs validation data (and labels)."""
    monitor = getattr(schedule, "monitor", None)
    if monitor in ("val_loss", "val_accuracy") and not has_val:
        raise ValueError(f"lr_schedule: monitor={monitor!r} needs X_val and y_val")
    if monitor == "val_accuracy" and not labels:
        raise ValueError("lr_schedule: monitor='val_accuracy' needs class labels")


def _stop_reason(
    from_schedule: str | None,
    votes: list[bool | None],
    callbacks: list[Callback],
    patience: int | None,
    bad_epochs: int,
) -> str | None:
    """Why training stops after this epoch (None: it goes on)."""
    if from_schedule is not None:
        return from_schedule
    for i, (cb, vote) in enumerate(zip(callbacks, votes)):
        if vote is not None and not isinstance(vote, (bool, np.bool_)):
            raise TypeError(
                f"callbacks[{i}]: expected True (stop), False or None, got {type(vote).__name__}"
            )
        if vote:
            return f"callback {getattr(cb, '__name__', type(cb).__name__)} returned True"
    if patience is not None and bad_epochs >= patience:
        return f"patience: no validation improvement for {patience} epochs"
    return None


# ---- the run's state, for checkpoints -------------------------------------

#: The columns of a checkpoint's history array: EpochRecord's fields.
_HISTORY_COLUMNS = [f.name for f in fields(EpochRecord)]


def _run_config(
    opt: Optimizer,
    schedule: schedules.Schedule,
    batch_size: int,
    l1: float,
    l2: float,
    dropout: float,
    seed: int,
    shuffle: bool,
    n_samples: int,
    has_val: bool,
    patience: int | None,
    weights: np.ndarray | None,
    clip_norm: float | None,
) -> dict[str, Any]:
    """The settings a resumed run must share with its checkpoint (JSON values;
    ``epochs`` is not one of them: a run can be extended). The row weights
    (sample_weight times class_weight) enter as a digest of their bytes."""
    config = {
        "optimizer": {"name": type(opt).__name__, **asdict(opt)},
        "lr_schedule": schedules.describe(schedule),
        "batch_size": batch_size,
        "l1": l1,
        "l2": l2,
        "dropout": dropout,
        "seed": seed,
        "shuffle": bool(shuffle),
        "n_samples": n_samples,
        "validation": has_val,
        "patience": patience,
        "clip_norm": clip_norm,
        "weights": None if weights is None else hashlib.sha256(weights.tobytes()).hexdigest(),
    }
    return json.loads(json.dumps(config))  # as a checkpoint holds it


def _start(
    model: Trainable,
    opt: Optimizer,
    schedule: schedules.Schedule,
    seed: int,
    has_val: bool,
    config: dict[str, Any],
    resume: str | os.PathLike[str] | None,
) -> _checkpoint.RunState:
    """The state to start from: a fresh run, or the checkpoint ``resume``
    (whose weights are then put into ``model``)."""
    spec = model.spec
    opt_state = opt.init_state(spec.n_params, spec.dtype)
    sched_state = schedule.init_state()
    if resume is None:
        return _checkpoint.RunState(
            epoch=0,
            steps=0,
            rng_state=np.random.default_rng(seed).bit_generator.state,
            optimizer_state=opt_state,
            schedule_state=sched_state,
            best_score=None,
            best_epoch=None,
            bad_epochs=0,
            best_params=None,
            history=np.zeros((0, len(_HISTORY_COLUMNS))),
            history_columns=_HISTORY_COLUMNS,
            stopped_early=False,
            stop_reason=None,
            config=config,
        )
    params, run = _checkpoint.load(resume, model._description(), opt_state, sched_state)
    for key, value in config.items():
        if run.config.get(key) != value:
            raise ValueError(
                f"resume: the checkpoint's run has {key}={run.config.get(key)!r}, this call "
                f"{value!r}: resume with the settings of the checkpointed run"
            )
    if has_val != (run.best_params is not None):
        raise ValueError(f"resume: {os.fspath(resume)} is not a valid checkpoint: best_params")
    model.params = params  # checks finiteness
    for key, arr in run.optimizer_state.items():  # into the aligned arrays of init_state
        opt_state[key][...] = arr
    run.optimizer_state = opt_state
    if run.best_params is not None:
        best = aligned_zeros(spec.n_params, spec.dtype)
        best[...] = run.best_params
        run.best_params = best
    return run


def _history_array(history: History) -> np.ndarray:
    """The history as (epochs, columns) float64, NaN for None."""
    return np.array(
        [
            [math.nan if v is None else float(v) for v in (getattr(e, c) for c in _HISTORY_COLUMNS)]
            for e in history.epochs
        ],
        dtype=np.float64,
    ).reshape(len(history.epochs), len(_HISTORY_COLUMNS))


def _history_of(run: _checkpoint.RunState) -> History:
    """The History a run state records."""
    history = History(
        best_epoch=run.best_epoch, stopped_early=run.stopped_early, stop_reason=run.stop_reason
    )
    known = set(_HISTORY_COLUMNS)
    for row in run.history:
        values = {
            c: (None if math.isnan(v) else float(v))
            for c, v in zip(run.history_columns, row.tolist())
            if c in known
        }
        epoch, loss, seconds = (values.pop(k, None) for k in ("epoch", "train_loss", "seconds"))
        history.epochs.append(
            EpochRecord(
                epoch=len(history.epochs) + 1 if epoch is None else int(epoch),
                train_loss=math.nan if loss is None else loss,
                seconds=0.0 if seconds is None else seconds,
                **values,
            )
        )
    return history


def _failed_batch(
    X_batch: np.ndarray, epoch: int, b: int, params: np.ndarray, last_finite: np.ndarray
) -> Exception:
    """Minibatch b gave a non-finite loss: blame the data if it is not finite."""
    if not all_finite(X_batch):
        return NonFiniteResultError(
            f"X: contains NaN or infinity (minibatch {b} of epoch {epoch})", "X"
        )
    return _diverged(epoch, f"the loss of minibatch {b} was not finite", params, last_finite)


def _diverged(
    epoch: int, what: str, params: np.ndarray, last_finite: np.ndarray
) -> FloatingPointError:
    """Say what went wrong; leave finite parameters in the model.

    Training stops at the first minibatch whose loss is not finite, before its
    step, so the parameters are those of the last finite step unless a step
    itself overflowed them; then the state at the end of the previous epoch
    (``last_finite``) is put back.
    """
    if all_finite(params):
        kept = "the model keeps the parameters of its last finite step"
    else:
        params[...] = last_finite
        what += "; a step made the parameters NaN or infinite"
        kept = (
            f"the model is restored to the end of epoch {epoch - 1}"
            if epoch > 1
            else "the model is restored to its initial parameters"
        )
    return FloatingPointError(
        f"training diverged in epoch {epoch} ({what}); {kept}. Try a smaller learning rate"
    )


def _progress(total: int, done: int = 0) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError as err:  # optional extra
        raise ImportError("progress=True needs tqdm: pip install tqdm") from err
    return tqdm(total=total, initial=done, unit="epoch")
