"""Forward maps softmax / sparsemax / relumax_b: the properties the seed reports
state, agreement with independent oracles and across backends, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_simplex_reference import (
    BACKENDS,
    DTYPES,
    MAPS,
    TOL,
    map_ref,
    relumax_ref,
    softmax_ref,
    sparsemax_ref,
    threshold_bisection,
)

import pyfastnn

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def apply(name: str, Z, backend: str = "native", b: float = 1.0, **kw) -> np.ndarray:
    if name == "relumax":
        return pyfastnn.relumax(Z, b, backend=backend, **kw)
    return getattr(pyfastnn, name)(Z, backend=backend, **kw)


def shape_for(backend: str) -> tuple[int, int]:
    return (6, 9) if backend == "loop" else (40, 37)


# ---- agreement with the oracles, every backend, both dtypes ------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_matches_reference(name: str, backend: str, dtype: str) -> None:
    rng = np.random.default_rng(1)
    Z = (rng.standard_normal(shape_for(backend)) * 1.5).astype(dtype)
    for T, b in [(1.0, 1.0), (0.37, 2.5)]:
        P = apply(name, Z, backend, b=b, temperature=T)
        assert P.dtype == Z.dtype and P.shape == Z.shape
        np.testing.assert_allclose(P, map_ref(name, Z, b, T), **TOL[dtype])


@pytest.mark.parametrize("name", MAPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backends_agree(name: str, dtype: str) -> None:
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((7, 23)).astype(dtype)
    P = [apply(name, Z, be, b=0.8) for be in BACKENDS]
    np.testing.assert_allclose(P[0], P[1], **TOL[dtype])
    np.testing.assert_allclose(P[0], P[2], **TOL[dtype])


@pytest.mark.parametrize("K", [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 1000])
@pytest.mark.parametrize("dtype", DTYPES)
def test_native_every_row_length(K: int, dtype: str, isa: str) -> None:
    """Row lengths around the vector widths (tails, unrolled loops), both kernel families."""
    rng = np.random.default_rng(K)
    for scale in (0.01, 1.0, 30.0):  # many candidates, some, one
        Z = (rng.standard_normal((5, K)) * scale).astype(dtype)
        for name in MAPS:
            np.testing.assert_allclose(apply(name, Z, b=0.6), map_ref(name, Z, 0.6), **TOL[dtype])


def test_long_rows_and_dense_candidates(isa: str) -> None:
    """Long rows where every entry is a candidate make the threshold search work hardest."""
    rng = np.random.default_rng(3)
    for K, scale in [(100_000, 1.0), (20_000, 1e-4), (5000, 1e-2)]:
        Z = rng.standard_normal((2, K)) * scale
        np.testing.assert_allclose(pyfastnn.sparsemax(Z), sparsemax_ref(Z), atol=1e-12)


def test_threshold_search_fallback(isa: str) -> None:
    """Rows where every entry is a candidate and the pruning iteration needs more than
    its pass budget (about log2 K passes on uniform rows): the search continues on the
    survivors (AVX2) and ends by sorting them (portable); it must stay exact."""
    rng = np.random.default_rng(14)
    Z = np.c_[np.zeros(2), rng.uniform(-1, 0, size=(2, 100_000))]
    np.testing.assert_allclose(pyfastnn.sparsemax(Z), sparsemax_ref(Z), atol=1e-13)
    np.testing.assert_allclose(pyfastnn.sparsemax_threshold(Z), threshold_bisection(Z), atol=1e-13)
    P32 = pyfastnn.sparsemax(Z.astype(np.float32))
    np.testing.assert_allclose(P32, sparsemax_ref(Z.astype(np.float32)), atol=1e-6)
    # A 16-entry row on which each pruning pass drops exactly one entry (15 passes):
    # y_j = tau_{j-1} - delta_j just below the threshold of the entries before it, with
    # delta_j growing fast enough that each entry is dropped on its own pass.
    y, tau, delta = [0.0, -0.5], -0.75, 1e-15
    for j in range(3, 17):
        delta *= j
        y.append(tau - delta)
        tau = ((j - 1) * tau + y[-1]) / j
    Z = np.array([y, y[::-1], list(rng.permutation(y))]) * 3.0  # scale: T = 3 below
    P = pyfastnn.sparsemax(Z, temperature=3.0)
    np.testing.assert_allclose(P, sparsemax_ref(Z, 3.0), atol=1e-13)


def test_threads_do_not_change_results() -> None:
    rng = np.random.default_rng(4)
    Z = rng.standard_normal((3000, 50)).astype(np.float32)
    before = pyfastnn.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            pyfastnn.set_num_threads(n)
            results.append([apply(name, Z) for name in MAPS])
    finally:
        pyfastnn.set_num_threads(before)
    for r in results[1:]:
        for a, b in zip(results[0], r):
            np.testing.assert_array_equal(a, b)


# ---- properties stated by the seeds -----------------------------------------------------

rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.floats(-50, 50, allow_nan=False, width=64),
)


@settings(max_examples=60, deadline=None)
@given(Z=rows, c=st.floats(-1e3, 1e3), name=st.sampled_from(MAPS))
def test_outputs_on_simplex_and_translation_invariant(Z: np.ndarray, c: float, name: str) -> None:
    P = apply(name, Z, b=0.7)
    assert (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    # softmax / sparsemax / relumax (z + c 1) = map(z); shifting by c rounds z, so compare
    # against the map of the rounded shifted input minus c (what the code actually sees)
    shifted = Z + c
    np.testing.assert_allclose(apply(name, shifted, b=0.7), P, atol=1e-9 * (1 + abs(c)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_translation_invariance_every_backend(backend: str) -> None:
    rng = np.random.default_rng(5)
    Z = rng.standard_normal(shape_for(backend))
    for name in MAPS:
        for c in (-1e6, -3.0, 1e3):
            np.testing.assert_allclose(
                apply(name, Z + c, backend, b=0.9), apply(name, Z, backend, b=0.9), atol=1e-9
            )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_zero_temperature_limit_is_one_hot(name: str, backend: str) -> None:
    rng = np.random.default_rng(6)
    Z = rng.permuted(np.tile(np.linspace(-1, 1, 9), (5, 1)), axis=1)  # gaps 0.25
    onehot = np.eye(9)[Z.argmax(axis=1)]
    for T in (1e-2, 1e-4):
        np.testing.assert_allclose(apply(name, Z, backend, temperature=T), onehot, atol=1e-10)
    # far from the limit the outputs are not one-hot
    assert apply(name, Z, backend, b=2.0, temperature=10.0).max() < 0.9
    # tied maxima share the mass equally in the limit
    tie = np.array([[0.5, 0.5, 0.1, -0.2]])
    np.testing.assert_allclose(
        apply(name, tie, backend, temperature=1e-3), [[0.5, 0.5, 0, 0]], atol=1e-12
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_classes_closed_forms(backend: str) -> None:
    """K = 2, z = (0, t): softmax_2 = logistic(t); sparsemax_2 = clip((t + 1) / 2, 0, 1);
    relumax_b,2 = 0 | (t + b) / (2b + t) | b / (2b - t) | 1 on t <= -b | <= 0 | < b | >= b."""
    b = 0.8
    t = np.array([-3.0, -1.5, -0.9, -0.5, -0.1, 0.0, 0.1, 0.4, 0.7, 0.95, 1.3, 4.0])
    Z = np.stack([np.zeros_like(t), t], axis=1)
    np.testing.assert_allclose(apply("softmax", Z, backend)[:, 1], 1 / (1 + np.exp(-t)), rtol=1e-13)
    np.testing.assert_allclose(
        apply("sparsemax", Z, backend)[:, 1], np.clip((t + 1) / 2, 0, 1), atol=1e-14
    )
    expected = np.select(
        [t <= -b, t <= 0, t < b], [0.0, (t + b) / (2 * b + t), b / (2 * b - t)], default=1.0
    )
    np.testing.assert_allclose(apply("relumax", Z, backend, b=b)[:, 1], expected, atol=1e-14)


def test_relu_is_the_projection_onto_the_orthant() -> None:
    """relu(z) = argmin_{y >= 0} |y - z|^2: projected gradient descent from random starts
    converges to relu(z), and no feasible point does better."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        z = rng.standard_normal(6) * 2
        relu = np.maximum(z, 0)
        y = rng.uniform(0, 3, size=6)
        for _ in range(200):
            y = np.maximum(y - 0.25 * 2 * (y - z), 0)  # step, then project onto y >= 0
        np.testing.assert_allclose(y, relu, atol=1e-12)
        feasible = np.maximum(relu + rng.standard_normal((500, 6)), 0)
        assert (((feasible - z) ** 2).sum(axis=1) >= ((relu - z) ** 2).sum() - 1e-12).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparsemax_is_the_projection_onto_the_simplex(backend: str) -> None:
    """p = sparsemax(z) iff <z - p, q - p> <= 0 for every q in the simplex (enough: every
    vertex e_j), and random points of the simplex are never closer to z."""
    rng = np.random.default_rng(8)
    Z = rng.standard_normal(shape_for(backend)) * 2
    P = pyfastnn.sparsemax(Z, backend=backend)
    R = Z - P
    # <z - p, e_j - p> = r_j - <r, p>
    assert ((R - (R * P).sum(axis=1, keepdims=True)) <= 1e-12).all()
    Q = rng.dirichlet(np.ones(Z.shape[1]) * 0.3, size=(200,))
    for z, p in zip(Z, P):
        assert (((Q - z) ** 2).sum(axis=1) >= ((p - z) ** 2).sum() - 1e-12).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_relumax_equals_sparsemax_at_b_from_the_threshold(backend: str) -> None:
    """For every z, b = max(z) - tau(z) > 0 gives relumax_b(z) = sparsemax(z)."""
    rng = np.random.default_rng(9)
    Z = rng.standard_normal(shape_for(backend)) * 2
    for T in (1.0, 0.4):
        tau = pyfastnn.sparsemax_threshold(Z, temperature=T, backend=backend)
        np.testing.assert_allclose(tau, threshold_bisection(Z, T), rtol=1e-12, atol=1e-12)
        b = Z.max(axis=1) / T - tau
        assert (b > 0).all()
        P = pyfastnn.sparsemax(Z, temperature=T, backend=backend)
        for i in range(Z.shape[0]):
            Q = pyfastnn.relumax(Z[i : i + 1], b[i], temperature=T, backend=backend)
            np.testing.assert_allclose(Q[0], P[i], atol=1e-12)


# ---- edge cases -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_single_class_and_equal_rows(backend: str, dtype: str) -> None:
    for name in MAPS:
        np.testing.assert_array_equal(
            apply(name, np.array([[3.0], [-1e30]], dtype), backend), [[1.0], [1.0]]
        )
        P = apply(name, np.full((3, 5), 2.5, dtype), backend)
        np.testing.assert_allclose(P, 0.2, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_and_tiny_magnitudes(backend: str, dtype: str) -> None:
    Z = np.array(
        [[1e30, -1e30, 0.0], [1e30, 1e30, -1e30], [-1e30, -1e30, -1e30], [1e-30, 3e-30, -2e-30]],
        dtype=dtype,
    )
    for name in MAPS:
        P = apply(name, Z, backend)
        assert np.isfinite(P).all()
        np.testing.assert_allclose(P[:3], [[1, 0, 0], [0.5, 0.5, 0], [1 / 3] * 3], rtol=1e-6)
        np.testing.assert_allclose(P[3], [1 / 3] * 3, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_minus_infinity_forces_a_class_to_zero(backend: str, dtype: str) -> None:
    """A -inf logit gets probability 0 and the others are the map of the remaining entries."""
    rng = np.random.default_rng(10)
    Z = rng.standard_normal((4, 6)).astype(dtype)
    Zinf = Z.copy()
    Zinf[:, [1, 4]] = -np.inf
    kept = [0, 2, 3, 5]
    for name in MAPS:
        P = apply(name, Zinf, backend, b=1.5)
        np.testing.assert_array_equal(P[:, [1, 4]], 0)
        np.testing.assert_allclose(
            P[:, kept], apply(name, Z[:, kept], backend, b=1.5), **TOL[dtype]
        )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_plus_infinity_rows_are_nan(backend: str, dtype: str) -> None:
    """Documented: a row with NaN, +inf, or only -inf entries maps to a NaN row; the
    other rows are unaffected."""
    Z = np.array(
        [[0.1, np.nan, 0.3], [np.inf, 0.0, 1.0], [-np.inf] * 3, [0.5, 0.2, -0.1], [np.nan] * 3],
        dtype=dtype,
    )
    for name in MAPS:
        P = apply(name, Z, backend)
        assert np.isnan(P[[0, 1, 2, 4]]).all()
        np.testing.assert_allclose(P[3], map_ref(name, Z[3:4])[0], **TOL[dtype])
        tau = pyfastnn.sparsemax_threshold(Z, backend=backend)
        assert np.isnan(tau[[0, 1, 2, 4]]).all() and np.isfinite(tau[3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_matches_float64(backend: str) -> None:
    rng = np.random.default_rng(11)
    Z = rng.standard_normal(shape_for(backend))
    for name in MAPS:
        np.testing.assert_allclose(
            apply(name, Z.astype(np.float32), backend), apply(name, Z, backend), atol=3e-6
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_and_integer_input(backend: str) -> None:
    rng = np.random.default_rng(12)
    base = rng.standard_normal((12, 10))
    for Z in (base[:, ::2], base.T[:5], np.asfortranarray(base[:6]), base[::3, 1:]):
        assert not Z.flags.c_contiguous
        for name in MAPS:
            expected = apply(name, np.ascontiguousarray(Z), backend)
            np.testing.assert_array_equal(apply(name, Z, backend), expected)
    ints = np.arange(12).reshape(3, 4) % 3
    P = pyfastnn.sparsemax(ints, backend=backend)
    assert P.dtype == np.float64
    np.testing.assert_allclose(P, sparsemax_ref(ints), atol=1e-14)


def test_out_argument() -> None:
    rng = np.random.default_rng(13)
    Z = rng.standard_normal((5, 8))
    out = np.empty_like(Z)
    assert pyfastnn.sparsemax(Z, out=out) is out
    np.testing.assert_allclose(out, sparsemax_ref(Z), atol=1e-14)
    expected = relumax_ref(Z, 1.0)
    assert pyfastnn.relumax(Z, 1.0, out=Z) is Z  # in place: computed aside, then copied
    np.testing.assert_allclose(Z, expected, atol=1e-14)
    Z2 = rng.standard_normal((5, 8))
    np.testing.assert_allclose(pyfastnn.softmax(Z2, out=np.empty_like(Z2)), softmax_ref(Z2))
