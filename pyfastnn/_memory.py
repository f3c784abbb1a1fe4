"""Arrays aligned to cache lines, for the buffers native kernels share between threads.

The native kernels split weight matrices among threads by rows or columns.
When a weight row starts on a 64-byte boundary (and its width is a multiple of
16 float32 or 8 float64 values) each thread's part covers whole cache lines;
when it does not, the line at every split is written by two cores at each
step. NumPy only promises 16-byte alignment, so the parameters, gradients and
optimiser state are allocated here.
"""

from __future__ import annotations

import numpy as np

CACHE_LINE = 64


def aligned_zeros(n: int, dtype: np.dtype | type) -> np.ndarray:
    """A zero-filled 1-D array of ``n`` values whose data starts on a 64-byte boundary."""
    dt = np.dtype(dtype)
    spare = CACHE_LINE // dt.itemsize
    raw = np.zeros(n + spare, dtype=dt)
    skip = (-raw.ctypes.data % CACHE_LINE) // dt.itemsize
    return raw[skip : skip + n]
