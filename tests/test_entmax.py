"""entmax15 and alpha-entmax: backends agree, finite differences, the limits
(alpha = 2 sparsemax, 1.5 entmax15, -> 1 softmax), the Fenchel-Young losses, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import simplex as S

BACKENDS = ("loop", "vector", "native")
# (public name, extra positional args): the maps under test
MAPS = [("entmax15", ()), ("entmax_bisect", (1.5,)), ("entmax_bisect", (1.25,)),
        ("entmax_bisect", (2.0,)), ("entmax_bisect", (3.0,))]  # fmt: skip


def _logits(n: int, k: int, seed: int, dtype=np.float64) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, k)) * 2).astype(dtype)


def _tol(dtype) -> float:
    return 2e-6 if dtype == np.float32 else 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, args", MAPS)
@pytest.mark.parametrize("k", [1, 2, 7, 40])
def test_backends_agree(name: str, args: tuple, k: int, dtype) -> None:
    Z = _logits(9, k, k, dtype)
    V = _logits(9, k, k + 1, dtype)
    fwd = getattr(S, name)
    ref = fwd(Z, *args, backend="loop")
    assert ref.dtype == dtype
    np.testing.assert_allclose(ref.sum(axis=1), 1, atol=10 * _tol(dtype))
    assert (ref >= 0).all()
    for be in ("vector", "native"):
        np.testing.assert_allclose(fwd(Z, *args, backend=be), ref, atol=_tol(dtype))
        for kind in ("jvp", "vjp"):
            got = getattr(S, f"{name}_{kind}")(Z, V, *args, backend=be)
            want = getattr(S, f"{name}_{kind}")(Z, V, *args, backend="loop")
            np.testing.assert_allclose(got, want, atol=10 * _tol(dtype))
            P = fwd(Z, *args, backend=be)
            from_out = getattr(S, f"{name}_{kind}_from_output")(P, V, *args, backend=be)
            np.testing.assert_allclose(from_out, got, atol=10 * _tol(dtype))


@pytest.mark.parametrize("shape", [(3, 1000), (2, 30000), (200, 26)])
def test_native_matches_vector_on_long_and_many_rows(shape) -> None:
    Z = _logits(*shape, seed=5)
    np.testing.assert_allclose(S.entmax15(Z), S.entmax15(Z, backend="vector"), atol=1e-13)
    for alpha in (1.1, 1.5, 1.8, 2.6):
        np.testing.assert_allclose(
            S.entmax_bisect(Z, alpha), S.entmax_bisect(Z, alpha, backend="vector"), atol=1e-12
        )


def _fd_jacobian(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    K = z.size
    J = np.empty((K, K))
    for j in range(K):
        e = np.zeros(K)
        e[j] = h
        J[:, j] = (f(z + e) - f(z - e)) / (2 * h)
    return J


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, args", MAPS)
def test_jacobian_matches_finite_differences(name: str, args: tuple, backend: str) -> None:
    rng = np.random.default_rng(3)
    T = 0.7
    for _ in range(3):
        z = rng.standard_normal(6)
        J = getattr(S, f"{name}_jacobian")(z, *args, temperature=T, backend=backend)
        fd = _fd_jacobian(lambda x: getattr(S, name)(x, *args, temperature=T, backend="vector"), z)
        np.testing.assert_allclose(J, fd, atol=1e-6)
        # J 1 = 0 (shift invariance) and 1^T J = 0 (the sum stays 1)
        np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-12)
        np.testing.assert_allclose(J.sum(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, args", [("entmax15", ()), ("entmax_bisect", (1.7,))])
def test_loss_gradient_matches_finite_differences(name: str, args: tuple, backend: str) -> None:
    Z = _logits(5, 6, 11)
    y = np.array([0, 3, 5, 1, 2])
    loss_fn = getattr(S, f"{name}_loss")
    loss, grad = loss_fn(Z, y, *args, temperature=1.3, backend=backend)
    h = 1e-6
    fd = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        fd[idx] = (
            loss_fn(Zp, y, *args, temperature=1.3, backend=backend)[0]
            - loss_fn(Zm, y, *args, temperature=1.3, backend=backend)[0]
        ) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-6)
    rows, grads = loss_fn(Z, y, *args, temperature=1.3, reduction="none", backend=backend)
    assert rows.shape == (5,) and (rows >= -1e-12).all()
    assert np.isclose(loss, rows.mean())
    np.testing.assert_allclose(grads / 5, grad, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_are_zero_at_a_margin_and_match_the_definition(backend: str) -> None:
    Z = np.array([[10.0, 0.0, -1.0], [0.2, 0.1, 0.3]])
    y = np.array([0, 1])
    rows, grad = S.entmax15_loss(Z, y, reduction="none", backend=backend)
    assert rows[0] == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(grad[0], 0, atol=1e-12)
    p = S.entmax15(Z[1], backend="loop")
    want = p @ Z[1] + (1 - np.sum(p**1.5)) / 0.75 - Z[1, 1]
    assert rows[1] == pytest.approx(want, abs=1e-12)
    alpha_rows, _ = S.entmax_bisect_loss(Z, y, 1.5, reduction="none", backend=backend)
    np.testing.assert_allclose(alpha_rows, rows, atol=1e-12)
    sp_rows, sp_grad = S.sparsemax_loss(Z, y, reduction="none", backend=backend)
    a2_rows, a2_grad = S.entmax_bisect_loss(Z, y, 2.0, reduction="none", backend=backend)
    np.testing.assert_allclose(a2_rows, sp_rows, atol=1e-12)
    np.testing.assert_allclose(a2_grad, sp_grad, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_limits(backend: str) -> None:
    Z = _logits(6, 9, 21)
    np.testing.assert_allclose(
        S.entmax_bisect(Z, 2.0, backend=backend), S.sparsemax(Z, backend=backend), atol=1e-12
    )
    np.testing.assert_allclose(
        S.entmax_bisect(Z, 1.5, backend=backend), S.entmax15(Z, backend=backend), atol=1e-12
    )
    # alpha -> 1: the gap to softmax shrinks with alpha - 1
    soft = S.softmax(Z, backend=backend)
    gaps = [
        np.abs(S.entmax_bisect(Z, 1 + d, backend=backend) - soft).max() for d in (0.1, 0.01, 0.001)
    ]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3
    # alpha < 2: fewer zeros than sparsemax
    assert (S.entmax15(Z, backend=backend) > 0).sum() >= (S.sparsemax(Z, backend=backend) > 0).sum()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_cases(backend: str, dtype) -> None:
    nan = np.nan
    Z = np.array(
        [
            [1.0, 1.0, 1.0, 1.0],  # equal: uniform
            [1e30, -1e30, 1e30, 0.0],  # huge: two winners
            [-np.inf, 0.0, 1.0, -np.inf],  # -inf: probability 0
            [nan, 0.0, 1.0, 2.0],  # NaN: a row of NaN
            [np.inf, 0.0, 1.0, 2.0],  # +inf: a row of NaN
            [-np.inf] * 4,  # only -inf: a row of NaN
        ],
        dtype=dtype,
    )
    for fwd in (lambda x: S.entmax15(x, backend=backend),
                lambda x: S.entmax_bisect(x, 1.3, backend=backend),
                lambda x: S.entmax_bisect(x, 2.5, backend=backend)):  # fmt: skip
        P = fwd(Z)
        np.testing.assert_allclose(P[0], 0.25, rtol=1e-6)
        np.testing.assert_allclose(P[1], [0.5, 0, 0.5, 0], atol=1e-6)
        assert P[2, 0] == 0 and P[2, 3] == 0 and P[2].sum() == pytest.approx(1, abs=1e-6)
        assert np.isnan(P[3:]).all()
        assert fwd(Z[:1, :1]).tolist() == [[1.0]]  # K = 1
    G = S.entmax15_vjp(Z, np.ones_like(Z), backend=backend)
    assert np.isnan(G[3:]).all() and np.isfinite(G[:3]).all()
    rows, _ = S.entmax15_loss(Z[:3], [0, 0, 0], reduction="none", backend=backend)
    assert rows[2] == np.inf  # the label's logit is -inf
    assert np.isnan(S.entmax15_loss(Z[3:4], [0], backend=backend)[0])


def test_non_contiguous_input_and_dtypes() -> None:
    Z = _logits(6, 16, 2)
    assert S.entmax15(Z[:, ::2]).dtype == np.float64
    np.testing.assert_allclose(S.entmax15(Z[:, ::2]), S.entmax15(Z[:, ::2].copy()), atol=0)
    np.testing.assert_allclose(
        S.entmax_bisect(Z.T, 1.4), S.entmax_bisect(np.ascontiguousarray(Z.T), 1.4), atol=0
    )
    assert S.entmax15(Z.astype(np.float32)).dtype == np.float32
    assert S.entmax15(np.arange(12).reshape(3, 4)).dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("alpha", [1.0, 0.5, -2, float("nan"), float("inf")])
def test_bad_alpha_names_alpha(backend: str, alpha: float) -> None:
    Z = _logits(2, 3, 0)
    for call in (
        lambda: S.entmax_bisect(Z, alpha, backend=backend),
        lambda: S.entmax_bisect_vjp(Z, Z, alpha, backend=backend),
        lambda: S.entmax_bisect_loss(Z, [0, 1], alpha, backend=backend),
        lambda: S.entmax_bisect_jacobian(Z[0], alpha, backend=backend),
    ):
        with pytest.raises(ValueError, match="^alpha:"):
            call()
    with pytest.raises(TypeError, match="^alpha:"):
        S.entmax_bisect(Z, "1.5", backend=backend)
    with pytest.raises(ValueError, match="^alpha:"):  # rounds to 1 in float32
        S.entmax_bisect(Z.astype(np.float32), 1 + 1e-9, backend=backend)


def test_native_rejects_bad_alpha_directly() -> None:
    Z = _logits(2, 3, 0)
    with pytest.raises(ValueError, match="^alpha:"):
        pyfastnn._native.entmax_bisect_forward(Z, np.empty_like(Z), 1.0)
    with pytest.raises(ValueError, match="^alpha:"):
        pyfastnn._native.entmax_product_from_output(Z, Z, np.empty_like(Z), float("nan"))


def test_adversarial_rows_reach_the_exact_threshold() -> None:
    """Rows whose support is found late (many near-ties, geometric gaps) still match
    the sort-based vector backend: the Newton passes or the sort fallback settle it."""
    K = 4000
    rows = [
        -np.geomspace(1e-6, 1.9, K),
        np.linspace(0, -2, K),
        np.r_[np.zeros(K // 2), np.full(K // 2, -1e-9)],
        -np.abs(np.random.default_rng(1).standard_normal(K)) * 1e-3,
    ]
    Z = np.array(rows)
    np.testing.assert_allclose(S.entmax15(Z), S.entmax15(Z, backend="vector"), atol=1e-13)
    for alpha in (1.05, 1.5, 3.0):
        np.testing.assert_allclose(
            S.entmax_bisect(Z, alpha), S.entmax_bisect(Z, alpha, backend="vector"), atol=1e-11
        )


def test_package_exports() -> None:
    for name in ("entmax15", "entmax_bisect", "entmax15_loss", "entmax_bisect_vjp_from_output"):
        assert getattr(pyfastnn, name) is getattr(S, name)


@pytest.fixture
def restore_kernel():
    before = pyfastnn.kernel_info()["isa"]
    yield
    pyfastnn.set_kernel(before)


def test_every_isa_agrees_with_vector(restore_kernel) -> None:
    info = pyfastnn.kernel_info()
    isas = ["portable"] + [
        isa
        for isa, key in (("avx2", "cpu_supports_avx2_fma"), ("avx512", "cpu_supports_avx512"))
        if info[key]
    ]
    Z = _logits(40, 300, 8)
    V = _logits(40, 300, 9)
    for isa in isas:
        pyfastnn.set_kernel(isa)
        assert pyfastnn.kernel_info()["kernels"]["float64"]["simplex_entmax"] == isa
        for args, name in (((), "entmax15"), ((1.5,), "entmax_bisect"), ((2.4,), "entmax_bisect")):
            P = getattr(S, name)(Z, *args)
            np.testing.assert_allclose(P, getattr(S, name)(Z, *args, backend="vector"), atol=1e-12)
            np.testing.assert_allclose(
                getattr(S, f"{name}_vjp_from_output")(P, V, *args),
                getattr(S, f"{name}_vjp_from_output")(P, V, *args, backend="vector"),
                atol=1e-12,
            )
