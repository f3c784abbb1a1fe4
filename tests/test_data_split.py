"""Seeded, stratified splits and the Splits container."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyfastnn.data import Splits, split_indices, train_val_test_split


def labels(sizes: list[int]) -> np.ndarray:
    y = np.repeat(np.arange(len(sizes)), sizes)
    return np.random.default_rng(len(y)).permutation(y)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    test_fraction=st.floats(0.0, 0.5),
    val_fraction=st.floats(0.0, 0.4),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_properties(sizes, test_fraction, val_fraction, seed) -> None:
    y = labels(sizes)
    n = len(y)
    n_test_total = int(np.floor(test_fraction * n + 0.5))
    try:
        tr, va, te = split_indices(
            y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed
        )
    except ValueError as err:  # only when nothing is left to train on
        assert "no rows left" in str(err)
        return
    # a partition of all rows (each part in a seeded random order)
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(n))
    # totals follow the rounding rule
    assert len(te) == n_test_total
    assert len(va) == int(np.floor(val_fraction * (n - len(te)) + 0.5))
    # every class within one row of its exact share
    for c, n_c in enumerate(sizes):
        t_c = np.count_nonzero(y[te] == c)
        v_c = np.count_nonzero(y[va] == c)
        assert abs(t_c - test_fraction * n_c) < 1
        assert abs(v_c - val_fraction * (n_c - t_c)) < 1


def test_deterministic_and_seed_dependent() -> None:
    y = labels([50, 30, 20])
    a = split_indices(y, seed=7)
    b = split_indices(y, seed=7)
    c = split_indices(y, seed=8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])


def test_test_part_does_not_depend_on_val_fraction() -> None:
    y = labels([40, 25, 35])
    tests = {
        stratify: [
            split_indices(y, val_fraction=f, seed=1, stratify=stratify)[2] for f in (0, 0.1, 0.3)
        ]
        for stratify in (True, False)
    }
    for parts in tests.values():
        for other in parts[1:]:
            np.testing.assert_array_equal(parts[0], other)


def test_unstratified_counts() -> None:
    y = np.zeros(101, np.int64)
    y[:3] = 1
    tr, va, te = split_indices(y, test_fraction=0.25, val_fraction=0.5, stratify=False, seed=0)
    assert (len(te), len(va), len(tr)) == (25, 38, 38)


def test_stratified_proportions_large() -> None:
    y = labels([600, 300, 100])
    s = train_val_test_split(np.zeros((len(y), 1)), y, test_fraction=0.2, val_fraction=0.1)
    for part_y, share in ((s.y_test, 0.2), (s.y_val, 0.08), (s.y_train, 0.72)):
        np.testing.assert_array_equal(np.bincount(part_y), np.array([600, 300, 100]) * share)


def test_train_val_test_split_rows_follow_labels(rng: np.random.Generator) -> None:
    y = labels([20, 20, 10])
    X = np.column_stack([y * 10.0, rng.normal(size=len(y))])  # row carries its label
    s = train_val_test_split(X, y, seed=4, name="t", test_fraction=0.2, val_fraction=0.25)
    for _, Xp, yp in s.parts():
        np.testing.assert_array_equal(Xp[:, 0], yp * 10.0)
        assert yp.dtype == np.int64
    assert s.info["seed"] == 4 and s.name == "t"
    none = train_val_test_split(X, y, test_fraction=0.0, val_fraction=0.0)
    assert none.X_val is None and none.X_test is None and len(none.X_train) == len(y)


def test_split_argument_errors() -> None:
    y = np.arange(10) % 2
    for kw in ({"test_fraction": 1.0}, {"val_fraction": -0.1}, {"test_fraction": float("nan")}):
        with pytest.raises(ValueError, match="fraction"):
            split_indices(y, **kw)
    with pytest.raises(ValueError, match="no rows left"):
        split_indices(np.arange(2), test_fraction=0.5, val_fraction=0.9, stratify=False)
    with pytest.raises(ValueError, match="y: expected"):
        train_val_test_split(np.zeros((10, 2)), y[:9])
    with pytest.raises(ValueError, match="whole numbers"):
        train_val_test_split(np.zeros((10, 2)), y + 0.5)


def test_splits_validation() -> None:
    X, y = np.zeros((4, 6)), np.arange(4, dtype=np.int64)
    s = Splits(X, y, X_test=X[:2], y_test=y[:2], image_shape=[2, 3], name="s")
    assert s.image_shape == (2, 3) and s.n_features == 6 and s.n_classes == 4
    assert [p for p, *_ in s.parts()] == ["train", "test"]
    assert "train=4x6" in repr(s) and "test=2x6" in repr(s)
    bad = [
        ({"X_val": X}, "y_val: missing"),
        ({"X_test": X, "y_test": y[:3]}, "4 rows in X but 3 labels"),
        ({"X_test": np.zeros((4, 5)), "y_test": y}, "different numbers of features"),
        ({"image_shape": (4, 4)}, "does not fold"),
    ]
    for kw, message in bad:
        with pytest.raises(ValueError, match=message):
            Splits(X, y, **kw)
    with pytest.raises(ValueError, match="int64"):
        Splits(X, y.astype(np.int32))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        Splits(X[None], y)
    with pytest.raises(ValueError, match=">= 0"):
        Splits(X, y - 1)


def test_images_are_flattened(rng: np.random.Generator) -> None:
    images = rng.random((30, 3, 4))
    y = np.arange(30) % 3
    s = train_val_test_split(images, y, seed=5)
    assert s.image_shape == (3, 4) and s.n_features == 12
    flat = train_val_test_split(images.reshape(30, 12), y, seed=5)
    np.testing.assert_array_equal(s.X_test, flat.X_test)
    with pytest.raises(ValueError, match="image_shape"):
        train_val_test_split(images, y, image_shape=(4, 3))


def test_largest_remainders_get_the_extra_rows() -> None:
    # exact test shares 2, 2.5, 2.5 (total 7): one class must round up, and
    # the documented tie rule gives it to the smaller label, never to class 0
    y = labels([4, 5, 5])
    _, _, te = split_indices(y, test_fraction=0.5, val_fraction=0.0, seed=0)
    np.testing.assert_array_equal(np.bincount(y[te]), [2, 3, 2])
    # shares 0.9, 1.8, 0.3 (total 3): the two largest remainders round up
    y = labels([3, 6, 1])
    _, _, te = split_indices(y, test_fraction=0.3, val_fraction=0.0, seed=1)
    np.testing.assert_array_equal(np.bincount(y[te], minlength=3), [1, 2, 0])
