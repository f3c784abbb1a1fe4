"""Pooling against a loop reference and by hand; flattening; scaling to [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn.data import (
    Splits,
    avg_pool2x2,
    flatten_images,
    max_pool2x2,
    pool_splits,
    scale_splits,
    scale_to_unit,
    unit_range,
)


def loop_pool(images: np.ndarray, op) -> np.ndarray:
    """Reference: visit every output pixel; odd last row/column dropped."""
    n, h, w = images.shape
    out = np.zeros((n, h // 2, w // 2))
    for k in range(n):
        for i in range(h // 2):
            for j in range(w // 2):
                block = [images[k, 2 * i + a, 2 * j + b] for a in (0, 1) for b in (0, 1)]
                out[k, i, j] = op(block)
    return out


SIDES = [(2, 2), (4, 4), (5, 5), (7, 4), (6, 9), (3, 2), (28, 28), (13, 11)]


@pytest.mark.parametrize(("h", "w"), SIDES)
def test_pooling_matches_loop(h: int, w: int, rng: np.random.Generator) -> None:
    images = rng.normal(size=(3, h, w))
    ref_avg = loop_pool(images, lambda b: sum(b) / 4)
    ref_max = loop_pool(images, max)
    np.testing.assert_allclose(avg_pool2x2(images), ref_avg, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(max_pool2x2(images), ref_max)
    flat = images.reshape(3, h * w)
    np.testing.assert_allclose(
        avg_pool2x2(flat, (h, w)), ref_avg.reshape(3, -1), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(max_pool2x2(flat, (h, w)), ref_max.reshape(3, -1))


def test_pooling_by_hand() -> None:
    img = np.array(
        [
            [1, 2, 5, 6, 9],
            [3, 4, 7, 8, 9],
            [0, 0, 1, 1, 9],
            [0, 8, 1, 3, 9],
            [9, 9, 9, 9, 9],  # odd side: last row and column dropped
        ],
        dtype=np.uint8,
    )[None]
    np.testing.assert_array_equal(avg_pool2x2(img), [[[2.5, 6.5], [2.0, 1.5]]])
    np.testing.assert_array_equal(max_pool2x2(img), [[[4, 8], [8, 3]]])
    assert avg_pool2x2(img).dtype == np.float64  # integers average to float64
    assert max_pool2x2(img).dtype == np.uint8  # max keeps the dtype
    assert avg_pool2x2(img.astype(np.float32)).dtype == np.float32


def test_pooling_28_to_14_and_errors(rng: np.random.Generator) -> None:
    X = rng.random((4, 784)).astype(np.float32)
    assert avg_pool2x2(X, (28, 28)).shape == (4, 196)
    assert max_pool2x2(X.reshape(4, 28, 28)).shape == (4, 14, 14)
    with pytest.raises(ValueError, match="image_shape: required"):
        avg_pool2x2(X)
    with pytest.raises(ValueError, match="does not fold"):
        avg_pool2x2(X, (27, 28))
    with pytest.raises(ValueError, match="sides >= 2"):
        max_pool2x2(np.zeros((2, 1, 6)))
    with pytest.raises(ValueError, match="does not match"):
        max_pool2x2(np.zeros((2, 4, 6)), (6, 4))


def test_pool_splits(rng: np.random.Generator) -> None:
    X = rng.random((10, 35))
    s = Splits(X, np.arange(10) % 2, X[:3], np.zeros(3, np.int64), image_shape=(7, 5), name="t")
    p = pool_splits(s, "max")
    assert p.image_shape == (3, 2) and p.X_train.shape == (10, 6) and p.X_val.shape == (3, 6)
    np.testing.assert_array_equal(p.X_val, max_pool2x2(X[:3], (7, 5)))
    np.testing.assert_array_equal(p.y_train, s.y_train)
    with pytest.raises(ValueError, match="pool"):
        pool_splits(s, "sum")
    with pytest.raises(ValueError, match="no image_shape"):
        pool_splits(Splits(X, np.arange(10)), "avg")


def test_flatten_images(rng: np.random.Generator) -> None:
    images = rng.integers(0, 9, size=(3, 4, 5))
    flat, shape = flatten_images(images)
    assert shape == (4, 5) and flat.shape == (3, 20)
    assert flat[1, 2 * 5 + 3] == images[1, 2, 3]  # row-major
    with pytest.raises(ValueError):
        flatten_images(flat)


def test_scale_uint8_uses_the_type_range() -> None:
    X = np.array([[0, 51, 102], [10, 20, 30]], np.uint8)
    out = scale_to_unit(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X / 255.0, rtol=1e-7)
    assert unit_range(np.array([5, 6], np.uint8)) == (0.0, 255.0)


@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.int64, np.float32])
def test_scale_min_max_over_the_whole_array(dtype, rng: np.random.Generator) -> None:
    X = (rng.normal(size=(20, 3)) * 50).astype(dtype)
    out = scale_to_unit(X, dtype=np.float64)
    assert out.min() == 0.0 and out.max() == 1.0
    # one range for all features, so an affine map of the whole array
    lo, hi = float(X.min()), float(X.max())
    np.testing.assert_allclose(out, (X.astype(np.float64) - lo) / (hi - lo), rtol=1e-12)


def test_scale_constant_and_given_range() -> None:
    for value in (0.0, 7.0, -3.0):
        out = scale_to_unit(np.full((4, 3), value))
        assert np.all(out == 0.0) and np.all(np.isfinite(out))
    out = scale_to_unit(np.array([[0.0, 8.0, 20.0]]), value_range=(0.0, 16.0))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.25]])  # not clipped
    with pytest.raises(ValueError, match="NaN"):
        scale_to_unit(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="value_range"):
        scale_to_unit(np.ones(3), value_range=(2.0, 1.0))


def test_scale_splits_uses_the_training_range() -> None:
    X_train = np.array([[2.0, 4.0], [6.0, 10.0]])
    X_test = np.array([[0.0, 6.0]])
    s = Splits(X_train, np.array([0, 1]), X_test=X_test, y_test=np.array([1]))
    t = scale_splits(s, dtype=np.float64)
    np.testing.assert_allclose(t.X_train, (X_train - 2) / 8)
    np.testing.assert_allclose(t.X_test, [[-0.25, 0.5]])
    assert t.X_val is None
