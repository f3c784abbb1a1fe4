"""Learning-rate schedules: the learning rate of each epoch of :func:`pyfastnn.fit`.

A schedule is a frozen description (its hyper-parameters) plus a small state
that ``fit`` keeps for it, the way an optimiser has ``init_state``:

- ``init_state() -> dict`` -- JSON-ready numbers (saved in checkpoints);
- ``lr(epoch, base_lr, state) -> float`` -- the rate of ``epoch`` (0-based,
  counted from the start of training, resumed runs included), where
  ``base_lr`` is the optimiser's own learning rate;
- ``update(state, record, n_samples) -> str | None`` -- called once after each
  epoch with its :class:`pyfastnn.training.EpochRecord` and the number of
  training rows; returns a reason to stop training, or None.

``fit(lr_schedule=...)`` accepts such an object, a name of :data:`NAMES`
(see :func:`make_schedule` for the parameters a name stands for) or any
callable ``f(epoch) -> lr`` (``epoch`` 0-based). Between epochs ``fit`` hands
the backend ``dataclasses.replace(optimizer, lr=rate)``, so the native
backend keeps running a whole epoch per call.

Formulas (``e`` the 0-based epoch, ``lr0`` the base rate):

==================== ========================================================
``Constant``         ``lr0``
``StepDecay``        ``lr0 * gamma ** (e // step_size)`` (PyTorch's StepLR)
``ExponentialDecay`` ``lr0 * gamma ** e`` (PyTorch's ExponentialLR)
``CosineWarmup``     ``lr0 * (e + 1) / warmup_epochs`` for ``e < warmup_epochs``,
                     then ``min_lr + (lr0 - min_lr) * (1 + cos(pi * p)) / 2``
                     with ``p = min(1, (e - warmup) / (total - warmup))``
                     (Loshchilov & Hutter 2017, SGDR, without restarts)
``ReduceOnPlateau``  times ``factor`` (not below ``min_lr``) after more than
                     ``patience`` epochs without a relative improvement by
                     ``threshold`` of the monitored loss (PyTorch's
                     ReduceLROnPlateau, mode "min", threshold_mode "rel")
``InvScaling``       ``lr0 / (t + 1) ** power_t``, ``t`` the samples seen
                     before the epoch (scikit-learn's "invscaling")
``Adaptive``         divided by 5 when the monitored figure has not improved
                     by ``tol`` for more than ``n_iter_no_change`` epochs;
                     training stops instead once the rate is <= 1e-6
                     (scikit-learn's "adaptive")
==================== ========================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, Union, runtime_checkable

from ._checks import check_positive_int, check_real

State = dict[str, Any]


class EpochRecord(Protocol):
    """What a schedule reads of :class:`pyfastnn.training.EpochRecord`."""

    train_loss: float
    val_loss: float | None
    val_accuracy: float | None


#: The names ``fit(lr_schedule=...)`` and ``pyfastnn train --lr-schedule`` accept.
NAMES = ("constant", "step", "exponential", "cosine", "plateau", "invscaling", "adaptive")

#: scikit-learn's "adaptive": the rate at or below which it stops instead of dividing.
ADAPTIVE_MIN_LR = 1e-6
#: scikit-learn's "adaptive": the divisor of the rate.
ADAPTIVE_DIVISOR = 5.0
#: What ``ReduceOnPlateau`` and ``Adaptive`` may watch in an epoch record.
MONITORS = ("loss", "train_loss", "val_loss", "val_accuracy")


@runtime_checkable
class Schedule(Protocol):
    """What ``fit`` needs of a schedule (the classes of this module are ones)."""

    def init_state(self) -> State: ...

    def lr(self, epoch: int, base_lr: float, state: State) -> float: ...

    def update(self, state: State, record: EpochRecord, n_samples: int) -> str | None: ...


class _Stateless:
    """A schedule that is a function of the epoch alone."""

    def init_state(self) -> State:
        return {}

    def update(self, state: State, record: EpochRecord, n_samples: int) -> str | None:
        return None


@dataclass(frozen=True)
class Constant(_Stateless):
    """The base learning rate in every epoch."""

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        return base_lr


@dataclass(frozen=True)
class StepDecay(_Stateless):
    """``lr0 * gamma ** (epoch // step_size)``: times ``gamma`` every ``step_size`` epochs."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_positive_int(self.step_size, "step_size")
        _check_factor(self.gamma, "gamma")

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay(_Stateless):
    """``lr0 * gamma ** epoch``."""

    gamma: float

    def __post_init__(self) -> None:
        _check_factor(self.gamma, "gamma")

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        return base_lr * self.gamma**epoch


@dataclass(frozen=True)
class CosineWarmup(_Stateless):
    """Linear warm-up to ``lr0`` over ``warmup_epochs`` (``lr0 * (e+1)/warmup``),
    then a half cosine from ``lr0`` down to ``min_lr`` at epoch ``total_epochs``
    (and ``min_lr`` after it)."""

    total_epochs: int
    warmup_epochs: int = 0
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int(self.total_epochs, "total_epochs")
        check_positive_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        if self.warmup_epochs >= self.total_epochs:
            raise ValueError(
                f"warmup_epochs: expected fewer than total_epochs={self.total_epochs}, "
                f"got {self.warmup_epochs}"
            )
        check_real(self.min_lr, "min_lr", minimum=0.0)

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        if epoch < self.warmup_epochs:
            return base_lr * ((epoch + 1) / self.warmup_epochs)
        progress = min(1.0, (epoch - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs))
        return self.min_lr + (base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class ReduceOnPlateau:
    """Times ``factor`` (not below ``min_lr``) once the monitored loss has gone
    more than ``patience`` epochs without improving on its best by the relative
    ``threshold`` (``loss < best * (1 - threshold)``); PyTorch's
    ``ReduceLROnPlateau`` (mode "min", threshold_mode "rel", no cooldown).

    ``monitor``: "loss" (the validation loss when there is validation data,
    else the training loss), "train_loss", "val_loss" or "val_accuracy"
    (higher is better: ``acc > best * (1 + threshold)``).
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    min_lr: float = 0.0
    monitor: str = "loss"
    #: PyTorch's ``eps``: a reduction smaller than this is skipped.
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _check_factor(self.factor, "factor")
        if self.factor >= 1:
            raise ValueError(f"factor: expected a value < 1, got {self.factor}")
        check_positive_int(self.patience, "patience", minimum=0)
        check_real(self.threshold, "threshold", minimum=0.0)
        check_real(self.min_lr, "min_lr", minimum=0.0)
        check_real(self.eps, "eps", minimum=0.0)
        _check_monitor(self.monitor)

    def init_state(self) -> State:
        # scale: the product of the reductions so far is kept as the current
        # rate itself ("lr": None until the first epoch sets it to lr0)
        return {"lr": None, "best": None, "bad_epochs": 0}

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        if state["lr"] is None:
            state["lr"] = base_lr
        return float(state["lr"])

    def update(self, state: State, record: EpochRecord, n_samples: int) -> str | None:
        value, higher = _monitored(self.monitor, record)
        best = state["best"]
        if higher:
            better = best is None or value > best * (1.0 + self.threshold)
        else:
            better = best is None or value < best * (1.0 - self.threshold)
        if better:
            state["best"], state["bad_epochs"] = value, 0
        else:
            state["bad_epochs"] += 1
        if state["bad_epochs"] > self.patience:
            old = state["lr"]
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                state["lr"] = new
            state["bad_epochs"] = 0
        return None


@dataclass(frozen=True)
class InvScaling:
    """scikit-learn's "invscaling": ``lr0 / (t + 1) ** power_t`` with ``t`` the
    training samples seen before the epoch (``t0`` of them before this run,
    e.g. scikit-learn's ``t_`` when continuing)."""

    power_t: float = 0.5
    t0: int = 0

    def __post_init__(self) -> None:
        check_real(self.power_t, "power_t", minimum=0.0)
        check_positive_int(self.t0, "t0", minimum=0)

    def init_state(self) -> State:
        return {"t": self.t0}

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        return float(base_lr) / (state["t"] + 1) ** self.power_t

    def update(self, state: State, record: EpochRecord, n_samples: int) -> str | None:
        state["t"] += n_samples
        return None


@dataclass(frozen=True)
class Adaptive:
    """scikit-learn's "adaptive": the rate stays at ``lr0`` while the monitored
    figure improves; when it has failed to improve by ``tol`` for more than
    ``n_iter_no_change`` consecutive epochs the rate is divided by 5 (and
    the count restarts), or, once the rate is at most 1e-6, training stops.

    ``monitor`` "train_loss" is scikit-learn's rule without early stopping
    (improvement: ``loss <= best_loss - tol``); "val_accuracy" its rule with
    early stopping (``score >= best_score + tol``); "loss" and "val_loss"
    watch a loss like "train_loss".
    """

    tol: float = 1e-4
    n_iter_no_change: int = 10
    monitor: str = "train_loss"

    def __post_init__(self) -> None:
        check_real(self.tol, "tol", minimum=0.0)
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        _check_monitor(self.monitor)

    def init_state(self) -> State:
        return {"lr": None, "best": None, "bad_epochs": 0}

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        if state["lr"] is None:
            state["lr"] = float(base_lr)
        return float(state["lr"])

    def update(self, state: State, record: EpochRecord, n_samples: int) -> str | None:
        value, higher = _monitored(self.monitor, record)
        best = state["best"]
        if best is None:  # scikit-learn starts from -inf (score) / +inf (loss)
            state["bad_epochs"] = 0
            state["best"] = value
        elif higher:
            state["bad_epochs"] = state["bad_epochs"] + 1 if value < best + self.tol else 0
            state["best"] = max(best, value)
        else:
            state["bad_epochs"] = state["bad_epochs"] + 1 if value > best - self.tol else 0
            state["best"] = min(best, value)
        if state["bad_epochs"] > self.n_iter_no_change:
            if state["lr"] <= ADAPTIVE_MIN_LR:
                return (
                    f"lr_schedule: {self.monitor} did not improve by tol={self.tol:g} for "
                    f"{self.n_iter_no_change + 1} epochs and the learning rate is "
                    f"{state['lr']:g} <= {ADAPTIVE_MIN_LR:g}"
                )
            state["lr"] /= ADAPTIVE_DIVISOR
            state["bad_epochs"] = 0
        return None


@dataclass(frozen=True)
class FromCallable(_Stateless):
    """Any callable ``f(epoch) -> lr`` (``epoch`` 0-based) as a schedule."""

    function: Callable[[int], float]

    def lr(self, epoch: int, base_lr: float, state: State) -> float:
        return self.function(epoch)


ScheduleLike = Union[str, Schedule, Callable[[int], float], None]
_CLASSES = (
    Constant,
    StepDecay,
    ExponentialDecay,
    CosineWarmup,
    ReduceOnPlateau,
    InvScaling,
    Adaptive,
)


def make_schedule(schedule: ScheduleLike, epochs: int) -> Schedule:
    """A :class:`Schedule` from ``fit``'s ``lr_schedule`` for a run of ``epochs``.

    None and "constant": :class:`Constant`; "step": ``StepDecay(max(1, epochs // 3))``
    (three rates, each a tenth of the one before); "exponential":
    ``ExponentialDecay(0.01 ** (1 / epochs))`` (a hundredth of lr0 after
    ``epochs``); "cosine": ``CosineWarmup(epochs)``; "plateau":
    ``ReduceOnPlateau()``; "invscaling": ``InvScaling()``; "adaptive":
    ``Adaptive()``. A schedule object is used as it is; another callable is
    wrapped in :class:`FromCallable`.
    """
    if schedule is None:
        return Constant()
    if isinstance(schedule, str):
        name = schedule.lower()
        if name == "constant":
            return Constant()
        if name == "step":
            return StepDecay(max(1, epochs // 3))
        if name == "exponential":
            return ExponentialDecay(0.01 ** (1.0 / epochs))
        if name == "cosine":
            return CosineWarmup(epochs)
        if name == "plateau":
            return ReduceOnPlateau()
        if name == "invscaling":
            return InvScaling()
        if name == "adaptive":
            return Adaptive()
        raise ValueError(f"lr_schedule: expected one of {', '.join(NAMES)}, got {schedule!r}")
    if isinstance(schedule, Schedule):
        return schedule
    if callable(schedule):
        return FromCallable(schedule)
    raise TypeError(
        f"lr_schedule: expected a name, a pyfastnn.schedules object or a function "
        f"of the epoch, got {type(schedule).__name__}"
    )


def describe(schedule: Schedule) -> dict[str, Any] | None:
    """A JSON description of a schedule of this module (None for a callable or a
    foreign object, which cannot be compared after a restart)."""
    if type(schedule) in _CLASSES:
        return {"name": type(schedule).__name__, **asdict(schedule)}  # type: ignore[call-overload]
    return None


def check_lr(value: object, epoch: int) -> float:
    """The rate a schedule returned for ``epoch`` (0-based): a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"lr_schedule: expected a learning rate (a real number) for epoch {epoch}, "
            f"got {type(value).__name__}"
        )
    try:
        rate = float(value)
    except OverflowError:
        rate = math.inf
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(
            f"lr_schedule: expected a finite learning rate > 0 for epoch {epoch}, got {value!r}"
        )
    return rate


def _check_factor(value: object, name: str) -> None:
    if check_real(value, name) <= 0:
        raise ValueError(f"{name}: expected a factor > 0, got {value}")


def _check_monitor(monitor: object) -> None:
    if monitor not in MONITORS:
        raise ValueError(f"monitor: expected one of {', '.join(MONITORS)}, got {monitor!r}")


def _monitored(monitor: str, record: EpochRecord) -> tuple[float, bool]:
    """(value, higher is better) of ``monitor`` in ``record``."""
    if monitor == "loss":
        value = record.val_loss if record.val_loss is not None else record.train_loss
    else:
        value = getattr(record, monitor)
    if value is None:
        raise ValueError(
            f"lr_schedule: monitor={monitor!r} needs validation data"
            + (" with class labels" if monitor == "val_accuracy" else "")
        )
    return float(value), monitor == "val_accuracy"
