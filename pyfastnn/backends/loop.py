"""The ``loop`` backend: one sample at a time, straight from the formulas.

This is the readable reference the other two backends are checked against.
Elementwise functions are written per scalar with :mod:`math`; the only NumPy
used per sample is the matrix-vector product of a dense layer.

Notation for one sample and layer l (0-based, L layers):
    h_0 = x                            (D,)
    z_l = h_l @ W_l + b_l              W_l (n_l, n_{l+1}), b_l (n_{l+1},)
    h_{l+1} = f(z_l)                   for hidden layers l < L - 1
    out = g(z_{L-1})                   output map g: softmax, sigmoid or identity
The batch loss is the mean of the per-sample losses plus
    l2 * sum_l ||W_l||^2 + l1 * sum_l |W_l|_1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import NonFiniteError, simplex_loop

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._targets import Target
    from ..mlp import MLP

Scalar = Callable[[float, float], float]


def _relu(z: float) -> float:
    return 0.0 if z < 0 else z  # NaN propagates


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _softplus(z: float) -> float:
    # log(1 + e^z) without overflow
    return _relu(z) + math.log1p(math.exp(-abs(z)))


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _normal_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


# name -> (f(z, p), f'(z, p)); p is the activation parameter (c or alpha)
ACTIVATIONS: dict[str, tuple[Scalar, Scalar]] = {
    "identity": (lambda z, p: z, lambda z, p: 1.0),
    "relu": (lambda z, p: _relu(z), lambda z, p: 1.0 if z > 0 else 0.0),
    "scaled_relu": (lambda z, p: p * _relu(z), lambda z, p: p if z > 0 else 0.0),
    "leaky_relu": (lambda z, p: p * z if z < 0 else z, lambda z, p: 1.0 if z > 0 else p),
    "tanh": (lambda z, p: math.tanh(z), lambda z, p: 1.0 - math.tanh(z) ** 2),
    "sigmoid": (lambda z, p: _sigmoid(z), lambda z, p: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "softplus": (lambda z, p: _softplus(z), lambda z, p: _sigmoid(z)),
    "gelu": (lambda z, p: z * _normal_cdf(z), lambda z, p: _normal_cdf(z) + z * _normal_pdf(z)),
}


def _sparse_output_loss_grad(
    net: MLP, z: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Sparse output map, per-sample loss and d loss / d z for one sample."""
    Z = z.reshape(1, -1).astype(np.float64)
    out = np.empty_like(Z)
    simplex_loop.forward(net.output, Z, net.relumax_b, 1.0, out)
    y = np.array([int(np.argmax(t))])  # t is the one-hot label
    dz = np.empty_like(Z)
    if net.loss_name == "sparsemax":
        loss = simplex_loop.sparsemax_loss(Z, y, 1.0, 1.0, dz)
    else:
        loss = simplex_loop.smoothed_cross_entropy(
            net.output, Z, y, net.relumax_b, net.eps, 1.0, 1.0, dz
        )
    return out[0], float(loss[0]), dz[0]


def _output_loss_grad(
    net: MLP, z: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Output, per-sample loss and d loss / d z for one sample.

    z (K,) logits; t (K,) target (one-hot for class labels).
    """
    output = net.output
    if output in ("sparsemax", "relumax"):
        return _sparse_output_loss_grad(net, z, t)
    K = z.shape[0]
    out = np.empty(K)
    dz = np.empty(K)
    if net.loss_name == "perceptron":  # scores; mistake-driven update
        p = 0
        for k in range(1, K):
            if z[k] > z[p]:
                p = k
        y = int(np.argmax(t))  # t is the one-hot label
        for k in range(K):
            out[k] = z[k]
            dz[k] = 0.0
        if p != y:
            dz[p], dz[y] = 1.0, -1.0
        return out, float(z[p]) - float(z[y]), dz
    if output == "softmax":  # cross-entropy: -log p_y
        m = max(float(v) for v in z)
        e = [math.exp(float(v) - m) for v in z]
        s = sum(e)
        loss = 0.0
        for k in range(K):
            out[k] = e[k] / s
            dz[k] = out[k] - t[k]
            if t[k] != 0:
                loss -= t[k] * (float(z[k]) - m - math.log(s))
        return out, loss, dz
    if output == "sigmoid":  # binary cross-entropy from logits, mean over the K outputs
        loss = 0.0
        for k in range(K):
            zk, tk = float(z[k]), float(t[k])
            out[k] = _sigmoid(zk)
            loss += _relu(zk) - zk * tk + math.log1p(math.exp(-abs(zk)))
            dz[k] = (out[k] - tk) / K
        return out, loss / K, dz
    # identity output, squared error summed over the K outputs
    loss = 0.0
    for k in range(K):
        out[k] = z[k]
        loss += (float(z[k]) - float(t[k])) ** 2
        dz[k] = 2.0 * (float(z[k]) - float(t[k]))
    return out, loss, dz


def _forward_sample(
    net: MLP, x: np.ndarray, masks: list[np.ndarray] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations z_l and layer inputs h_l for one sample x (D,);
    ``masks[l]`` (n_{l+1},) multiplies h_{l+1} (dropout)."""
    f, _ = ACTIVATIONS[net.activation]
    p = net.activation_param
    hs = [x]
    zs = []
    for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = hs[-1] @ W + b
        if not all(math.isfinite(v) for v in z):
            raise NonFiniteError
        zs.append(z)
        if layer < net.n_layers - 1:
            h = np.array([f(float(v), p) for v in z], dtype=x.dtype)
            if masks is not None:
                h = np.array([h[j] * masks[layer][j] for j in range(h.shape[0])], dtype=x.dtype)
            hs.append(h)
    return zs, hs


def forward(net: MLP, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    out = np.empty((X.shape[0], net.n_outputs), dtype=X.dtype)
    zero = np.zeros(net.n_outputs)
    for i in range(X.shape[0]):
        zs, _ = _forward_sample(net, X[i])
        out[i], _, _ = _output_loss_grad(net, zs[-1], zero)
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
    _, df = ACTIVATIONS[net.activation]
    p = net.activation_param
    N = X.shape[0]
    # dropout masks of the whole batch, one (N, n_{l+1}) array per hidden layer
    batch_masks = (
        [dropout.mask(i, N, net.layer_sizes[i + 1], X.dtype) for i in range(net.n_layers - 1)]
        if dropout is not None
        else None
    )
    T = target.dense(net.n_outputs, X.dtype)
    dparams = None
    if want_grad:
        dparams = out if out is not None else np.empty_like(net.params)
        dparams[...] = 0
    dWs, dbs = net.split_params(dparams) if dparams is not None else ([], [])
    dX = np.zeros_like(X) if want_input_grad else None
    total = 0.0
    for i in range(N):
        masks = [m[i] for m in batch_masks] if batch_masks is not None else None
        zs, hs = _forward_sample(net, X[i], masks)
        _, loss_i, dz = _output_loss_grad(net, zs[-1], T[i])
        total += loss_i
        # backward through the layers: dz is d loss_i / d z_l
        for layer in reversed(range(net.n_layers)):
            if dparams is not None:
                dWs[layer] += np.outer(hs[layer], dz) / N
                dbs[layer] += dz / N
            if layer == 0 and dX is None:
                break
            dh = net.weights[layer] @ dz  # d loss_i / d h_layer
            if layer == 0:
                dX[i] = dh / N
                break
            zprev = zs[layer - 1]
            if masks is not None:
                dh = np.array([dh[j] * masks[layer - 1][j] for j in range(dh.shape[0])])
            dz = np.array([dh[j] * df(float(zprev[j]), p) for j in range(dh.shape[0])])
    loss = total / N
    for layer, W in enumerate(net.weights):
        loss += l2 * float(np.sum(W.astype(np.float64) ** 2)) + l1 * float(
            np.sum(np.abs(W.astype(np.float64)))
        )
        if dparams is not None:
            dWs[layer] += 2.0 * l2 * W + l1 * np.sign(W)
    return loss, dparams, dX
