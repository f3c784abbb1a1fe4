""".npz archives of named splits: round trips, aliases, carving and rejections."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from pyfastnn.data import load_dataset, load_npz_splits


def arrays(rng: np.random.Generator, n: int, d: int = 6, k: int = 3):
    X = rng.normal(size=(n, d))
    y = np.arange(n) % k
    return X, y


def test_round_trip_all_parts(tmp_path: Path, rng: np.random.Generator) -> None:
    parts = {p: arrays(rng, n) for p, n in (("train", 30), ("val", 9), ("test", 12))}
    path = tmp_path / "d.npz"
    np.savez(
        path,
        X_train=parts["train"][0],
        y_train=parts["train"][1].astype(np.uint8),
        X_valid=parts["val"][0],
        y_valid=parts["val"][1],
        X_test=parts["test"][0],
        y_test=parts["test"][1].astype(np.float64),
        comment=np.array("ignored"),
    )
    s = load_npz_splits(path, scale=False)
    assert s.name == "d" and s.image_shape is None
    for part, (X, y) in parts.items():
        np.testing.assert_array_equal(getattr(s, f"X_{part}"), X)
        np.testing.assert_array_equal(getattr(s, f"y_{part}"), y)
        assert getattr(s, f"y_{part}").dtype == np.int64
    # scaled: one min and max taken from the training part, applied to all parts
    t = load_npz_splits(path)
    lo, hi = parts["train"][0].min(), parts["train"][0].max()
    assert t.X_train.dtype == np.float32
    assert t.X_train.min() == 0.0 and t.X_train.max() == 1.0
    np.testing.assert_allclose(t.X_test, (parts["test"][0] - lo) / (hi - lo), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alias", ["val", "valid", "validation"])
def test_validation_aliases(tmp_path: Path, rng: np.random.Generator, alias: str) -> None:
    X, y = arrays(rng, 10)
    path = tmp_path / "a.npz"
    np.savez(path, X_train=X, y_train=y, **{f"X_{alias}": X[:4], f"y_{alias}": y[:4]})
    s = load_npz_splits(path, scale=False)
    np.testing.assert_array_equal(s.X_val, X[:4])
    assert s.X_test is None


def test_keras_style_images(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.integers(0, 256, size=(40, 4, 6), dtype=np.uint8)
    y = np.arange(40) % 4
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    s = load_npz_splits(path, val_fraction=0.2, seed=3)
    assert s.image_shape == (4, 6) and s.n_features == 24
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (24, 6, 10)
    np.testing.assert_allclose(s.X_test, x[30:].reshape(10, 24) / 255.0, rtol=1e-6)
    # carved validation: stratified (30 rows, 4 classes -> shares within one row)
    counts = np.bincount(s.y_val, minlength=4)
    assert counts.sum() == 6 and np.all(np.abs(counts - 0.2 * np.bincount(y[:30])) < 1)
    # train + val are the archive's training rows, nothing lost or repeated
    both = np.concatenate([s.X_train, s.X_val]) * 255
    assert sorted(map(bytes, np.rint(both).astype(np.uint8))) == sorted(
        map(bytes, x[:30].reshape(30, 24))
    )
    again = load_dataset(f"npz:{path}", val_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again.y_val, s.y_val)


def test_flat_rows_with_image_shape_and_remap(tmp_path: Path) -> None:
    X = np.arange(8 * 9, dtype=np.float64).reshape(8, 9)
    path = tmp_path / "f.npz"
    np.savez(path, X_train=X, y_train=np.arange(8) % 2 + 1)
    s = load_npz_splits(path, image_shape=(3, 3), val_fraction=0, remap_labels="auto")
    assert s.image_shape == (3, 3) and s.label_offset == 1
    np.testing.assert_array_equal(s.y_train, np.arange(8) % 2)


class Trap:
    """Unpickling this creates a directory: proof that pickle ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "evil.npz"
    obj = np.empty(3, dtype=object)
    obj[:] = [Trap(str(marker)), 1, 2]
    np.savez(path, X_train=np.zeros((3, 2)), y_train=obj)
    with pytest.raises(ValueError, match="'y_train' holds Python objects") as err:
        load_npz_splits(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_pickle_file_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "evil2.npz"
    path.write_bytes(pickle.dumps({"X_train": Trap(str(marker))}))
    with pytest.raises(ValueError, match="pickled data are refused"):
        load_npz_splits(path)
    assert not marker.exists()


def test_other_rejections(tmp_path: Path) -> None:
    def save(name: str, **kw: np.ndarray) -> Path:
        p = tmp_path / name
        np.savez(p, **kw)
        return p

    X, y = np.zeros((4, 2)), np.arange(4)
    cases = [
        (save("a.npz", X_train=X), "'X_train' has no matching y_train"),
        (save("b.npz", X_train=X, y_train=y, y_test=y), "'y_test' has no matching X_test"),
        (save("c.npz", X_test=X, y_test=y), "no X_train/y_train.*X_valid"),
        (save("d.npz", X_train=X, y_train=y[:3]), "X_train has 4 rows but y_train has 3"),
        (save("e.npz", X_train=X, y_train=y, X_val=X, y_val=y, X_valid=X), "several arrays"),
        (save("f.npz", X_train=X.astype(str), y_train=y), "real numbers"),
        (save("g.npz", X_train=X + np.nan, y_train=y), "NaN"),
        (save("h.npz", X_train=X, y_train=y + 0.5), "whole numbers"),
        (save("i.npz", X_train=X, y_train=y - 1), ">= 0"),
        (save("j.npz", X_train=X[:, :, None, None], y_train=y), r"\(N, D\) or \(N, h, w\)"),
        (save("k.npz", X_train=X, y_train=X), r"must be \(N,\)"),
    ]
    for path, message in cases:
        with pytest.raises(ValueError, match=message):
            load_npz_splits(path)
    np.save(tmp_path / "single.npy", X)
    with pytest.raises(ValueError, match="single .npy array"):
        load_npz_splits(tmp_path / "single.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_npz_splits(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        load_npz_splits(tmp_path / "absent.npz")
