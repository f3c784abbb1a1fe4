"""The fast entmax kernels against their references (csrc/simplex/kernels/):

- the lane kernels (entmax_lanes.hpp: one row per vector lane, AVX2 and AVX-512,
  K <= 48, at least 4 rows) against the row kernels of the same ISA (a call on
  one row takes the row kernel) and against the portable ISA;
- the vector-pow row kernels of alpha-entmax for alpha not 1.5 or 2 (any K)
  against the portable row kernels (std::pow).

entmax15 (exact threshold), alpha = 1.5 and alpha = 2 agree to rounding;
alpha-entmax with a pow agrees to the documented tolerance (a few ulp of the
row's largest entry). NaN / inf / -inf / 1e30 rows are mixed into the blocks:
a bad row must not spoil its neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from test_simplex_short_rows import spoil

import pyfastnn
from pyfastnn import _native

KS = [1, 2, 3, 5, 8, 9, 15, 16, 17, 26, 31, 32, 33, 47, 48, 49]
NS = [4, 5, 7, 8, 9, 15, 16, 17, 33]
ALPHAS = [1.5, 2.0, 1.3, 1.05, 1.9, 2.5]  # 2.5: rows (the safeguarded search) everywhere
EXACT = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
# pow by exp(a log x) (vec_math.hpp) beside std::pow, and the Newton stop at 2 ulps of
# |tau|: absolute differences of a few ulp of the largest entry (1)
POW = {"float32": dict(rtol=0, atol=3e-6), "float64": dict(rtol=0, atol=5e-14)}


def fast_isas() -> list[str]:
    info = pyfastnn.kernel_info()
    return [
        isa
        for isa, key in (("avx2", "cpu_supports_avx2_fma"), ("avx512", "cpu_supports_avx512"))
        if info[key]
    ]


@pytest.fixture(params=fast_isas())
def isa(request: pytest.FixtureRequest):
    before = pyfastnn.kernel_info()["isa"]
    pyfastnn.set_kernel(request.param)
    yield request.param
    pyfastnn.set_kernel(before)


def forward(Z: np.ndarray, alpha: float | None) -> np.ndarray:
    out = np.empty_like(Z)
    if alpha is None:
        _native.entmax15_forward(Z, out, 1.0)
    else:
        _native.entmax_bisect_forward(Z, out, alpha, 1.0)
    return out


def by_rows(fn, *arrays: np.ndarray) -> np.ndarray:
    """fn on one row at a time: the row kernels of the active ISA."""
    return np.concatenate([fn(*(a[i : i + 1] for a in arrays)) for i in range(len(arrays[0]))])


def product(P: np.ndarray, G: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(P)
    _native.entmax_product_from_output(P, G, out, alpha, 1.0)
    return out


def on_portable(fn, *args):
    before = pyfastnn.kernel_info()["isa"]
    pyfastnn.set_kernel("portable")
    try:
        return fn(*args)
    finally:
        pyfastnn.set_kernel(before)


def assert_close(P: np.ndarray, Q: np.ndarray, tol: dict, scale: object = 1.0) -> None:
    """Same NaN rows; elsewhere |P - Q| <= atol * max(scale, max |Q| of the row) + rtol |Q|."""
    np.testing.assert_array_equal(np.isnan(P), np.isnan(Q))
    P, Q = np.nan_to_num(P), np.nan_to_num(Q)
    scale = np.maximum(np.nan_to_num(scale), np.abs(Q).max(axis=1, keepdims=True))
    np.testing.assert_array_less(
        np.abs(P - Q), tol["atol"] * scale + tol["rtol"] * np.abs(Q) + np.finfo(Q.dtype).tiny
    )


def tolerance(alpha: float | None, dtype: str, forward: bool = True) -> dict:
    no_pow = (None, 1.5, 2.0, 2.5) if forward else (None, 1.5, 2.0)
    return (EXACT if alpha in no_pow else POW)[dtype]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [None, *ALPHAS])
def test_lanes_match_rows_and_portable(isa: str, alpha: float | None, dtype: str) -> None:
    rng = np.random.default_rng(len(str(alpha)) + (dtype == "float64"))
    tol = tolerance(alpha, dtype)
    for k in KS:
        for n in NS:
            Z = (rng.standard_normal((n, k)) * rng.choice([0.3, 1, 4])).astype(dtype)
            spoil(Z, rng)
            P = forward(Z, alpha)
            assert_close(P, by_rows(lambda z, alpha=alpha: forward(z, alpha), Z), tol)
            assert_close(P, on_portable(forward, Z, alpha), tol)
            good = ~np.isnan(P).any(axis=1)
            np.testing.assert_allclose(P[good].sum(axis=1), 1, rtol=0, atol=tol["atol"] * k + 1e-6)
            a = 1.5 if alpha is None else alpha
            G = rng.standard_normal((n, k)).astype(dtype)
            R = product(P, G, a)
            tol = tolerance(alpha, dtype, forward=False)
            # the size of the terms of J v: s = p^(2 - alpha) (large for alpha > 2), v
            with np.errstate(divide="ignore"):
                s = np.where(P > 0, np.abs(P) ** (2 - a), 0).max(axis=1, keepdims=True)
            terms = np.maximum(1, s * np.abs(G).max(axis=1, keepdims=True))
            assert_close(R, by_rows(lambda p, g, a=a: product(p, g, a), P, G), tol, terms)
            assert_close(R, on_portable(product, P, G, a), tol, terms)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape, alphas", [((37, 26), (1.5, 1.3, 2.0)), ((9, 1001), (1.3, 1.7, 1.02))]
)
def test_products_in_place(isa: str, shape: tuple, alphas: tuple, dtype: str) -> None:
    """out = P or out = V gives the bits of a separate out: the lane kernels load a
    block before writing it; the long rows gather the support of P with its V first."""
    rng = np.random.default_rng(5)
    Z = rng.standard_normal(shape).astype(dtype)
    spoil(Z, rng)
    for alpha in alphas:
        P = forward(Z, alpha)
        G = rng.standard_normal(Z.shape).astype(dtype)
        expected = product(P, G, alpha)
        into_p, into_g = P.copy(), G.copy()
        _native.entmax_product_from_output(into_p, G, into_p, alpha, 1.0)
        _native.entmax_product_from_output(P, into_g, into_g, alpha, 1.0)
        np.testing.assert_array_equal(into_p, expected)
        np.testing.assert_array_equal(into_g, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", [50, 100, 1000, 4099])
def test_vector_pow_rows_match_portable(isa: str, k: int, dtype: str) -> None:
    rng = np.random.default_rng(k)
    Z = (rng.standard_normal((6, k)) * 3).astype(dtype)
    spoil(Z, rng)
    for alpha in (1.05, 1.3, 1.7, 1.99):
        P = forward(Z, alpha)
        assert_close(P, on_portable(forward, Z, alpha), POW[dtype])
        G = rng.standard_normal(Z.shape).astype(dtype)
        assert_close(product(P, G, alpha), on_portable(product, P, G, alpha), POW[dtype])


def test_lanes_match_the_vector_backend_at_the_benchmark_shape(isa: str) -> None:
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((1000, 26))
    G = rng.standard_normal(Z.shape)
    for name, args in (("entmax15", ()), ("entmax_bisect", (1.3,))):
        fwd = getattr(pyfastnn.simplex, name)
        vjp = getattr(pyfastnn.simplex, f"{name}_vjp")
        np.testing.assert_allclose(fwd(Z, *args), fwd(Z, *args, backend="vector"), atol=1e-13)
        np.testing.assert_allclose(
            vjp(Z, G, *args), vjp(Z, G, *args, backend="vector"), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", [17, 127, 129, 300, 2050])
def test_vector_pow_rows_supports_of_every_size(isa: str, k: int, dtype: str) -> None:
    """Supports from one entry to the whole row (alpha near 1 with small logits: every
    vector of the output is full), fewer and more candidates than the warm start
    needs (128), alpha on both sides of 1.5 (Halley's step below, Newton's above)."""
    rng = np.random.default_rng(k)
    for scale in (0.01, 0.3, 3.0, 40.0):
        Z = (rng.standard_normal((5, k)) * scale).astype(dtype)
        for alpha in (1.01, 1.2, 1.45, 1.49, 1.51, 1.8):
            P = forward(Z, alpha)
            assert_close(P, on_portable(forward, Z, alpha), POW[dtype])
            np.testing.assert_allclose(P.sum(axis=1), 1, rtol=0, atol=POW[dtype]["atol"] * k)
            G = rng.standard_normal(Z.shape).astype(dtype)
            R = product(P, G, alpha)
            assert_close(R, on_portable(product, P, G, alpha), POW[dtype], np.abs(G).max())
            # J 1 = 0: the product of a constant vector vanishes
            ones = product(P, np.ones_like(G), alpha)
            np.testing.assert_allclose(ones, 0, atol=POW[dtype]["atol"] * 10)


def test_vector_pow_rows_do_not_depend_on_threads(isa: str) -> None:
    rng = np.random.default_rng(12)
    Z = rng.standard_normal((301, 1000)).astype(np.float32)
    G = rng.standard_normal(Z.shape).astype(np.float32)
    before = pyfastnn.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            pyfastnn.set_num_threads(n)
            results.append([(forward(Z, a), product(forward(Z, a), G, a)) for a in (1.3, 1.7)])
    finally:
        pyfastnn.set_num_threads(before)
    for r in results[1:]:
        for (p0, g0), (p1, g1) in zip(results[0], r):
            np.testing.assert_array_equal(p0, p1)
            np.testing.assert_array_equal(g0, g1)


# the fused product against another ISA's (see the test below): measured up to 5.2e-5
# (float32, alpha 1.9, an entry with p = 2e-5 at the edge of the support)
THRESHOLD_ROUNDING = {"float32": dict(rtol=0, atol=3e-4), "float64": dict(rtol=0, atol=1e-11)}


def fused(Z: np.ndarray, G: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(Z)
    _native.entmax_bisect_product_from_input(Z, G, out, alpha, 1.0)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [1.3, 1.05, 1.45, 1.7, 1.9, 1.5, 2.0, 2.5])
def test_fused_map_and_product_match_the_two_calls(isa: str, alpha: float, dtype: str) -> None:
    """The lane kernel's J v from Z (s = d^(e - 1) N^(alpha - 2) of the last pass, P
    never stored) against the map then the product from P on the same ISA, and
    against the portable ISA (std::pow rows, the two calls) to the looser
    THRESHOLD_ROUNDING: there the thresholds differ by their ulps, which moves an entry
    at the edge of the support by much more in relative terms, and s = p^(2 - alpha)
    carries that into the sums (alpha near 2: s = p^0.1); bad rows stay in their
    lanes."""
    rng = np.random.default_rng(int(alpha * 100) + (dtype == "float64"))
    for k in KS:
        for n in (4, 9, 17, 33):
            Z = (rng.standard_normal((n, k)) * rng.choice([0.3, 1, 4])).astype(dtype)
            spoil(Z, rng)
            G = rng.standard_normal((n, k)).astype(dtype)
            R = fused(Z, G, alpha)
            two = product(forward(Z, alpha), G, alpha)
            with np.errstate(divide="ignore"):
                P = forward(Z, alpha)
                s = np.where(P > 0, np.abs(P) ** (2 - alpha), 0).max(axis=1, keepdims=True)
            terms = np.maximum(1, s * np.abs(G).max(axis=1, keepdims=True))
            assert_close(R, two, POW[dtype], terms)
            assert_close(R, on_portable(fused, Z, G, alpha), THRESHOLD_ROUNDING[dtype], terms)


def test_fused_map_and_product_refuse_overlap() -> None:
    Z = np.random.default_rng(0).standard_normal((8, 26))
    G = np.ones_like(Z)
    for out, name in ((Z, "Z"), (G, "V")):
        with pytest.raises(ValueError, match=name):
            _native.entmax_bisect_product_from_input(Z, G, out, 1.3, 1.0)


def test_vjp_from_z_equals_the_vjp_from_output_in_every_backend() -> None:
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((40, 26))
    G = rng.standard_normal(Z.shape)
    for backend in ("native", "vector", "loop"):
        P = pyfastnn.simplex.entmax_bisect(Z, 1.3, backend=backend)
        expected = pyfastnn.simplex.entmax_bisect_vjp_from_output(P, G, 1.3, backend=backend)
        got = pyfastnn.simplex.entmax_bisect_vjp(Z, G, 1.3, backend=backend)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
        jvp = pyfastnn.simplex.entmax_bisect_jvp(Z, G, 1.3, backend=backend)
        np.testing.assert_allclose(jvp, expected, rtol=1e-12, atol=1e-13)


def bisection_reference(Z: np.ndarray, alpha: float) -> np.ndarray:
    """alpha-entmax of the rows of Z in float64 by 100 bisection steps on tau."""
    y = (alpha - 1) * (Z - Z.max(axis=1, keepdims=True)).astype(np.float64)
    lo, hi = np.full((len(Z), 1), -1.0), np.zeros((len(Z), 1))
    for _ in range(100):
        mid = (lo + hi) / 2
        above = (np.maximum(y - mid, 0) ** (1 / (alpha - 1))).sum(axis=1, keepdims=True) > 1
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    P = np.maximum(y - lo, 0) ** (1 / (alpha - 1))
    return P / P.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [1.01, 1.2, 1.3, 1.4, 1.45, 1.499])
def test_halley_search_matches_a_bisection_reference(isa: str, alpha: float, dtype: str) -> None:
    """The lane kernels end Halley's search with a Taylor expansion of the output
    around the last tau (no pow after the search): the map and the fused J v stay
    within a few ulp of float64 bisection for steep and flat rows alike."""
    rng = np.random.default_rng(int(alpha * 1000))
    atol = {"float32": 1e-6, "float64": 5e-15}[dtype]
    for scale in (0.3, 1.0, 4.0, 20.0):
        for k in (2, 5, 26, 48):
            Z = (rng.standard_normal((40, k)) * scale).astype(dtype)
            G = rng.standard_normal((40, k)).astype(dtype)
            expected = bisection_reference(Z, alpha)
            s = np.where(expected > 0, expected ** (2 - alpha), 0)
            jv = s * (G - (s * G).sum(axis=1, keepdims=True) / s.sum(axis=1, keepdims=True))
            np.testing.assert_allclose(forward(Z, alpha), expected, rtol=0, atol=atol)
            np.testing.assert_allclose(fused(Z, G, alpha), jv, rtol=0, atol=4 * atol)
