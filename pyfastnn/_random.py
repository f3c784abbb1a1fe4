"""NumPy twin of csrc/runtime/random.hpp: counter-based uniform numbers.

``uniform(key, n)`` returns values 0..n-1 of the stream ``key``, bit for bit
what the C++ epoch loop draws, so dropout masks agree across backends.
SplitMix64 finaliser: Steele, Lea & Flood (2014).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, a: int, b: int, c: int) -> np.uint64:
    """Key of the stream (seed; a, b, c), e.g. (seed; epoch, step, layer)."""
    with np.errstate(over="ignore"):
        k = _mix64(np.array(seed, dtype=np.uint64) + _GOLDEN)
        for coord in (a, b, c):
            k = _mix64(k + np.uint64(coord) + _GOLDEN)
    return np.uint64(k)


def uniform(key: np.uint64, n: int) -> np.ndarray:
    """Values 0..n-1 of stream ``key``: float64 in [0, 1) with 53 random bits."""
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        bits = _mix64(np.uint64(key) + i * _GOLDEN) >> np.uint64(11)
    return bits.astype(np.float64) * 2.0**-53
