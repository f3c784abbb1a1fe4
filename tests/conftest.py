"""Shared fixtures: backends, kernel selection, thread count."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn

ACTIVATIONS = [
    "identity",
    "relu",
    "scaled_relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "softplus",
    "gelu",
]
OUTPUTS = ["softmax", "sigmoid", "identity", "sparsemax", "relumax"]
ISAS = ["avx512", "avx2", "portable"]


@pytest.fixture(params=ISAS)
def isa(request: pytest.FixtureRequest) -> str:
    """Run the test once per micro-kernel family the CPU supports."""
    if request.param == "avx2" and not pyfastnn.kernel_info()["cpu_supports_avx2_fma"]:
        pytest.skip("CPU without AVX2/FMA")
    if request.param == "avx512" and not pyfastnn.kernel_info()["cpu_supports_avx512"]:
        pytest.skip("CPU without AVX-512")
    before = pyfastnn.kernel_info()["isa"]
    pyfastnn.set_kernel(request.param)
    yield request.param
    pyfastnn.set_kernel(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def restore_runtime():
    """Put the thread count and the kernel family back after the test."""
    threads = pyfastnn.get_num_threads()
    isa = pyfastnn.kernel_info()["isa"]
    yield
    pyfastnn.set_num_threads(threads)
    pyfastnn.set_kernel(isa)


def make_targets(output: str, n: int, k: int, rng: np.random.Generator, dtype: str) -> np.ndarray:
    """Labels for softmax and the sparse maps; real targets in (0, 1) otherwise."""
    if output in ("softmax", "sparsemax", "relumax"):
        return rng.integers(0, k, size=n)
    return rng.uniform(0.05, 0.95, size=(n, k)).astype(dtype)
