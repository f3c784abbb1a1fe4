"""Two-class 2-D toy data written with NumPy: concentric circles and two moons.

Both return ``X`` (n, 2) float64 and ``y`` (n,) int64 with ``n - n // 2`` rows of
class 0 and ``n // 2`` of class 1 (equal for even n), rows in a seeded random
order, and the same output for the same arguments. Points are spread evenly
along each curve, then Gaussian noise with standard deviation ``noise`` is
added to both coordinates.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._memory import check_memory

# Bytes per point while drawing: X (2 float64), y (int64) and the temporaries.
_BYTES_PER_POINT = 96


def _check(n: int, noise: float, seed: int) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n: expected an integer >= 2, got {n!r}")
    check_memory(n * _BYTES_PER_POINT, f"n: {n} points")
    if not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise: expected a finite number >= 0, got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed: expected an integer, got {seed!r}")


def _assemble(
    a: np.ndarray, b: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate([a, b])
    y = np.concatenate([np.zeros(len(a), np.int64), np.ones(len(b), np.int64)])
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order], y[order]


def make_circles(
    n: int = 1000, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 on the unit circle, class 1 on the circle of radius ``factor`` (0 < factor < 1).

    Returns X (n, 2) float64, y (n,) int64.
    """
    _check(n, noise, seed)
    if not isinstance(factor, numbers.Real) or not 0 < factor < 1:
        raise ValueError(f"factor: expected a number in (0, 1), got {factor!r}")
    n_inner = n // 2
    n_outer = n - n_inner

    def ring(m: int, radius: float) -> np.ndarray:
        t = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
        return radius * np.column_stack([np.cos(t), np.sin(t)])

    return _assemble(
        ring(n_outer, 1.0), ring(n_inner, float(factor)), noise, np.random.default_rng(seed)
    )


def make_moons(n: int = 1000, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles of radius 1.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 0.5 - sin t); t in [0, pi].
    Returns X (n, 2) float64, y (n,) int64.
    """
    _check(n, noise, seed)
    n_lower = n // 2
    n_upper = n - n_lower
    t_up = np.linspace(0.0, np.pi, n_upper)
    t_low = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_up), np.sin(t_up)])
    lower = np.column_stack([1.0 - np.cos(t_low), 0.5 - np.sin(t_low)])
    return _assemble(upper, lower, noise, np.random.default_rng(seed))
