"""Optimisers on a flat parameter vector: SGD (with optional momentum or
Nesterov momentum), Adam, AdamW and RMSprop, and gradient clipping by global
norm.

Each rule is PyTorch's form (``torch.optim.SGD``, ``Adam``, ``AdamW``,
``RMSprop`` without their coupled ``weight_decay``, dampening or centred
variants), so the same hyper-parameters give the same steps. The same rules
run in C++ (csrc/nn/optim_kernels.hpp) inside the native epoch loop; these
NumPy versions serve the loop and vector backends. Penalties (l1, l2) are part
of the loss, so they are already in the gradient; AdamW's decoupled decay is
not a penalty (it multiplies every parameter, biases included, by
``1 - lr * weight_decay`` before the Adam step).

:data:`DEFAULT_LR` is the one table of default learning rates: every entry
point (``fit``, the CLI, the estimators) takes its default from it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Union

import numpy as np

from ._checks import check_real
from ._memory import aligned_zeros

#: The default learning rate of each optimiser, by name.
DEFAULT_LR: dict[str, float] = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


def _check_lr(lr: object) -> None:
    if check_real(lr, "lr") <= 0:
        raise ValueError(f"lr: expected a learning rate > 0, got {lr}")


def _check_unit(value: object, name: str) -> None:
    """``value`` in [0, 1) (a momentum, beta or alpha)."""
    if not 0.0 <= check_real(value, name) < 1.0:
        raise ValueError(f"{name}: expected a value in [0, 1), got {value}")


def _check_eps(eps: object) -> None:
    if check_real(eps, "eps") <= 0:
        raise ValueError(f"eps: expected a value > 0, got {eps}")


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent: ``v = momentum*v + g``, then
    ``p -= lr*v``, or with ``nesterov=True`` ``p -= lr*(g + momentum*v)``.

    With ``momentum=0`` this is plain ``p -= lr*g``. The momentum forms are
    PyTorch's (the velocity accumulates raw gradients; ``dampening=0``).
    State: ``velocity`` (n,) with momentum.
    """

    lr: float = DEFAULT_LR["sgd"]
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        _check_unit(self.momentum, "momentum")
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected a bool, got {type(self.nesterov).__name__}")
        if self.nesterov and not self.momentum > 0:
            raise ValueError("nesterov: needs momentum > 0")

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {"velocity": aligned_zeros(n if self.momentum else 0, dtype)}

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` (n,) in place with ``grad`` (n,); ``t`` (1, 2, ...)
        is unused by SGD."""
        dt = params.dtype.type
        if not self.momentum:
            params -= dt(self.lr) * grad
            return
        mu = dt(self.momentum)
        v = state["velocity"]
        v *= mu
        v += grad
        if self.nesterov:
            params -= dt(self.lr) * (grad + mu * v)
        else:
            params -= dt(self.lr) * v


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) with bias correction:
    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
    ``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
    State: ``m``, ``v`` (n,)."""

    lr: float = DEFAULT_LR["adam"]
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        _check_unit(self.beta1, "beta1")
        _check_unit(self.beta2, "beta2")
        _check_eps(self.eps)

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {"m": aligned_zeros(n, dtype), "v": aligned_zeros(n, dtype)}

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` (n,) in place at step ``t`` (1, 2, ...)."""
        _adam_step(self, params, grad, state, t, None)


@dataclass(frozen=True)
class AdamW:
    """AdamW (Loshchilov & Hutter 2019; PyTorch's form): ``p *= 1 - lr *
    weight_decay`` on every parameter (biases included), then the
    :class:`Adam` step. The decay is decoupled from the gradient: it is not a
    penalty in the loss, does not enter the moments and is not clipped.
    State: ``m``, ``v`` (n,)."""

    lr: float = DEFAULT_LR["adamw"]
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        _check_unit(self.beta1, "beta1")
        _check_unit(self.beta2, "beta2")
        _check_eps(self.eps)
        if check_real(self.weight_decay, "weight_decay") < 0:
            raise ValueError(f"weight_decay: expected a value >= 0, got {self.weight_decay}")

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {"m": aligned_zeros(n, dtype), "v": aligned_zeros(n, dtype)}

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` (n,) in place at step ``t`` (1, 2, ...)."""
        _adam_step(self, params, grad, state, t, 1.0 - self.lr * self.weight_decay)


def _adam_step(
    opt: Adam | AdamW,
    params: np.ndarray,
    grad: np.ndarray,
    state: dict,
    t: int,
    decay: float | None,
) -> None:
    """Adam's step at ``t`` (from ``params * decay`` when decay is given: AdamW)."""
    dt = params.dtype.type
    m, v = state["m"], state["v"]
    m *= dt(opt.beta1)
    m += dt(1 - opt.beta1) * grad
    v *= dt(opt.beta2)
    v += dt(1 - opt.beta2) * grad * grad
    c1 = dt(1.0 / (1.0 - opt.beta1**t))
    c2 = dt(1.0 / (1.0 - opt.beta2**t))
    if decay is not None:
        params *= dt(decay)
    params -= dt(opt.lr) * (m * c1) / (np.sqrt(v * c2) + dt(opt.eps))


@dataclass(frozen=True)
class RMSprop:
    """RMSprop (Tieleman & Hinton 2012; PyTorch's form):
    ``s = alpha s + (1-alpha) g^2``, ``a = sqrt(s) + eps``, then
    ``p -= lr * g / a``, or with momentum ``b = momentum b + g / a``,
    ``p -= lr * b``. State: ``square_avg`` (n,), ``velocity`` (n,) with momentum."""

    lr: float = DEFAULT_LR["rmsprop"]
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        _check_unit(self.alpha, "alpha")
        _check_eps(self.eps)
        _check_unit(self.momentum, "momentum")

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {
            "square_avg": aligned_zeros(n, dtype),
            "velocity": aligned_zeros(n if self.momentum else 0, dtype),
        }

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` (n,) in place; ``t`` is unused by RMSprop."""
        dt = params.dtype.type
        s = state["square_avg"]
        s *= dt(self.alpha)
        s += dt(1 - self.alpha) * grad * grad
        step = grad / (np.sqrt(s) + dt(self.eps))
        if self.momentum:
            b = state["velocity"]
            b *= dt(self.momentum)
            b += step
            params -= dt(self.lr) * b
        else:
            params -= dt(self.lr) * step


Optimizer = Union[SGD, Adam, AdamW, RMSprop]
_BY_NAME: dict[str, type] = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def make_optimizer(optimizer: object, lr: float | None = None) -> Optimizer:
    """An optimiser from a name ("sgd", "adam", "adamw", "rmsprop"; its
    learning rate :data:`DEFAULT_LR`) or an instance; ``lr`` overrides."""
    if isinstance(optimizer, (SGD, Adam, AdamW, RMSprop)):
        return optimizer if lr is None else dataclasses.replace(optimizer, lr=lr)
    names = ", ".join(repr(n) for n in _BY_NAME)
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer: expected one of {names} or an optimiser, got {optimizer!r}")
    cls = _BY_NAME.get(optimizer.lower())
    if cls is None:
        raise ValueError(f"optimizer: expected one of {names}, got {optimizer!r}")
    return cls(lr=DEFAULT_LR[optimizer.lower()] if lr is None else lr)


def check_clip_norm(clip_norm: object) -> float | None:
    """``clip_norm`` checked: None (no clipping) or a finite number > 0."""
    if clip_norm is None:
        return None
    c = check_real(clip_norm, "clip_norm")
    if not c > 0:
        raise ValueError(f"clip_norm: expected None or a number > 0, got {clip_norm}")
    return c


def clip_gradient(grad: np.ndarray, clip_norm: float) -> float:
    """Scale ``grad`` (n,) in place by ``min(1, clip_norm / ||grad||_2)``;
    return the norm before clipping. The norm is accumulated in float64."""
    g = grad if grad.dtype == np.float64 else grad.astype(np.float64)
    norm = math.sqrt(float(np.dot(g, g)))
    if norm > clip_norm:
        grad *= grad.dtype.type(clip_norm / norm)
    return norm
