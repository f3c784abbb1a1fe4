"""Bad input to the raw native module, which guards itself."""

from __future__ import annotations

import numpy as np
import pytest
from _bad_input_helpers import named

from pyfastnn import _native

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _net(dtype: str, output: int = 0):
    cls = _native.Network32 if dtype == "float32" else _native.Network64
    return cls([3, 4, 2], 1, 0.0, output)


@pytest.mark.parametrize("cls", [_native.Network32, _native.Network64])
@pytest.mark.parametrize(
    "args, exc",
    [
        (([3], 1, 0.0, 0), ValueError),
        (([], 1, 0.0, 0), ValueError),
        (([3, 0], 1, 0.0, 0), ValueError),
        (([3, -1, 2], 1, 0.0, 0), ValueError),
        (([3, 2], -1, 0.0, 0), ValueError),
        (([3, 2], 8, 0.0, 0), ValueError),
        (([3, 2], 1, 0.0, 3), ValueError),
        (([3, 2], 1, 0.0, -1), ValueError),
        (("ab", 1, 0.0, 0), TypeError),
        (([3, 2.5], 1, 0.0, 0), TypeError),
        (([3, 2], "relu", 0.0, 0), TypeError),
        (([3, 2], 1, "x", 0), TypeError),
        ((None, 1, 0.0, 0), TypeError),
        (([3, 2], 1, 0.0), TypeError),
    ],
)
def test_native_constructor(cls, args, exc):
    with pytest.raises(exc):
        cls(*args)


def test_native_constructor_param_count_overflow():
    with pytest.raises((ValueError, OverflowError, MemoryError)):
        _native.Network64([1, 2**62, 2], 1, 0.0, 2)


def _native_forward_cases(dt, other):
    P = 3 * 4 + 4 + 4 * 2 + 2
    ro = np.zeros((2, 2), dt)
    ro.flags.writeable = False
    good = (np.zeros(P, dt), np.ones((2, 3), dt), np.empty((2, 2), dt))
    return good, [
        ((np.zeros(P, other), good[1], good[2]), TypeError, "params"),
        ((np.zeros(P - 1, dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros(P + 1, dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros((1, P), dt), good[1], good[2]), ValueError, "params"),
        ((np.zeros(2 * P, dt)[::2], good[1], good[2]), ValueError, "params"),
        ((np.zeros(P, np.int64), good[1], good[2]), TypeError, "params"),
        ((good[0], np.ones((2, 3), other), good[2]), TypeError, "X"),
        ((good[0], np.ones(3, dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 3, 1), dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 4), dt), good[2]), ValueError, "X"),
        ((good[0], np.ones((0, 3), dt), np.empty((0, 2), dt)), ValueError, "X"),
        ((good[0], np.ones((2, 6), dt)[:, ::2], good[2]), ValueError, "X"),
        ((good[0], np.asfortranarray(np.ones((2, 3), dt)), good[2]), ValueError, "X"),
        ((good[0], np.ones((2, 3), object), good[2]), TypeError, "X"),
        ((good[0], good[1], np.empty((2, 2), other)), TypeError, "out"),
        ((good[0], good[1], np.empty((3, 2), dt)), ValueError, "out"),
        ((good[0], good[1], np.empty((2, 3), dt)), ValueError, "out"),
        ((good[0], good[1], np.empty(4, dt)), ValueError, "out"),
        ((good[0], good[1], np.empty((2, 4), dt)[:, ::2]), ValueError, "out"),
        ((good[0], good[1], ro), ValueError, "out"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(20))
def test_native_forward_guards(dtype, case):
    dt = np.dtype(dtype)
    other = np.dtype(np.float64 if dtype == "float32" else np.float32)
    good, cases = _native_forward_cases(dt, other)
    assert len(cases) == 20
    args, exc, name = cases[case]
    net = _net(dtype)
    with pytest.raises(exc, match=named(name)):
        net.forward(*args)
    out = good[2]
    net.forward(good[0], good[1], out)  # still works afterwards
    np.testing.assert_allclose(out, 0.5, rtol=1e-6)


def _lag_cases(dt, other):
    P = 26
    params = np.zeros(P, dt)
    X = np.ones((3, 3), dt)
    y = np.array([0, 1, 1])
    ro_dp = np.empty(P, dt)
    ro_dp.flags.writeable = False
    ro_dx = np.empty((3, 3), dt)
    ro_dx.flags.writeable = False
    return [
        ((params, X, np.array([0, 1, 2]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, -1, 1]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1, 2**62]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 1, 1, 0]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([[0, 1, 1]]), 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, np.array([0, 0, 1, 1, 1, 1])[::2], 0.0, 0.0, None, None), ValueError, "y"),
        ((params, X, y.astype(np.int32), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y.astype(np.uint64), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y.astype(dt), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, np.zeros((3, 2), dt), 0.0, 0.0, None, None), TypeError, "y"),
        ((params, X, y, -1.0, 0.0, None, None), ValueError, "l1, l2"),
        ((params, X, y, 0.0, float("nan"), None, None), ValueError, "l1, l2"),
        ((params, X, y, 0.0, 0.0, np.empty(P - 1, dt), None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, np.empty(P, other), None), TypeError, "dparams"),
        ((params, X, y, 0.0, 0.0, ro_dp, None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, np.empty(2 * P, dt)[::2], None), ValueError, "dparams"),
        ((params, X, y, 0.0, 0.0, None, np.empty((3, 2), dt)), ValueError, "dX"),
        ((params, X, y, 0.0, 0.0, None, np.empty((3, 3), other)), TypeError, "dX"),
        ((params, X, y, 0.0, 0.0, None, ro_dx), ValueError, "dX"),
        ((params.astype(other), X, y, 0.0, 0.0, None, None), TypeError, "params"),
        ((params, X.astype(other), y, 0.0, 0.0, None, None), TypeError, "X"),
        ((params, X[:0], y[:0], 0.0, 0.0, None, None), ValueError, "X"),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(23))
def test_native_loss_and_grad_guards(dtype, case):
    dt = np.dtype(dtype)
    other = np.dtype(np.float64 if dtype == "float32" else np.float32)
    cases = _lag_cases(dt, other)
    assert len(cases) == 23
    args, exc, name = cases[case]
    net = _net(dtype)
    with pytest.raises(exc, match=named(name)):
        net.loss_and_grad(*args)
    loss = net.loss_and_grad(
        np.zeros(26, dt), np.ones((3, 3), dt), np.array([0, 1, 1]), 0.0, 0.0, None, None
    )
    assert loss == pytest.approx(np.log(2), rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_real_targets_guards(dtype):
    dt = np.dtype(dtype)
    net = _net(dtype, output=2)  # identity output, MSE
    params = np.zeros(26, dt)
    X = np.ones((3, 3), dt)
    for y, exc in [
        (np.zeros((3, 3), dt), ValueError),
        (np.zeros((2, 2), dt), ValueError),
        (np.zeros(3, dt), ValueError),
        (np.zeros((3, 2), np.int32), TypeError),
        (np.zeros((3, 4), dt)[:, ::2], ValueError),
        (np.array([0, 2, 1]), ValueError),  # int64 labels out of range
    ]:
        with pytest.raises(exc, match=named("y")):
            net.loss_and_grad(params, X, y, 0.0, 0.0, None, None)
    assert net.loss_and_grad(params, X, np.zeros((3, 2), dt), 0.0, 0.0, None, None) == 0.0


def _native_matmul_cases():
    ro = np.zeros((2, 4))
    ro.flags.writeable = False
    A, B, C = np.ones((2, 3)), np.ones((3, 4)), np.empty((2, 4))
    return [
        ((A.astype(np.float32), B, False, False, C), TypeError, "A"),
        ((A, B.astype(np.float32), False, False, C), TypeError, "B"),
        ((A, B, False, False, C.astype(np.int64)), TypeError, "out"),
        ((A, B, False, False, C.astype(np.float16)), TypeError, "out"),
        ((A.astype(np.float32), B.astype(np.float32), False, False, C), TypeError, "A"),
        ((np.ones(3), B, False, False, C), ValueError, "A"),
        ((A, np.ones((1, 3, 4)), False, False, C), ValueError, "B"),
        ((A, B, False, False, np.empty(8)), ValueError, "out"),
        ((np.ones((2, 6))[:, ::2], B, False, False, C), ValueError, "A"),
        ((A, np.ones((3, 8))[:, ::2], False, False, C), ValueError, "B"),
        ((A, B, False, False, np.empty((2, 8))[:, ::2]), ValueError, "out"),
        ((A, B, False, False, np.empty((4, 2)).T), ValueError, "out"),
        ((A, B, False, False, ro), ValueError, "out"),
        ((A, B, False, False, np.empty((2, 5))), ValueError, "out"),
        ((A, B, False, False, np.empty((4, 2))), ValueError, "out"),
        ((A, B, True, False, C), ValueError, "matmul"),
        ((A, B, False, True, C), ValueError, "matmul"),
        ((A, np.ones((4, 3)), False, False, C), ValueError, "matmul"),
        ((A, B, False, False, None), TypeError, ""),
        ((A, B, False, False, [[0.0] * 4] * 2), TypeError, ""),
        ((A, B, "x", False, C), TypeError, ""),
    ]


@pytest.mark.parametrize("case", range(21))
def test_native_matmul_guards(case):
    cases = _native_matmul_cases()
    assert len(cases) == 21
    args, exc, name = cases[case]
    with pytest.raises(exc, match=named(name) if name else None):
        _native.matmul(*args)
    out = np.empty((2, 4))
    _native.matmul(np.ones((2, 3)), np.ones((3, 4)), False, False, out)
    assert np.array_equal(out, np.full((2, 4), 3.0))


def test_native_matmul_transpose_flags_and_zero_k():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 5))
    b = rng.normal(size=(6, 4))
    out = np.full((5, 6), np.nan)
    _native.matmul(a, b, True, True, out)
    np.testing.assert_allclose(out, a.T @ b.T, rtol=1e-13)
    out = np.full((5, 6), 2.0)
    _native.matmul(np.empty((0, 5)), np.empty((6, 0)), True, True, out, True)  # accumulate + K=0
    assert np.array_equal(out, np.full((5, 6), 2.0))
    _native.matmul(np.empty((0, 5)), np.empty((6, 0)), True, True, out)
    assert np.array_equal(out, np.zeros((5, 6)))


@pytest.mark.parametrize(
    "fn",
    [_native.set_num_threads, _native.set_active_isa],
    ids=["set_num_threads", "set_active_isa"],
)
def test_native_runtime_guards(restore_runtime, fn):
    for bad in (0, -1, 1.5, "2", None) if fn is _native.set_num_threads else ("bogus", 1, None):
        with pytest.raises((TypeError, ValueError)):
            fn(bad)
