"""Minibatch training with a per-epoch history, through the backend protocol.

``fit`` shuffles with a seeded generator (the same order for every backend),
takes one optimiser step per minibatch (the last one may be partial), records
per-epoch losses, accuracies and wall time, keeps the weights of the best
validation epoch and can stop early. Each epoch is one ``train_epoch`` of the
model's backend (:mod:`pyfastnn.backends.protocol`): for loop and vector a
Python loop of ``loss_and_grad`` + optimiser steps, for native one C++ call.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from ._checks import all_finite, as_float_array, check_positive_int, check_real, check_seed
from ._dropout import check_dropout
from ._errors import NonFiniteResultError
from ._files import write_json_atomic
from ._memory import aligned_zeros
from ._spec import NetSpec
from ._targets import make_target, predicted_labels, whole_float_labels
from .backends import BACKENDS, EpochPlan
from .optim import Optimizer, check_clip_norm, make_optimizer


class Trainable(Protocol):
    """What ``fit`` needs of a model (:class:`pyfastnn.MLP` is one)."""

    @property
    def spec(self) -> NetSpec: ...

    @property
    def backend(self) -> str: ...

    params: np.ndarray

    def forward(self, X: ArrayLike) -> np.ndarray: ...

    def loss(self, X: ArrayLike, y: ArrayLike, l1: float = 0.0, l2: float = 0.0) -> float: ...


@dataclass
class EpochRecord:
    """One epoch's figures; ``History.as_dict()["epochs"]`` holds these as dicts."""

    epoch: int  # 1-based
    train_loss: float  # mean of the minibatch losses during the epoch
    seconds: float  # wall time of the epoch's training steps
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


#: Keys that earlier versions wrote in ``History.as_dict()``; ``from_dict`` still reads them
#: ("best_valid" and "time" were derived values, now ``best_val_accuracy`` and ``seconds``).
_OLD_KEYS = {"selected_epoch": "best_epoch"}


@dataclass(repr=False)
class History:
    """What ``fit`` observed, epoch by epoch; ``to_json`` writes it out.

    ``epochs`` holds one :class:`EpochRecord` per epoch run; ``best_epoch`` is
    the 1-based epoch whose weights were kept (best validation accuracy, or
    validation loss without labels; None without validation data);
    ``stopped_early`` is True when ``patience`` ended training.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based; by validation accuracy (loss if no labels)
    stopped_early: bool = False

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
            parts.append("stopped early")
        parts.append(f"{self.seconds:.2f} s")
        return f"History({', '.join(parts)})"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict whose keys are this object's attribute names.

        ``{"epochs": [EpochRecord fields, ...], "best_epoch", "best_val_accuracy",
        "seconds", "stopped_early"}``; all numbers are Python ints/floats.
        :meth:`from_dict` reads it back (and the older key ``selected_epoch``).
        """
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "seconds": self.seconds,
            "stopped_early": self.stopped_early,
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
    opt = make_optimizer(optimizer, lr)
    clip_norm = check_clip_norm(clip_norm)
    X = as_float_array(X, "X", 2, dtype=spec.dtype)
    if X.shape[1] != spec.n_inputs:
        raise ValueError(f"X: expected {spec.n_inputs} columns, got shape {X.shape}")
    y = whole_float_labels(y, spec.labels_only, spec.n_outputs)
    target = make_target(y, spec.labels_only, X.shape[0], spec.n_outputs, spec.dtype)
    if target.values is not None and not all_finite(target.values):
        raise ValueError("y: contains NaN or infinity")
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
    # one batch of all rows is what any batch_size >= N means (and fits the C++ int64)
    batch_size = min(batch_size, X.shape[0])

    backend = BACKENDS[model.backend]
    params = model.params
    rng = np.random.default_rng(seed)
    state = opt.init_state(params.size, spec.dtype)
    grad = aligned_zeros(params.size, spec.dtype)
    history = History()
    best_score = -math.inf
    best_params = params.copy()
    last_finite = params.copy()  # restored if an epoch leaves non-finite parameters
    bad_epochs = 0
    steps = 0
    n = X.shape[0]
    bar = _progress(epochs) if progress else None
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            order = rng.permutation(n) if shuffle else None
            plan = EpochPlan(batch_size, l1, l2, dropout, seed, epoch, steps, clip_norm)
            loss_sum, batches, failed = backend.train_epoch(
                spec, params, grad, X, target, order, plan, opt, state
            )
            if failed >= 0:
                raise _failed_batch(X[plan.rows(failed, order)], epoch, failed, params, last_finite)
            steps += batches
            seconds = time.perf_counter() - start
            record = EpochRecord(epoch, float(loss_sum) / batches, seconds)
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
            if patience is not None and has_val and bad_epochs >= patience:
                history.stopped_early = True
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


def _progress(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError as err:  # optional extra
        raise ImportError("progress=True needs tqdm: pip install tqdm") from err
    return tqdm(total=total, unit="epoch")
