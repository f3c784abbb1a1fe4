"""Minibatch training with a per-epoch history (any backend, one step per call).

``fit`` shuffles with a seeded generator (the same order for every backend),
takes one optimiser step per minibatch (the last one may be partial), records
per-epoch losses, accuracies and wall time, keeps the weights of the best
validation epoch and can stop early. The native backend will get a
whole-epoch C++ loop behind the same function.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._checks import as_float_array, check_positive_int, check_real
from ._spec import LABEL_OUTPUTS
from .mlp import MLP, NonFiniteResultError
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
    X_val: object = None,
    y_val: object = None,
    patience: int | None = None,
    restore_best: bool = True,
    shuffle: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> History:
    """Train ``model`` in place with minibatches; return the :class:`History`.

    Shapes: X (N, D), y (N,) labels or (N, K) targets; X_val/y_val likewise.
    Each epoch visits the rows in an order drawn from
    ``numpy.random.default_rng(seed)`` (fixed order when ``shuffle=False``).
    With validation data the weights of the best validation epoch (accuracy
    for label outputs, loss otherwise) are restored at the end unless
    ``restore_best=False``; ``patience`` stops after that many epochs without
    improvement. A NaN or infinite loss stops training with ``FloatingPointError``
    naming the epoch.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    l1 = check_real(l1, "l1", minimum=0.0)
    l2 = check_real(l2, "l2", minimum=0.0)
    if patience is not None:
        patience = check_positive_int(patience, "patience")
    opt = make_optimizer(optimizer, lr)
    X = as_float_array(X, "X", 2, dtype=model.dtype)
    y = np.asarray(y)
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"y: expected {X.shape[0]} rows to match X, got shape {y.shape}")
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("X_val, y_val: give both or neither")
        X_val = as_float_array(X_val, "X_val", 2, dtype=model.dtype)
        y_val = np.asarray(y_val)
    labels = model.output in LABEL_OUTPUTS

    rng = np.random.default_rng(seed)
    state = opt.init_state(model.params.size, model.dtype)
    grad = np.empty_like(model.params)
    history = History()
    best_score = -math.inf
    best_params = model.params.copy()
    bad_epochs = 0
    step = 0
    n = X.shape[0]
    bar = _progress(epochs) if progress else None
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        batches = 0
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            try:
                loss, _ = model.loss_and_grad(X[idx], y[idx], l1=l1, l2=l2, out=grad)
            except NonFiniteResultError as err:
                if err.culprit in ("X", "y"):
                    raise  # bad data, not divergence
                raise _diverged(epoch, math.nan) from None
            step += 1
            opt.step(model.params, grad, state, step)
            total += loss
            batches += 1
        seconds = time.perf_counter() - start
        record = EpochRecord(epoch, total / batches, seconds)
        if not math.isfinite(record.train_loss) or not np.isfinite(model.params).all():
            raise _diverged(epoch, record.train_loss)
        if labels:
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
