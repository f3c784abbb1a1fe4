"""2x2 average and max pooling of images, for any image size.

Input: images (N, h, w), or rows (N, h*w) together with ``image_shape=(h, w)``
(row-major, as ``Splits`` stores them). The output has the same layout:
(N, h//2, w//2) or (N, (h//2) * (w//2)).

Odd sides: the last row (odd h) and/or last column (odd w) are DROPPED, so a
side s becomes s // 2 (e.g. 7x7 -> 3x3, 28x28 -> 14x14); a side of 1 is an
error. Average pooling returns floats (float32 and float64 input keep their
dtype, anything else becomes float64); max pooling keeps the input dtype.
"""

from __future__ import annotations

import numpy as np

from .dataset import Splits

MODES = ("avg", "max")


def _blocks(
    X: np.ndarray, image_shape: tuple[int, int] | None
) -> tuple[np.ndarray, bool, tuple[int, int]]:
    """View as (N, h//2, 2, w//2, 2), whether the input was flat, and (h//2, w//2)."""
    X = np.asarray(X)
    if X.ndim == 3:
        n, h, w = X.shape
        if image_shape is not None and tuple(image_shape) != (h, w):
            raise ValueError(f"image_shape: {image_shape} does not match X of shape {X.shape}")
        flat = False
    elif X.ndim == 2:
        if image_shape is None:
            raise ValueError("image_shape: required when X holds flattened rows (N, h*w)")
        h, w = (int(s) for s in image_shape)
        n = X.shape[0]
        if h * w != X.shape[1]:
            raise ValueError(f"image_shape: {(h, w)} does not fold rows of length {X.shape[1]}")
        X = X.reshape(n, h, w)
        flat = True
    else:
        raise ValueError(f"X: expected (N, h, w) or (N, h*w), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"X: expected real numbers, got dtype {X.dtype}")
    if h < 2 or w < 2:
        raise ValueError(f"image_shape: 2x2 pooling needs sides >= 2, got {(h, w)}")
    h2, w2 = h // 2, w // 2
    blocks = X[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2)
    return blocks, flat, (h2, w2)


def _finish(out: np.ndarray, flat: bool) -> np.ndarray:
    return out.reshape(out.shape[0], -1) if flat else out


def avg_pool2x2(X: np.ndarray, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Mean of each 2x2 block: (N, h, w) -> (N, h//2, w//2), or flat rows likewise."""
    blocks, flat, _ = _blocks(X, image_shape)
    dtype = blocks.dtype if blocks.dtype in (np.float32, np.float64) else np.float64
    out = blocks.astype(dtype, copy=False).mean(axis=(2, 4), dtype=dtype)
    return _finish(out, flat)


def max_pool2x2(X: np.ndarray, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Maximum of each 2x2 block: (N, h, w) -> (N, h//2, w//2), or flat rows likewise."""
    blocks, flat, _ = _blocks(X, image_shape)
    return _finish(blocks.max(axis=(2, 4)), flat)


def pool_splits(splits: Splits, mode: str) -> Splits:
    """Apply ``avg_pool2x2`` (``mode="avg"``) or ``max_pool2x2`` (``"max"``) to every part."""
    if mode not in MODES:
        raise ValueError(f"pool: expected one of {MODES}, got {mode!r}")
    if splits.image_shape is None:
        raise ValueError(f"pool: data set {splits.name!r} has no image_shape")
    fn = avg_pool2x2 if mode == "avg" else max_pool2x2
    h, w = splits.image_shape
    return splits.map_features(
        lambda X: fn(X, (h, w)),
        image_shape=(h // 2, w // 2),
        name=f"{splits.name}+{mode}pool",
    )
