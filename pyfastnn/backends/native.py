"""The ``native`` backend: one call into the C++ network per operation.

The C++ object (``_native.Network32`` / ``Network64``) keeps its activation
workspaces between calls, so a step allocates nothing there once a batch size
has been seen; parameters stay with the caller. This module owns those
objects: one per network description (:func:`network`), alive as long as
the description is.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _native
from .._spec import ACTIVATIONS, LOSSES, OUTPUTS
from ..optim import SGD, Adam, AdamW, RMSprop
from .protocol import EpochPlan, EpochResult, NonFiniteError

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._spec import NetSpec
    from .._targets import Target
    from ..optim import Optimizer

# id(spec) -> its C++ network; an entry leaves with its spec (weakref.finalize)
_networks: dict[int, Any] = {}
_networks_lock = threading.Lock()
# id(spec) -> the same network with an identity output (its logits); leaves with spec
_logit_specs: dict[int, NetSpec] = {}


def network(spec: NetSpec) -> Any:
    """The C++ network of ``spec`` (created on first use; its workspaces
    persist across calls). Keyed by the spec object, so each model has its own."""
    net = _networks.get(id(spec))
    if net is not None:
        return net
    with _networks_lock:
        net = _networks.get(id(spec))
        if net is None:
            cls = _native.Network32 if spec.dtype == np.float32 else _native.Network64
            net = cls(
                list(spec.sizes),
                ACTIVATIONS[spec.activation][0],
                spec.activation_param,
                OUTPUTS[spec.output][0],
                LOSSES[spec.loss],
                spec.relumax_b,
                spec.eps,
                spec.alpha,
            )
            _networks[id(spec)] = net
            weakref.finalize(spec, _networks.pop, id(spec), None)
    return net


def forward(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    out = np.empty((X.shape[0], spec.n_outputs), dtype=spec.dtype)
    if not network(spec).forward(params, X, out):
        raise NonFiniteError
    return out


def _logit_spec(spec: NetSpec) -> NetSpec:
    """``spec`` with an identity output: the same layers, whose outputs are the logits."""
    if spec.output == "identity":
        return spec
    derived = _logit_specs.get(id(spec))
    if derived is None:
        with _networks_lock:
            derived = _logit_specs.get(id(spec))
            if derived is None:
                derived = dataclasses.replace(spec, output="identity", loss="squared_error")
                _logit_specs[id(spec)] = derived
                weakref.finalize(spec, _logit_specs.pop, id(spec), None)
    return derived


def logits(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Logits (N, K) (the last layer's Z, before the output map) for inputs X (N, D):
    the forward pass of the same layers with an identity output (no extra native code)."""
    return forward(_logit_spec(spec), params, X)


# Mirrors of csrc/ constants that decide how a forward call computes its rows
# (tests/test_introspection.py fails when they drift): Network::forward works in
# chunks of kEvalChunkRows rows (nn/network.hpp); gemm computes products of at
# most kRowsByGemvMaxM rows, or of M*N*K <= kDirectMaxVolume, with the
# matrix-vector kernels, others blocked (gemm/gemv.hpp): each rounds its own way.
_EVAL_CHUNK_ROWS = 2048
_GEMV_MAX_ROWS = 3
_DIRECT_MAX_VOLUME = 16 * 16 * 16


def eval_rows(spec: NetSpec) -> tuple[int, int]:
    """(fewest, most) rows of a forward call in which every layer's product takes
    the same GEMM path whatever the row count (blocked, or the row-wise kernels
    of one-column / one-row layers) and Network::forward makes one chunk."""
    fewest = _GEMV_MAX_ROWS + 1
    for n_in, n_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        if n_in > 1 and n_out > 1:
            fewest = max(fewest, _DIRECT_MAX_VOLUME // (n_in * n_out) + 1)
    return fewest, _EVAL_CHUNK_ROWS


def loss_and_grad(
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
    """Mean loss over the batch (+ penalty), flat parameter gradient, dL/dX (N, D)."""
    dparams = (out if out is not None else np.empty_like(params)) if want_grad else None
    dX = np.empty_like(X) if want_input_grad else None
    y = target.labels if target.labels is not None else target.values
    d = dropout
    loss = network(spec).loss_and_grad(
        params,
        X,
        y,
        l1,
        l2,
        dparams,
        dX,
        *((d.rate, d.seed, d.epoch, d.step) if d is not None else (0.0, 0, 0, 0)),
        target.weights,
    )
    if loss != loss:  # NaN: a pre-activation was not finite (see Network::loss_and_grad)
        raise NonFiniteError
    return loss, dparams, dX


def optimizer_spec(optimizer: Optimizer) -> Any:
    """The ``_native.OptimizerSpec`` of an optimiser of :mod:`pyfastnn.optim`,
    made on every call: its ``lr`` (which a schedule changes per epoch) is read
    here each time, never cached."""
    o = optimizer
    if isinstance(o, Adam):
        return _native.OptimizerSpec("adam", o.lr, beta1=o.beta1, beta2=o.beta2, eps=o.eps)
    if isinstance(o, AdamW):
        return _native.OptimizerSpec(
            "adamw", o.lr, beta1=o.beta1, beta2=o.beta2, eps=o.eps, weight_decay=o.weight_decay
        )
    if isinstance(o, RMSprop):
        return _native.OptimizerSpec("rmsprop", o.lr, alpha=o.alpha, eps=o.eps, momentum=o.momentum)
    if isinstance(o, SGD):
        return _native.OptimizerSpec("sgd", o.lr, momentum=o.momentum, nesterov=o.nesterov)
    raise TypeError(f"optimizer: expected an optimiser of pyfastnn.optim, got {o!r}")


def train_epoch(
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
    """One epoch in one C++ call (gather minibatches, forward, backward, update)."""
    epoch = _native.EpochSpec(
        plan.batch_size,
        plan.l1,
        plan.l2,
        plan.dropout,
        plan.seed,
        plan.epoch,
        plan.steps_before,
        plan.clip_norm,
    )
    y = target.labels if target.labels is not None else target.values
    return network(spec).train_epoch(
        params, grad, X, y, order, epoch, optimizer_spec(optimizer), state, target.weights
    )
