"""The memory of large results (pyfastnn._memory.result_empty,
csrc/runtime/output_buffers.hpp): freed results' memory serves the next
result of the same size, within the documented limits, and never while an
array still uses it."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native
from pyfastnn._memory import result_empty

LIMITS = _native.output_buffer_stats()
BIG = (512, 512)  # 2 MiB of float64: kept
SMALL = (16, 16)


@pytest.fixture(autouse=True)
def empty_store():
    pyfastnn.release_result_memory()
    yield
    gc.collect()
    pyfastnn.release_result_memory()


def test_a_freed_result_serves_the_next_one_of_its_size():
    a = result_empty(BIG, np.float64)
    where = a.ctypes.data
    assert a.shape == BIG and a.dtype == np.float64
    assert a.flags.c_contiguous and a.flags.writeable and where % 64 == 0
    b = result_empty(BIG, np.float64)
    assert b.ctypes.data != where  # a is alive: never shared
    a[...] = 1.0
    b[...] = 2.0
    assert np.all(a == 1.0) and np.all(b == 2.0)
    del a
    s = _native.output_buffer_stats()
    assert s["kept"] == 1 and s["kept_bytes"] == 2 * 2**20
    reused = s["reused"]
    c = result_empty((256, 1024), np.float64)  # same bytes, other shape
    assert c.ctypes.data == where
    assert _native.output_buffer_stats()["reused"] == reused + 1
    assert _native.output_buffer_stats()["kept"] == 0


def test_views_keep_the_memory_alive():
    a = result_empty(BIG, np.float32)
    a[...] = 3.0
    view = a.T[::2]
    where = a.ctypes.data
    del a
    assert _native.output_buffer_stats()["kept"] == 0  # the view still uses it
    b = result_empty(BIG, np.float32)
    assert b.ctypes.data != where
    assert np.all(view == 3.0)
    del view
    assert _native.output_buffer_stats()["kept"] == 1


def test_small_results_are_numpys_own():
    a = result_empty(SMALL, np.float32)
    assert a.flags.owndata
    del a
    assert _native.output_buffer_stats()["kept"] == 0


def test_the_store_keeps_within_its_limits():
    n = LIMITS["max_kept"] + 3
    arrays = [result_empty(BIG, np.float64) for _ in range(n)]
    del arrays
    s = _native.output_buffer_stats()
    assert s["kept"] == LIMITS["max_kept"]
    assert s["kept_bytes"] <= LIMITS["max_kept_bytes"]
    rows = LIMITS["max_kept_bytes"] // (8 * 1024) + 1  # one result beyond the byte limit
    huge = result_empty((rows, 1024), np.float64)
    huge[-1] = 1.0
    del huge
    s = _native.output_buffer_stats()
    assert s["kept_bytes"] <= LIMITS["max_kept_bytes"] and s["kept"] == LIMITS["max_kept"]
    pyfastnn.release_result_memory()
    assert _native.output_buffer_stats()["kept"] == 0
    assert _native.output_buffer_stats()["kept_bytes"] == 0


def test_sparse_maps_and_matmul_return_reused_memory_with_right_values():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 512, 64))
    s = q @ k.T
    expected = pyfastnn.sparsemax(s, backend="vector")
    first = pyfastnn.sparsemax(s)
    np.testing.assert_allclose(first, expected, atol=1e-12)
    del first
    reused = _native.output_buffer_stats()["reused"]
    for _ in range(3):
        p = pyfastnn.sparsemax(pyfastnn.matmul(q, k.T))
        np.testing.assert_allclose(p, expected, atol=1e-12)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        del p
    assert _native.output_buffer_stats()["reused"] >= reused + 3


@pytest.mark.parametrize(
    "shape, dtype, error, match",
    [
        ((-1, 4), np.float64, ValueError, "shape"),
        ((2**40, 2**40), np.float64, ValueError, "shape"),
        ((4, 4), np.dtype(object), TypeError, "dtype"),
        ((4, 4), np.dtype(">f8"), TypeError, "dtype"),
    ],
)
def test_bad_requests(shape, dtype, error, match):
    with pytest.raises(error, match=match):
        _native.output_array(shape, np.dtype(dtype))
