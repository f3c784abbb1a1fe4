"""pyfastnn's parallel work on a loaded libgomp's team (csrc/runtime/openmp_route.cpp).

With ``route_openmp_threads`` on, every parallel job of the calling thread
that holds the pool runs on the team of the libgomp PyTorch brings, its
members claiming the same fixed pieces the pool's workers would. The
guarantees of the pool must hold unchanged: the same bits routed or not and
on any thread count, exceptions inside pieces reaching Python, the thread
count honoured, concurrent Python threads within the count, a forked child
that works, an interpreter that exits. PyTorch is an optional extra: without
it these tests skip, except the one checking that routing is reported off
when no libgomp is loaded. Every case that could hang runs with a timeout.
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

TIMEOUT_S = 120


def _run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PYFASTNN_OPENMP_THREADS"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**environ, **(env or {})},
    )


def test_argument_checks():
    with pytest.raises(TypeError, match="enabled"):
        pyfastnn.route_openmp_threads("yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="library"):
        pyfastnn.route_openmp_threads(True, library=3)  # type: ignore[arg-type]


def test_routing_is_off_without_a_libgomp():
    # A fresh process with NumPy and pyfastnn only: nothing to route to, and
    # parallel work stays on the pool.
    result = _run(
        """
        import numpy as np
        import pyfastnn
        from pyfastnn import _native

        libs = _native.openmp_libraries()
        routed = pyfastnn.route_openmp_threads(True)
        A = np.random.default_rng(0).random((300, 300), dtype=np.float32)
        pyfastnn.matmul(A, A)
        stats = pyfastnn.thread_pool_stats()
        print(len(libs), len(routed), stats["openmp_routed"], stats["openmp_jobs"])
        """
    )
    assert result.returncode == 0, result.stderr
    found, routed, flag, jobs = (int(v) for v in result.stdout.split())
    if found:
        pytest.skip("a libgomp is loaded with NumPy alone here")
    assert (routed, flag, jobs) == (0, 0, 0)


torch = pytest.importorskip("torch")

_MULTI_CPU = pyfastnn.thread_pool_stats()["cpus"] >= 2


@pytest.fixture
def routed():
    """Routing on for the test (PyTorch's libgomp), then off; thread count restored."""
    threads = pyfastnn.get_num_threads()
    paths = pyfastnn.route_openmp_threads(True)
    if not paths:
        pytest.skip("PyTorch loaded no libgomp (not a GNU OpenMP build)")
    _native.reset_contention()  # a busy moment before must not keep jobs on one thread
    yield paths[0]
    pyfastnn.route_openmp_threads(False)
    pyfastnn.set_num_threads(threads)
    _native.reset_contention()


def _work() -> list[np.ndarray]:
    """A GEMM, a loss_and_grad and a sparsemax in both dtypes, plus a short fit."""
    rng = np.random.default_rng(0)
    out = []
    for dtype in (np.float32, np.float64):
        A = rng.random((333, 257)).astype(dtype)
        B = rng.random((257, 301)).astype(dtype)
        out.append(pyfastnn.matmul(A, B))
        model = pyfastnn.MLP([784, 256, 26], dtype=np.dtype(dtype).name, seed=0)
        X = rng.random((64, 784)).astype(dtype)
        y = rng.integers(0, 26, 64)
        loss, grads = model.loss_and_grad(X, y)
        out += [np.asarray(loss), grads.flat.copy()]
        out.append(pyfastnn.sparsemax(rng.standard_normal((3000, 40)).astype(dtype)))
    X, y = rng.random((512, 32), dtype=np.float32), rng.integers(0, 4, 512)
    model = pyfastnn.MLP([32, 64, 4], dtype="float32", seed=1)
    model.fit(X, y, epochs=2, batch_size=64, seed=1)
    out.append(model.params.copy())
    return out


def test_routing_finds_pytorchs_libgomp(routed):
    assert routed in _native.openmp_libraries()
    assert f"{os.sep}torch{os.sep}" in routed
    assert _native.openmp_threads_routed() == routed
    assert pyfastnn.thread_pool_stats()["openmp_routed"] == 1
    assert pyfastnn.route_openmp_threads(True, library="no-such-library") == []
    assert pyfastnn.thread_pool_stats()["openmp_routed"] == 0


@pytest.mark.skipif(not _MULTI_CPU, reason="one CPU: every job runs on its caller")
def test_same_bits_routed_or_not_on_any_thread_count(routed):
    pyfastnn.route_openmp_threads(False)
    pyfastnn.set_num_threads(1)
    want = _work()
    pyfastnn.route_openmp_threads(True)
    for threads in (1, 2, 3):
        pyfastnn.set_num_threads(threads)
        _native.reset_contention()
        jobs = pyfastnn.thread_pool_stats()["openmp_jobs"]
        got = _work()
        ran = pyfastnn.thread_pool_stats()["openmp_jobs"] - jobs
        assert (ran > 0) == (threads > 1), (threads, ran)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(w, g)
    pyfastnn.route_openmp_threads(False)
    pyfastnn.set_num_threads(2)
    for w, g in zip(want, _work()):
        np.testing.assert_array_equal(w, g)


@pytest.mark.skipif(not _MULTI_CPU, reason="one CPU: every job runs on its caller")
def test_libgomp_threads_run_pieces_and_exceptions_reach_python(routed):
    pyfastnn.set_num_threads(2)
    # On a busy machine a libgomp thread may not run in time: one success in
    # 20 jobs shows the team takes pieces.
    taken = 0
    for _ in range(20):
        _native.reset_contention()
        runs, elsewhere = _native.pool_selftest(64, 2, spin_ns=100_000)
        assert runs == [1] * 64
        taken += elsewhere
        if taken:
            break
    assert taken > 0
    _native.reset_contention()
    jobs = pyfastnn.thread_pool_stats()["openmp_jobs"]
    with pytest.raises(RuntimeError, match="piece 37 failed"):
        _native.pool_selftest(64, 2, spin_ns=50_000, fail_piece=37)
    with pytest.raises(RuntimeError, match="piece 0 failed"):
        _native.pool_selftest(8, 2, fail_piece=0)
    assert pyfastnn.thread_pool_stats()["openmp_jobs"] - jobs == 2
    # the team is usable after the failures
    assert _native.pool_selftest(16, 2)[0] == [1] * 16


def test_thread_limits_are_honoured(routed):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    A = np.random.default_rng(1).random((400, 400), dtype=np.float32)
    pyfastnn.set_num_threads(1)
    jobs = pyfastnn.thread_pool_stats()["openmp_jobs"]
    pyfastnn.matmul(A, A)
    assert pyfastnn.thread_pool_stats()["openmp_jobs"] == jobs
    pyfastnn.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1):
        assert pyfastnn.get_num_threads() == 1
        pyfastnn.matmul(A, A)
        assert pyfastnn.thread_pool_stats()["openmp_jobs"] == jobs
    if _MULTI_CPU:
        _native.reset_contention()
        pyfastnn.reset_thread_high_water()
        pyfastnn.matmul(A, A)
        assert pyfastnn.thread_pool_stats()["openmp_jobs"] > jobs
        assert pyfastnn.thread_pool_stats()["most_threads_at_once"] == 2


def test_concurrent_python_threads_keep_to_the_thread_count(routed):
    pyfastnn.set_num_threads(2)
    rng = np.random.default_rng(3)
    A = rng.random((300, 300), dtype=np.float32)
    S = rng.standard_normal((2000, 50))
    want_mm, want_sm = pyfastnn.matmul(A, A), pyfastnn.sparsemax(S)
    failures: list[str] = []

    def work(k: int) -> None:
        for r in range(30):
            if (r + k) % 2 == 0:
                if not np.array_equal(pyfastnn.matmul(A, A), want_mm):
                    failures.append("matmul")
            elif not np.array_equal(pyfastnn.sparsemax(S), want_sm):
                failures.append("sparsemax")
            if k == 0:
                torch.rand(128, 128) @ torch.rand(128, 128)  # PyTorch's team, same thread

    pyfastnn.reset_thread_high_water()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert failures == []
    # three callers may each run their own job on their own thread, never
    # with a worker beside them beyond the count
    assert pyfastnn.thread_pool_stats()["most_threads_at_once"] <= 3


def test_openblas_teams_follow_to_the_libgomp_team(routed):
    # With OpenBLAS's work on pyfastnn's pool as well, its teams run on the
    # libgomp team too (one set of threads): NumPy's results do not change.
    rng = np.random.default_rng(4)
    cases = [rng.random((512, 512)), rng.random((600, 300), dtype=np.float32)]
    pyfastnn.route_openmp_threads(False)
    own = [a @ a.T for a in cases]
    blas_before = bool(_native.blas_threads_routed())
    if not pyfastnn.route_blas_threads(True):
        pytest.skip("NumPy's BLAS takes no thread hook (not an OpenBLAS >= 0.3.27)")
    try:
        pyfastnn.route_openmp_threads(True)
        jobs = pyfastnn.thread_pool_stats()["openmp_jobs"]
        on_team = [a @ a.T for a in cases]
        ran = pyfastnn.thread_pool_stats()["openmp_jobs"] - jobs
    finally:
        pyfastnn.route_blas_threads(blas_before)
    for a, b in zip(own, on_team):
        np.testing.assert_array_equal(a, b)
    if _MULTI_CPU and threadpool_blas_threads() > 1:
        assert ran > 0


def threadpool_blas_threads() -> int:
    """OpenBLAS's thread count (1 when unknown)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [lib["num_threads"] for lib in threadpool_info() if lib["internal_api"] == "openblas"]
    return max(counts, default=1)


@pytest.mark.skipif(sys.platform == "win32", reason="no fork() on Windows")
def test_a_forked_child_after_a_routed_call_finishes():
    result = _run(
        """
        import multiprocessing as mp
        import numpy as np
        import torch
        import pyfastnn

        def work():
            rng = np.random.default_rng(0)
            A = rng.random((300, 300), dtype=np.float32)
            S = rng.standard_normal((2000, 40))
            return [pyfastnn.matmul(A, A), pyfastnn.sparsemax(S)]

        def child():
            jobs = pyfastnn.thread_pool_stats()["openmp_jobs"]
            out = work()
            return out, pyfastnn.thread_pool_stats()["openmp_jobs"] - jobs

        if __name__ == "__main__":
            pyfastnn.set_num_threads(2)
            assert pyfastnn.route_openmp_threads(True)
            want = work()
            with mp.get_context("fork").Pool(1) as pool:
                got, child_jobs = pool.apply_async(child).get(timeout=60)
            same = all(np.array_equal(a, b) for a, b in zip(want, got))
            again = all(np.array_equal(a, b) for a, b in zip(want, work()))
            print(same, again, child_jobs)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "0"]


def test_the_interpreter_exits_after_routed_work():
    result = _run(
        """
        import threading
        import numpy as np
        import torch
        import pyfastnn

        assert pyfastnn.route_openmp_threads(True)
        A = np.random.default_rng(0).random((400, 400), dtype=np.float32)
        for _ in range(5):
            pyfastnn.matmul(A, A)
            torch.rand(256, 256) @ torch.rand(256, 256)
        # a daemon thread still calling when the interpreter ends
        threading.Thread(target=lambda: [pyfastnn.matmul(A, A) for _ in range(10**6)],
                         daemon=True).start()
        print("done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


def test_environment_routes_at_import():
    script = "import torch, pyfastnn; print(pyfastnn.thread_pool_stats()['openmp_routed'])"
    assert _run(script).stdout.strip() == "0"  # off unless asked for
    assert _run(script, {"PYFASTNN_OPENMP_THREADS": "own"}).stdout.strip() == "0"
    assert _run(script, {"PYFASTNN_OPENMP_THREADS": "team"}).stdout.strip() == "1"
    odd = _run(script, {"PYFASTNN_OPENMP_THREADS": "sideways"})
    assert odd.stdout.strip() == "0"
    assert "PYFASTNN_OPENMP_THREADS" in odd.stderr
    # pyfastnn imported before torch: nothing to route to yet, and it says so
    early = "import pyfastnn, torch; print(pyfastnn.thread_pool_stats()['openmp_routed'])"
    too_early = _run(early, {"PYFASTNN_OPENMP_THREADS": "team"})
    assert too_early.stdout.strip() == "0"
    assert "no libgomp is loaded yet" in too_early.stderr


def test_shared_suite_rows_on_the_team():
    from pyfastnn.compare import shared

    pyfastnn.route_openmp_threads(False)
    seen: list[int] = []

    def measure() -> list[dict]:
        seen.append(pyfastnn.thread_pool_stats()["openmp_routed"])
        return [{"contender": "pyfastnn native", "alone_s": 1.0}]

    rows = shared._on_openmp_team(measure)
    if not _native.openmp_libraries():
        assert rows == [] and seen == []
        return
    assert seen == [1]  # measured routed ...
    assert rows == [{"contender": "pyfastnn native" + shared.ON_OPENMP_TEAM, "alone_s": 1.0}]
    assert pyfastnn.thread_pool_stats()["openmp_routed"] == 0  # ... and restored
