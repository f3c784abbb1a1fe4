"""Datasets for the sweeps and the command line, and their feature maps.

``load_splits(name, **options)`` is ``pyfastnn.data.load_dataset``. Until that
module is part of the package, "digits", "circles" and "moons" come from
scikit-learn (when installed) with the same 60/20/20 split layout.

``features(splits, "raw" | "avgpool" | "maxpool")`` maps square images (rows
of side*side pixels) through 2x2 average or max pooling (an odd last row or
column is dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

FEATURES = ("raw", "avgpool", "maxpool")


@dataclass
class Splits:
    """Train / validation / test arrays: X_* (N, D) floats, y_* (N,) labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_splits(name: str, **options: Any) -> Any:
    """The named dataset as an object with X_train, y_train, ..., y_test."""
    try:
        from .data import load_dataset  # type: ignore[import-not-found]
    except ModuleNotFoundError as err:
        if err.name not in (f"{__package__}.data",):
            raise
        return _fallback(name, **options)
    return load_dataset(name, **options)


def features(splits: Any, kind: str) -> Any:
    """``splits`` with every X mapped by ``kind`` ("raw" returns it unchanged)."""
    if kind == "raw":
        return splits
    if kind not in FEATURES:
        raise ValueError(f"features: expected one of {FEATURES}, got {kind!r}")
    mode = kind[:3]
    mapped = {name: pool2x2(getattr(splits, name), mode) for name in ("X_train", "X_val", "X_test")}
    try:
        return replace(splits, **mapped)
    except TypeError:  # not a dataclass
        return Splits(
            mapped["X_train"],
            splits.y_train,
            mapped["X_val"],
            splits.y_val,
            mapped["X_test"],
            splits.y_test,
        )


def pool2x2(X: np.ndarray, mode: str = "avg") -> np.ndarray:
    """2x2 pooling ("avg" or "max") of square images: (N, s*s) -> (N, (s//2)**2)."""
    X = np.asarray(X)
    side = math.isqrt(X.shape[1])
    if side * side != X.shape[1] or side < 2:
        raise ValueError(
            f"features: pooling needs square images (N, side*side) with side >= 2, "
            f"got {X.shape[1]} columns"
        )
    half = side // 2
    img = X.reshape(X.shape[0], side, side)[:, : 2 * half, : 2 * half]
    blocks = img.reshape(X.shape[0], half, 2, half, 2)
    out = blocks.mean(axis=(2, 4)) if mode == "avg" else blocks.max(axis=(2, 4))
    return np.ascontiguousarray(out.reshape(X.shape[0], half * half), dtype=X.dtype)


def _fallback(name: str, *, seed: int = 0, n_samples: int = 600, noise: float = 0.1) -> Splits:
    try:
        from sklearn import datasets
    except ImportError as err:
        raise ImportError(
            f"dataset {name!r}: this pyfastnn has no pyfastnn.data; install scikit-learn"
        ) from err
    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        X = X / 16.0
    elif name == "circles":
        X, y = datasets.make_circles(n_samples, noise=noise, factor=0.5, random_state=seed)
    elif name == "moons":
        X, y = datasets.make_moons(n_samples, noise=noise, random_state=seed)
    else:
        raise ValueError(f"dataset: expected 'digits', 'circles' or 'moons', got {name!r}")
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order].astype(np.float32), y[order].astype(np.int64)
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    return Splits(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:])
