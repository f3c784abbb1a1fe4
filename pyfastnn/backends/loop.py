"""The ``loop`` backend: one sample at a time, straight from the formulas.

This is the readable reference the other two backends are checked against.
Elementwise functions are written per scalar with :mod:`math`; the only NumPy
used per sample is the matrix-vector product of a dense layer. The pieces
carry the names of their C++ counterparts (csrc/nn/activations.hpp,
csrc/nn/dense.hpp, csrc/nn/losses.hpp).

Notation for one sample and layer l (0-based, L layers):
    h_0 = x                            (D,)
    z_l = h_l @ W_l + b_l              W_l (n_l, n_{l+1}), b_l (n_{l+1},)
    h_{l+1} = f(z_l) * m_l             hidden layers l < L - 1; m_l the dropout mask (or 1)
    out = g(z_{L-1})                   output map g: softmax, sigmoid, identity, sparsemax,
                                       relumax, entmax15, alpha-entmax
    loss = l(z_{L-1}, t)               one function per output/loss pair, with dz_{L-1}
and backward, from dz_{L-1} = d loss / d z_{L-1}:
    dW_l = h_l^T dz_l,  db_l = dz_l,  dh_l = W_l dz_l
    dz_{l-1} = dh_l * m_{l-1} * f'(z_{l-1})
The batch loss is the mean of the per-sample losses (with sample weights w_i,
the weighted mean sum_i w_i loss_i / sum_i w_i) plus
    l2 * sum_l ||W_l||^2 + l1 * sum_l |W_l|_1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import simplex_loop, stepwise
from .protocol import EpochPlan, EpochResult, NonFiniteError

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._spec import NetSpec
    from .._targets import Target
    from ..optim import Optimizer

Scalar = Callable[[float, float], float]
# one sample's (loss, d loss / d z (K,)) from logits z (K,) and target t (K,)
OutputLoss = Callable[[np.ndarray, np.ndarray, "NetSpec"], tuple[float, np.ndarray]]

# ---- activations and their derivatives ------------------------------------------


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


def activation_forward(spec: NetSpec, z: np.ndarray) -> np.ndarray:
    """h = f(z), entry by entry; z (n,)."""
    f, _ = ACTIVATIONS[spec.activation]
    return np.array([f(float(v), spec.activation_param) for v in z], dtype=z.dtype)


def activation_backward(spec: NetSpec, z: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """dz = dh * f'(z), entry by entry; z, dh (n,)."""
    _, df = ACTIVATIONS[spec.activation]
    return np.array([dh[j] * df(float(z[j]), spec.activation_param) for j in range(z.shape[0])])


# ---- the dense layer --------------------------------------------------------------


def dense_forward(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z (out,) = h @ W + b for h (in,), W (in, out), b (out,)."""
    return h @ W + b


def dense_backward(
    h: np.ndarray, W: np.ndarray, dz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dW (in, out), db (out,), dh (in,)) = (outer(h, dz), dz, W @ dz) for dz (out,)."""
    return np.outer(h, dz), dz, W @ dz


# ---- output maps, and their losses one per pair ------------------------------------
# Each pair function returns one sample's (loss, d loss / d z (K,)) from its
# logits z (K,) and target t (K,) (one-hot for class labels).


def _softmax(z: np.ndarray) -> tuple[list[float], float, float]:
    """(exp(z_k - m) for every k, m = max z, s = their sum): softmax(z)_k = e_k / s."""
    m = max(float(v) for v in z)
    e = [math.exp(float(v) - m) for v in z]
    return e, m, sum(e)


def output_forward(spec: NetSpec, z: np.ndarray) -> np.ndarray:
    """The output map g of one sample's logits z (K,): softmax, sigmoid, identity
    (scores), sparsemax or relumax_b."""
    if spec.output == "softmax":
        e, _, s = _softmax(z)
        return np.array([v / s for v in e])
    if spec.output == "sigmoid":
        return np.array([_sigmoid(float(v)) for v in z])
    if spec.output == "identity":
        return np.array([float(v) for v in z])
    name, b = spec.simplex_map  # type: ignore[misc]
    Z = z.reshape(1, -1).astype(np.float64)
    out = np.empty_like(Z)
    simplex_loop.forward(name, Z, b, 1.0, out)
    return out[0]


def softmax_cross_entropy(z: np.ndarray, t: np.ndarray, spec: NetSpec) -> tuple[float, np.ndarray]:
    """loss = -sum_k t_k log p_k, p = softmax(z); dz = p - t."""
    e, m, s = _softmax(z)
    dz = np.empty(z.shape[0])
    loss = 0.0
    for k in range(z.shape[0]):
        dz[k] = e[k] / s - t[k]
        if t[k] != 0:
            loss -= t[k] * (float(z[k]) - m - math.log(s))
    return loss, dz


def sigmoid_binary_cross_entropy(
    z: np.ndarray, t: np.ndarray, spec: NetSpec
) -> tuple[float, np.ndarray]:
    """loss = mean_k softplus(z_k) - t_k z_k (from logits); dz = (sigmoid(z) - t) / K."""
    K = z.shape[0]
    dz = np.empty(K)
    loss = 0.0
    for k in range(K):
        zk, tk = float(z[k]), float(t[k])
        loss += _relu(zk) - zk * tk + math.log1p(math.exp(-abs(zk)))
        dz[k] = (_sigmoid(zk) - tk) / K
    return loss / K, dz


def identity_squared_error(z: np.ndarray, t: np.ndarray, spec: NetSpec) -> tuple[float, np.ndarray]:
    """loss = sum_k (z_k - t_k)^2; dz = 2 (z - t)."""
    dz = np.empty(z.shape[0])
    loss = 0.0
    for k in range(z.shape[0]):
        r = float(z[k]) - float(t[k])
        loss += r * r  # not r ** 2: a float power raises OverflowError, a product gives inf
        dz[k] = 2.0 * r
    return loss, dz


def identity_perceptron(z: np.ndarray, t: np.ndarray, spec: NetSpec) -> tuple[float, np.ndarray]:
    """Scores z; p = first argmax, y the label: loss = z_p - z_y, dz = e_p - e_y on a
    mistake (p != y), 0 otherwise."""
    p = 0
    for k in range(1, z.shape[0]):
        if z[k] > z[p]:
            p = k
    y = int(np.argmax(t))
    dz = np.zeros(z.shape[0])
    if p != y:
        dz[p], dz[y] = 1.0, -1.0
    return float(z[p]) - float(z[y]), dz


def sparse_map_sparsemax_loss(
    z: np.ndarray, t: np.ndarray, spec: NetSpec
) -> tuple[float, np.ndarray]:
    """The sparsemax loss of z at the label y (Martins & Astudillo 2016), on the
    logits of a sparsemax or relumax output; dz = sparsemax(z) - e_y."""
    Z = z.reshape(1, -1).astype(np.float64)
    dz = np.empty_like(Z)
    loss = simplex_loop.sparsemax_loss(Z, np.array([int(np.argmax(t))]), 1.0, 1.0, dz)
    return float(loss[0]), dz[0]


def sparse_map_eps_cross_entropy(
    z: np.ndarray, t: np.ndarray, spec: NetSpec
) -> tuple[float, np.ndarray]:
    """loss = -log((p_y + eps) / (1 + K eps)), p = sparsemax(z) or relumax_b(z); dz = J^T g."""
    Z = z.reshape(1, -1).astype(np.float64)
    dz = np.empty_like(Z)
    y = np.array([int(np.argmax(t))])
    loss = simplex_loop.smoothed_cross_entropy(
        spec.output, Z, y, spec.relumax_b, spec.eps, 1.0, 1.0, dz
    )
    return float(loss[0]), dz[0]


def entmax_fenchel_young(z: np.ndarray, t: np.ndarray, spec: NetSpec) -> tuple[float, np.ndarray]:
    """The Fenchel-Young loss of entmax15 / alpha-entmax at the label y (Blondel,
    Martins & Niculae 2020): <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y,
    p = entmax(z); dz = p - e_y."""
    Z = z.reshape(1, -1).astype(np.float64)
    dz = np.empty_like(Z)
    exact15 = spec.output == "entmax15"
    alpha = 1.5 if exact15 else spec.alpha
    y = np.array([int(np.argmax(t))])
    loss = simplex_loop.entmax_loss(Z, y, alpha, exact15, 1.0, 1.0, dz)
    return float(loss[0]), dz[0]


# (output, loss) -> its function
OUTPUT_LOSSES: dict[tuple[str, str], OutputLoss] = {
    ("softmax", "cross_entropy"): softmax_cross_entropy,
    ("sigmoid", "binary_cross_entropy"): sigmoid_binary_cross_entropy,
    ("identity", "squared_error"): identity_squared_error,
    ("identity", "perceptron"): identity_perceptron,
    ("sparsemax", "sparsemax"): sparse_map_sparsemax_loss,
    ("sparsemax", "eps_cross_entropy"): sparse_map_eps_cross_entropy,
    ("relumax", "sparsemax"): sparse_map_sparsemax_loss,
    ("relumax", "eps_cross_entropy"): sparse_map_eps_cross_entropy,
    ("entmax15", "entmax15"): entmax_fenchel_young,
    ("entmax", "entmax"): entmax_fenchel_young,
}


# ---- the network, one sample ---------------------------------------------------------


def network_forward(
    spec: NetSpec,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    x: np.ndarray,
    masks: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations z_l and layer inputs h_l for one sample x (D,);
    ``masks[l]`` (n_{l+1},) multiplies h_{l+1} (dropout)."""
    hs, zs = [x], []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        z = dense_forward(hs[-1], W, b)
        if not all(math.isfinite(v) for v in z):
            raise NonFiniteError
        zs.append(z)
        if layer < spec.n_layers - 1:
            h = activation_forward(spec, z)
            if masks is not None:
                h = np.array([h[j] * masks[layer][j] for j in range(h.shape[0])], dtype=x.dtype)
            hs.append(h)
    return zs, hs


def network_backward(
    spec: NetSpec,
    weights: list[np.ndarray],
    zs: list[np.ndarray],
    hs: list[np.ndarray],
    dz: np.ndarray,
    masks: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """(dW_l, db_l for every layer, dx (D,)) of one sample from dz = d loss / d z_{L-1}."""
    dWs: list[np.ndarray] = [np.empty(0)] * spec.n_layers
    dbs: list[np.ndarray] = [np.empty(0)] * spec.n_layers
    for layer in reversed(range(spec.n_layers)):
        dWs[layer], dbs[layer], dh = dense_backward(hs[layer], weights[layer], dz)
        if layer == 0:
            return dWs, dbs, dh
        if masks is not None:
            dh = np.array([dh[j] * masks[layer - 1][j] for j in range(dh.shape[0])])
        dz = activation_backward(spec, zs[layer - 1], dh)
    raise AssertionError("a network has at least one layer")


# ---- the backend ---------------------------------------------------------------------


def forward(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    weights, biases = spec.split(params)
    out = np.empty((X.shape[0], spec.n_outputs), dtype=X.dtype)
    for i in range(X.shape[0]):
        zs, _ = network_forward(spec, weights, biases, X[i])
        out[i] = output_forward(spec, zs[-1])
    return out


def logits(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Logits (N, K) (the last layer's z, before the output map) for inputs X (N, D)."""
    weights, biases = spec.split(params)
    out = np.empty((X.shape[0], spec.n_outputs), dtype=X.dtype)
    for i in range(X.shape[0]):
        zs, _ = network_forward(spec, weights, biases, X[i])
        out[i] = zs[-1]
    return out


def eval_rows(spec: NetSpec) -> tuple[int, int | None]:
    """Any number of rows: every sample is computed on its own."""
    return 1, None


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
    weights, biases = spec.split(params)
    output_loss = OUTPUT_LOSSES[spec.output, spec.loss]
    N = X.shape[0]
    # dropout masks of the whole batch, one (N, n_{l+1}) array per hidden layer
    batch_masks = (
        [dropout.mask(i, N, spec.sizes[i + 1], X.dtype) for i in range(spec.n_layers - 1)]
        if dropout is not None
        else None
    )
    T = target.dense(spec.n_outputs, X.dtype)
    dparams = None
    if want_grad:
        dparams = out if out is not None else np.empty_like(params)
        dparams[...] = 0
    dWs, dbs = spec.split(dparams) if dparams is not None else ([], [])
    dX = np.zeros_like(X) if want_input_grad else None
    # sample weights: the loss is sum_i w_i loss_i / sum_i w_i (0 when the weights sum to 0)
    w = target.weights
    w_total = float(sum(float(v) for v in w)) if w is not None else 0.0
    total = 0.0
    for i in range(N):
        masks = [m[i] for m in batch_masks] if batch_masks is not None else None
        zs, hs = network_forward(spec, weights, biases, X[i], masks)
        loss_i, dz = output_loss(zs[-1], T[i], spec)
        if w is not None:
            dz = dz * (float(w[i]) / w_total if w_total > 0 else 0.0)
            loss_i *= float(w[i])
        total += loss_i
        if dparams is None and dX is None:
            continue
        dW_i, db_i, dx_i = network_backward(spec, weights, zs, hs, dz, masks)
        for dW, db, dW_l, db_l in zip(dWs, dbs, dW_i, db_i):
            dW += dW_l if w is not None else dW_l / N
            db += db_l if w is not None else db_l / N
        if dX is not None:
            dX[i] = dx_i if w is not None else dx_i / N
    if w is None:
        loss = total / N
    else:
        loss = total / w_total if w_total > 0 else 0.0
    for layer, W in enumerate(weights):
        loss += l2 * float(np.sum(W.astype(np.float64) ** 2)) + l1 * float(
            np.sum(np.abs(W.astype(np.float64)))
        )
        if dparams is not None:
            dWs[layer] += 2.0 * l2 * W + l1 * np.sign(W)
    return float(loss), dparams, dX


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
    """One epoch: a :func:`loss_and_grad` and an optimiser step per minibatch."""
    return stepwise.train_epoch(
        loss_and_grad, spec, params, grad, X, target, order, plan, optimizer, state
    )
