"""Bad input to unaligned arrays and a long hostile sequence, in subprocesses (a crash
there shows up as a non-zero return code instead of killing the test session)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _run_script(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc


def test_unaligned_arrays_subprocess():
    code = """
    import numpy as np
    from pyfastnn import MLP, matmul
    rng = np.random.default_rng(0)
    def unaligned(shape, dt):
        dt = np.dtype(dt)
        buf = np.zeros(int(np.prod(shape)) * dt.itemsize + 1, np.uint8)
        a = buf[1:].view(dt).reshape(shape)
        a[...] = rng.normal(size=shape)
        assert not a.flags.aligned and a.flags.c_contiguous
        return a
    for dt in ("float32", "float64"):
        a, b = unaligned((70, 90), dt), unaligned((90, 50), dt)
        assert np.array_equal(matmul(a, b), matmul(a.copy(), b.copy()))
        for backend in ("vector", "native"):
            m = MLP([90, 20, 5], dtype=dt, backend=backend)
            y = rng.integers(0, 5, 70)
            l1, g1 = m.loss_and_grad(a, y)
            l2, g2 = m.loss_and_grad(a.copy(), y)
            # native: bit-identical; vector: NumPy may take another (non-BLAS) path
            same = np.array_equal if backend == "native" else np.allclose
            assert np.isclose(l1, l2, rtol=1e-6) and same(g1.flat, g2.flat)
            assert same(m.forward(a), m.forward(a.copy()))
            assert same(m.input_grad(a, y), m.input_grad(a.copy(), y))
    print("OK")
    """
    proc = _run_script(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")


HOSTILE = r"""
import itertools, sys
import numpy as np
from pyfastnn import _native as N

rng = np.random.default_rng(11)
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.float16, np.complex128, object, bool]

def arrays(shape):
    out = []
    for dt in DTYPES:
        try:
            a = np.zeros(shape, dtype=dt) if dt is not object else np.empty(shape, dtype=object)
        except Exception:
            continue
        out.append(a)
        if a.ndim == 2 and a.size:
            out.append(np.asfortranarray(a) if min(a.shape) > 1 else a)
            out.append(np.repeat(a, 2, axis=1)[:, ::2])
            r = a.copy(); r.flags.writeable = False; out.append(r)
    return out

SHAPES = [(), (0,), (5,), (26,), (25,), (0, 0), (0, 3), (3, 0), (3, 3), (3, 2), (2, 3),
          (3, 4), (4, 3), (1, 1), (3, 3, 1)]
POOL = [a for s in SHAPES for a in arrays(s)]
POOL += [None, 0, 1.5, "x", [[1.0, 2.0]], np.array([0, 1, 2]), np.array([-1, 0, 1]),
         np.array([0, 1, 2**62]), np.array([0, 1, 1]), np.array([0, 1])]

calls = errors = 0
def attempt(fn, *args):
    global calls, errors
    calls += 1
    try:
        fn(*args)
    except (TypeError, ValueError, OverflowError, MemoryError):
        errors += 1

for dt in (np.float32, np.float64):
    cls = N.Network32 if dt is np.float32 else N.Network64
    for output in (0, 1, 2):
        net = cls([3, 4, 2], 1, 0.0, output)
        P = net.num_params
        good_p = np.zeros(P, dt); good_X = np.ones((3, 3), dt); good_y = np.array([0, 1, 1])
        # one bad argument at a time, the others good
        for bad in POOL:
            attempt(net.forward, bad, good_X, np.empty((3, 2), dt))
            attempt(net.forward, good_p, bad, np.empty((3, 2), dt))
            attempt(net.forward, good_p, good_X, bad)
            attempt(net.loss_and_grad, bad, good_X, good_y, 0.0, 0.0, None, None)
            attempt(net.loss_and_grad, good_p, bad, good_y, 0.0, 0.0, np.empty(P, dt), None)
            attempt(net.loss_and_grad, good_p, good_X, bad, 0.0, 0.0, np.empty(P, dt),
                    np.empty((3, 3), dt))
            attempt(net.loss_and_grad, good_p, good_X, good_y, 0.0, 0.0, bad, None)
            attempt(net.loss_and_grad, good_p, good_X, good_y, 0.0, 0.0, None, bad)
        for l1, l2 in [(-1.0, 0.0), (0.0, -1.0), (float("nan"), 0.0), (0.0, float("inf")),
                       (1e300, 1e300)]:
            attempt(net.loss_and_grad, good_p, good_X, good_y, l1, l2, np.empty(P, dt),
                    np.empty((3, 3), dt))
        # random combinations
        for _ in range(3000):
            args = [POOL[i] for i in rng.integers(0, len(POOL), size=3)]
            attempt(net.forward, *args)
            args = [POOL[i] for i in rng.integers(0, len(POOL), size=5)]
            attempt(net.loss_and_grad, args[0], args[1], args[2], 0.0, 0.0, args[3], args[4])
        # still correct afterwards
        out = np.empty((3, 2), dt)
        net.forward(good_p, good_X, out)
        assert np.allclose(out, 0.5 if output != 2 else 0.0), out

for _ in range(6000):
    a, b, c = (POOL[i] for i in rng.integers(0, len(POOL), size=3))
    ta, tb = (bool(t) for t in rng.integers(0, 2, size=2))
    attempt(N.matmul, a, b, ta, tb, c)
    attempt(N.matmul, a, b, ta, tb, c, True)
for sizes in ([], [3], [0, 2], [3, -5], [2**62, 2**62], [1, 2**40, 1]):
    for act, out in ((1, 0), (99, 0), (1, 99), (-1, -1)):
        attempt(N.Network64, sizes, act, 0.0, out)
        attempt(N.Network32, sizes, act, float("nan"), out)
for n in (0, -1, -2**31, 2**31, 2**63, 1.5, None, "3"):
    attempt(N.set_num_threads, n)
for isa in ("", "bogus", None, 3, "avx512"):
    attempt(N.set_active_isa, isa)
N.set_num_threads(2)
out = np.empty((2, 2))
N.matmul(np.eye(2), np.full((2, 2), 3.0), False, False, out)
assert np.array_equal(out, np.full((2, 2), 3.0))
print("DONE", calls, errors)
"""


def test_hostile_native_calls_do_not_crash():
    proc = _run_script(HOSTILE, timeout=240)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[0] == "DONE"
    calls, errors = int(last[1]), int(last[2])
    assert calls > 40000
    assert errors > 0.9 * calls  # nearly everything in the pool is invalid
