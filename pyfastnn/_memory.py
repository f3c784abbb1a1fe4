"""Arrays aligned to cache lines, and the memory of the large results the library returns.

The native kernels split weight matrices among threads by rows or columns.
When a weight row starts on a 64-byte boundary (and its width is a multiple of
16 float32 or 8 float64 values) each thread's part covers whole cache lines;
when it does not, the line at every split is written by two cores at each
step. NumPy only promises 16-byte alignment, so the parameters, gradients and
optimiser state are allocated here.
"""

from __future__ import annotations

import math

import numpy as np

from . import _native

CACHE_LINE = 64
_MIN_KEPT_BYTES: int = _native.output_buffer_stats()["min_bytes"]


def aligned_zeros(n: int, dtype: np.dtype | type) -> np.ndarray:
    """A zero-filled 1-D array of ``n`` values whose data starts on a 64-byte boundary."""
    dt = np.dtype(dtype)
    spare = CACHE_LINE // dt.itemsize
    raw = np.zeros(n + spare, dtype=dt)
    skip = (-raw.ctypes.data % CACHE_LINE) // dt.itemsize
    return raw[skip : skip + n]


def result_empty(shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` for a result the library returns.

    From 256 KiB up, its memory is taken from the results Python freed last and
    goes back there when this one is freed (at most 4 kept, 64 MiB): a new
    mapping would cost a page fault per 4 KiB the kernel writes, 5-10x the
    kernel itself for sparsemax over 512 x 512 on this project's test machine
    (csrc/runtime/output_buffers.hpp). Its ``base`` is a capsule that owns the
    memory, so the array does not own its data (``resize`` in place refuses).
    """
    dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    if math.prod(shape) * dt.itemsize < _MIN_KEPT_BYTES:
        return np.empty(shape, dtype=dt)
    return _native.output_array(shape, dt)


def release_result_memory() -> None:
    """Free the memory kept from freed results (see :func:`result_empty`)."""
    _native.release_output_buffers()
