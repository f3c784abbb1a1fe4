"""Kernel selection (environment and API), thread settings, version."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pyfastnn


def kernel_in_subprocess(value: str | None) -> dict:
    env = dict(os.environ)
    env.pop("PYFASTNN_KERNEL", None)
    if value is not None:
        env["PYFASTNN_KERNEL"] = value
    code = "import json, pyfastnn; print(json.dumps(pyfastnn.kernel_info()))"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def best_isa(info: dict) -> str:
    if info["cpu_supports_avx512"]:
        return "avx512"
    return "avx2" if info["cpu_supports_avx2_fma"] else "portable"


def test_environment_forces_the_portable_kernels() -> None:
    assert kernel_in_subprocess("portable")["isa"] == "portable"


@pytest.mark.parametrize("value", [None, "auto", "bogus"])
def test_default_is_the_best_the_cpu_runs(value) -> None:
    info = kernel_in_subprocess(value)
    assert info["isa"] == best_isa(info)


def test_set_kernel_switches_and_results_agree() -> None:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(70, 90)), rng.normal(size=(90, 50))
    before = pyfastnn.kernel_info()["isa"]
    try:
        results = {}
        for isa in ("portable", "avx2", "avx512"):
            try:
                pyfastnn.set_kernel(isa)
            except ValueError:
                continue  # the CPU cannot run it
            assert pyfastnn.kernel_info()["isa"] == isa
            results[isa] = pyfastnn.matmul(A, B)
        for C in results.values():
            np.testing.assert_allclose(C, A @ B, rtol=1e-12, atol=1e-12)
    finally:
        pyfastnn.set_kernel(before)
    with pytest.raises(ValueError, match="isa"):
        pyfastnn.set_kernel("sse9")


def test_threads_and_version() -> None:
    before = pyfastnn.get_num_threads()
    try:
        pyfastnn.set_num_threads(1)
        assert pyfastnn.get_num_threads() == 1 == pyfastnn.kernel_info()["num_threads"]
    finally:
        pyfastnn.set_num_threads(before)
    assert isinstance(pyfastnn.__version__, str) and pyfastnn.__version__.count(".") == 2
