"""The ``loop`` backend of the simplex maps: one row at a time, Python floats.

The readable reference, written straight from the formulas (docs/SPARSE_MAPS.md):
sparsemax by sorting the row (Held, Wolfe & Crowder 1974; Michelot 1986;
Martins & Astudillo 2016), Jacobian products by building the Jacobian of each
row entry by entry. Quadratic in K per row: for tests and teaching, not speed.

Every function receives arrays already validated by :mod:`pyfastnn.simplex`
(C-contiguous float32/float64) and writes its result into ``out``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

NAN = float("nan")
Row = list  # a row of Python floats


def _row_max(z: Row) -> float:
    """max(z), or NaN when z has a NaN, a +inf or only -inf entries."""
    if any(math.isnan(v) for v in z):
        return NAN
    m = max(z)
    return m if math.isfinite(m) else NAN


def _shifted(z: Row, temperature: float) -> Row | None:
    """y = (z - max z) / T, or None for a row whose map is undefined."""
    m = _row_max(z)
    if math.isnan(m):
        return None
    return [(v - m) / temperature for v in z]


def _sparsemax_row(y: Row) -> tuple[Row, float]:
    """(p, tau) with p = max(y - tau, 0) on the simplex; the textbook sort-based scan."""
    ordered = sorted(y, reverse=True)
    cumsum, tau = 0.0, ordered[0] - 1.0
    for k, v in enumerate(ordered, start=1):
        cumsum += v
        t = (cumsum - 1.0) / k
        if v > t:  # the k largest entries are all in the support
            tau = t
        else:
            break
    return [max(v - tau, 0.0) for v in y], tau


def _relumax_row(y: Row, b: float) -> Row:
    u = [max(v + b, 0.0) for v in y]  # y = z - max(z), so u_max = b
    total = sum(u)
    return [v / total for v in u]


def _softmax_row(y: Row) -> Row:
    e = [math.exp(v) for v in y]
    total = sum(e)
    return [v / total for v in e]


def _entmax15_row(y: Row) -> Row:
    """entmax15 of a row y = (z - max z) / T: with x = y / 2 sorted descending,
    tau_k = mean_k - sqrt((1 - ss_k) / k), ss_k = sum_{i<=k} (x_(i) - mean_k)^2; the
    support is the largest k with tau_k <= x_(k) (Peters, Niculae & Martins 2019);
    p = [x - tau]_+^2."""
    x = [v / 2.0 for v in y]
    ordered = sorted(x, reverse=True)
    total, total_sq, tau = 0.0, 0.0, ordered[0] - 1.0
    for k, v in enumerate(ordered, start=1):
        total += v
        total_sq += v * v
        mean = total / k
        ss = total_sq - total * mean
        t = mean - math.sqrt(max((1.0 - ss) / k, 0.0))
        if t <= v:
            tau = t
    return [max(v - tau, 0.0) ** 2 for v in x]


def _entmax_bisect_row(y: Row, alpha: float) -> Row:
    """alpha-entmax of a row y = (z - max z) / T: bisection on tau in [-1, 0] for
    sum_i [(alpha - 1) y_i - tau]_+^(1 / (alpha - 1)) = 1 until the bracket stops
    shrinking, then p normalised to sum 1."""
    x = [(alpha - 1.0) * v for v in y]
    e = 1.0 / (alpha - 1.0)
    lo, hi = -1.0, 0.0  # the sum is >= 1 at lo (the max alone gives 1), 0 at hi
    while True:
        mid = lo + (hi - lo) / 2.0
        if mid in (lo, hi):
            break
        if sum(max(v - mid, 0.0) ** e for v in x) >= 1.0:
            lo = mid
        else:
            hi = mid
    p = [max(v - lo, 0.0) ** e for v in x]
    total = sum(p)
    return [v / total for v in p]


def _map_rows(Z: np.ndarray, temperature: float, out: np.ndarray, row_map: Callable) -> None:
    for i, z in enumerate(Z.tolist()):
        y = _shifted(z, temperature)
        out[i] = [NAN] * len(z) if y is None else row_map(y)


def softmax(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    _map_rows(Z, temperature, out, _softmax_row)


def sparsemax(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    _map_rows(Z, temperature, out, lambda y: _sparsemax_row(y)[0])


def relumax(Z: np.ndarray, b: float, temperature: float, out: np.ndarray) -> None:
    _map_rows(Z, temperature, out, lambda y: _relumax_row(y, b))


def forward(name: str, Z: np.ndarray, b: float, temperature: float, out: np.ndarray) -> None:
    """``out = name(Z / T)`` for name in softmax, sparsemax, relumax, entmax15,
    entmax_bisect (b is relumax's b or entmax_bisect's alpha)."""
    if name == "relumax":
        relumax(Z, b, temperature, out)
    elif name == "entmax_bisect":
        _map_rows(Z, temperature, out, lambda y: _entmax_bisect_row(y, b))
    else:
        _map_rows(Z, temperature, out, _ROW_MAPS[name])


_ROW_MAPS = {
    "softmax": _softmax_row,
    "sparsemax": lambda y: _sparsemax_row(y)[0],
    "entmax15": _entmax15_row,
}


def sparsemax_threshold(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    for i, z in enumerate(Z.tolist()):
        y = _shifted(z, temperature)
        out[i] = NAN if y is None else max(z) / temperature + _sparsemax_row(y)[1]


# ---- Jacobians, entry by entry, from the output p -------------------------------


def _support(p: Row) -> list[int]:
    return [j for j, v in enumerate(p) if v > 0.0]


def jacobian_from_output(name: str, p: Row, b: float, temperature: float) -> list[Row]:
    """J[i][j] = d map(z / T)_i / d z_j at the z whose output is p.

    softmax:   J_ij = p_i (delta_ij - p_j)
    sparsemax: J_ij = s_i (delta_ij - s_j / |S|)
    relumax_b: J_ij = s_i (delta_ij - p_i s_j - delta_jm + |S| p_i delta_jm) / D,
               m = first argmax of p, D = b / p_m  (the delta_jm terms are the path
               through max(z))
    entmax:    J_ij = w_i delta_ij - w_i w_j / sum_S w,  w = p^(2 - alpha) on S
               (b is alpha; 1.5 for entmax15)
    all divided by T; s the indicator of the support S = {i : p_i > 0}.
    """
    K = len(p)
    if any(math.isnan(v) for v in p):
        return [[NAN] * K for _ in range(K)]
    S = _support(p)
    s = [1.0 if v > 0.0 else 0.0 for v in p]
    J = [[0.0] * K for _ in range(K)]
    if name == "softmax":
        for i in S:
            for j in S:
                J[i][j] = p[i] * ((i == j) - p[j]) / temperature
    elif name == "sparsemax":
        for i in S:
            for j in S:
                J[i][j] = ((i == j) - s[j] / len(S)) / temperature
    elif name in ("entmax15", "entmax_bisect"):
        w = {i: p[i] ** (2.0 - b) for i in S}
        total = sum(w.values())
        for i in S:
            for j in S:
                J[i][j] = (w[i] * (i == j) - w[i] * w[j] / total) / temperature
    else:
        m = max(range(K), key=p.__getitem__)  # first index of the largest entry
        D = b / p[m]
        for i in S:
            for j in S:
                J[i][j] = ((i == j) - p[i] * s[j] - (j == m) + len(S) * p[i] * (j == m)) / (
                    D * temperature
                )
    return J


def _products(
    name: str,
    P: np.ndarray,
    V: np.ndarray,
    b: float,
    temperature: float,
    out: np.ndarray,
    jvp: bool,
) -> None:
    for i, (p, v) in enumerate(zip(P.tolist(), V.tolist())):
        J = jacobian_from_output(name, p, b, temperature)
        S = _support(p)  # J is zero outside S x S: entries of v there are not used
        row = [NAN if math.isnan(J[0][0]) else 0.0] * len(p)
        for a in S:
            if jvp:
                row[a] = sum(J[a][c] * v[c] for c in S)
            else:
                row[a] = sum(J[c][a] * v[c] for c in S)
        out[i] = row


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

# ---- losses ----------------------------------------------------------------------


def sparsemax_loss(
    Z: np.ndarray, y: np.ndarray, temperature: float, scale: float, grad: np.ndarray | None
) -> np.ndarray:
    """Per-row loss -z_y + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2 (Martins & Astudillo
    2016, eq. 18), on z shifted by its max (the loss is shift-invariant); grad = p - e_y."""
    losses = np.empty(Z.shape[0])
    for i, z in enumerate(Z.tolist()):
        u = _shifted(z, temperature)
        if u is None:
            losses[i] = NAN
            if grad is not None:
                grad[i] = NAN
            continue
        p, tau = _sparsemax_row(u)
        support = _support(p)
        losses[i] = -u[y[i]] + 0.5 * sum(u[j] ** 2 - tau**2 for j in support) + 0.5
        if grad is not None:
            grad[i] = [scale * (p[j] - (j == y[i])) / temperature for j in range(len(z))]
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
    P = np.empty_like(Z)
    forward(name, Z, b, temperature, P)
    losses = np.empty(N)
    G = np.zeros_like(Z)
    for i in range(N):
        py = float(P[i, y[i]])
        losses[i] = math.log1p(K * eps) - math.log(py + eps) if not math.isnan(py) else NAN
        G[i, y[i]] = -scale / (py + eps)
    if grad is not None:
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
    """Per-row Fenchel-Young loss of alpha-entmax (Blondel, Martins & Niculae 2020):
    <p, u> + (1 - sum p^alpha) / (alpha (alpha - 1)) - u_y on u = (z - max z) / T;
    grad = (p - e_y) / T."""
    losses = np.empty(Z.shape[0])
    for i, z in enumerate(Z.tolist()):
        u = _shifted(z, temperature)
        if u is None:
            losses[i] = NAN
            if grad is not None:
                grad[i] = NAN
            continue
        p = _entmax15_row(u) if exact15 else _entmax_bisect_row(u, alpha)
        support = _support(p)
        tsallis = (1.0 - sum(p[j] ** alpha for j in support)) / (alpha * (alpha - 1.0))
        losses[i] = sum(p[j] * u[j] for j in support) + tsallis - u[y[i]]
        if grad is not None:
            grad[i] = [scale * (p[j] - (j == y[i])) / temperature for j in range(len(z))]
    return losses
