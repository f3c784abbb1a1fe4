"""The ``vector`` backend of the simplex maps: whole batches with NumPy.

Sparsemax sorts every row (the batched form of the textbook algorithm of
Held, Wolfe & Crowder 1974 / Martins & Astudillo 2016); the Jacobian products
use the closed forms of docs/SPARSE_MAPS.md, O(K) per row.

Every function receives arrays already validated by :mod:`pyfastnn.simplex`
(C-contiguous float32/float64) and writes its result into ``out``.
"""

from __future__ import annotations

import numpy as np

_QUIET = {"all": "ignore"}  # NaN rows and -inf entries make harmless warnings


def _shifted(Z: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(Y, bad): Y = (Z - row max) / T; bad marks rows with a NaN, a +inf or only -inf."""
    m = Z.max(axis=1, keepdims=True)  # NaN when the row has one
    bad = ~np.isfinite(m[:, 0])
    if bad.any():
        Z = np.where(bad[:, None], 0, Z)
        m = np.where(bad[:, None], 0, m)
    return (Z - m) / Z.dtype.type(temperature), bad


def _sparsemax_threshold_shifted(Y: np.ndarray) -> np.ndarray:
    """tau (N, 1) of the rows of Y: the support is the k largest entries for the
    largest k with y_(k) > (y_(1) + ... + y_(k) - 1) / k.

    tau >= max(y) - 1 = -1, so entries below -1 are outside the support whatever
    their value: they are raised to -1 first, so that sums of huge negative
    entries cannot overflow (e.g. z = [1e38, 0, -1] in float32)."""
    ordered = -np.sort(-np.maximum(Y, -1), axis=1)
    cumsum = np.cumsum(ordered, axis=1)
    k = np.arange(1, Y.shape[1] + 1, dtype=Y.dtype)
    size = (ordered > (cumsum - 1) / k).sum(axis=1)  # the condition holds for a prefix
    rows = np.arange(Y.shape[0])
    return ((cumsum[rows, size - 1] - 1) / size.astype(Y.dtype))[:, None]


def sparsemax(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        np.maximum(Y - _sparsemax_threshold_shifted(Y), 0, out=out)
    out[bad] = np.nan


def sparsemax_threshold(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        tau = _sparsemax_threshold_shifted(Y)[:, 0]
        out[...] = Z.max(axis=1) / Z.dtype.type(temperature) + tau
    out[bad] = np.nan


def relumax(Z: np.ndarray, b: float, temperature: float, out: np.ndarray) -> None:
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        U = np.maximum(Y + Z.dtype.type(b), 0)
        np.divide(U, U.sum(axis=1, keepdims=True), out=out)
    out[bad] = np.nan


def softmax(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        E = np.exp(Y)
        np.divide(E, E.sum(axis=1, keepdims=True), out=out)
    out[bad] = np.nan


def entmax15(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    """Sort-based exact threshold (Peters, Niculae & Martins 2019, Algorithm 2): on
    y = (z - max z) / (2T) sorted descending, tau_k = mean_k - sqrt((1 - ss_k) / k)
    (ss_k the squared deviations of the k largest) and the support is the largest k
    with tau_k <= y_(k); p = [y - tau]_+^2."""
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        Y = Y / Z.dtype.type(2)
        ordered = -np.sort(-Y, axis=1)
        k = np.arange(1, Y.shape[1] + 1, dtype=Y.dtype)
        mean = np.cumsum(ordered, axis=1) / k
        mean_sq = np.cumsum(ordered * ordered, axis=1) / k
        ss = k * (mean_sq - mean * mean)
        tau = mean - np.sqrt(np.maximum((1 - ss) / k, 0))
        size = (tau <= ordered).sum(axis=1)
        tau_star = tau[np.arange(Y.shape[0]), np.maximum(size, 1) - 1][:, None]
        np.square(np.maximum(Y - tau_star, 0), out=out)
    out[bad] = np.nan


def entmax_bisect(Z: np.ndarray, alpha: float, temperature: float, out: np.ndarray) -> None:
    """Bisection on tau in [-1, 0] for y = (alpha - 1)(z - max z) / T, all rows at once,
    until the bracket stops shrinking (about the dtype's mantissa bits), then p is
    normalised to sum 1 (as the entmax package's entmax_bisect)."""
    t = Z.dtype.type
    e = t(1) / (t(alpha) - t(1))
    with np.errstate(**_QUIET):
        Y, bad = _shifted(Z, temperature)
        Y = Y * (t(alpha) - t(1))
        lo = np.full((Y.shape[0], 1), -1, dtype=Y.dtype)  # sum >= 1 (the max gives 1)
        hi = np.zeros_like(lo)  # sum 0 < 1
        for _ in range(np.finfo(Y.dtype).nmant + 8):
            mid = lo + (hi - lo) / 2
            if np.array_equal(mid, lo) or np.array_equal(mid, hi):
                break
            total = (np.maximum(Y - mid, 0) ** e).sum(axis=1, keepdims=True)
            above = total >= 1
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        P = np.maximum(Y - lo, 0) ** e
        np.divide(P, P.sum(axis=1, keepdims=True), out=out)
    out[bad] = np.nan


def forward(name: str, Z: np.ndarray, b: float, temperature: float, out: np.ndarray) -> None:
    """``out = name(Z / T)`` for name in softmax, sparsemax, relumax, entmax15,
    entmax_bisect (b is relumax's b or entmax_bisect's alpha)."""
    if name == "relumax":
        relumax(Z, b, temperature, out)
    elif name == "sparsemax":
        sparsemax(Z, temperature, out)
    elif name == "entmax15":
        entmax15(Z, temperature, out)
    elif name == "entmax_bisect":
        entmax_bisect(Z, b, temperature, out)
    else:
        softmax(Z, temperature, out)


# ---- Jacobian products from the output P -------------------------------------------


def _masked_sum(S: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Row sums of X over the support S (entries outside are never used), shape (N, 1)."""
    return np.where(S, X, 0).sum(axis=1, keepdims=True)


def _product(
    name: str, P: np.ndarray, V: np.ndarray, b: float, temperature: float, jvp: bool
) -> np.ndarray:
    t = P.dtype.type
    S = P > 0
    inv_t = t(1) / t(temperature)
    if name == "softmax":  # J = diag(p) - p p^T, symmetric
        return np.where(S, P * (V - _masked_sum(S, P * V)) * inv_t, 0)
    if name in ("entmax15", "entmax_bisect"):  # J = diag(s) - s s^T / sum s, symmetric
        s = np.where(S, P, 1) ** (t(2) - t(b)) * S  # s = p^(2 - alpha) on S (b is alpha)
        mean = _masked_sum(S, s * V) / s.sum(axis=1, keepdims=True)
        return np.where(S, s * (V - mean) * inv_t, 0)
    if name == "sparsemax":  # J = diag(s) - s s^T / |S|, symmetric
        count = np.maximum(S.sum(axis=1, keepdims=True), 1).astype(P.dtype)
        return np.where(S, (V - _masked_sum(S, V) / count) * inv_t, 0)
    # relumax: J = (diag(s) - p s^T - s e_m^T + |S| p e_m^T) / D, D = b / p_m
    rows = np.arange(P.shape[0])
    m = P.argmax(axis=1)  # first index of the largest entry
    scale = (P[rows, m] / t(b) * inv_t)[:, None]  # 1 / (D T)
    if jvp:  # J v = s (w - p sum_S w) / D, w = v - v_m
        W = V - V[rows, m][:, None]
        return np.where(S, (W - P * _masked_sum(S, W)) * scale, 0)
    # J^T g = r - e_m sum(r), r = s (g - <p, g>) / D
    R = np.where(S, (V - _masked_sum(S, P * V)) * scale, 0)
    R[rows, m] -= R.sum(axis=1)
    return R


def _products(
    name: str,
    P: np.ndarray,
    V: np.ndarray,
    b: float,
    temperature: float,
    out: np.ndarray,
    jvp: bool,
) -> None:
    with np.errstate(**_QUIET):
        bad = np.isnan(P).any(axis=1)  # before writing: out may be P
        out[...] = _product(name, P, V, b, temperature, jvp)
        out[bad] = np.nan


def jvp_from_output(
    name: str, P: np.ndarray, V: np.ndarray, b: float, temperature: float, out: np.ndarray
) -> None:
    _products(name, P, V, b, temperature, out, jvp=True)


def vjp_from_output(
    name: str, P: np.ndarray, G: np.ndarray, b: float, temperature: float, out: np.ndarray
) -> None:
    _products(name, P, G, b, temperature, out, jvp=False)


# Maps whose product from the input is one call of their own (none here: the
# dispatcher runs the map, then the product from its output).
FUSED_FROM_INPUT: frozenset[str] = frozenset()

# ---- losses ------------------------------------------------------------------------


def sparsemax_loss(
    Z: np.ndarray, y: np.ndarray, temperature: float, scale: float, grad: np.ndarray | None
) -> np.ndarray:
    """Per-row <p, u> - |p|^2 / 2 + 1/2 - u_y with u = (z - max z) / T (the sparsemax
    loss as a Fenchel-Young loss, Blondel et al. 2020); grad = (p - e_y) / T."""
    rows = np.arange(Z.shape[0])
    P = np.empty_like(Z)
    sparsemax(Z, temperature, P)
    with np.errstate(**_QUIET):
        U, bad = _shifted(Z.astype(np.float64), temperature)  # float64: z - max z may overflow
        S = P > 0
        losses = _masked_sum(S, P.astype(np.float64) * (U - 0.5 * P))[:, 0] + 0.5 - U[rows, y]
        losses[bad] = np.nan
    if grad is not None:
        P[rows, y] -= 1
        np.multiply(P, P.dtype.type(scale / temperature), out=grad)
    return losses


def smoothed_cross_entropy(
    name: str,
    Z: np.ndarray,
    y: np.ndarray,
    b: float,
    eps: float,
    temperature: float,
    scale: float,
    grad: np.ndarray | None,
) -> np.ndarray:
    """Per-row -log((p_y + eps) / (1 + K eps)); grad = J^T g, g = -e_y / (p_y + eps)."""
    N, K = Z.shape
    rows = np.arange(N)
    P = np.empty_like(Z)
    forward(name, Z, b, temperature, P)
    py = P[rows, y].astype(np.float64)
    losses = np.log1p(K * eps) - np.log(py + eps)
    if grad is not None:
        G = np.zeros_like(Z)
        G[rows, y] = -scale / (py + eps)
        vjp_from_output(name, P, G, b, temperature, grad)
    return losses


def entmax_loss(
    Z: np.ndarray,
    y: np.ndarray,
    alpha: float,
    exact15: bool,
    temperature: float,
    scale: float,
    grad: np.ndarray | None,
) -> np.ndarray:
    """Per-row <p, u> + (1 - sum p^alpha) / (alpha (alpha - 1)) - u_y with u = (z - max z) / T,
    the Fenchel-Young loss of alpha-entmax (Blondel et al. 2020); grad = (p - e_y) / T."""
    rows = np.arange(Z.shape[0])
    P = np.empty_like(Z)
    if exact15:
        entmax15(Z, temperature, P)
    else:
        entmax_bisect(Z, alpha, temperature, P)
    with np.errstate(**_QUIET):
        U, bad = _shifted(Z, temperature)
        S = P > 0
        P64 = P.astype(np.float64)
        tsallis = (1 - _masked_sum(S, P64**alpha)[:, 0]) / (alpha * (alpha - 1))
        losses = _masked_sum(S, P64 * U)[:, 0] + tsallis - U[rows, y]
        losses[bad] = np.nan
    if grad is not None:
        P[rows, y] -= 1
        np.multiply(P, P.dtype.type(scale / temperature), out=grad)
    return losses
