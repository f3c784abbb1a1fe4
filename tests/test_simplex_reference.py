"""Independent oracles for the simplex-map tests, and tests of the oracles.

Nothing here calls pyfastnn: sparsemax is found by bisection on its threshold
(not by sorting, nor by pruning), relumax and softmax straight from their
definitions, derivatives by central differences. Other test files import these.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

BACKENDS = ["loop", "vector", "native"]
DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-11, atol=1e-12)}
MAPS = ["softmax", "sparsemax", "relumax"]


def threshold_bisection(Z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """tau (N,) with sum_j max(z_j / T - tau, 0) = 1, by 200 bisection steps in float64."""
    Y = np.asarray(Z, dtype=np.float64) / temperature
    hi = Y.max(axis=1)
    lo = hi - 1.0  # the largest entry alone reaches 1 at tau = max - 1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        over = np.maximum(Y - mid[:, None], 0).sum(axis=1) > 1
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    return 0.5 * (lo + hi)


def sparsemax_ref(Z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    Y = np.asarray(Z, dtype=np.float64) / temperature
    return np.maximum(Y - threshold_bisection(Z, temperature)[:, None], 0)


def relumax_ref(Z: np.ndarray, b: float, temperature: float = 1.0) -> np.ndarray:
    Y = np.asarray(Z, dtype=np.float64) / temperature
    U = np.maximum(Y - Y.max(axis=1, keepdims=True) + b, 0)
    return U / U.sum(axis=1, keepdims=True)


def softmax_ref(Z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    Y = np.asarray(Z, dtype=np.float64) / temperature
    E = np.exp(Y - Y.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def map_ref(name: str, Z: np.ndarray, b: float = 1.0, temperature: float = 1.0) -> np.ndarray:
    if name == "relumax":
        return relumax_ref(Z, b, temperature)
    return {"softmax": softmax_ref, "sparsemax": sparsemax_ref}[name](Z, temperature)


def fd_jacobian(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, h: float = 1e-6):
    """Central-difference Jacobian (K, K) of f: R^K -> R^K at z (float64)."""
    K = z.shape[0]
    J = np.empty((K, K))
    for j in range(K):
        e = np.zeros(K)
        e[j] = h
        J[:, j] = (f(z + e) - f(z - e)) / (2 * h)
    return J


def kink_distance(name: str, z: np.ndarray, b: float = 1.0) -> float:
    """How far (in the sup norm) z is from a point where the map is not differentiable."""
    z = np.asarray(z, dtype=np.float64)
    top2 = np.sort(z)[-2:] if z.shape[0] > 1 else np.array([-np.inf, z[0]])
    if name == "softmax":
        return np.inf
    if name == "sparsemax":  # kinks where an entry crosses the threshold
        tau = threshold_bisection(z[None])[0]
        return float(np.min(np.abs(z - tau)) / 2)
    # relumax: an entry crossing max - b, or a tie for the max
    gap = top2[1] - top2[0]
    return float(min(np.min(np.abs(z - z.max() + b)), gap) / 2)


def smooth_logits(
    name: str, rng: np.random.Generator, n: int, k: int, b: float = 1.0, scale: float = 1.0
) -> np.ndarray:
    """(n, k) float64 logits whose rows are all at least 1e-3 from a kink of the map."""
    rows = []
    while len(rows) < n:
        z = rng.standard_normal(k) * scale
        if kink_distance(name, z, b) > 1e-3:
            rows.append(z)
    return np.array(rows)


# ---- tests of the oracles themselves ---------------------------------------------------


def test_bisection_threshold_solves_its_equation() -> None:
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((50, 7)) * 3
    tau = threshold_bisection(Z)
    np.testing.assert_allclose(np.maximum(Z - tau[:, None], 0).sum(axis=1), 1, rtol=1e-12)


def test_reference_maps_on_hand_computed_rows() -> None:
    z = np.array([[1.0, 0.5, -2.0]])
    # sparsemax: support {0, 1}: tau = (1 + 0.5 - 1) / 2 = 0.25
    np.testing.assert_allclose(sparsemax_ref(z), [[0.75, 0.25, 0.0]], atol=1e-14)
    # relumax_1: u = (1, 0.5, 0) -> (2/3, 1/3, 0)
    np.testing.assert_allclose(relumax_ref(z, 1.0), [[2 / 3, 1 / 3, 0.0]], atol=1e-14)
    e = np.exp([1.0, 0.5, -2.0])
    np.testing.assert_allclose(softmax_ref(z), [e / e.sum()], rtol=1e-14)


def test_fd_jacobian_of_a_linear_map() -> None:
    A = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(fd_jacobian(lambda v: A @ v, np.ones(3)), A, atol=1e-8)
