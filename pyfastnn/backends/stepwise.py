"""An epoch as a Python loop of steps: the ``train_epoch`` of loop and vector.

Minibatch b takes one ``loss_and_grad`` of its rows (with the dropout masks of
(seed, epoch, b)), the gradient clipped to ``plan.clip_norm`` (if set), and
one optimiser step ``t = steps_before + b + 1`` -- what the native backend does
in one C++ call (csrc/nn/network_train.cpp).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from .._dropout import DropoutStream
from ..optim import clip_gradient
from .protocol import EpochPlan, EpochResult, NonFiniteError

if TYPE_CHECKING:
    from .._spec import NetSpec
    from .._targets import Target
    from ..optim import Optimizer

LossAndGrad = Callable[..., tuple[float, "np.ndarray | None", "np.ndarray | None"]]


def train_epoch(
    loss_and_grad: LossAndGrad,
    spec: NetSpec,
    params: np.ndarray,
    grad: np.ndarray,
    X: np.ndarray,
    target: Target,
    order: np.ndarray | None,
    plan: EpochPlan,
    optimizer: Optimizer,
    state: dict[str, np.ndarray],
) -> EpochResult:
    """One epoch of ``plan`` with a backend's ``loss_and_grad``."""
    total = 0.0
    batches = plan.n_batches(X.shape[0])
    for b in range(batches):
        rows = plan.rows(b, order)
        part = target.take(rows)
        dropout = (
            DropoutStream(plan.dropout, plan.seed, plan.epoch, b) if plan.dropout > 0 else None
        )
        try:
            loss, _, _ = loss_and_grad(
                spec, params, X[rows], part, plan.l1, plan.l2, True, False, grad, dropout
            )
        except NonFiniteError:
            return total, b, b
        if not math.isfinite(loss):
            return total, b, b
        if plan.clip_norm is not None:
            clip_gradient(grad, plan.clip_norm)
        optimizer.step(params, grad, state, plan.steps_before + b + 1)
        total += loss
    return total, batches, -1
