"""The native thread pool (csrc/runtime/thread_pool.cpp, parallel.hpp):

(a) a job runs every piece exactly once, on any team, also from several Python
    threads at once, and an exception inside a piece reaches Python;
(b) workers take part when the machine lets them;
(c) concurrent native calls share the threads instead of each taking all;
(d) the contention policy (contention.hpp): when it backs off, for how long;
(e) OMP_NUM_THREADS and threadpoolctl set the count;
(f) a spinning worker on the caller's CPU moves off it, its mask kept.

The results of real kernels on any thread count are in test_threads.py, fork
in test_fork.py, interpreter exit in test_interpreter_exit.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native


@pytest.fixture
def restore_threads():
    before = pyfastnn.get_num_threads()
    yield
    pyfastnn.set_num_threads(before)
    _native.reset_contention()


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("pieces", [0, 1, 2, 3, 7, 64, 1000])
def test_every_piece_runs_exactly_once(restore_threads, pieces, threads):
    pyfastnn.set_num_threads(threads)
    counts, elsewhere = _native.pool_selftest(pieces, threads)
    assert counts == [1] * pieces
    assert 0 <= elsewhere <= max(pieces - 1, 0)  # piece 0 is the caller's


@pytest.mark.parametrize("fail_piece", [0, 1, 5])
def test_an_exception_in_a_piece_reaches_python(restore_threads, fail_piece):
    pyfastnn.set_num_threads(2)
    with pytest.raises(RuntimeError, match=f"piece {fail_piece} failed"):
        _native.pool_selftest(8, 2, spin_ns=20_000, fail_piece=fail_piece)
    # the pool is not left half-busy: the next job runs whole
    assert _native.pool_selftest(8, 2)[0] == [1] * 8


def test_jobs_from_several_python_threads_at_once(restore_threads):
    pyfastnn.set_num_threads(2)
    failures: list[object] = []

    def work() -> None:
        for pieces in (2, 3, 17, 100) * 10:
            counts, _ = _native.pool_selftest(pieces, 2, spin_ns=2_000)
            if counts != [1] * pieces:
                failures.append(counts)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a job never finished"
    assert failures == []


@pytest.mark.skipif(
    pyfastnn.thread_pool_stats()["cpus"] < 2, reason="one CPU: no worker can take part"
)
def test_workers_take_pieces(restore_threads):
    # On a busy machine a worker may not run in time; one success in 20 jobs
    # of 8 x 0.2 ms shows the pool hands out work.
    pyfastnn.set_num_threads(2)
    taken = 0
    for _ in range(20):
        _native.reset_contention()
        taken += _native.pool_selftest(8, 2, spin_ns=200_000)[1]
        if taken:
            break
    assert taken > 0
    stats = pyfastnn.thread_pool_stats()
    assert stats["workers"] >= 1 and stats["jobs_with_team"] >= 1


def test_one_thread_means_the_caller_alone(restore_threads):
    pyfastnn.set_num_threads(1)
    before = pyfastnn.thread_pool_stats()["jobs"]
    assert _native.pool_selftest(50, 4, spin_ns=1_000)[1] == 0
    assert pyfastnn.thread_pool_stats()["jobs"] == before


def test_a_call_counts_as_in_flight_while_it_runs(restore_threads):
    pyfastnn.set_num_threads(1)
    seen: list[int] = []
    worker = threading.Thread(target=lambda: _native.pool_selftest(50, 1, spin_ns=4_000_000))
    worker.start()
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        seen.append(pyfastnn.thread_pool_stats()["calls_in_flight"])
        time.sleep(0.005)
    worker.join()
    assert max(seen) == 1
    assert pyfastnn.thread_pool_stats()["calls_in_flight"] == 0


def test_concurrent_calls_share_the_threads(restore_threads):
    # Two Python threads in native calls at once, 2 threads allowed: each
    # call's jobs run on its own thread, so the pool (the second core) is
    # used only when the other thread happens to be in Python.
    pyfastnn.set_num_threads(2)
    a = np.random.default_rng(0).random((192, 192), dtype=np.float32)
    calls = [0, 0]
    stop = time.monotonic() + 0.6

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            pyfastnn.matmul(a, a)
            calls[i] += 1

    before = pyfastnn.thread_pool_stats()["jobs"]
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool_jobs = pyfastnn.thread_pool_stats()["jobs"] - before
    assert sum(calls) > 20
    assert pool_jobs < 0.5 * sum(calls)


# --- the contention policy -------------------------------------------------

MS = 1_000_000
SLOW = dict(wait_ns=5 * MS, own_piece_ns=1 * MS, worker_piece_ns=6 * MS)  # descheduled worker
CLEAN = dict(wait_ns=0, own_piece_ns=1 * MS, worker_piece_ns=1 * MS)


def test_gate_clean_jobs_never_back_off():
    gate = _native.ContentionGate()
    for i in range(100):
        # uneven pieces: the caller waits, but the worker's piece took what the
        # caller's took (a step's tail beside the next minibatch's gather)
        gate.record(i * MS, wait_ns=10 * MS, own_piece_ns=20 * MS, worker_piece_ns=30 * MS)
        # a slow worker piece nobody waited for
        gate.record(i * MS, wait_ns=0, own_piece_ns=1 * MS, worker_piece_ns=10 * MS)
        # a short wait
        gate.record(
            i * MS,
            wait_ns=_native.ContentionGate.MIN_WAIT_NS,
            own_piece_ns=0,
            worker_piece_ns=10 * MS,
        )
        assert gate.allow_team(i * MS)
    assert gate.backoff_ns == 0 and gate.contended_jobs == 0


def test_gate_one_contended_job_is_not_enough():
    gate = _native.ContentionGate()
    gate.record(0, **SLOW)
    assert gate.contended_jobs == 1
    assert gate.allow_team(1)
    # ... unless another follows within the recent jobs
    for i in range(_native.ContentionGate.RECENT - 2):
        gate.record(i, **CLEAN)
    gate.record(100, **SLOW)
    first = _native.ContentionGate.FIRST_BACKOFF_NS
    assert gate.backoff_ns == first
    assert not gate.allow_team(100 + first - 1)
    assert gate.allow_team(100 + first)


def test_gate_far_apart_contended_jobs_do_not_back_off():
    gate = _native.ContentionGate()
    for i in range(10):
        gate.record(i, **SLOW)
        for _ in range(_native.ContentionGate.RECENT):
            gate.record(i, **CLEAN)
    assert gate.backoff_ns == 0 and gate.allow_team(11)


def test_gate_backoff_doubles_while_contended_and_halves_when_clean():
    gate = _native.ContentionGate()
    first = _native.ContentionGate.FIRST_BACKOFF_NS
    top = _native.ContentionGate.MAX_BACKOFF_NS
    now = 0
    seen = []
    for _ in range(40):
        gate.record(now, **SLOW)
        gate.record(now, **SLOW)
        assert not gate.allow_team(now)
        seen.append(gate.backoff_ns)
        now += top + 1
    # each contended job renews the back-off at twice its length, up to the top
    assert seen[0] == first and seen[1] == 4 * first and seen[-1] == top
    assert gate.allow_team(now)
    gate.record(now, **CLEAN)
    assert gate.backoff_ns == top // 2
    for _ in range(64):
        gate.record(now, **CLEAN)
    assert gate.backoff_ns == 0


def test_gate_bad_input():
    gate = _native.ContentionGate()
    for name in ("wait_ns", "own_piece_ns", "worker_piece_ns"):
        with pytest.raises(ValueError, match=name):
            gate.record(0, **{**CLEAN, name: -1})


def test_pool_selftest_bad_input():
    with pytest.raises(ValueError, match="pieces"):
        _native.pool_selftest(-1, 2)
    with pytest.raises(ValueError, match="threads"):
        _native.pool_selftest(4, 0)


# --- where the count comes from ---------------------------------------------


def count_in_child(env_value: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if env_value is not None:
        env["OMP_NUM_THREADS"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", "import pyfastnn; print(pyfastnn.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip())


def test_omp_num_threads_sets_the_initial_count():
    default = count_in_child(None)
    assert default == pyfastnn.thread_pool_stats()["cpus"]
    assert count_in_child("1") == 1
    assert count_in_child("3,2") == 3  # nested lists: the first level
    assert count_in_child("many") == default  # not a count: ignored


def test_threadpoolctl_lists_and_limits_pyfastnn(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl", minversion="3.2")
    pyfastnn.set_num_threads(2)
    ours = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "pyfastnn"]
    assert len(ours) == 1
    assert ours[0]["user_api"] == "openmp" and ours[0]["num_threads"] == 2
    with threadpoolctl.threadpool_limits(limits=1):
        assert pyfastnn.get_num_threads() == 1
    assert pyfastnn.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert pyfastnn.get_num_threads() == 1
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert pyfastnn.get_num_threads() == 2


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and two usable CPUs",
)
def test_a_worker_on_the_callers_cpu_moves_off_it():
    # A spinning worker that shares the caller's CPU takes it from the caller
    # (it does not yield: thread_pool.cpp, kSpinNs), so it moves to another
    # CPU, leaving its affinity mask as it was. Done here by one thread as
    # both: it notes its CPU as the caller's, then moves off it.
    before = os.sched_getaffinity(0)
    moves = pyfastnn.thread_pool_stats()["worker_moves"]
    moved, cpu_before, cpu_after, kept = _native.move_off_callers_cpu_selftest()
    assert moved and kept
    assert cpu_before in before and cpu_after in before
    assert cpu_after != cpu_before
    assert os.sched_getaffinity(0) == before
    assert pyfastnn.thread_pool_stats()["worker_moves"] == moves + 1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux")
def test_a_worker_allowed_one_cpu_stays():
    # With one CPU allowed there is nowhere to go: no move, and the mask kept.
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        moved, cpu_before, cpu_after, kept = _native.move_off_callers_cpu_selftest()
    finally:
        os.sched_setaffinity(0, before)
    assert not moved and kept
    assert cpu_before == cpu_after == min(before)


def test_gate_a_displaced_caller_makes_the_workers_polite():
    # A sampled job whose caller was off its CPU for over a quarter of it
    # (wall > 1.25 x CPU + MIN_WAIT_NS), twice among the recent samples.
    gate = _native.ContentionGate()
    polite = _native.ContentionGate.POLITE_NS
    on_cpu = dict(wall_ns=1 * MS, cpu_ns=1 * MS)
    off_cpu = dict(wall_ns=2 * MS, cpu_ns=1 * MS)
    for i in range(50):  # waits spin on the CPU: wall = CPU is never displaced
        gate.record_caller(i * MS, **on_cpu)
        gate.record_caller(i * MS, wall_ns=MS + MS // 4, cpu_ns=MS)  # at the bound
    assert gate.displaced_jobs == 0 and not gate.caller_displaced_recently(50 * MS)
    gate.record_caller(100 * MS, **off_cpu)
    assert gate.displaced_jobs == 1 and not gate.caller_displaced_recently(100 * MS)
    for _ in range(_native.ContentionGate.RECENT - 1):  # pushes it out of the recent ones
        gate.record_caller(100 * MS, **on_cpu)
    gate.record_caller(101 * MS, **off_cpu)
    assert not gate.caller_displaced_recently(101 * MS)
    gate.record_caller(102 * MS, **off_cpu)
    assert gate.displaced_jobs == 3
    assert gate.caller_displaced_recently(102 * MS)
    assert gate.caller_displaced_recently(102 * MS + polite - 1)
    assert not gate.caller_displaced_recently(102 * MS + polite)
    with pytest.raises(ValueError, match="cpu_ns"):
        gate.record_caller(0, wall_ns=1, cpu_ns=-1)


US = 1_000


def test_spin_budget_covers_the_gaps_a_spin_can_bridge():
    budget = _native.SpinBudget()
    lo, hi = _native.SpinBudget.MIN_NS, _native.SpinBudget.MAX_NS
    cover, recent = _native.SpinBudget.COVER, _native.SpinBudget.RECENT
    assert budget.limit_ns == hi  # nothing seen yet: the longest spin
    for _ in range(recent):
        budget.record(2 * US)  # gaps inside one call
    assert budget.limit_ns == lo
    budget.record(30 * US)  # a call made back to back from Python
    assert budget.limit_ns == cover * 30 * US
    for _ in range(recent - 1):  # other work between calls: no spin bridges it
        budget.record(10 * hi)
    assert budget.limit_ns == cover * 30 * US
    budget.record(hi)  # as long as the longest spin: not bridged either
    assert budget.limit_ns == lo
    budget.record(hi - 1)  # the worker slept through a gap a spin would have bridged
    assert budget.limit_ns == hi
    with pytest.raises(ValueError, match="gap_ns"):
        budget.record(-1)


def test_spin_budget_stays_within_its_bounds(restore_threads):
    pyfastnn.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((512, 256))
    for _ in range(20):
        pyfastnn.sparsemax(x, backend="native")
    limit = pyfastnn.thread_pool_stats()["spin_limit_ns"]
    assert _native.SpinBudget.MIN_NS <= limit <= _native.SpinBudget.MAX_NS
