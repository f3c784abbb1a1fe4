"""Minibatch training with a per-epoch history (any backend, one step per call).

``fit`` shuffles with a seeded generator (the same order for every backend),
takes one optimiser step per minibatch (the last one may be partial), records
per-epoch losses, accuracies and wall time, keeps the weights of the best
validation epoch and can stop early. For the loop and vector backends an
epoch is a Python loop of ``loss_and_grad`` + optimiser steps; for the native
backend it is one C++ call (``Network.train_epoch``) doing the same.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import numpy as np

from ._checks import all_finite, as_float_array, check_positive_int, check_real, check_seed
from ._memory import aligned_zeros
from ._targets import make_target
from .mlp import MLP, NonFiniteResultError, _dropout_stream
from .optim import SGD, Adam, make_optimizer


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float  # mean of the minibatch losses during the epoch
    seconds: float
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass
class History:
    """What ``fit`` observed, epoch by epoch; ``to_json`` writes it out."""

    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None  # 1-based; by validation accuracy (loss if no labels)
    stopped_early: bool = False

    @property
    def best(self) -> EpochRecord | None:
        return None if self.best_epoch is None else self.epochs[self.best_epoch - 1]

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "epochs": [asdict(e) for e in self.epochs],
            "selected_epoch": self.best_epoch,
            "best_valid": None if best is None else best.val_accuracy,
            "time": sum(e.seconds for e in self.epochs),
            "stopped_early": self.stopped_early,
        }

    def to_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.as_dict(), fh, indent=2)


def accuracy(model: MLP, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose argmax output equals the label."""
    return float(np.mean(np.argmax(model.forward(X), axis=1) == y))


def fit(
    model: MLP,
    X: object,
    y: object,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: str | SGD | Adam = "sgd",
    lr: float | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    dropout: float = 0.0,
    X_val: object = None,
    y_val: object = None,
    patience: int | None = None,
    restore_best: bool = True,
    shuffle: bool = True,
    seed: int = 0,
    train_metrics: bool = True,
    progress: bool = False,
) -> History:
    """Train ``model`` in place with minibatches; return the :class:`History`.

    Shapes: X (N, D), y (N,) labels or (N, K) targets; X_val/y_val likewise.
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
    ``FloatingPointError`` naming the epoch.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    l1 = check_real(l1, "l1", minimum=0.0)
    l2 = check_real(l2, "l2", minimum=0.0)
    check_seed(seed)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
    # validates the rate and that there is a hidden layer to drop from
    if _dropout_stream(dropout, (0, 0, 0), model.n_layers) is None:
        dropout = 0.0
    opt = make_optimizer(optimizer, lr)
    X = as_float_array(X, "X", 2, dtype=model.dtype)
    if X.shape[1] != model.n_inputs:
        raise ValueError(f"X: expected {model.n_inputs} columns, got shape {X.shape}")
    target = make_target(y, model.labels_only, X.shape[0], model.n_outputs, model.dtype)
    if target.values is not None and not all_finite(target.values):
        raise ValueError("y: contains NaN or infinity")
    y = target.labels if target.labels is not None else target.values
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("X_val, y_val: give both or neither")
        X_val = as_float_array(X_val, "X_val", 2, dtype=model.dtype)
        y_val = np.asarray(y_val)
    labels = model.labels_only

    rng = np.random.default_rng(seed)
    state = opt.init_state(model.params.size, model.dtype)
    grad = aligned_zeros(model.params.size, model.dtype)
    step_epoch = _native_epoch if model.backend == "native" else _python_epoch
    history = History()
    best_score = -math.inf
    best_params = model.params.copy()
    bad_epochs = 0
    steps = 0
    n = X.shape[0]
    bar = _progress(epochs) if progress else None
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n) if shuffle else None
        run = _EpochRun(model, X, y, order, batch_size, opt, state, grad, l1, l2)
        loss_sum, batches, failed = step_epoch(run, dropout, seed, epoch, steps)
        if failed >= 0:
            _raise_failed_batch(run, epoch, failed)
        steps += batches
        seconds = time.perf_counter() - start
        record = EpochRecord(epoch, loss_sum / batches, seconds)
        if not math.isfinite(record.train_loss) or not all_finite(model.params):
            raise _diverged(epoch, record.train_loss)
        if labels and train_metrics:
            record.train_accuracy = accuracy(model, X, y)
        if has_val:
            record.val_loss = model.loss(X_val, y_val)
            if labels:
                record.val_accuracy = accuracy(model, X_val, y_val)
            score = record.val_accuracy if labels else -record.val_loss
            if score > best_score:
                best_score, history.best_epoch, bad_epochs = score, epoch, 0
                best_params[...] = model.params
            else:
                bad_epochs += 1
        history.epochs.append(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{record.train_loss:.4f}")
        if patience is not None and has_val and bad_epochs >= patience:
            history.stopped_early = True
            break
    if bar is not None:
        bar.close()
    if has_val and restore_best:
        model.params = best_params
    return history


@dataclass
class _EpochRun:
    """What one epoch works on (checked arrays; y is int64 labels or (N, K) values)."""

    model: MLP
    X: np.ndarray
    y: np.ndarray
    order: np.ndarray | None  # row order, None for storage order
    batch_size: int
    opt: SGD | Adam
    state: dict[str, np.ndarray]
    grad: np.ndarray
    l1: float
    l2: float

    def batch_rows(self, b: int) -> np.ndarray | slice:
        lo, hi = b * self.batch_size, (b + 1) * self.batch_size
        return slice(lo, hi) if self.order is None else self.order[lo:hi]


def _python_epoch(
    run: _EpochRun, dropout: float, seed: int, epoch: int, steps: int
) -> tuple[float, int, int]:
    """One epoch, a ``loss_and_grad`` and an optimiser step per minibatch (loop, vector)."""
    model = run.model
    total = 0.0
    batches = -(-run.X.shape[0] // run.batch_size)
    for b in range(batches):
        rows = run.batch_rows(b)
        try:
            loss, _ = model.loss_and_grad(
                run.X[rows],
                run.y[rows],
                l1=run.l1,
                l2=run.l2,
                out=run.grad,
                dropout=dropout,
                dropout_stream=(seed, epoch, b),
            )
        except NonFiniteResultError:
            return total, b, b
        run.opt.step(model.params, run.grad, run.state, steps + b + 1)
        total += loss
    return total, batches, -1


def _native_epoch(
    run: _EpochRun, dropout: float, seed: int, epoch: int, steps: int
) -> tuple[float, int, int]:
    """One epoch in one C++ call (shuffle order, minibatches, backward, update)."""
    opt, state = run.opt, run.state
    adam = isinstance(opt, Adam)
    return run.model._native_handle().train_epoch(
        run.model.params,
        run.grad,
        run.X,
        run.y,
        run.order,
        run.batch_size,
        run.l1,
        run.l2,
        dropout,
        seed,
        epoch,
        steps,
        1 if adam else 0,
        opt.lr,
        momentum=0.0 if adam else opt.momentum,
        beta1=opt.beta1 if adam else 0.9,
        beta2=opt.beta2 if adam else 0.999,
        eps=opt.eps if adam else 1e-8,
        velocity=state.get("velocity") if not adam and opt.momentum else None,
        m=state.get("m"),
        v=state.get("v"),
    )


def _raise_failed_batch(run: _EpochRun, epoch: int, b: int) -> NoReturn:
    """A minibatch gave a non-finite loss: blame the data if it is not finite."""
    rows = run.batch_rows(b)
    if not all_finite(run.X[rows]):
        raise NonFiniteResultError(
            f"X: contains NaN or infinity (minibatch {b} of epoch {epoch})", "X"
        )
    raise _diverged(epoch, math.nan)


def _diverged(epoch: int, loss: float) -> FloatingPointError:
    return FloatingPointError(
        f"training diverged in epoch {epoch} (loss {loss}, parameters not finite); "
        "try a smaller learning rate"
    )


def _progress(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError as err:  # optional extra
        raise ImportError("progress=True needs tqdm: pip install tqdm") from err
    return tqdm(total=total, unit="epoch")
