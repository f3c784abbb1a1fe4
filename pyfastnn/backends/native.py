"""The ``native`` backend: one call into the C++ network per operation.

The C++ object (``_native.Network32`` / ``Network64``, cached on the model)
keeps its activation workspaces between calls, so a step allocates nothing
there once a batch size has been seen; parameters stay in ``net.params``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import NonFiniteError

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._targets import Target
    from ..mlp import MLP


def forward(net: MLP, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    out = np.empty((X.shape[0], net.n_outputs), dtype=net.dtype)
    if not net._native_handle().forward(net.params, X, out):
        raise NonFiniteError
    return out


def loss_and_grad(
    net: MLP,
    X: np.ndarray,
    target: Target,
    l1: float,
    l2: float,
    want_grad: bool,
    want_input_grad: bool,
    out: np.ndarray | None = None,
    dropout: DropoutStream | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Mean loss over the batch (+ penalty), flat parameter gradient, dL/dX (N, D)."""
    dparams = (out if out is not None else np.empty_like(net.params)) if want_grad else None
    dX = np.empty_like(X) if want_input_grad else None
    y = target.labels if target.labels is not None else target.values
    d = dropout
    loss = net._native_handle().loss_and_grad(
        net.params,
        X,
        y,
        l1,
        l2,
        dparams,
        dX,
        *((d.rate, d.seed, d.epoch, d.step) if d is not None else ()),
    )
    if loss != loss:  # NaN: a pre-activation was not finite (see Network::loss_and_grad)
        raise NonFiniteError
    return loss, dparams, dX
