"""The softmax exp family (csrc/simd/exp_kernels*): the AVX2 and AVX-512 exps
against the exact exp, per ISA, to the bound documented in exp_kernels.hpp
(within 1 ulp where the result is a normal number; 0 below that; NaN and inf
kept). The portable kernel is std::exp, checked by the same test."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native

# Distance from the exact value, in ulps of the result: a correctly rounded result
# is within 0.5; "within 1 ulp" of exp allows the neighbouring float as well.
MAX_ULPS = 1.0 + 0.5
F32_MIN_NORMAL_ARG = -87.33  # exp(x) is a normal float above this
F64_MIN_NORMAL_ARG = -708.39


def isas() -> list[str]:
    info = pyfastnn.kernel_info()
    return ["portable"] + [
        isa
        for isa, key in (("avx2", "cpu_supports_avx2_fma"), ("avx512", "cpu_supports_avx512"))
        if info[key]
    ]


@pytest.fixture(params=isas())
def isa(request: pytest.FixtureRequest):
    before = pyfastnn.kernel_info()["isa"]
    pyfastnn.set_kernel(request.param)
    yield request.param
    pyfastnn.set_kernel(before)


def ulps(result: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|result - exact| in ulps of result's dtype at exact (exact in float64 or as
    accurate as numpy's float64 exp, ~0.5 ulp of float64)."""
    spacing = np.spacing(exact.astype(result.dtype)).astype(np.float64)
    return np.abs(result.astype(np.float64) - exact) / spacing


def test_family_reports_the_isa(isa: str) -> None:
    kernels = pyfastnn.kernel_info()["kernels"]
    assert kernels["float32"]["softmax_exp"] == isa
    assert kernels["float64"]["softmax_exp"] == isa


def test_float32_within_one_ulp(isa: str) -> None:
    rng = np.random.default_rng(0)
    # every length mod 16 (the tails of both vector widths), then a long vector
    for n in [*range(1, 40), 10_007]:
        x = rng.uniform(F32_MIN_NORMAL_ARG, 88.0, n).astype(np.float32)
        x[: n // 2] = np.minimum(x[: n // 2], 70.0)  # the sum stays finite
        out = np.empty_like(x)
        total = _native.softmax_exp(x, out, 0.0, 1.0)
        assert ulps(out, np.exp(x.astype(np.float64))).max() <= MAX_ULPS
        if out.astype(np.float64).sum() < np.finfo(np.float32).max:
            assert total == pytest.approx(out.astype(np.float64).sum(), rel=1e-5)


def test_float32_shift_and_scale(isa: str) -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal(1001).astype(np.float32) * 10
    m, scale = np.float32(z.max()), np.float32(0.37)
    out = np.empty_like(z)
    _native.softmax_exp(z, out, float(m), float(scale))
    arg = (z - m) * scale  # the kernel's float32 argument, rounded as it rounds it
    assert ulps(out, np.exp(arg.astype(np.float64))).max() <= MAX_ULPS


def test_float64_within_one_ulp(isa: str) -> None:
    rng = np.random.default_rng(2)
    for n in [*range(1, 20), 10_007]:
        x = rng.uniform(F64_MIN_NORMAL_ARG, 709.0, n)
        out = np.empty_like(x)
        _native.softmax_exp(x, out, 0.0, 1.0)
        exact = np.exp(x)  # numpy's float64 exp: within an ulp itself
        assert (np.abs(out - exact) / np.spacing(exact)).max() <= 2.0


def test_minus_max_float32(isa: str) -> None:
    rng = np.random.default_rng(3)
    for n in (1, 7, 8, 15, 16, 17, 1000):
        z = rng.standard_normal(n).astype(np.float32) * 5
        out = np.empty_like(z)
        total, m = _native.softmax_exp(z, out, minus_max=True)
        assert m == z.max()
        assert ulps(out, np.exp((z - m).astype(np.float64))).max() <= MAX_ULPS
        assert total == pytest.approx(out.astype(np.float64).sum(), rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(isa: str, dtype) -> None:
    below = -1000.0  # far below the normal range of both dtypes
    x = np.array([0.0, np.inf, -np.inf, np.nan, below, 1e4, -0.0], dtype=dtype)
    out = np.empty_like(x)
    total = _native.softmax_exp(x, out)
    assert out[0] == 1 and out[6] == 1
    assert out[1] == np.inf and out[5] == np.inf
    assert out[2] == 0
    assert np.isnan(out[3]) and np.isnan(total)
    assert out[4] == 0, out


def test_minus_max_nan_and_inf(isa: str) -> None:
    z = np.arange(20, dtype=np.float32)
    z[13] = np.nan
    out = np.empty_like(z)
    total, _ = _native.softmax_exp(z, out, minus_max=True)
    assert np.isnan(total) and np.isnan(out[13])
    z[13] = np.inf  # exp(inf - inf): NaN, and the other entries exp(-inf) = 0
    total, m = _native.softmax_exp(z, out, minus_max=True)
    assert m == np.inf and np.isnan(out[13]) and np.isnan(total)


def test_bad_arguments() -> None:
    out = np.empty(3, np.float32)
    with pytest.raises(TypeError, match="z"):
        _native.softmax_exp(np.zeros(3, np.int32), out)
    with pytest.raises(ValueError, match="z"):
        _native.softmax_exp(np.zeros((3, 1), np.float32), out)
    with pytest.raises(ValueError, match="out"):
        _native.softmax_exp(np.zeros(4, np.float32), out)
    with pytest.raises(TypeError, match="out"):
        _native.softmax_exp(np.zeros(3, np.float32), np.empty(3))
