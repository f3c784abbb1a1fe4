"""``axis=`` on the simplex maps, products, Jacobians and losses: arrays of any
dimension, 1-D vectors, views without copies, axis out of range."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import simplex as S

BACKENDS = ("loop", "vector", "native")
# (map, its parameter as positional args)
MAPS = [("softmax", ()), ("sparsemax", ()), ("relumax", (0.8,)), ("entmax15", ()),
        ("entmax_bisect", (1.3,))]  # fmt: skip


def _rows_along(X: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(X, axis, -1).reshape(-1, X.shape[axis])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, args", MAPS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_any_axis_equals_the_rows_of_the_moved_array(name, args, axis, backend) -> None:
    rng = np.random.default_rng(axis + 5)
    X = rng.standard_normal((3, 4, 5))
    V = rng.standard_normal((3, 4, 5))
    fwd = getattr(S, name)
    got = fwd(X, *args, axis=axis, backend=backend)
    assert got.shape == X.shape
    want = fwd(_rows_along(X, axis), *args, backend=backend)
    np.testing.assert_array_equal(_rows_along(got, axis), want)
    np.testing.assert_allclose(got.sum(axis=axis), 1, atol=1e-12)
    for kind in ("jvp", "vjp", "jvp_from_output", "vjp_from_output"):
        f = getattr(S, f"{name}_{kind}")
        base = got if "output" in kind else X
        r = f(base, V, *args, axis=axis, backend=backend)
        w = f(_rows_along(base, axis), _rows_along(V, axis), *args, backend=backend)
        np.testing.assert_array_equal(_rows_along(r, axis), w)
    J = getattr(S, f"{name}_jacobian")(X, *args, axis=axis, backend=backend)
    K = X.shape[axis]
    assert J.shape == tuple(np.delete(X.shape, axis % 3)) + (K, K)
    Jr = J.reshape(-1, K, K)
    rows = _rows_along(X, axis)
    for i in (0, len(rows) - 1):
        np.testing.assert_allclose(  # one row may take another kernel than many
            Jr[i], getattr(S, f"{name}_jacobian")(rows[i], *args, backend=backend), atol=1e-14
        )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "loss, args",
    [("sparsemax_loss", ()), ("entmax15_loss", ()), ("entmax_bisect_loss", (1.7,))],
)
def test_losses_take_the_class_axis(loss, args, backend) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 5, 3))  # classes on axis 1, as torch's (N, C, d)
    y = rng.integers(0, 5, (2, 3))
    f = getattr(S, loss)
    rows, grad = f(X, y, *args, axis=1, reduction="none", backend=backend)
    assert rows.shape == (2, 3) and grad.shape == X.shape
    want_rows, want_grad = f(_rows_along(X, 1), y.reshape(-1), *args, reduction="none",
                             backend=backend)  # fmt: skip
    np.testing.assert_array_equal(rows.reshape(-1), want_rows)
    np.testing.assert_array_equal(_rows_along(grad, 1), want_grad)
    mean, g = f(X, y, *args, axis=1, backend=backend)
    assert mean == pytest.approx(rows.mean())
    np.testing.assert_allclose(g, grad / 6)
    with pytest.raises(ValueError, match="^y:"):
        f(X, y.T, *args, axis=1, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_dimensional_vectors(backend) -> None:
    z = np.array([0.3, -1.0, 2.0, 1.9])
    for name, args in MAPS:
        p = getattr(S, name)(z, *args, backend=backend)
        assert p.shape == (4,)
        np.testing.assert_array_equal(p, getattr(S, name)(z[None], *args, backend=backend)[0])
    loss, grad = S.entmax15_loss(z, 2, backend=backend)
    assert isinstance(loss, float) and grad.shape == (4,)
    rows, _ = S.sparsemax_loss(z, np.int64(3), reduction="none", backend=backend)
    assert rows.shape == ()
    assert S.sparsemax_threshold(z, backend=backend).shape == ()


def test_no_copy_when_contiguous_along_the_last_axis() -> None:
    X = np.random.default_rng(0).standard_normal((2, 3, 8))
    out = np.empty_like(X)
    res = S.entmax15(X, out=out)
    assert res is out
    np.testing.assert_array_equal(out, S.entmax15(X.reshape(6, 8)).reshape(X.shape))
    out1 = np.empty_like(X)
    assert S.sparsemax(X, axis=1, out=out1) is out1  # another axis: filled through a copy
    np.testing.assert_array_equal(out1, S.sparsemax(X, axis=1))


@pytest.mark.parametrize("axis", [3, -4, 1.0, True, "0"])
def test_axis_out_of_range_or_not_an_integer(axis) -> None:
    X = np.zeros((2, 3, 4))
    exc = ValueError if isinstance(axis, int) and not isinstance(axis, bool) else TypeError
    for call in (
        lambda: S.softmax(X, axis=axis),
        lambda: S.entmax_bisect_vjp(X, X, 1.5, axis=axis),
        lambda: S.sparsemax_loss(X, np.zeros((2, 3), int), axis=axis),
        lambda: S.entmax15_jacobian(X, axis=axis),
    ):
        with pytest.raises(exc, match="^axis:"):
            call()
