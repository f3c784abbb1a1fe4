"""OpenBLAS's threaded work on pyfastnn's pool (csrc/runtime/blas_threads.cpp).

``run_team`` must run all members of a team at once (OpenBLAS's level-3
threads wait for one another): on the pool when it is free, on threads of its
own when another call holds the pool or in a forked child. Routing must not
change NumPy's results, and must be undone by ``route_blas_threads(False)``;
an OpenBLAS loaded later joins at a native call.
Every case that could hang runs with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native

TIMEOUT_NS = 5_000_000_000


def _openblas_with_hook() -> bool:
    """Whether NumPy's BLAS is an OpenBLAS new enough to take the hook."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return False
    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            version = tuple(int(v) for v in str(lib.get("version", "0")).split(".")[:3])
            return version >= (0, 3, 27)
    return False


needs_openblas = pytest.mark.skipif(
    not _openblas_with_hook(), reason="NumPy's BLAS is not an OpenBLAS >= 0.3.27"
)


@pytest.fixture
def routed():
    """BLAS routing on for the test, restored afterwards."""
    before = bool(_native.blas_threads_routed())
    pyfastnn.route_blas_threads(True)
    yield
    pyfastnn.route_blas_threads(before)


@pytest.mark.parametrize("members", [1, 2, 3])
def test_team_members_run_at_once(members):
    assert _native.team_selftest(members, TIMEOUT_NS) == members


def test_team_runs_at_once_while_another_thread_holds_the_pool():
    # A long job of another Python thread owns the pool: the team starts its
    # own threads instead of waiting for (or shrinking to) the pool.
    started = threading.Event()

    def hold_pool() -> None:
        started.set()
        _native.pool_selftest(64, 2, spin_ns=20_000_000)

    holder = threading.Thread(target=hold_pool)
    holder.start()
    started.wait()
    try:
        assert _native.team_selftest(2, TIMEOUT_NS) == 2
    finally:
        holder.join()


def test_team_input_checked():
    with pytest.raises(ValueError, match="members"):
        _native.team_selftest(0, TIMEOUT_NS)
    with pytest.raises(ValueError, match="timeout_ns"):
        _native.team_selftest(2, -1)


def test_route_blas_threads_argument_checked():
    with pytest.raises(TypeError, match="enabled"):
        pyfastnn.route_blas_threads("yes")  # type: ignore[arg-type]


@needs_openblas
def test_numpy_results_are_the_same_on_the_pool(routed):
    rng = np.random.default_rng(0)
    cases = [
        rng.random((512, 512)),
        rng.random((600, 300), dtype=np.float32),
        rng.standard_normal((2000, 2000)),  # also a threaded GEMV below
    ]
    pyfastnn.route_blas_threads(False)
    own = [a @ a.T for a in cases] + [cases[2] @ cases[2][0]]
    pyfastnn.route_blas_threads(True)
    jobs_before = pyfastnn.thread_pool_stats()["jobs"]
    pooled = [a @ a.T for a in cases] + [cases[2] @ cases[2][0]]
    for a, b in zip(own, pooled):
        np.testing.assert_array_equal(a, b)
    # NumPy's products did run on the pool
    assert pyfastnn.thread_pool_stats()["jobs"] > jobs_before
    assert pyfastnn.thread_pool_stats()["blas_routed"] == 1


@needs_openblas
def test_routing_off_gives_openblas_its_threads_back(routed):
    assert pyfastnn.route_blas_threads(False)
    assert pyfastnn.thread_pool_stats()["blas_routed"] == 0
    a = np.random.default_rng(1).random((512, 512))
    jobs_before = pyfastnn.thread_pool_stats()["jobs"]
    a @ a
    assert pyfastnn.thread_pool_stats()["jobs"] == jobs_before


@needs_openblas
def test_numpy_and_native_calls_from_several_threads(routed):
    # NumPy products of several shapes (threaded GEMM, GEMV and outer
    # products: OpenBLAS runs each as one team of the pool, one team at a
    # time) beside native calls, from four Python threads at once.
    rng = np.random.default_rng(2)
    products = [
        (rng.random((64, 784)), rng.random((784, 256))),
        (rng.random((784, 1)), rng.random((1, 256))),
        (rng.random((300, 200)), rng.random((200, 100))),
        (rng.random((2000, 2000)), rng.random(2000)),
    ]
    want = [a @ b for a, b in products]
    S = rng.standard_normal((500, 300))
    want_sm = pyfastnn.sparsemax(S)
    failures: list[str] = []

    def work(k: int) -> None:
        for r in range(40):
            i = (r + k) % len(products)
            a, b = products[i]
            if not np.array_equal(a @ b, want[i]):
                failures.append(f"product {i}")
            if k == 0 and not np.array_equal(pyfastnn.sparsemax(S), want_sm):
                failures.append("sparsemax")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert failures == []


def _run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@needs_openblas
@pytest.mark.skipif(sys.platform == "win32", reason="no fork() on Windows")
def test_numpy_in_a_forked_child_after_routing():
    # The child has no pool workers: its teams start threads of their own.
    result = _run(
        """
        import multiprocessing as mp
        import numpy as np
        import pyfastnn

        pyfastnn.route_blas_threads(True)

        def work():
            a = np.random.default_rng(0).random((512, 512))
            return float((a @ a).sum())

        want = work()
        with mp.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(work).get(timeout=60)
        assert got == want, (got, want)
        print("ok", pyfastnn.thread_pool_stats()["blas_routed"])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "1"]


@needs_openblas
def test_environment_chooses_the_threads_at_import():
    script = "import pyfastnn; print(pyfastnn.thread_pool_stats()['blas_routed'])"
    env = {k: v for k, v in os.environ.items() if k != "PYFASTNN_BLAS_THREADS"}
    default = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert default.stdout.strip() == "0"  # off unless asked for
    assert _run(script, {"PYFASTNN_BLAS_THREADS": "own"}).stdout.strip() == "0"
    assert _run(script, {"PYFASTNN_BLAS_THREADS": "pool"}).stdout.strip() == "1"
    assert _run(script, {"PYFASTNN_BLAS_THREADS": ""}).stdout.strip() == "0"
    odd = _run(script, {"PYFASTNN_BLAS_THREADS": "sideways"})
    assert odd.stdout.strip() == "0"
    assert "PYFASTNN_BLAS_THREADS" in odd.stderr


@needs_openblas
def test_an_openblas_loaded_after_import_joins_at_a_native_call():
    # SciPy's wheel brings an OpenBLAS of its own, loaded when scipy.linalg
    # is imported: the first native call made 0.1 s after that routes it.
    pytest.importorskip("scipy")
    result = _run(
        """
        import sys, time
        import numpy as np
        import pyfastnn
        from pyfastnn import _native

        assert "scipy" not in sys.modules
        pyfastnn.route_blas_threads(True)
        before = _native.blas_routed_libraries()
        import scipy.linalg

        x = np.ones((8, 8))
        time.sleep(0.15)
        pyfastnn.sparsemax(x)
        after = _native.blas_routed_libraries()
        print(len(before), len(after))
        scipy_libs = [p for p in after if p not in before]
        print(scipy_libs)
        a = np.random.default_rng(0).random((300, 300))
        print(float(np.abs(scipy.linalg.blas.dgemm(1.0, a, a) - a @ a).max()))
        """
    )
    assert result.returncode == 0, result.stderr
    counts, libs, diff = result.stdout.strip().splitlines()
    before, after = (int(c) for c in counts.split())
    if after == before:
        pytest.skip("SciPy's BLAS is not a separate OpenBLAS with the hook")
    assert after == before + 1 and "scipy" in libs
    assert float(diff) < 1e-9
