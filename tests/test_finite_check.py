"""The NaN/infinity check every input goes through (``_checks.all_finite``)."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native
from pyfastnn._checks import all_finite

# around the native block (16K values) and thread-split (256K values) sizes
SIZES = [1, 15, 16, 17, (1 << 14) + 3, (1 << 18) + 5, 1_000_003]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_finds_one_bad_value_anywhere(dtype, n) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(scale=1e30, size=n).astype(dtype)
    assert all_finite(x)
    positions = {0, n - 1, n // 2, int(rng.integers(n)), min(n - 1, (1 << 14) - 1)}
    for bad in (np.nan, np.inf, -np.inf):
        for at in positions:
            y = x.copy()
            y[at] = bad
            assert not all_finite(y), (bad, at)
            assert not _native.all_finite(y.reshape(1, -1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_finite_values_pass(dtype) -> None:
    info = np.finfo(dtype)
    x = np.array([info.max, -info.max, info.tiny, info.smallest_subnormal, -0.0, 0.0], dtype)
    assert all_finite(np.tile(x, 50_000))
    assert all_finite(x)


def test_agrees_with_numpy_on_any_layout_and_thread_count() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 700))
    x[rng.integers(600, size=3), rng.integers(700, size=3)] = [np.nan, np.inf, -np.inf]
    before = pyfastnn.get_num_threads()
    try:
        for threads in (1, 2, 3):
            pyfastnn.set_num_threads(threads)
            for view in (x, x.T, x[:, ::2], x.astype(np.float32), x[:300]):
                assert all_finite(view) == bool(np.isfinite(view).all())
    finally:
        pyfastnn.set_num_threads(before)


def test_native_check_rejects_other_arrays() -> None:
    with pytest.raises(TypeError, match="x: expected dtype"):
        _native.all_finite(np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="x: expected a C-contiguous"):
        _native.all_finite(np.zeros((4, 4))[:, ::2])
    assert _native.all_finite(np.zeros(0))
