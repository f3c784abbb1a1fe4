"""Short rows (K up to ~40): the AVX-512 kernels that put one row per vector lane
and process blocks of 16 (float32) / 8 (float64) rows, against the vector backend.

Row counts that are not multiples of the block exercise the padded last block;
NaN / +-inf / -inf / 1e30 rows are mixed into the blocks so that a bad row must
not spoil its neighbours."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn

KS = range(1, 41)
NS = [*range(1, 20), 37, 100]
LONGER_KS = range(41, 67)  # up to the last lane kernel (K = 48) and past it
LONGER_NS = [4, 15, 16, 17, 33]
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


def apply(name: str, Z: np.ndarray, backend: str = "native", temperature: float = 1.0):
    if name == "relumax":
        return pyfastnn.relumax(Z, 0.7, backend=backend, temperature=temperature)
    return pyfastnn.sparsemax(Z, backend=backend, temperature=temperature)


def reference(name: str, Z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The vector backend in float64, cast back (row by row so a bad row stays alone)."""
    return apply(name, Z.astype(np.float64), "vector", temperature).astype(Z.dtype)


def assert_rows_match(P: np.ndarray, Q: np.ndarray, dtype: str) -> None:
    np.testing.assert_array_equal(np.isnan(P), np.isnan(Q))
    np.testing.assert_allclose(np.nan_to_num(P), np.nan_to_num(Q), **TOL[dtype])


def spoil(Z: np.ndarray, rng: np.random.Generator) -> None:
    """Turn some rows bad or extreme, in place, at random positions."""
    n, k = Z.shape
    kinds = ["nan", "+inf", "all -inf", "one -inf", "1e30", "-1e30", "ties"]
    for i in rng.choice(n, size=min(n, len(kinds)), replace=False):
        kind = kinds[i % len(kinds)]
        j = rng.integers(k)
        if kind == "nan":
            Z[i, j] = np.nan
        elif kind == "+inf":
            Z[i, j] = np.inf
        elif kind == "all -inf":
            Z[i] = -np.inf
        elif kind == "one -inf":
            Z[i, j] = -np.inf
        elif kind == "1e30":
            Z[i, j] = 1e30
        elif kind == "-1e30":
            Z[i, j] = -1e30
        else:
            Z[i] = np.round(Z[i])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sparsemax", "relumax"])
def test_every_short_row_length_and_row_count(name: str, dtype: str, isa: str) -> None:
    rng = np.random.default_rng(7)
    for k in KS:
        for n in NS:
            Z = (rng.standard_normal((n, k)) * rng.choice([0.1, 1.0, 4.0])).astype(dtype)
            assert_rows_match(apply(name, Z), reference(name, Z), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sparsemax", "relumax"])
def test_bad_rows_do_not_spoil_their_block(name: str, dtype: str, isa: str) -> None:
    rng = np.random.default_rng(11)
    for k in KS:
        for n in NS:
            Z = rng.standard_normal((n, k)).astype(dtype)
            spoil(Z, rng)
            P = apply(name, Z)
            assert_rows_match(P, reference(name, Z), dtype)
            good = ~np.isnan(P).any(axis=1)
            np.testing.assert_allclose(P[good].sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sparsemax", "relumax"])
def test_longer_lane_rows(name: str, dtype: str, isa: str) -> None:
    rng = np.random.default_rng(19)
    for k in LONGER_KS:
        for n in LONGER_NS:
            Z = (rng.standard_normal((n, k)) * rng.choice([0.05, 1.0])).astype(dtype)
            spoil(Z, rng)
            assert_rows_match(apply(name, Z), reference(name, Z), dtype)


@pytest.mark.parametrize("name", ["sparsemax", "relumax"])
def test_short_rows_dense_support_and_temperature(name: str, isa: str) -> None:
    """Small spreads put every entry in the support (the whole sorting network
    matters); temperatures scale the spread both ways."""
    rng = np.random.default_rng(3)
    for k in KS:
        Z = rng.uniform(-0.05, 0.05, size=(29, k))
        for t in (0.01, 1.0, 30.0):
            assert_rows_match(apply(name, Z, temperature=t), reference(name, Z, t), "float64")


def test_short_rows_non_contiguous_and_offset_blocks(isa: str) -> None:
    """Views whose rows do not start on a block boundary of the parent array."""
    rng = np.random.default_rng(5)
    for k in (3, 10, 16, 26):
        big = rng.standard_normal((70, 2 * k)).astype(np.float32)
        for Z in (big[3:50, :k], big[1:, k:], big[::3, ::2]):
            for name in ("sparsemax", "relumax"):
                assert_rows_match(apply(name, Z), reference(name, Z), "float32")


PRODUCTS = ["sparsemax_jvp", "sparsemax_vjp", "relumax_jvp", "relumax_vjp"]


def product(kind: str, P: np.ndarray, V: np.ndarray, backend: str = "native", out=None):
    fn = getattr(pyfastnn, f"{kind}_from_output")
    if kind.startswith("relumax"):
        return fn(P, V, 0.7, backend=backend, temperature=0.5, out=out)
    return fn(P, V, backend=backend, temperature=0.5, out=out)


def product_reference(kind: str, P: np.ndarray, V: np.ndarray) -> np.ndarray:
    return product(kind, P.astype(np.float64), V.astype(np.float64), "vector").astype(P.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", PRODUCTS)
def test_products_every_short_row_length_and_row_count(kind: str, dtype: str, isa: str) -> None:
    """Products from a forward result with ties for the max (relumax's argmax is the
    first maximal index) and NaN rows of P mixed into the blocks."""
    rng = np.random.default_rng(13)
    name = kind.split("_")[0]
    for k in KS:
        for n in NS:
            Z = rng.standard_normal((n, k)).astype(dtype)
            if k > 1:
                Z[n // 2, 1] = Z[n // 2].max()  # a tie for the max
            P = apply(name, Z, "vector", temperature=0.5).astype(dtype)
            P[rng.integers(n)] = np.nan if n % 3 == 0 else P[0]
            V = rng.standard_normal((n, k)).astype(dtype)
            assert_rows_match(product(kind, P, V), product_reference(kind, P, V), dtype)


@pytest.mark.parametrize("kind", PRODUCTS)
def test_products_short_rows_in_place(kind: str, isa: str) -> None:
    """out may be P or V itself."""
    rng = np.random.default_rng(17)
    for k in (1, 5, 10, 16, 26):
        Z = rng.standard_normal((37, k)).astype(np.float32)
        P = apply(kind.split("_")[0], Z, temperature=0.5)
        V = rng.standard_normal((37, k)).astype(np.float32)
        expected = product_reference(kind, P, V)
        for target in ("P", "V"):
            Pc, Vc = P.copy(), V.copy()
            out = Pc if target == "P" else Vc
            product(kind, Pc, Vc, out=out)
            assert_rows_match(out, expected, "float32")
