"""Matrix multiply in the three backends (tests, benchmarks, users)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _native
from ._checks import as_float_array, check_backend
from ._memory import result_empty


def _as_operand(x: ArrayLike, name: str) -> tuple[np.ndarray, bool]:
    """Return (C-contiguous array, transposed) for a matmul operand.

    A transposed view of a C-contiguous array (``W.T``) is passed to the native
    kernel as the original array with a transpose flag: no copy.
    """
    if isinstance(x, np.ndarray) and x.ndim == 2 and not x.flags.c_contiguous:
        if x.flags.f_contiguous:
            return as_float_array(x.T, name, 2, finite=False, allow_empty=True), True
    return as_float_array(x, name, 2, finite=False, allow_empty=True), False


def _matmul_loop(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for p in range(k):
                acc += float(a[i, p]) * float(b[p, j])
            out[i, j] = acc


def matmul(
    a: ArrayLike, b: ArrayLike, *, out: np.ndarray | None = None, backend: str = "native"
) -> np.ndarray:
    """Matrix product ``a @ b`` of two float32 or float64 2-D arrays.

    Shapes: ``a`` (M, K), ``b`` (K, N) -> (M, N). Both operands must have the
    same dtype. Transposed views (``x.T``) are used without copying. NaN and inf
    propagate as in IEEE arithmetic. ``out``, if given, must be a C-contiguous
    (M, N) array of the same dtype; it is overwritten and returned.
    """
    check_backend(backend)
    a_arr, trans_a = _as_operand(a, "a")
    b_arr, trans_b = _as_operand(b, "b")
    if a_arr.dtype != b_arr.dtype:
        raise TypeError(f"b: dtype {b_arr.dtype} differs from a's dtype {a_arr.dtype}")
    m = a_arr.shape[1] if trans_a else a_arr.shape[0]
    k = a_arr.shape[0] if trans_a else a_arr.shape[1]
    kb = b_arr.shape[1] if trans_b else b_arr.shape[0]
    n = b_arr.shape[0] if trans_b else b_arr.shape[1]
    if k != kb:
        raise ValueError(f"b: expected {k} rows to match a's {k} columns, got {kb}")
    if out is None:
        out = result_empty((m, n), a_arr.dtype)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
        if out.dtype != a_arr.dtype:
            raise TypeError(f"out: expected dtype {a_arr.dtype}, got {out.dtype}")
        if out.shape != (m, n):
            raise ValueError(f"out: expected shape {(m, n)}, got {out.shape}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out: expected a writable C-contiguous array")
    if np.may_share_memory(out, a_arr) or np.may_share_memory(out, b_arr):
        # out overlaps an operand: compute into a fresh array, then copy over.
        out[...] = matmul(a, b, backend=backend)
        return out
    if backend == "native":
        _native.matmul(a_arr, b_arr, trans_a, trans_b, out)
        return out
    a_op = a_arr.T if trans_a else a_arr
    b_op = b_arr.T if trans_b else b_arr
    if backend == "vector":
        np.matmul(a_op, b_op, out=out)
    else:
        _matmul_loop(a_op, b_op, out)
    return out
