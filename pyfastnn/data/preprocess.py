"""Flattening images and scaling features to [0, 1].

Scaling rule (``scale_to_unit``):

- uint8 data is divided by 255 (the type's range, whatever the values are).
- Any other real data is min-max scaled with ONE minimum and ONE maximum over
  the whole array (not per feature, so pixels keep their relative contrast):
  ``(X - lo) / (hi - lo)``. When ``hi == lo`` (constant data) the result is
  all zeros; nothing is divided by zero.
- ``value_range=(lo, hi)`` uses a given range instead, e.g. the training
  part's range applied to the test part (``scale_splits`` does this); values
  outside it then fall outside [0, 1] and are not clipped.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .dataset import Splits


def flatten_images(X: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Images (N, h, w) -> rows (N, h*w), row-major (a view when possible), and (h, w).

    A 2-D input is an error: its image shape cannot be known.
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X: expected images of shape (N, h, w), got {X.shape}")
    n, h, w = X.shape
    return X.reshape(n, h * w), (h, w)


def unit_range(X: np.ndarray) -> tuple[float, float]:
    """The ``(lo, hi)`` that ``scale_to_unit`` maps to (0, 1) for ``X``."""
    X = np.asarray(X)
    if X.dtype == np.uint8:
        return 0.0, 255.0
    if X.dtype.kind not in "fiub":
        raise TypeError(f"X: expected real numbers, got dtype {X.dtype}")
    if X.size == 0:
        return 0.0, 0.0
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        raise ValueError("X: contains NaN or infinity")
    return float(X.min()), float(X.max())


def scale_to_unit(
    X: np.ndarray,
    value_range: tuple[float, float] | None = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """``X`` (any shape) mapped to [0, 1] as ``dtype``; see the module docstring."""
    X = np.asarray(X)
    lo, hi = (
        unit_range(X) if value_range is None else (float(value_range[0]), float(value_range[1]))
    )
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise ValueError(f"value_range: expected finite lo <= hi, got {(lo, hi)}")
    out = X.astype(np.float64) - lo
    if hi > lo:
        out /= hi - lo
    else:
        out[...] = 0.0
    return out.astype(dtype, copy=False)


def scale_splits(splits: Splits, dtype: DTypeLike = np.float32) -> Splits:
    """Every ``X_*`` scaled with the training part's range (uint8: 0..255)."""
    value_range = unit_range(splits.X_train)
    return splits.map_features(
        lambda X: scale_to_unit(X, value_range, dtype), image_shape=splits.image_shape
    )


def shift_labels(ys: list[np.ndarray], remap: bool | str = "auto") -> tuple[list[np.ndarray], int]:
    """Make 1-based labels 0-based: returns the label arrays and the offset removed.

    ``remap="auto"`` shifts by 1 when, over all of ``ys``, no label is 0 and
    the smallest is 1 (EMNIST letters: 1..26 -> 0..25); ``True`` always shifts
    by 1 (all labels must then be >= 1); ``False`` never shifts.
    """
    present = [y for y in ys if len(y)]
    lowest = min((int(y.min()) for y in present), default=0)
    if remap == "auto":
        shift = lowest == 1
    elif remap is True:
        if lowest < 1:
            raise ValueError("remap_labels=True: labels must start at 1, found 0")
        shift = True
    elif remap is False:
        shift = False
    else:
        raise ValueError(f"remap_labels: expected 'auto', True or False, got {remap!r}")
    return ([y - 1 for y in ys], 1) if shift else (list(ys), 0)
