"""What every backend of the dense network offers: functions of data.

A backend (``loop``, ``vector``, ``native``) is a module with the functions of
:class:`Backend`. Each takes the network's description ``spec`` (a
:class:`pyfastnn._spec.NetSpec`: sizes, activation, output/loss, dtype) and
its flat parameter vector ``params`` (spec.n_params,), never a model object;
arrays arrive validated by the public API (C-contiguous, in spec.dtype, the
right shapes).

A backend raises :class:`NonFiniteError` when a pre-activation ``Z_l`` is NaN
or infinite (a non-finite value in X or in a parameter always shows up there,
even when tanh or relu would hide it from the outputs); the model then finds
and names the culprit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._spec import NetSpec
    from .._targets import Target
    from ..optim import Optimizer


class NonFiniteError(ArithmeticError):
    """A pre-activation was NaN or infinite (internal; the model re-raises)."""


@dataclass(frozen=True)
class EpochPlan:
    """One epoch of minibatch training: minibatch b holds rows
    ``order[b * batch_size : (b + 1) * batch_size]`` (storage order when
    ``order`` is None; the last minibatch holds the remaining rows), penalties
    ``l1``, ``l2``, inverted dropout at ``dropout`` with the masks of
    (``seed``, ``epoch``, b), and ``steps_before`` optimiser steps already taken.
    With ``clip_norm`` each step's gradient g (penalties included) becomes
    ``g * min(1, clip_norm / ||g||_2)`` (over all parameters) before the
    optimiser's update."""

    batch_size: int
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    epoch: int = 0
    steps_before: int = 0
    clip_norm: float | None = None

    def n_batches(self, n: int) -> int:
        return -(-n // self.batch_size)

    def rows(self, b: int, order: np.ndarray | None) -> np.ndarray | slice:
        """The rows of minibatch b."""
        lo, hi = b * self.batch_size, (b + 1) * self.batch_size
        return slice(lo, hi) if order is None else order[lo:hi]


# (sum of the minibatch losses, minibatches done, index of the minibatch whose
# loss was not finite or -1)
EpochResult = tuple[float, int, int]


class Backend(Protocol):
    """The operations of a dense network in one backend."""

    def forward(self, spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Outputs (N, K) after the output map, for inputs X (N, D)."""
        ...

    def logits(self, spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Logits (N, K) for inputs X (N, D): the last layer's ``Z = H @ W + b``,
        before the output map (what :meth:`forward` would feed it)."""
        ...

    def eval_rows(self, spec: NetSpec) -> tuple[int, int | None]:
        """(fewest, most or None) rows per :meth:`forward` / :meth:`logits` call
        within which each row's result depends on that row alone, to the bit
        (the kernels' choice of strategy by size stays the same); callers that
        evaluate in chunks keep to this range to match one call over all rows."""
        ...

    def loss_and_grad(
        self,
        spec: NetSpec,
        params: np.ndarray,
        X: np.ndarray,
        target: Target,
        l1: float,
        l2: float,
        want_grad: bool,
        want_input_grad: bool,
        out: np.ndarray | None = None,
        dropout: DropoutStream | None = None,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """``(loss, dparams, dX)``: the mean loss over the batch X (N, D) plus
        ``l2 * sum W^2 + l1 * sum |W|``; the flat gradient (n_params,) in the
        layout of ``params`` (written into ``out`` when given; None when not
        wanted); dL/dX (N, D) or None. ``dropout`` masks the hidden activations."""
        ...

    def train_epoch(
        self,
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
        """One epoch of ``plan`` over X (N, D), updating ``params`` in place with
        ``optimizer`` and its ``state``; ``grad`` (n_params,) is a workspace.
        Stops at the first minibatch whose loss is not finite."""
        ...
