"""The ``vector`` backend: the whole batch at once with NumPy.

Same formulas as :mod:`pyfastnn.backends.loop`, written on (N, n) arrays:
    Z_l = H_l @ W_l + b_l,  H_{l+1} = f(Z_l),  out = g(Z_{L-1})
and backward
    dZ_{L-1} = d loss / d Z_{L-1}       (already divided by N)
    dW_l = H_l^T @ dZ_l,  db_l = sum_rows dZ_l,  dH_l = dZ_l @ W_l^T
    dZ_{l-1} = dH_l * f'(Z_{l-1})
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import NonFiniteError, simplex_vector

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._targets import Target
    from ..mlp import MLP

Elementwise = Callable[[np.ndarray, float], np.ndarray]

_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf ufunc; libm's, as in C++


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.where(z < 0, 0, z)  # NaN propagates


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + _erf(z / math.sqrt(2.0)).astype(z.dtype))).astype(z.dtype)


def _gelu_grad(z: np.ndarray) -> np.ndarray:
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return _normal_cdf(z) + z * pdf


# name -> (f(Z, p), f'(Z, p))
ACTIVATIONS: dict[str, tuple[Elementwise, Elementwise]] = {
    "identity": (lambda z, p: z, lambda z, p: np.ones_like(z)),
    "relu": (lambda z, p: _relu(z), lambda z, p: (z > 0).astype(z.dtype)),
    "scaled_relu": (lambda z, p: p * _relu(z), lambda z, p: p * (z > 0).astype(z.dtype)),
    "leaky_relu": (
        lambda z, p: np.where(z < 0, p * z, z),
        lambda z, p: np.where(z > 0, 1.0, p).astype(z.dtype),
    ),
    "tanh": (lambda z, p: np.tanh(z), lambda z, p: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z, p: _sigmoid(z), lambda z, p: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "softplus": (lambda z, p: _relu(z) + np.log1p(np.exp(-np.abs(z))), lambda z, p: _sigmoid(z)),
    "gelu": (lambda z, p: z * _normal_cdf(z), lambda z, p: _gelu_grad(z)),
}


def _output(net: MLP, Z: np.ndarray) -> np.ndarray:
    """Output map g applied to logits Z (N, K)."""
    output = net.output
    if output in ("sparsemax", "relumax"):
        out = np.empty_like(Z)
        simplex_vector.forward(output, Z, net.relumax_b, 1.0, out)
        return out
    if output == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    if output == "sigmoid":
        return _sigmoid(Z)
    return Z


def _loss_and_dZ(net: MLP, Z: np.ndarray, target: Target) -> tuple[float, np.ndarray]:
    """Mean per-sample loss and its gradient (N, K) w.r.t. logits Z (N, K)."""
    N, K = Z.shape
    output = net.output
    if net.loss_name in ("sparsemax", "eps_cross_entropy"):
        dZ = np.empty_like(Z)
        if net.loss_name == "sparsemax":
            per = simplex_vector.sparsemax_loss(Z, target.labels, 1.0, 1.0 / N, dZ)
        else:
            per = simplex_vector.smoothed_cross_entropy(
                output, Z, target.labels, net.relumax_b, net.eps, 1.0, 1.0 / N, dZ
            )
        return float(np.sum(per, dtype=np.float64)) / N, dZ
    if net.loss_name == "perceptron":  # scores; p = first argmax
        rows = np.arange(N)
        p = np.argmax(Z, axis=1)
        y = target.labels
        loss = float(np.sum(Z[rows, p].astype(np.float64) - Z[rows, y], dtype=np.float64)) / N
        dZ = np.zeros_like(Z)
        wrong = p != y
        dZ[rows[wrong], p[wrong]] = 1.0 / N
        dZ[rows[wrong], y[wrong]] = -1.0 / N
        return loss, dZ
    T = target.dense(K, Z.dtype)
    if output == "softmax":
        m = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - m)
        s = E.sum(axis=1, keepdims=True)
        log_p = Z - m - np.log(s)
        loss = -float(np.sum(T * log_p, dtype=np.float64)) / N
        return loss, (E / s - T) / N
    if output == "sigmoid":
        per = _relu(Z) - Z * T + np.log1p(np.exp(-np.abs(Z)))
        loss = float(np.sum(per, dtype=np.float64)) / (N * K)
        return loss, (_sigmoid(Z) - T) / (N * K)
    R = Z - T
    return float(np.sum(R * R, dtype=np.float64)) / N, 2.0 * R / N


def _forward_all(
    net: MLP, X: np.ndarray, dropout: DropoutStream | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Pre-activations Z_l, layer inputs H_l and dropout masks M_l (of H_{l+1})."""
    f, _ = ACTIVATIONS[net.activation]
    p = net.activation_param
    Hs = [X]
    Zs = []
    Ms = []
    for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
        Z = Hs[-1] @ W + b
        if not np.isfinite(Z).all():
            raise NonFiniteError
        Zs.append(Z)
        if layer < net.n_layers - 1:
            H = f(Z, p).astype(X.dtype, copy=False)
            if dropout is not None:
                Ms.append(dropout.mask(layer, Z.shape[0], Z.shape[1], X.dtype))
                H = H * Ms[-1]
            Hs.append(H)
    return Zs, Hs, Ms


def forward(net: MLP, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    Zs, _, _ = _forward_all(net, X)
    return _output(net, Zs[-1]).astype(X.dtype, copy=False)


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
    _, df = ACTIVATIONS[net.activation]
    p = net.activation_param
    Zs, Hs, Ms = _forward_all(net, X, dropout)
    loss, dZ = _loss_and_dZ(net, Zs[-1], target)
    dZ = dZ.astype(X.dtype, copy=False)
    for W in net.weights:
        w = W.reshape(-1)
        if l2:
            loss += l2 * float(np.dot(w, w))
        if l1:
            loss += l1 * float(np.abs(w).sum())
    if not (want_grad or want_input_grad):
        return loss, None, None
    dparams = (out if out is not None else np.empty_like(net.params)) if want_grad else None
    dWs, dbs = net.split_params(dparams) if dparams is not None else ([], [])
    dX = None
    for layer in reversed(range(net.n_layers)):
        W = net.weights[layer]
        if dparams is not None:
            np.matmul(Hs[layer].T, dZ, out=dWs[layer])
            if l2:
                dWs[layer] += W * W.dtype.type(2.0 * l2)
            if l1:
                dWs[layer] += np.sign(W) * W.dtype.type(l1)
            np.sum(dZ, axis=0, out=dbs[layer])
        if layer == 0:
            if want_input_grad:
                dX = dZ @ W.T
            break
        dH = dZ @ W.T
        if Ms:
            dH *= Ms[layer - 1]
        dZ = dH * df(Zs[layer - 1], p).astype(X.dtype, copy=False)
    return loss, dparams, dX
