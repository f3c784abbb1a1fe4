"""Losses on the simplex maps: the sparsemax loss (Martins & Astudillo 2016) and the
eps-smoothed cross-entropy of the seed reports, with their gradients."""

from __future__ import annotations

import numpy as np
import pytest
from test_simplex_reference import (
    BACKENDS,
    DTYPES,
    MAPS,
    TOL,
    map_ref,
    smooth_logits,
    sparsemax_ref,
    threshold_bisection,
)

import pyfastnn

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

B, EPS = 0.8, 0.05


def ce(Z, y, name: str, backend: str = "native", **kw):
    b = B if name == "relumax" else None
    return pyfastnn.smoothed_cross_entropy(Z, y, mapping=name, b=b, eps=EPS, backend=backend, **kw)


def n_rows(backend: str) -> tuple[int, int]:
    return (6, 7) if backend == "loop" else (40, 11)


def fd_gradient(f, Z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    G = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = h
        G[idx] = (f(Z + E) - f(Z - E)) / (2 * h)
    return G


# ---- sparsemax loss ----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparsemax_loss_formula_and_gradient(backend: str) -> None:
    """loss = -z_y + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2 (M&A eq. 18), grad = p - e_y."""
    rng = np.random.default_rng(30)
    n, k = n_rows(backend)
    Z = rng.standard_normal((n, k)) * 1.5
    y = rng.integers(0, k, size=n)
    losses, grad = pyfastnn.sparsemax_loss(Z, y, reduction="none", backend=backend)
    tau = threshold_bisection(Z)
    P = sparsemax_ref(Z)
    expected = [
        -z[t] + 0.5 * np.sum(np.where(p > 0, z**2 - s**2, 0)) + 0.5
        for z, t, s, p in zip(Z, y, tau, P)
    ]
    np.testing.assert_allclose(losses, expected, rtol=1e-10, atol=1e-12)
    assert (losses >= 0).all()
    np.testing.assert_allclose(grad, P - np.eye(k)[y], atol=1e-12)
    mean, g_mean = pyfastnn.sparsemax_loss(Z, y, backend=backend)
    np.testing.assert_allclose(mean, np.mean(expected), rtol=1e-10)
    np.testing.assert_allclose(g_mean, grad / n, atol=1e-14)
    total, g_sum = pyfastnn.sparsemax_loss(Z, y, reduction="sum", backend=backend)
    np.testing.assert_allclose(total, np.sum(expected), rtol=1e-10)
    np.testing.assert_allclose(g_sum, grad, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparsemax_loss_finite_differences_and_zero_at_a_clear_win(backend: str) -> None:
    rng = np.random.default_rng(31)
    Z = smooth_logits("sparsemax", rng, 3, 5)
    y = np.array([0, 3, 4])
    T = 0.6
    loss, grad = pyfastnn.sparsemax_loss(Z, y, temperature=T, backend=backend)
    fd = fd_gradient(lambda X: pyfastnn.sparsemax_loss(X, y, temperature=T, backend=backend)[0], Z)
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    # a margin of 1 over every other logit: p = e_y, loss 0, gradient 0
    win = np.array([[0.0, 2.5, 1.4, -3.0]])
    loss, grad = pyfastnn.sparsemax_loss(win, [1], backend=backend)
    assert loss == pytest.approx(0, abs=1e-15)
    np.testing.assert_allclose(grad, 0, atol=1e-15)


def test_sparsemax_loss_is_convex_along_lines() -> None:
    rng = np.random.default_rng(32)
    Z0, Z1 = rng.standard_normal((2, 50, 6)) * 2
    y = rng.integers(0, 6, size=50)
    l0, _ = pyfastnn.sparsemax_loss(Z0, y, reduction="none")
    l1, _ = pyfastnn.sparsemax_loss(Z1, y, reduction="none")
    lm, _ = pyfastnn.sparsemax_loss((Z0 + Z1) / 2, y, reduction="none")
    assert (lm <= (l0 + l1) / 2 + 1e-12).all()


# ---- eps-smoothed cross-entropy -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MAPS)
def test_smoothed_ce_value_and_finite_differences(name: str, backend: str) -> None:
    rng = np.random.default_rng(33)
    n, k = (3, 5) if backend == "loop" else (6, 7)
    Z = smooth_logits(name, rng, n, k, B, scale=0.5)
    y = rng.integers(0, k, size=n)
    T = 0.9
    losses, _ = ce(Z, y, name, backend, reduction="none", temperature=T)
    p_y = map_ref(name, Z, B, T)[np.arange(n), y]
    np.testing.assert_allclose(losses, -np.log((p_y + EPS) / (1 + k * EPS)), rtol=1e-12)
    loss, grad = ce(Z, y, name, backend, temperature=T)
    fd = fd_gradient(lambda X: ce(X, y, name, backend, temperature=T)[0], Z)
    np.testing.assert_allclose(grad, fd, atol=1e-7)
    assert np.abs(grad).max() > 1e-3  # the test can fail


@pytest.mark.parametrize("backend", BACKENDS)
def test_smoothed_ce_label_outside_the_support(backend: str) -> None:
    """p_y = 0: the loss is finite, -log(eps / (1 + K eps)), and sparsemax / relumax are
    locally constant there, so the gradient is 0."""
    Z = np.array([[3.0, 0.0, -1.0, 2.9]])
    for name in ("sparsemax", "relumax"):
        loss, grad = ce(Z, [2], name, backend)
        assert loss == pytest.approx(-np.log(EPS / (1 + 4 * EPS)), rel=1e-12)
        np.testing.assert_array_equal(grad, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_backends_agree(dtype: str) -> None:
    rng = np.random.default_rng(34)
    Z = (rng.standard_normal((8, 9)) * 1.3).astype(dtype)
    y = rng.integers(0, 9, size=8)
    tol = TOL[dtype]
    for fn in [lambda be: pyfastnn.sparsemax_loss(Z, y, reduction="none", backend=be)] + [
        (lambda be, m=m: ce(Z, y, m, be, reduction="none", temperature=1.7)) for m in MAPS
    ]:
        (l0, g0), (l1, g1), (l2, g2) = (fn(be) for be in BACKENDS)
        assert g0.dtype == np.dtype(dtype)
        np.testing.assert_allclose(l1, l0, rtol=1e-5 if dtype == "float32" else 1e-11)
        np.testing.assert_allclose(l2, l0, rtol=1e-5 if dtype == "float32" else 1e-11)
        np.testing.assert_allclose(g1, g0, **tol)
        np.testing.assert_allclose(g2, g0, **tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_non_finite_logits(backend: str) -> None:
    Z = np.array([[0.5, np.nan, 0.1], [-np.inf, 1.0, 0.0], [0.2, 0.1, 0.0]])
    y = np.array([0, 0, 1])
    losses, grad = pyfastnn.sparsemax_loss(Z, y, reduction="none", backend=backend)
    assert np.isnan(losses[0]) and np.isnan(grad[0]).all()
    assert losses[1] == np.inf  # the label's logit is -inf
    np.testing.assert_allclose(grad[1], [-1, 1, 0], atol=1e-15)
    assert np.isfinite(losses[2])
    for name in MAPS:
        losses, grad = ce(Z, y, name, backend, reduction="none")
        assert np.isnan(losses[0]) and np.isnan(grad[0]).all()
        assert losses[1] == pytest.approx(-np.log(EPS / (1 + 3 * EPS)), rel=1e-12)
        assert np.isfinite(grad[1:]).all()
