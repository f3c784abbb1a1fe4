"""Jacobian products (JVP, VJP, from Z and from the output) and Jacobians of the
simplex maps, checked against finite differences and each other."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_simplex_reference import (
    BACKENDS,
    DTYPES,
    MAPS,
    TOL,
    fd_jacobian,
    map_ref,
    smooth_logits,
)

import pyfastnn

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

B = 0.9  # relumax's b throughout


def jvp(name: str, Z, V, backend: str = "native", **kw) -> np.ndarray:
    args = (B,) if name == "relumax" else ()
    return getattr(pyfastnn, f"{name}_jvp")(Z, V, *args, backend=backend, **kw)


def vjp(name: str, Z, G, backend: str = "native", **kw) -> np.ndarray:
    args = (B,) if name == "relumax" else ()
    return getattr(pyfastnn, f"{name}_vjp")(Z, G, *args, backend=backend, **kw)


def from_output(name: str, kind: str, P, V, backend: str = "native", **kw) -> np.ndarray:
    args = (B,) if name == "relumax" else ()
    fn = getattr(pyfastnn, f"{name}_{kind}_from_output")
    return fn(P, V, *args, backend=backend, **kw)


def forward(name: str, Z, backend: str = "native", **kw) -> np.ndarray:
    if name == "relumax":
        return pyfastnn.relumax(Z, B, backend=backend, **kw)
    return getattr(pyfastnn, name)(Z, backend=backend, **kw)


def jacobian(name: str, z, backend: str = "native", **kw) -> np.ndarray:
    args = (B,) if name == "relumax" else ()
    return getattr(pyfastnn, f"{name}_jacobian")(z, *args, backend=backend, **kw)


def n_rows(backend: str) -> tuple[int, int]:
    return (5, 7) if backend == "loop" else (30, 13)


# ---- finite differences (float64, away from kinks) ----------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_jvp_and_vjp_match_finite_differences(name: str, backend: str) -> None:
    rng = np.random.default_rng(20)
    n, k = n_rows(backend)
    Z = smooth_logits(name, rng, n, k, B, scale=0.7)
    V = rng.standard_normal((n, k))
    G = rng.standard_normal((n, k))
    Jv, JTg = jvp(name, Z, V, backend), vjp(name, Z, G, backend)
    for i in range(n):
        J = fd_jacobian(lambda z: map_ref(name, z[None], B)[0], Z[i])
        np.testing.assert_allclose(Jv[i], J @ V[i], atol=1e-7)
        np.testing.assert_allclose(JTg[i], J.T @ G[i], atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_jacobian_matches_finite_differences(name: str, backend: str) -> None:
    rng = np.random.default_rng(21)
    for z in smooth_logits(name, rng, 4, 6, B, scale=0.6):
        for T in (1.0, 0.5):
            J = jacobian(name, z, backend, temperature=T)
            fd = fd_jacobian(lambda x, T=T: map_ref(name, x[None], B, T)[0], z)
            np.testing.assert_allclose(J, fd, atol=1e-7)


@pytest.mark.parametrize("name", MAPS)
def test_temperature_scales_the_jacobian(name: str) -> None:
    """d map(z / T) / dz = J(z / T) / T."""
    rng = np.random.default_rng(22)
    Z = smooth_logits(name, rng, 10, 9, B)
    V = rng.standard_normal(Z.shape)
    T = 0.3
    np.testing.assert_allclose(jvp(name, Z, V, temperature=T), jvp(name, Z / T, V) / T, rtol=1e-9)
    np.testing.assert_allclose(vjp(name, Z, V, temperature=T), vjp(name, Z / T, V) / T, rtol=1e-9)


# ---- algebraic identities ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    k=st.integers(1, 40),
    scale=st.sampled_from([0.05, 1.0, 10.0]),
    name=st.sampled_from(MAPS),
)
def test_adjoint_identity_and_translation_invariance(
    seed: int, n: int, k: int, scale: float, name: str
) -> None:
    """<u, J v> = <J^T u, v>; J 1 = 0 (translation invariance); 1^T J = 0 (sum p = 1)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, k)) * scale
    U, V = rng.standard_normal((2, n, k))
    lhs = (U * jvp(name, Z, V)).sum(axis=1)
    rhs = (vjp(name, Z, U) * V).sum(axis=1)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-12)
    ones = np.ones_like(Z)
    np.testing.assert_allclose(jvp(name, Z, ones), 0, atol=1e-10 * scale + 1e-12)
    np.testing.assert_allclose(jvp(name, Z, V).sum(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(vjp(name, Z, U).sum(axis=1), 0, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MAPS)
def test_backends_agree(name: str, dtype: str) -> None:
    rng = np.random.default_rng(23)
    Z = rng.standard_normal((6, 11)).astype(dtype)
    V = rng.standard_normal((6, 11)).astype(dtype)
    for fn in (jvp, vjp):
        R = [fn(name, Z, V, be, temperature=0.8) for be in BACKENDS]
        np.testing.assert_allclose(R[1], R[0], **TOL[dtype])
        np.testing.assert_allclose(R[2], R[0], **TOL[dtype])
    J = [jacobian(name, Z[0], be) for be in BACKENDS]
    np.testing.assert_allclose(J[1], J[0], **TOL[dtype])
    np.testing.assert_allclose(J[2], J[0], **TOL[dtype])


@pytest.mark.parametrize("K", [1, 2, 5, 8, 9, 16, 17, 33, 200, 5000])
@pytest.mark.parametrize("dtype", DTYPES)
def test_native_kernels_every_row_length(K: int, dtype: str, isa: str) -> None:
    """Both kernel families against the vector backend, around the vector widths."""
    rng = np.random.default_rng(K)
    Z = (rng.standard_normal((4, K)) * 0.5).astype(dtype)
    V = rng.standard_normal((4, K)).astype(dtype)
    for name in MAPS:
        for fn in (jvp, vjp):
            np.testing.assert_allclose(fn(name, Z, V), fn(name, Z, V, "vector"), **TOL[dtype])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_from_output_forms_equal_the_forms_from_z(name: str, backend: str) -> None:
    rng = np.random.default_rng(24)
    Z = rng.standard_normal(n_rows(backend))
    V = rng.standard_normal(Z.shape)
    T = 0.7
    P = forward(name, Z, backend, temperature=T)
    np.testing.assert_allclose(
        from_output(name, "jvp", P, V, backend, temperature=T),
        jvp(name, Z, V, backend, temperature=T),
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_allclose(
        from_output(name, "vjp", P, V, backend, temperature=T),
        vjp(name, Z, V, backend, temperature=T),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("name", MAPS)
def test_jacobian_columns_are_jvps(name: str) -> None:
    rng = np.random.default_rng(25)
    z = rng.standard_normal(8)
    J = jacobian(name, z)
    np.testing.assert_allclose(J, jvp(name, np.tile(z, (8, 1)), np.eye(8)).T, atol=1e-15)
    np.testing.assert_allclose(J.T, vjp(name, np.tile(z, (8, 1)), np.eye(8)).T, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_classes_derivatives(backend: str) -> None:
    """K = 2, z = (0, t): d p_2 / dt is p_2 (1 - p_2) (softmax), 1/2 on |t| < 1 and 0
    outside (sparsemax), b / (2b + t)^2 on -b < t < 0, b / (2b - t)^2 on 0 < t < b and 0
    outside (relumax_b); and d p_2 / d z_1 = -d p_2 / dt (translation invariance)."""
    t = np.array([-3.0, -1.5, -0.85, -0.5, -0.1, 0.1, 0.4, 0.7, 0.85, 1.3, 4.0])
    Z = np.stack([np.zeros_like(t), t], axis=1)
    d_t = np.tile([0.0, 1.0], (t.size, 1))
    d_z1 = np.tile([1.0, 0.0], (t.size, 1))
    sig = 1 / (1 + np.exp(-t))
    expected = {
        "softmax": sig * (1 - sig),
        "sparsemax": np.where(np.abs(t) < 1, 0.5, 0.0),
        "relumax": np.select(
            [t <= -B, t < 0, t < B], [0.0, B / (2 * B + t) ** 2, B / (2 * B - t) ** 2], 0.0
        ),
    }
    for name in MAPS:
        np.testing.assert_allclose(jvp(name, Z, d_t, backend)[:, 1], expected[name], atol=1e-14)
        np.testing.assert_allclose(jvp(name, Z, d_z1, backend)[:, 1], -expected[name], atol=1e-14)


# ---- the relumax Jacobian: the path through max(z) -----------------------------------------


def test_relumax_jacobian_needs_the_path_through_the_max() -> None:
    """Seed 001 gives J = (diag(s) - p s^T) / D, dropping how z_m moves max(z). That
    matrix fails finite differences and J 1 = 0; ours passes both."""
    rng = np.random.default_rng(26)
    z = smooth_logits("relumax", rng, 1, 6, B, scale=0.4)[0]
    p = map_ref("relumax", z[None], B)[0]
    s = (p > 0).astype(float)
    D = B / p.max()
    naive = (np.diag(s) - np.outer(p, s)) / D
    fd = fd_jacobian(lambda x: map_ref("relumax", x[None], B)[0], z)
    assert s.sum() >= 2
    assert np.abs(naive - fd).max() > 1e-2
    assert np.abs(naive @ np.ones(6)).max() > 1e-2
    ours = jacobian("relumax", z)
    np.testing.assert_allclose(ours, fd, atol=1e-7)
    # the max's column: d p_m / d z_m = (|S| - 1) p_m / D, d p_i / d z_m = ((|S| - 1) p_i - 1) / D
    m = int(np.argmax(z))
    S = s.sum()
    expected = np.where(s > 0, ((S - 1) * p - (np.arange(6) != m)) / D, 0)
    np.testing.assert_allclose(ours[:, m], expected, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_relumax_tie_convention(backend: str) -> None:
    """At a tie for the max the Jacobian is that of the branch where the first maximal
    entry is the largest: the limit of J(z + delta e_first) as delta -> 0+."""
    z = np.array([0.2, 0.7, -0.1, 0.7, 0.3])
    J_tie = jacobian("relumax", z, backend)
    nudged = z.copy()
    nudged[1] += 1e-9
    np.testing.assert_allclose(J_tie, jacobian("relumax", nudged, backend), atol=1e-7)
    other = z.copy()
    other[3] += 1e-9
    assert np.abs(J_tie - jacobian("relumax", other, backend)).max() > 0.1
    # one-sided difference quotient along a direction that keeps entry 1 on top
    v = np.array([0.3, 1.0, -0.5, 0.2, 0.1])
    h = 1e-7
    one_sided = (map_ref("relumax", (z + h * v)[None], B) - map_ref("relumax", z[None], B)) / h
    np.testing.assert_allclose(J_tie @ v, one_sided[0], atol=1e-5)


# ---- edge cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_products_edge_cases(backend: str, dtype: str) -> None:
    Z = np.array(
        [
            [0.3, -np.inf, 0.1, 0.2],
            [np.nan, 0, 0, 0],
            [1.0, 1.0, 1.0, 1.0],
            [5.0, -1e4, -1e4, -1e4],
        ],
        dtype=dtype,
    )
    V = np.array(
        [[1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], [1.0, 2.0, 3.0, 4.0], [1.0, np.nan, np.inf, 2.0]],
        dtype=dtype,
    )
    for name in MAPS:
        for fn in (jvp, vjp):
            R = fn(name, Z, V, backend)
            assert R[0, 1] == 0  # a -inf class has a zero row and column
            assert np.isnan(R[1]).all()  # NaN logits: NaN row
            assert np.isfinite(R[[0, 2, 3]]).all()  # NaN / inf of V outside the support unused
            if name != "softmax":
                np.testing.assert_array_equal(R[3], 0)  # support {0}: locally constant
        # equal logits: J = (I - 11^T / K) c for all three maps (c = 1 / K for softmax, 1 for
        # sparsemax, 1 / D = 1 / (K b) for relumax), so J v is v minus its mean, scaled
        scale = {"softmax": 1 / 4, "sparsemax": 1.0, "relumax": 1 / (4 * B)}[name]
        np.testing.assert_allclose(jvp(name, Z, V, backend)[2], (V[2] - 2.5) * scale, rtol=1e-6)
    # K = 1: the map is constant
    for name in MAPS:
        np.testing.assert_array_equal(
            jvp(name, np.ones((3, 1), dtype), np.ones((3, 1), dtype), backend), 0
        )


@pytest.mark.parametrize("name", MAPS)
def test_products_accept_aliasing_and_out(name: str) -> None:
    rng = np.random.default_rng(27)
    Z = rng.standard_normal((9, 12))
    V = rng.standard_normal((9, 12))
    expected = vjp(name, Z, V)
    P = forward(name, Z)
    np.testing.assert_allclose(from_output(name, "vjp", P, V, out=P), expected, atol=1e-15)
    V2 = V.copy()
    P = forward(name, Z)
    np.testing.assert_allclose(from_output(name, "vjp", P, V2, out=V2), expected, atol=1e-15)
    out = np.empty_like(Z)
    assert vjp(name, Z, V, out=out) is out
    np.testing.assert_allclose(out, expected, atol=1e-15)
