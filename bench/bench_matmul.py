"""Matrix multiply: native (csrc/gemm/gemm.cpp) vs vector (NumPy ``@``, OpenBLAS) vs loop.

Run: ``pytest bench/bench_matmul.py --benchmark-group-by=group``. Each group is
one workload and dtype; its rows are the backends, timed in the same process.
Plain ``pytest`` does not collect this file (pyproject's testpaths is tests/).

Rows: ``native-t1`` / ``native-t2`` are the native kernel on 1 / 2 threads;
``vector`` is NumPy with OpenBLAS's own thread count (all cores); ``loop`` (pure
Python) only at the tiny size; ``torch`` is ``torch.mm`` on CPU with pyfastnn's
thread count (skipped when PyTorch is not installed). GFLOP/s = 2*M*N*K / time.

Two thread pools on one machine (OpenMP for native, OpenBLAS's for NumPy) spin
for a while after each call; warm-up rounds keep one backend's spinning
threads from slowing the next backend's first rounds.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn.compare import peers
from pyfastnn.compare.problems import MatmulProblem

pytestmark = pytest.mark.benchmark(warmup=True, warmup_iterations=20)

# name -> (M, K, N, trans_a, trans_b): op(A) is M x K, op(B) is K x N. A transposed
# operand is passed as the ``.T`` view of a C-contiguous array (no copy; the
# native kernel gets a transpose flag).
WORKLOADS = {
    "1024x1024 @ 1024x1024": (1024, 1024, 1024, False, False),
    "batch 64 forward X@W 64x784 @ 784x256": (64, 784, 256, False, False),
    "batch 256 forward X@W 256x784 @ 784x256": (256, 784, 256, False, False),
    "batch 1 forward x@W 1x784 @ 784x256": (1, 784, 256, False, False),
    "batch 64 grad X^T@dZ 784x64 @ 64x256": (784, 64, 256, True, False),
    "batch 64 grad dZ@W^T 64x256 @ 256x784": (64, 256, 784, False, True),
    "batch 1 grad x^T@dz 784x1 @ 1x256": (784, 1, 256, True, False),
    "batch 1 grad dz@W^T 1x256 @ 256x784": (1, 256, 784, False, True),
    "tiny 16x16 @ 16x16": (16, 16, 16, False, False),
}
TINY = {"tiny 16x16 @ 16x16"}
BACKENDS = ["native-t1", "native-t2", "vector", "loop", "torch"]


def operands(m, k, n, trans_a, trans_b, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return (a.T if trans_a else a), (b.T if trans_b else b)


@pytest.fixture
def native_threads():
    """Set the native thread count for one benchmark, restoring it afterwards."""
    before = pyfastnn.get_num_threads()
    yield pyfastnn.set_num_threads
    pyfastnn.set_num_threads(before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_matmul(benchmark, native_threads, workload: str, dtype: str, backend: str) -> None:
    if backend == "loop" and workload not in TINY:
        pytest.skip("loop backend only at the tiny size")
    m, k, n, trans_a, trans_b = WORKLOADS[workload]
    benchmark.group = f"matmul {workload} {dtype}"
    benchmark.extra_info["gflop"] = 2 * m * n * k / 1e9
    a, b = operands(m, k, n, trans_a, trans_b, dtype)
    out = np.empty((m, n), dtype=dtype)
    name = backend
    if backend == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(pyfastnn.get_num_threads())
        run = peers.build("torch", "matmul", MatmulProblem(a, b)).run
        result = benchmark(run).numpy()
    else:
        if backend.startswith("native"):
            native_threads(int(backend[-1]))
            name = "native"
        result = benchmark(pyfastnn.matmul, a, b, out=out, backend=name)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.sqrt(k) * np.abs(expected).max() + 1.0
    assert np.abs(result - expected).max() <= (1e-5 if dtype == "float32" else 1e-12) * scale
