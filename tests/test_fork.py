"""Native calls in a child process made by fork() after the parent has run
multi-threaded work (multiprocessing's "fork" start method, the default on
Linux before Python 3.14).

The pool's worker threads do not survive a fork (with libgomp, before the
pool, the child's first team of two or more waited for them forever); the
child therefore runs every native job on one thread (csrc/runtime/threads.cpp). Results do not
depend on the thread count, so the child's equal the parent's to the bit.
Each case runs in a subprocess with a timeout, so a regression fails instead
of hanging the suite.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fork() on Windows")

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import sys

    import numpy as np
    import pyfastnn

    def work():
        rng = np.random.default_rng(0)
        A = rng.random((300, 300), dtype=np.float32)
        Z = rng.standard_normal((3000, 40))
        X, y = rng.random((256, 20)), rng.integers(0, 3, 256)
        model = pyfastnn.MLP([20, 16, 3], dtype="float64", backend="native", seed=0)
        model.fit(X, y, epochs=2, batch_size=32)
        return [pyfastnn.matmul(A, A), pyfastnn.sparsemax(Z), model.params.copy()]

    def child(conn, threads):
        if threads:
            pyfastnn.set_num_threads(threads)
        conn.send((pyfastnn.kernel_info()["num_threads"], work()))

    if __name__ == "__main__":
        method, threads = sys.argv[1], int(sys.argv[2])
        pyfastnn.set_num_threads(2)
        expected = work()  # the parent's OpenMP pool now exists
        ctx = mp.get_context(method)
        parent_end, child_end = ctx.Pipe()
        p = ctx.Process(target=child, args=(child_end, threads), daemon=True)
        p.start()
        if not parent_end.poll(30):
            sys.exit("the child sent nothing in 30 s (hung)")
        child_threads, got = parent_end.recv()
        p.join()
        same = all(np.array_equal(a, b) for a, b in zip(expected, got))
        again = all(np.array_equal(a, b) for a, b in zip(expected, work()))
        print(p.exitcode, child_threads, same, again, pyfastnn.kernel_info()["num_threads"])
    """
)


def run(tmp_path, method: str, threads: int) -> list[str]:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method!r} not available")
    script = tmp_path / "fork_case.py"  # a file: spawned children import it
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), method, str(threads)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("threads", [0, 2], ids=["default", "set_num_threads(2)"])
def test_a_forked_child_runs_on_one_thread_and_gets_the_parents_bits(tmp_path, threads):
    exitcode, child_threads, same, again, parent_threads = run(tmp_path, "fork", threads)
    assert exitcode == "0"
    assert child_threads == "1"  # the child's regions run on one thread
    assert same == "True"  # ... and give the bits of the parent's two threads
    assert again == "True" and parent_threads == "2"  # the parent is unaffected


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawned_children_keep_their_threads(tmp_path, method):
    exitcode, child_threads, same, again, _ = run(tmp_path, method, 2)
    assert (exitcode, child_threads, same, again) == ("0", "2", "True", "True")
