"""IDX files: round trips (raw and gzip, every dtype code), malformed files, directories."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from pyfastnn.data import find_idx_files, load_dataset, load_idx, load_idx_dir, load_mnist_idx

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    """A minimal IDX writer: header with struct, values big-endian."""
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=CODES[code]).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def sample(code: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    dt = np.dtype(CODES[code])
    if dt.kind == "f":
        return rng.normal(size=shape).astype(dt.newbyteorder("="))
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dt.newbyteorder("="))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (2, 1, 3, 2), (0, 4)])
def test_round_trip(tmp_path: Path, code: int, shape: tuple[int, ...], gz: bool) -> None:
    arr = sample(code, shape, np.random.default_rng(code))
    out = load_idx(write(tmp_path / "a.idx", idx_bytes(arr, code), gz))
    assert out.shape == shape
    assert out.dtype == np.dtype(CODES[code]).newbyteorder("=")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # a writable copy, not a view of the file bytes


def test_hand_made_bytes(tmp_path: Path) -> None:
    # int16, 1 dimension of size 3: values 1, -2, 258 written out by hand.
    data = bytes([0, 0, 0x0B, 1, 0, 0, 0, 3, 0x00, 0x01, 0xFF, 0xFE, 0x01, 0x02])
    np.testing.assert_array_equal(load_idx(write(tmp_path / "h", data)), [1, -2, 258])
    # float64 scalar 1.5 in a (1, 1) array
    data = bytes([0, 0, 0x0E, 2, 0, 0, 0, 1, 0, 0, 0, 1]) + struct.pack(">d", 1.5)
    assert load_idx(write(tmp_path / "f", data))[0, 0] == 1.5


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw_named_gz = write(tmp_path / "x.gz", idx_bytes(arr, 0x08))
    gz_named_raw = write(tmp_path / "x-idx3-ubyte", idx_bytes(arr, 0x08), gz=True)
    np.testing.assert_array_equal(load_idx(raw_named_gz), arr)
    np.testing.assert_array_equal(load_idx(gz_named_raw), arr)


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00" + GOOD[2:], "wrong magic number"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX dtype code 0x0A"),
        (GOOD[:3] + b"\x00", "0 dimensions"),
        (GOOD[:3], "truncated IDX header"),
        (GOOD[:10], "truncated IDX header"),
        (GOOD[:-1], "truncated data"),
        (GOOD[:16], "truncated data"),
        (GOOD + b"\x00\x00", "2 trailing bytes"),
        (idx_bytes(np.zeros((2, 3), ">i4"), 0x0C)[:-2], "truncated data"),
    ],
)
def test_malformed(tmp_path: Path, data: bytes, message: str, gz: bool) -> None:
    path = write(tmp_path / "bad-images", data, gz)
    with pytest.raises(ValueError, match=message) as err:
        load_idx(path)
    assert str(path) in str(err.value)


def test_broken_gzip_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken", gzip.compress(GOOD)[:-10])
    with pytest.raises(ValueError, match="gzip") as err:
        load_idx(path)
    assert str(path) in str(err.value)
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope")


def test_huge_declared_shape_is_truncation_not_allocation(tmp_path: Path) -> None:
    data = struct.pack(">BBBB", 0, 0, 0x0E, 3) + struct.pack(">3I", 2**31, 2**31, 2**31)
    with pytest.raises(ValueError, match="truncated data"):
        load_idx(write(tmp_path / "huge", data))


def mnist_pair(tmp_path: Path, n: int, h: int, w: int, labels: np.ndarray, gz: bool, stem: str):
    rng = np.random.default_rng(n)
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    ip = write(tmp_path / f"{stem}-images-idx3-ubyte{'.gz' * gz}", idx_bytes(images, 0x08), gz)
    lp = write(tmp_path / f"{stem}-labels-idx1-ubyte{'.gz' * gz}", idx_bytes(labels, 0x08), gz)
    return images, ip, lp


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx(tmp_path: Path, gz: bool) -> None:
    labels = np.array([3, 0, 9, 1, 1], np.uint8)
    images, ip, lp = mnist_pair(tmp_path, 5, 28, 28, labels, gz, "train")
    X, y = load_mnist_idx(ip, lp)
    assert X.shape == (5, 784) and X.dtype == np.uint8
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)
    for i in range(5):  # row-major flattening, image by image
        np.testing.assert_array_equal(X[i], images[i].ravel())
    X3, _ = load_mnist_idx(ip, lp, flatten=False)
    np.testing.assert_array_equal(X3, images)
    Xt, _ = load_mnist_idx(ip, lp, flatten=False, transpose=True)
    np.testing.assert_array_equal(Xt[2], images[2].T)


def test_load_mnist_idx_rejects_mismatch(tmp_path: Path) -> None:
    _, ip, _ = mnist_pair(tmp_path, 4, 5, 5, np.zeros(4, np.uint8), False, "train")
    lp = write(tmp_path / "other-labels", idx_bytes(np.zeros(3, np.uint8), 0x08))
    with pytest.raises(ValueError, match="4 images but other-labels has 3 labels"):
        load_mnist_idx(ip, lp)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, h, w\)"):
        load_mnist_idx(lp, lp)
    with pytest.raises(ValueError, match=r"expected labels of shape \(N,\)"):
        load_mnist_idx(ip, ip)
    fl = write(tmp_path / "float-labels", idx_bytes(np.zeros(4), 0x0E))
    with pytest.raises(ValueError, match="integer labels"):
        load_mnist_idx(ip, fl)


def make_mnist_dir(root: Path, gz: bool, prefix: str = "", test_stem: str = "t10k", first=0):
    root.mkdir(exist_ok=True)
    y_tr = (np.arange(60) % 10 + first).astype(np.uint8)
    y_te = (np.arange(20) % 10 + first).astype(np.uint8)
    tr, *_ = mnist_pair(root, 60, 6, 5, y_tr, gz, f"{prefix}train")
    te, *_ = mnist_pair(root, 20, 6, 5, y_te, gz, f"{prefix}{test_stem}")
    return tr, y_tr, te, y_te


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory(tmp_path: Path, gz: bool) -> None:
    tr, y_tr, te, y_te = make_mnist_dir(tmp_path / "mnist", gz)
    s = load_dataset(f"idx:{tmp_path / 'mnist'}", val_fraction=0.1)
    assert s.image_shape == (6, 5) and s.label_offset == 0
    assert len(s.X_train) == 54 and len(s.X_val) == 6 and len(s.X_test) == 20
    assert s.X_train.dtype == np.float32
    # rows come shuffled (load_dataset shuffles every part): compare (label, pixels) sets
    key = lambda X, y: sorted(  # noqa: E731
        (int(c), *r) for c, r in zip(y, np.rint(X).astype(int).tolist())
    )
    assert key(s.X_test * 255, s.y_test) == key(te.reshape(20, -1), y_te)
    # train + val together are exactly the training file's rows
    both = (np.concatenate([s.X_train, s.X_val]) * 255, np.concatenate([s.y_train, s.y_val]))
    assert key(*both) == key(tr.reshape(60, -1), y_tr)
    raw = load_idx_dir(tmp_path / "mnist", scale=False, val_fraction=0)
    assert raw.X_val is None and raw.X_train.dtype == np.uint8
    assert key(raw.X_train, raw.y_train) == key(tr.reshape(60, -1), y_tr)


def test_idx_directory_emnist_prefix_and_remap(tmp_path: Path) -> None:
    root = tmp_path / "emnist"
    make_mnist_dir(root, True, prefix="emnist-letters-", test_stem="test", first=1)
    make_mnist_dir(root, False, prefix="emnist-digits-", test_stem="test")
    with pytest.raises(ValueError, match="several train images files.*prefix="):
        load_idx_dir(root)
    s = load_idx_dir(root, prefix="emnist-letters-", scale=False)
    assert s.name == "emnist-letters" and s.label_offset == 1
    assert s.y_train.min() == 0 and s.y_test.max() == 9  # stored 1..10
    kept = load_idx_dir(root, prefix="emnist-letters-", remap_labels=False, val_fraction=0)
    assert kept.label_offset == 0 and kept.y_train.min() == 1
    digits = load_idx_dir(root, prefix="emnist-digits-", remap_labels="auto")
    assert digits.label_offset == 0 and digits.y_train.min() == 0
    with pytest.raises(ValueError, match="must start at 1"):
        load_idx_dir(root, prefix="emnist-digits-", remap_labels=True)


def test_idx_directory_raw_and_gz_copies(tmp_path: Path) -> None:
    root = tmp_path / "both"
    make_mnist_dir(root, True)
    make_mnist_dir(root, False)  # same names without .gz (as after gunzip -k)
    files = find_idx_files(root)
    assert all(not p.name.endswith(".gz") for p in files.values())


def test_idx_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_idx_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_idx_dir(tmp_path / "empty")
    root = tmp_path / "half"
    make_mnist_dir(root, False)
    (root / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="no matching test file"):
        load_idx_dir(root)
    (root / "t10k-images-idx3-ubyte").unlink()
    s = load_idx_dir(root)  # the test pair is optional
    assert s.X_test is None


def test_home_directory_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    make_mnist_dir(tmp_path / "mnist", True)
    assert load_dataset("idx:~/mnist").X_test.shape == (20, 30)
