"""The ``vector`` backend: the whole batch at once with NumPy.

Same formulas and the same names as :mod:`pyfastnn.backends.loop`, written on
(N, n) arrays:
    Z_l = H_l @ W_l + b_l,  H_{l+1} = f(Z_l),  out = g(Z_{L-1})
and backward
    dZ_{L-1} = d loss / d Z_{L-1}       (already divided by N, or weighted: w_i / sum w)
    dW_l = H_l^T @ dZ_l,  db_l = sum_rows dZ_l,  dH_l = dZ_l @ W_l^T
    dZ_{l-1} = dH_l * f'(Z_{l-1})
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import simplex_vector, stepwise
from .protocol import EpochPlan, EpochResult, NonFiniteError

if TYPE_CHECKING:
    from .._dropout import DropoutStream
    from .._spec import NetSpec
    from .._targets import Target
    from ..optim import Optimizer

Elementwise = Callable[[np.ndarray, float], np.ndarray]
# (per-row losses (N,), d loss_i / d z_i (N, K)) from logits Z (N, K) and the targets
OutputLoss = Callable[[np.ndarray, "Target", "NetSpec"], tuple[np.ndarray, np.ndarray]]

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


def activation_forward(spec: NetSpec, Z: np.ndarray) -> np.ndarray:
    """H = f(Z) elementwise, in Z's dtype; Z (N, n)."""
    f, _ = ACTIVATIONS[spec.activation]
    return f(Z, spec.activation_param).astype(Z.dtype, copy=False)


def activation_backward(spec: NetSpec, Z: np.ndarray, dH: np.ndarray) -> np.ndarray:
    """dZ = dH * f'(Z) elementwise; Z, dH (N, n)."""
    _, df = ACTIVATIONS[spec.activation]
    return dH * df(Z, spec.activation_param).astype(dH.dtype, copy=False)


# ---- the dense layer --------------------------------------------------------------


def dense_forward(H: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z (N, out) = H @ W + b for H (N, in), W (in, out), b (out,)."""
    return H @ W + b


def dense_backward(
    H: np.ndarray,
    W: np.ndarray,
    dZ: np.ndarray,
    dW: np.ndarray | None,
    db: np.ndarray | None,
    want_dH: bool = True,
) -> np.ndarray | None:
    """dW (in, out) = H^T @ dZ and db (out,) = column sums of dZ (written when given);
    returns dH (N, in) = dZ @ W^T (None when not wanted)."""
    if dW is not None and db is not None:
        np.matmul(H.T, dZ, out=dW)
        np.sum(dZ, axis=0, out=db)
    return dZ @ W.T if want_dH else None


# ---- output maps and their losses, one per pair -------------------------------------
# Each returns the per-row losses (N,) in float64 and G (N, K) = d loss_i / d z_i;
# output_loss turns them into the (weighted) mean loss and dZ = d mean / d Z.


def output_forward(spec: NetSpec, Z: np.ndarray) -> np.ndarray:
    """The output map g applied to logits Z (N, K)."""
    simplex_map = spec.simplex_map
    if simplex_map is not None:
        out = np.empty_like(Z)
        simplex_vector.forward(simplex_map[0], Z, simplex_map[1], 1.0, out)
        return out
    if spec.output == "sigmoid":
        return _sigmoid(Z)
    return Z


def softmax_cross_entropy(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """loss_i = -sum_k t_ik log p_ik, p = softmax(z_i); G = P - T."""
    K = Z.shape[1]
    T = target.dense(K, Z.dtype)
    P = np.empty_like(Z)
    simplex_vector.softmax(Z, 1.0, P)
    m = Z.max(axis=1, keepdims=True)
    log_p = Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
    return -np.sum(T * log_p, axis=1, dtype=np.float64), P - T


def sigmoid_binary_cross_entropy(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """loss_i = mean_k softplus(z_ik) - t_ik z_ik (from logits); G = (sigmoid(Z) - T) / K."""
    K = Z.shape[1]
    T = target.dense(K, Z.dtype)
    per = _relu(Z) - Z * T + np.log1p(np.exp(-np.abs(Z)))
    return np.sum(per, axis=1, dtype=np.float64) / K, (_sigmoid(Z) - T) / K


def identity_squared_error(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """loss_i = sum_k (z_ik - t_ik)^2; G = 2 (Z - T)."""
    R = Z - target.dense(Z.shape[1], Z.dtype)
    return np.sum(R * R, axis=1, dtype=np.float64), 2.0 * R


def identity_perceptron(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Scores; p = first argmax: loss_i = z_ip - z_iy; G = e_p - e_y on mistakes."""
    N = Z.shape[0]
    rows = np.arange(N)
    p = np.argmax(Z, axis=1)
    y = target.labels
    per = Z[rows, p].astype(np.float64) - Z[rows, y]
    G = np.zeros_like(Z)
    wrong = p != y
    G[rows[wrong], p[wrong]] = 1.0
    G[rows[wrong], y[wrong]] = -1.0
    return per, G


def sparse_map_sparsemax_loss(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The sparsemax loss (Martins & Astudillo 2016); G = sparsemax(Z) - E_y."""
    G = np.empty_like(Z)
    per = simplex_vector.sparsemax_loss(Z, target.labels, 1.0, 1.0, G)
    return per, G


def sparse_map_eps_cross_entropy(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """loss_i = -log((p_iy + eps) / (1 + K eps)), p = sparsemax or relumax_b; G = J^T g."""
    G = np.empty_like(Z)
    per = simplex_vector.smoothed_cross_entropy(
        spec.output, Z, target.labels, spec.relumax_b, spec.eps, 1.0, 1.0, G
    )
    return per, G


def entmax_fenchel_young(
    Z: np.ndarray, target: Target, spec: NetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """The Fenchel-Young loss of entmax15 / alpha-entmax (Blondel, Martins & Niculae
    2020): <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y; G = p - E_y."""
    G = np.empty_like(Z)
    exact15 = spec.output == "entmax15"
    alpha = 1.5 if exact15 else spec.alpha
    per = simplex_vector.entmax_loss(Z, target.labels, alpha, exact15, 1.0, 1.0, G)
    return per, G


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


def output_loss(spec: NetSpec, Z: np.ndarray, target: Target) -> tuple[float, np.ndarray]:
    """(mean loss, dZ (N, K)) of the logits Z (N, K): without weights the mean over
    the rows and G / N; with weights w (N,) the weighted mean sum w_i loss_i / sum w
    and dZ_i = w_i G_i / sum w (0 and 0 when the weights sum to 0)."""
    per, G = OUTPUT_LOSSES[spec.output, spec.loss](Z, target, spec)
    N = Z.shape[0]
    if target.weights is None:
        return float(np.sum(per, dtype=np.float64)) / N, G / N
    w = target.weights.astype(np.float64)
    total = float(np.sum(w))
    if total == 0:
        return 0.0, np.zeros_like(G)
    return float(np.dot(w, per)) / total, G * (w / total).astype(G.dtype)[:, None]


# ---- the network, whole batches -------------------------------------------------------


def network_forward(
    spec: NetSpec,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    X: np.ndarray,
    dropout: DropoutStream | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Pre-activations Z_l, layer inputs H_l and dropout masks M_l (of H_{l+1})."""
    Hs, Zs, Ms = [X], [], []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        Z = dense_forward(Hs[-1], W, b)
        if not np.isfinite(Z).all():
            raise NonFiniteError
        Zs.append(Z)
        if layer < spec.n_layers - 1:
            H = activation_forward(spec, Z).astype(X.dtype, copy=False)
            if dropout is not None:
                Ms.append(dropout.mask(layer, Z.shape[0], Z.shape[1], X.dtype))
                H = H * Ms[-1]
            Hs.append(H)
    return Zs, Hs, Ms


def network_backward(
    spec: NetSpec,
    weights: list[np.ndarray],
    Zs: list[np.ndarray],
    Hs: list[np.ndarray],
    Ms: list[np.ndarray],
    dZ: np.ndarray,
    dWs: list[np.ndarray] | None,
    dbs: list[np.ndarray] | None,
    want_input_grad: bool,
) -> np.ndarray | None:
    """Writes dW_l, db_l into dWs, dbs (when given) from dZ = d loss / d Z_{L-1};
    returns dX (N, D) when wanted."""
    for layer in reversed(range(spec.n_layers)):
        dH = dense_backward(
            Hs[layer],
            weights[layer],
            dZ,
            dWs[layer] if dWs is not None else None,
            dbs[layer] if dbs is not None else None,
            want_dH=layer > 0 or want_input_grad,
        )
        if layer == 0:
            return dH
        assert dH is not None
        if Ms:
            dH *= Ms[layer - 1]
        dZ = activation_backward(spec, Zs[layer - 1], dH)
    raise AssertionError("a network has at least one layer")


# ---- the backend ---------------------------------------------------------------------


def forward(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Outputs (N, K) for inputs X (N, D)."""
    weights, biases = spec.split(params)
    Zs, _, _ = network_forward(spec, weights, biases, X)
    return output_forward(spec, Zs[-1]).astype(X.dtype, copy=False)


def logits(spec: NetSpec, params: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Logits (N, K) (the last layer's Z, before the output map) for inputs X (N, D)."""
    weights, biases = spec.split(params)
    Zs, _, _ = network_forward(spec, weights, biases, X)
    return Zs[-1].astype(X.dtype, copy=False)


def eval_rows(spec: NetSpec) -> tuple[int, int | None]:
    """No range to keep: NumPy's BLAS picks its kernels by the product's size
    (OpenBLAS: gemv for one row, a small-matrix kernel up to some M*N*K), which
    round differently, and where it switches is the library's own; results of
    different row counts agree to rounding."""
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
    Zs, Hs, Ms = network_forward(spec, weights, biases, X, dropout)
    loss, dZ = output_loss(spec, Zs[-1], target)
    dZ = dZ.astype(X.dtype, copy=False)
    for W in weights:
        w = W.reshape(-1)
        if l2:
            loss += l2 * float(np.dot(w, w))
        if l1:
            loss += l1 * float(np.abs(w).sum())
    if not (want_grad or want_input_grad):
        return loss, None, None
    dparams = (out if out is not None else np.empty_like(params)) if want_grad else None
    dWs, dbs = spec.split(dparams) if dparams is not None else (None, None)
    dX = network_backward(spec, weights, Zs, Hs, Ms, dZ, dWs, dbs, want_input_grad)
    if dWs is not None:
        for W, dW in zip(weights, dWs):
            if l2:
                dW += W * W.dtype.type(2.0 * l2)
            if l1:
                dW += np.sign(W) * W.dtype.type(l1)
    return loss, dparams, dX


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
