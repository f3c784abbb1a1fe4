"""Optimisers: SGD (with optional momentum) and Adam on a flat parameter vector.

The same update rules run in C++ (csrc/nn/optim_kernels.hpp) inside the native epoch
loop; these NumPy versions serve the loop and vector backends. Penalties
(l1, l2) are part of the loss, so they are already in the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from ._checks import check_real
from ._memory import aligned_zeros


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent: ``v = momentum*v + g; p -= lr*v``.

    With ``momentum=0`` this is plain ``p -= lr*g``. The momentum form is
    PyTorch's (the velocity accumulates raw gradients).
    """

    lr: float = 0.01
    momentum: float = 0.0

    def __post_init__(self) -> None:
        check_real(self.lr, "lr")
        if self.lr <= 0:
            raise ValueError(f"lr: expected a learning rate > 0, got {self.lr}")
        if not 0.0 <= check_real(self.momentum, "momentum") < 1.0:
            raise ValueError(f"momentum: expected a value in [0, 1), got {self.momentum}")

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {"velocity": aligned_zeros(n if self.momentum else 0, dtype)}

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` in place; ``t`` (1, 2, ...) is unused by SGD."""
        if self.momentum:
            v = state["velocity"]
            v *= self.momentum
            v += grad
            params -= self.lr * v
        else:
            params -= self.lr * grad


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) with bias correction."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if check_real(self.lr, "lr") <= 0:
            raise ValueError(f"lr: expected a learning rate > 0, got {self.lr}")
        for name in ("beta1", "beta2"):
            if not 0.0 <= check_real(getattr(self, name), name) < 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1), got {getattr(self, name)}")
        if check_real(self.eps, "eps") <= 0:
            raise ValueError(f"eps: expected a value > 0, got {self.eps}")

    def init_state(self, n: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {"m": aligned_zeros(n, dtype), "v": aligned_zeros(n, dtype)}

    def step(self, params: np.ndarray, grad: np.ndarray, state: dict, t: int) -> None:
        """Update ``params`` in place at step ``t`` (1, 2, ...)."""
        dt = params.dtype.type
        m, v = state["m"], state["v"]
        m *= dt(self.beta1)
        m += dt(1 - self.beta1) * grad
        v *= dt(self.beta2)
        v += dt(1 - self.beta2) * grad * grad
        c1 = dt(1.0 / (1.0 - self.beta1**t))
        c2 = dt(1.0 / (1.0 - self.beta2**t))
        params -= dt(self.lr) * (m * c1) / (np.sqrt(v * c2) + dt(self.eps))


Optimizer = Union[SGD, Adam]

#: The one table of default learning rates (by optimiser name) that ``fit``,
#: the CLI and the estimators use when no ``lr`` is given.
DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


def make_optimizer(optimizer: object, lr: float | None = None) -> Optimizer:
    """An optimiser from a name ("sgd", "adam") or an instance; ``lr`` overrides."""
    if isinstance(optimizer, (SGD, Adam)):
        if lr is None:
            return optimizer
        return type(optimizer)(**{**optimizer.__dict__, "lr": lr})
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer: expected 'sgd', 'adam' or an optimiser, got {optimizer!r}")
    name = optimizer.lower()
    if name == "sgd":
        return SGD() if lr is None else SGD(lr=lr)
    if name == "adam":
        return Adam() if lr is None else Adam(lr=lr)
    raise ValueError(f"optimizer: expected 'sgd' or 'adam', got {optimizer!r}")
