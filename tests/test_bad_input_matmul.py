"""Bad input to pyfastnn.matmul."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _bad_input_helpers import BACKENDS, named

from pyfastnn import matmul

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def rng() -> np.random.Generator:
    """This file's own seed (the conftest's rng has another)."""
    return np.random.default_rng(2024)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "a, b, exc, name",
    [
        (np.ones((2, 3)), np.ones((4, 5)), ValueError, "b"),
        (np.ones((2, 3)), np.ones((2, 3)), ValueError, "b"),
        (np.ones((3, 2)).T, np.ones((4, 5)), ValueError, "b"),  # transposed view
        (np.ones((2, 3)), np.ones((5, 4)).T, ValueError, "b"),
        (np.ones((2, 3), np.float32), np.ones((3, 4)), TypeError, "b"),
        (np.ones((2, 3)), np.ones((3, 4), np.float32), TypeError, "b"),
        (np.ones((2, 3), np.float32), np.ones((3, 4), np.int64), TypeError, "b"),
        (np.ones(3), np.ones((3, 4)), ValueError, "a"),
        (np.ones((2, 3)), np.ones(3), ValueError, "b"),
        (np.ones((1, 2, 3)), np.ones((3, 4)), ValueError, "a"),
        (np.ones((2, 3)), np.ones((1, 3, 4)), ValueError, "b"),
        (np.float64(2.0), np.ones((1, 4)), ValueError, "a"),
        (np.ones((2, 3), complex), np.ones((3, 4)), TypeError, "a"),
        (np.ones((2, 3)), np.ones((3, 4), object), TypeError, "b"),
        (None, np.ones((3, 4)), TypeError, "a"),
        ("abc", np.ones((3, 4)), TypeError, "a"),
        (np.ones((2, 3)), [[1, 2], [3]], TypeError, "b"),
        (np.ones((2, 3)), np.full((3, 4), "x"), TypeError, "b"),
    ],
)
def test_matmul_bad_operands(backend, a, b, exc, name):
    with pytest.raises(exc, match=named(name)):
        matmul(a, b, backend=backend)


def _bad_outs() -> list:
    ro = np.zeros((2, 4))
    ro.flags.writeable = False
    return [
        (np.zeros((4, 2)), ValueError),
        (np.zeros((2, 5)), ValueError),
        (np.zeros(8), ValueError),
        (np.zeros((2, 4, 1)), ValueError),
        (np.zeros((2, 4), np.float32), TypeError),
        (np.zeros((2, 4), np.int64), TypeError),
        (np.zeros((2, 8))[:, ::2], ValueError),  # non-contiguous
        (np.zeros((4, 2)).T, ValueError),  # F-ordered
        (np.asfortranarray(np.zeros((2, 4))), ValueError),
        (ro, ValueError),
        ([[0.0] * 4] * 2, TypeError),
        ("out", TypeError),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(12))
def test_matmul_bad_out(backend, case):
    out, exc = _bad_outs()[case]
    before = np.array(out, copy=True) if isinstance(out, np.ndarray) else None
    with pytest.raises(exc, match=named("out")):
        matmul(np.ones((2, 3)), np.ones((3, 4)), out=out, backend=backend)
    if before is not None:
        assert np.array_equal(out, before)


@pytest.mark.parametrize("backend", ["gpu", "", None, 0, "Native"])
def test_matmul_bad_backend(backend):
    with pytest.raises(ValueError, match=named("backend")):
        matmul(np.ones((2, 3)), np.ones((3, 4)), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "m, k, n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (0, 3, 0), (1, 0, 1), (0, 0, 5)]
)
@pytest.mark.parametrize("transpose", [False, True])
def test_matmul_zero_size(backend, dtype, m, k, n, transpose):
    a = np.ones((m, k), dtype)
    b = np.ones((k, n), dtype)
    if transpose:
        a = np.ascontiguousarray(a.T).T
        b = np.ascontiguousarray(b.T).T
    out = np.full((m, n), np.nan, dtype)  # must be overwritten by zeros when k == 0
    r = matmul(a, b, out=out, backend=backend)
    assert r is out
    assert r.shape == (m, n) and r.dtype == dtype
    assert np.array_equal(r, np.zeros((m, n), dtype))
    r2 = matmul(a, b, backend=backend)
    assert r2.shape == (m, n) and r2.dtype == dtype
    assert np.array_equal(r2, np.zeros((m, n), dtype))


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_converts_inputs(backend):
    ai = np.arange(6).reshape(2, 3)
    bi = np.arange(12).reshape(3, 4) - 5
    expected = (ai @ bi).astype(np.float64)
    for a, b in [
        (ai, bi),
        (ai.tolist(), bi.tolist()),
        (ai.astype(np.int8), bi),
        (ai, bi.astype(np.float64)),
    ]:
        r = matmul(a, b, backend=backend)
        assert r.dtype == np.float64
        assert np.array_equal(r, expected)
    r = matmul(ai.astype(bool), bi.astype(np.uint16) * 0 + 1, backend=backend)
    assert np.array_equal(r, ai.astype(bool).astype(float) @ np.ones((3, 4)))
    r = matmul(ai.astype(np.float16), bi.astype(np.float32), backend=backend)  # float16 -> float32
    assert r.dtype == np.float32 and np.array_equal(r, expected.astype(np.float32))
    r = matmul(ai.astype(">f8"), bi.astype(">f8"), backend=backend)
    assert np.array_equal(r, expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_layouts(backend, dtype, rng):
    big_a = rng.normal(size=(9, 11)).astype(dtype)
    big_b = rng.normal(size=(10, 12)).astype(dtype)
    a_variants = [
        big_a[:5, 2:6],
        big_a[::2, ::3][:, :4],
        np.ascontiguousarray(big_a[:4, :5]).T,
        big_a[5:0:-1, :4],
    ]
    b_variants = [
        big_b[:4, 3:9],
        np.ascontiguousarray(big_b[:6, :4]).T,
        np.asfortranarray(big_b[:4, :6]),
        big_b[::-2, ::2][:4],
    ]
    ro = big_b[:4, :6].copy()
    ro.flags.writeable = False
    b_variants.append(ro)
    tol = 1e-5 if dtype == "float32" else 1e-13
    for a in a_variants:
        for b in b_variants:
            assert a.shape == (5, 4) and b.shape == (4, 6)
            a_before, b_before = a.copy(), b.copy()
            r = matmul(a, b, backend=backend)
            expected = a.astype(np.float64) @ b.astype(np.float64)
            np.testing.assert_allclose(r, expected, rtol=tol, atol=tol)
            assert np.array_equal(a, a_before) and np.array_equal(b, b_before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_propagates_nan(backend):
    a = np.ones((2, 3))
    a[0, 1] = np.nan
    r = matmul(a, np.ones((3, 2)), backend=backend)
    assert np.isnan(r[0]).all() and np.array_equal(r[1], [3.0, 3.0])


@pytest.mark.parametrize(
    "backend, n",
    [
        pytest.param("loop", 4),
        ("vector", 4),
        ("vector", 600),
        pytest.param("native", 600),
    ],
)
def test_matmul_out_aliasing_operand(backend, n, rng):
    a = rng.normal(size=(n, n))
    b = rng.normal(size=(n, n))
    expected = a @ b
    for which in ("a", "b"):
        a2, b2 = a.copy(), b.copy()
        out = a2 if which == "a" else b2
        try:
            r = matmul(a2, b2, out=out, backend=backend)
        except ValueError as err:
            assert re.match(named("out"), str(err))
            continue
        np.testing.assert_allclose(r, expected, rtol=1e-9, atol=1e-9)


def test_matmul_dtype_metadata():
    dt = np.dtype(np.float64, metadata={"unit": "m"})
    a = np.ones((2, 3), dtype=dt)
    np.testing.assert_array_equal(matmul(a, np.ones((3, 2))), np.full((2, 2), 3.0))
