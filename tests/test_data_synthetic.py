"""Circles and moons: shapes, balance, geometry, determinism; the name registry."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn.data import DATASET_NAMES, load_dataset, make_circles, make_moons


@pytest.mark.parametrize("make", [make_circles, make_moons])
@pytest.mark.parametrize("n", [2, 7, 100])
def test_shapes_balance_determinism(make, n: int) -> None:
    X, y = make(n, noise=0.1, seed=3)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.count_nonzero(y == 0) == n - n // 2 and np.count_nonzero(y == 1) == n // 2
    X2, y2 = make(n, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(n, noise=0.1, seed=4)
    assert not np.array_equal(X, X3)


def test_circles_geometry() -> None:
    X, y = make_circles(200, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)
    assert np.any(y[:100] == 0) and np.any(y[:100] == 1)  # shuffled, not class blocks
    Xn, yn = make_circles(4000, noise=0.05, factor=0.3, seed=1)
    rn = np.hypot(Xn[:, 0], Xn[:, 1])
    assert abs(np.std(rn[yn == 0] - 1.0) - 0.05) < 0.005
    assert abs(np.mean(rn[yn == 1]) - 0.3) < 0.01


def test_moons_geometry() -> None:
    X, y = make_moons(301, noise=0.0, seed=0)
    up, low = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(up[:, 0], up[:, 1]), 1.0)
    assert np.all(up[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(low[:, 0] - 1.0, low[:, 1] - 0.5), 1.0)
    assert np.all(low[:, 1] <= 0.5 + 1e-12)
    # points spread over the whole arc
    assert up[:, 0].min() == pytest.approx(-1.0) and up[:, 0].max() == pytest.approx(1.0)
    assert low[:, 0].min() == pytest.approx(0.0) and low[:, 0].max() == pytest.approx(2.0)


def test_generator_errors() -> None:
    for kw in ({"n": 1}, {"n": 2.5}, {"noise": -0.1}, {"noise": float("inf")}, {"seed": "a"}):
        with pytest.raises(ValueError):
            make_moons(**{"n": 10, **kw})
    for factor in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="factor"):
            make_circles(10, factor=factor)


@pytest.mark.parametrize("name", ["circles", "moons"])
def test_registry_toy_data(name: str) -> None:
    s = load_dataset(name, n=500, seed=2)
    assert s.name == name and s.image_shape is None
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (360, 40, 100)
    for _, _, y in s.parts():
        assert abs(np.count_nonzero(y) - len(y) / 2) <= 1  # stratified, balanced
    again = load_dataset(name, n=500, seed=2)
    np.testing.assert_array_equal(again.X_test, s.X_test)


def test_registry_errors() -> None:
    for bad in ("mnist", "idx:", "npz", "csv:x.csv", "Digits"):
        with pytest.raises(ValueError, match="unknown name") as err:
            load_dataset(bad)
        for known in DATASET_NAMES:
            assert known in str(err.value)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['size'\].*'noise'"):
        load_dataset("moons", size=3)
    with pytest.raises(ValueError, match="no image_shape"):
        load_dataset("circles", pool="avg")
