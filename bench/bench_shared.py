"""The native step on a shared machine, beside NumPy's pool and beside another
process, as pytest-benchmark groups (``pyfastnn compare --suite shared`` gives
the ratios, side by side with PyTorch).

Run: ``pytest bench/bench_shared.py --benchmark-group-by=group``. The rows of a
group differ only in what runs beside the step: nothing (after a pause that
lets the other pools go quiet), NumPy's 256 x 256 matmul called alternately
(its time included: compare with ``numpy matmul alone``; OpenBLAS on its own
threads, the default, or its work on pyfastnn's pool), PyTorch's 256 x 256
matmul likewise (with pyfastnn's jobs on its own pool or on PyTorch's OpenMP
team), a jitted JAX matmul (XLA's pool), or a spinner process on one core.
Steady-state groups elsewhere in bench/ run with the machine to themselves.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import pyfastnn
from pyfastnn.compare.shared import busy_core
from pyfastnn.compare.timing import SETTLE_SECONDS

SIZES = (784, 256, 26)


@pytest.fixture(scope="module")
def step():
    rng = np.random.default_rng(0)
    model = pyfastnn.MLP(SIZES, "relu", "softmax", dtype="float32", seed=0)
    X = rng.uniform(0, 1, size=(64, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=64)
    return lambda: model.loss_and_grad(X, y)[0]


@pytest.fixture(scope="module")
def numpy_matmul():
    a = np.random.default_rng(1).random((256, 256))
    return lambda: a @ a


GROUP_NUMPY = "loss_and_grad 784-256-26 b64, beside NumPy's pool"


def test_step_alone(benchmark, step) -> None:
    benchmark.group = GROUP_NUMPY
    time.sleep(SETTLE_SECONDS)
    assert np.isfinite(benchmark(step))


def test_numpy_matmul_alone(benchmark, numpy_matmul) -> None:
    benchmark.group = GROUP_NUMPY
    time.sleep(SETTLE_SECONDS)
    assert benchmark(numpy_matmul).shape == (256, 256)


@pytest.mark.parametrize("blas", ["pool", "own threads"])
def test_step_then_numpy_matmul(benchmark, step, numpy_matmul, blas) -> None:
    # OpenBLAS on its own threads (the default) or its work on pyfastnn's pool.
    benchmark.group = GROUP_NUMPY
    routed = bool(pyfastnn.thread_pool_stats()["blas_routed"])
    if not pyfastnn.route_blas_threads(blas == "pool") and blas == "pool":
        pytest.skip("no OpenBLAS with the caller-managed threads hook")

    def both():
        loss = step()
        numpy_matmul()
        return loss

    try:
        assert np.isfinite(benchmark(both))
    finally:
        pyfastnn.route_blas_threads(routed)


GROUP_TORCH = "loss_and_grad 784-256-26 b64, beside PyTorch's OpenMP pool"


@pytest.fixture(scope="module")
def torch_matmul():
    torch = pytest.importorskip("torch")
    a = torch.rand(256, 256, dtype=torch.float64)
    return lambda: a @ a


def test_torch_matmul_alone(benchmark, torch_matmul) -> None:
    benchmark.group = GROUP_TORCH
    time.sleep(SETTLE_SECONDS)
    assert tuple(benchmark(torch_matmul).shape) == (256, 256)


@pytest.mark.parametrize("team", ["pool", "openmp team"])
def test_step_then_torch_matmul(benchmark, step, torch_matmul, team) -> None:
    # pyfastnn's jobs on its own pool, or on PyTorch's libgomp team
    # (route_openmp_threads); compare with test_step_alone + torch matmul alone.
    benchmark.group = GROUP_TORCH
    if team == "openmp team" and not pyfastnn.route_openmp_threads(True, library="torch"):
        pytest.skip("PyTorch loaded no libgomp")

    def both():
        loss = step()
        torch_matmul()
        return loss

    try:
        assert np.isfinite(benchmark(both))
    finally:
        pyfastnn.route_openmp_threads(False)


GROUP_XLA = "loss_and_grad 784-256-26 b64, beside XLA's CPU pool"


@pytest.fixture(scope="module")
def jax_matmul():
    jax = pytest.importorskip("jax")
    a = jax.numpy.asarray(np.random.default_rng(1).random((256, 256), dtype=np.float32))
    product = jax.jit(lambda x: x @ x)
    return lambda: product(a).block_until_ready()


def test_jax_matmul_alone(benchmark, jax_matmul) -> None:
    benchmark.group = GROUP_XLA
    time.sleep(SETTLE_SECONDS)
    assert tuple(benchmark(jax_matmul).shape) == (256, 256)


def test_step_then_jax_matmul(benchmark, step, jax_matmul) -> None:
    benchmark.group = GROUP_XLA

    def both():
        loss = step()
        jax_matmul()
        return loss

    assert np.isfinite(benchmark(both))


GROUP_BUSY = "loss_and_grad 784-256-26 b64, one core busy"


@pytest.mark.parametrize("threads", ["all", 1])
def test_step_beside_a_busy_core(benchmark, step, threads) -> None:
    benchmark.group = GROUP_BUSY
    before = pyfastnn.get_num_threads()
    pyfastnn.set_num_threads(before if threads == "all" else 1)
    try:
        with busy_core(seconds=60):
            assert np.isfinite(benchmark(step))
    finally:
        pyfastnn.set_num_threads(before)
