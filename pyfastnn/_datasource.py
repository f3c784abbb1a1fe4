"""Datasets for the sweeps and the command line, and their feature maps.

``load_splits(name, **options)`` is :func:`pyfastnn.data.load_dataset`;
``features(splits, "raw" | "avgpool" | "maxpool")`` applies 2x2 pooling
(:func:`pyfastnn.data.pool_splits`) to image data. Objects other than
``pyfastnn.data.Splits`` (anything with X_train, y_train, X_val, y_val,
X_test, y_test) are converted, taking square rows as images.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .data import Splits, load_dataset, pool_splits

FEATURES = ("raw", "avgpool", "maxpool")


def load_splits(name: str, **options: Any) -> Splits:
    """The named dataset (see :func:`pyfastnn.data.load_dataset`)."""
    return load_dataset(name, **options)


def as_splits(data: Any) -> Splits:
    """``data`` as a ``pyfastnn.data.Splits`` (unchanged if it is one).

    Labels become int64; rows of a square number of features are taken as
    square images (so they can be pooled).
    """
    if isinstance(data, Splits):
        return data
    parts: dict[str, Any] = {}
    for part in ("train", "val", "test"):
        X, y = getattr(data, f"X_{part}", None), getattr(data, f"y_{part}", None)
        parts[f"X_{part}"] = None if X is None else np.asarray(X)
        parts[f"y_{part}"] = None if y is None else np.asarray(y, dtype=np.int64)
    side = math.isqrt(parts["X_train"].shape[1])
    square = side >= 2 and side * side == parts["X_train"].shape[1]
    return Splits(**parts, image_shape=(side, side) if square else None)


def features(splits: Any, kind: str) -> Splits:
    """``splits`` with every X mapped by ``kind`` ("raw" leaves them as they are)."""
    if kind not in FEATURES:
        raise ValueError(f"features: expected one of {FEATURES}, got {kind!r}")
    splits = as_splits(splits)
    return splits if kind == "raw" else pool_splits(splits, kind[:3])
