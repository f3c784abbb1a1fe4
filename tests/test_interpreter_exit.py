"""The interpreter exits promptly while native work is still alive: OpenMP's
pool after multi-threaded calls, and a daemon Python thread that is inside a
native call (GIL released) when the main thread ends. Each case runs in a
subprocess with a timeout, so a hang fails the test instead of the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

CASES = {
    "pool idle": """
        pyfastnn.set_num_threads(2)
        for _ in range(20):
            pyfastnn.matmul(A, A)
    """,
    "daemon thread in a native call": """
        pyfastnn.set_num_threads(2)
        started = threading.Event()
        def loop():
            started.set()
            while True:
                pyfastnn.matmul(A, A)
                model.loss_and_grad(X, y)
        threading.Thread(target=loop, daemon=True).start()
        started.wait()
        time.sleep(0.2)
    """,
}

PRELUDE = """
import threading, time
import numpy as np
import pyfastnn
rng = np.random.default_rng(0)
A = rng.random((400, 400), dtype=np.float32)
model = pyfastnn.MLP([50, 40, 3], backend="native", seed=0)
X, y = rng.random((256, 50), dtype=np.float32), rng.integers(0, 3, 256)
"""


@pytest.mark.parametrize("case", list(CASES))
def test_the_interpreter_exits_with_native_work_alive(case):
    script = PRELUDE + textwrap.dedent(CASES[case]) + "print('main done', flush=True)\n"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main done"
    assert time.perf_counter() - start < 30
