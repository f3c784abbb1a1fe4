"""Tests of pyfastnn.matmul and the native GEMM behind it (csrc/gemm/gemm.cpp).

Every check compares against NumPy in float64 with a tolerance that scales with
sqrt(K) and the norms of the row of A and column of B involved, for both
dtypes, both instruction sets (AVX2/FMA and portable), 1 and 2 threads and all
four transpose combinations (``x.T`` views reach the kernel as transpose flags).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyfastnn
from pyfastnn import _native

DTYPES = [np.float32, np.float64]
ISAS = ["avx512", "avx2", "portable"]

SUPPORTED = {
    "avx512": _native.cpu_supports_avx512,
    "avx2": _native.cpu_supports_avx2_fma,
    "portable": lambda: True,
}
TRANSPOSES = [(False, False), (False, True), (True, False), (True, True)]

# Shapes (M, K, N). The blocked path uses MR x NR = 6 x 16 (float) / 6 x 8
# (double) tiles and MC / KC / NC blocks of 288 / 256 / 4096 (float) and
# 144 / 256 / 2048 (double) with the portable and AVX2 kernels; 8 x 32 / 8 x 16
# tiles and MC / KC / NC = 256 / 384 / 4096 (float), 128 / 384 / 2048 (double)
# with AVX-512. The matrix-vector paths take M == 1, N == 1, K == 1 and tiny
# products.
SHAPES = [
    (1, 1, 1),
    (1, 784, 256),  # batch-1 forward x @ W (row vector times matrix)
    (1, 256, 784),
    (784, 1, 256),  # batch-1 weight gradient x^T @ dz (outer product)
    (256, 1, 784),
    (2, 1, 3),
    (300, 17, 1),  # matrix times column vector
    (1, 17, 300),
    (1, 1, 300),
    (300, 1, 1),
    (3, 4, 5),  # tiny: computed without packing
    (16, 16, 16),
    (6, 16, 16),  # exactly one micro-tile
    (12, 3, 32),
    (7, 17, 33),  # one past the tile sizes
    (5, 9, 15),  # one short of the tile sizes
    (8, 16, 32),  # exactly one AVX-512 float micro-tile
    (9, 17, 33),  # one past the AVX-512 tile sizes
    (7, 15, 31),  # one short of the AVX-512 tile sizes
    (2, 300, 2),
    (500, 2, 3),  # tall and skinny
    (3, 2, 500),
    (64, 784, 256),  # batch-64 forward
    (37, 300, 41),  # KC block boundary crossed (KC = 256, up to 320 per block)
    (37, 500, 41),  # same for AVX-512 (KC = 384, up to 480 per block)
    (290, 40, 70),  # MC boundary crossed for float (288 / 256) and double (144 / 128)
    (20, 30, 4200),  # NC boundary crossed for float (4096) and double (2048)
    # AVX-512 reads B in place for up to 128 rows in whole 8-row slivers:
    (16, 500, 70),  # two KC blocks and a partial last column sliver (packed)
    (128, 200, 96),  # the largest such block
    (136, 50, 64),  # one sliver more: B packed
    (24, 40, 1024),  # rows of B 4 KB apart (float): packed, to spare the L1 sets
    (64, 256, 26),  # a 26-class output layer: only a partial sliver of B (masked copy)
    (200, 784, 100),  # hidden width 100: a last sliver of 4 columns (quarter-width kernel)
    (40, 60, 24),  # 24 columns: a float sliver of 24 (full tile), double's 16 + 8 (half)
    (40, 60, 40),  # AVX-512 float 32 + 8 (quarter), double 16 + 16 + 8; AVX2 float 16 + 8
    (30, 50, 20),  # AVX-512 double 16 + 4 (quarter); AVX2 float 16 + 4, double 8 + 8 + 4
]

# Larger shapes that take the multi-threaded branch of every path.
PARALLEL_SHAPES = [
    (1, 784, 256),
    (1, 256, 784),
    (784, 1, 256),
    (2000, 40, 1),
    (64, 784, 256),
    (250, 130, 200),
    (19, 300, 700),
    (700, 300, 19),
]


# ---- fixtures ----------------------------------------------------------------


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test with the given kernels selected, restoring the previous ISA."""
    name = request.param
    if not SUPPORTED[name]():
        pytest.skip(f"CPU cannot run {name}")
    previous = _native.active_isa()
    _native.set_active_isa(name)
    yield name
    _native.set_active_isa(previous)


@pytest.fixture(params=[1, 2])
def threads(request):
    """Run the test with the given native thread count, restoring the previous."""
    previous = _native.num_threads()
    _native.set_num_threads(request.param)
    yield request.param
    _native.set_num_threads(previous)


# ---- helpers -------------------------------------------------------------------


def operands(rng, m, k, n, trans_a, trans_b, dtype):
    """op(A) (m, k) and op(B) (k, n), as transposed views when asked."""
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return (a.T if trans_a else a), (b.T if trans_b else b)


def reference(a, b):
    return a.astype(np.float64) @ b.astype(np.float64)


def tolerance(a, b, dtype):
    """Elementwise bound on |C - C_exact|: rtol * sqrt(K) * |row of A| * |column of B|.

    Rounding errors of a K-term dot product grow like sqrt(K) * eps * |a| |b| for
    random data; rtol is ~17 eps in float32 (eps = 1.2e-7) and ~1e4 eps in
    float64, tight enough that a 1e-3 relative error is caught (see
    test_checker_rejects_wrong_results).
    """
    k = a.shape[1]
    rtol = 2e-6 if np.dtype(dtype) == np.float32 else 1e-12
    row = np.linalg.norm(a.astype(np.float64), axis=1)[:, None]
    col = np.linalg.norm(b.astype(np.float64), axis=0)[None, :]
    return rtol * np.sqrt(max(k, 1)) * row * col + np.finfo(dtype).tiny


def assert_close(c, a, b, dtype, base=None):
    expected = reference(a, b) if base is None else base.astype(np.float64) + reference(a, b)
    assert c.dtype == np.dtype(dtype)
    assert c.shape == expected.shape
    err = np.abs(c.astype(np.float64) - expected)
    tol = tolerance(a, b, dtype)
    if base is not None:
        tol = tol + np.finfo(dtype).eps * np.abs(base)
    bad = ~(err <= tol)  # NaN counts as bad
    assert not bad.any(), (
        f"{int(bad.sum())} of {c.size} elements off, worst err {err.max():.3g} "
        f"at {np.unravel_index(np.argmax(err), err.shape)}"
    )


# ---- the checker itself --------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_checker_rejects_wrong_results(dtype):
    rng = np.random.default_rng(0)
    a, b = operands(rng, 20, 300, 30, False, False, dtype)
    good = reference(a, b).astype(dtype)
    assert_close(good, a, b, dtype)
    one_column = np.where(np.arange(30) == 7, 5e-2, 0)
    for wrong in (good * (1 + 1e-3), good + one_column):
        with pytest.raises(AssertionError):
            assert_close(wrong.astype(dtype), a, b, dtype)
    nan = good.copy()
    nan[3, 4] = np.nan
    with pytest.raises(AssertionError):
        assert_close(nan, a, b, dtype)


# ---- correctness ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_matches_numpy(isa, m, k, n, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
    c = pyfastnn.matmul(a, b)
    assert_close(c, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("m,k,n", PARALLEL_SHAPES)
def test_matches_numpy_threads(isa, threads, m, k, n, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m + 7 * k + 13 * n)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
    out = np.full((m, n), np.nan, dtype=dtype)
    c = pyfastnn.matmul(a, b, out=out)
    assert c is out
    assert_close(c, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize(
    "m,k,n",
    [
        (1, 784, 256),
        (784, 1, 256),
        (300, 20, 1),
        (4, 4, 4),
        (64, 784, 256),
        (37, 700, 41),
        (16, 500, 70),
    ],
)
def test_accumulate(isa, threads, m, k, n, trans_a, trans_b, dtype):
    """accumulate=True (beta = 1) adds to the old contents of out."""
    rng = np.random.default_rng(3)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
    a_arr, b_arr = (a.T if trans_a else a), (b.T if trans_b else b)  # the stored arrays
    base = rng.standard_normal((m, n)).astype(dtype)
    out = base.copy()
    _native.matmul(a_arr, b_arr, trans_a, trans_b, out, True)
    assert_close(out, a, b, dtype, base=base)
    # and beta = 0 again on the same buffer
    _native.matmul(a_arr, b_arr, trans_a, trans_b, out, False)
    assert_close(out, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "m,k,n", [(0, 5, 7), (5, 0, 7), (5, 7, 0), (0, 0, 0), (1, 0, 1), (40, 0, 3)]
)
def test_zero_sized(isa, m, k, n, dtype):
    a = np.ones((m, k), dtype=dtype)
    b = np.ones((k, n), dtype=dtype)
    out = np.full((m, n), np.nan, dtype=dtype)
    c = pyfastnn.matmul(a, b, out=out)
    assert c.shape == (m, n)
    np.testing.assert_array_equal(c, np.zeros((m, n), dtype=dtype))  # K == 0: exact zeros
    # K == 0 with accumulate keeps out as it was
    base = np.arange(m * n, dtype=dtype).reshape(m, n)
    out = base.copy()
    _native.matmul(a, b, False, False, out, True)
    np.testing.assert_array_equal(out, base)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("m,k,n", [(1, 50, 40), (40, 50, 1), (30, 1, 20), (5, 6, 7), (64, 300, 80)])
def test_nan_semantics(isa, threads, m, k, n, trans_a, trans_b, dtype):
    """A NaN in A makes its row of C NaN; beta = 0 ignores NaN / inf in the old out."""
    rng = np.random.default_rng(5)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)  # a: writable (view)
    out = np.full((m, n), np.nan, dtype=dtype)
    out[0, 0] = np.inf
    c = pyfastnn.matmul(a, b, out=out)
    assert_close(c, a, b, dtype)

    row = m // 2
    a[row, k // 2] = np.nan
    c = pyfastnn.matmul(a, b)
    assert np.isnan(c[row]).all()
    assert np.isfinite(np.delete(c, row, axis=0)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_loop_backend_agrees_at_tiny_sizes(isa, trans_a, trans_b, dtype):
    rng = np.random.default_rng(7)
    for m, k, n in [(1, 1, 1), (2, 3, 4), (7, 5, 3), (6, 16, 17)]:
        a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
        loop = pyfastnn.matmul(a, b, backend="loop")
        native = pyfastnn.matmul(a, b, backend="native")
        vector = pyfastnn.matmul(a, b, backend="vector")
        assert_close(loop, a, b, dtype)
        assert_close(native, a, b, dtype)
        assert_close(vector, a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_isa_results_agree(dtype):
    """All kernel families give the same product to rounding, including edge tiles."""
    names = [name for name in ISAS if SUPPORTED[name]()]
    if len(names) < 2:
        pytest.skip("CPU runs only the portable kernels")
    previous = _native.active_isa()
    rng = np.random.default_rng(8)
    a, b = operands(rng, 50, 333, 70, False, True, dtype)
    results = {}
    try:
        for name in names:
            _native.set_active_isa(name)
            results[name] = pyfastnn.matmul(a, b)
    finally:
        _native.set_active_isa(previous)
    for c in results.values():
        assert_close(c, a, b, dtype)


def test_concurrent_calls_from_python_threads():
    """Two Python threads multiply at the same time (GIL released in the binding)."""
    rng = np.random.default_rng(9)
    jobs = []
    for i in range(4):
        m, k, n = [(64, 784, 256), (1, 784, 256), (300, 200, 100), (784, 1, 256)][i]
        a, b = operands(rng, m, k, n, i % 2 == 1, i >= 2, np.float32)
        jobs.append((a, b, reference(a, b)))
    errors = []

    def work(offset):
        try:
            for r in range(30):
                a, b, ref = jobs[(r + offset) % len(jobs)]
                c = pyfastnn.matmul(a, b)
                assert_close(c, a, b, np.float32)
        except AssertionError as err:  # pragma: no cover - reported below
            errors.append(err)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[0]


# ---- property-based: random shapes ---------------------------------------------

dims = st.one_of(st.integers(0, 20), st.integers(21, 150))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=dims,
    k=dims,
    n=dims,
    trans_a=st.booleans(),
    trans_b=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    isa_name=st.sampled_from(ISAS),
    accumulate=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes(m, k, n, trans_a, trans_b, dtype, isa_name, accumulate, seed):
    if not SUPPORTED[isa_name]():
        isa_name = "portable"
    previous = _native.active_isa()
    _native.set_active_isa(isa_name)
    try:
        rng = np.random.default_rng(seed)
        a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
        a_arr, b_arr = (a.T if trans_a else a), (b.T if trans_b else b)
        base = rng.standard_normal((m, n)).astype(dtype)
        out = base.copy() if accumulate else np.full((m, n), np.nan, dtype=dtype)
        _native.matmul(a_arr, b_arr, trans_a, trans_b, out, accumulate)
        assert_close(out, a, b, dtype, base=base if accumulate else None)
    finally:
        _native.set_active_isa(previous)


# ---- argument errors (the Python wrapper) ----------------------------------------


def test_rejects_mismatched_inner_dimension():
    with pytest.raises(ValueError):
        pyfastnn.matmul(np.ones((2, 3)), np.ones((4, 5)))


def test_rejects_mixed_dtypes():
    with pytest.raises(TypeError):
        pyfastnn.matmul(np.ones((2, 3), np.float32), np.ones((3, 5), np.float64))
