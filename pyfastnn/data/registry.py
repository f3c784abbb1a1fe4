"""Data sets by name, for a command line: ``load_dataset("digits")``.

Names: ``digits``, ``mnist5k``, ``circles``, ``moons``, ``idx:<directory>``
and ``npz:<path>``. Keyword options go to the loader (unknown ones raise
``ValueError`` listing the accepted ones); every loader also takes
``pool="avg"`` or ``pool="max"`` (2x2 pooling of image data, see ``pooling.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .bundled import load_digits, load_mnist_5k
from .dataset import Splits
from .idx_dir import load_idx_dir
from .npz import load_npz_splits
from .pooling import pool_splits
from .split import train_val_test_split
from .synthetic import make_circles, make_moons


def load_circles(
    n: int = 1000,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
) -> Splits:
    """``make_circles`` split like every data set here (stratified, same ``seed``)."""
    X, y = make_circles(n, noise=noise, factor=factor, seed=seed)
    return train_val_test_split(
        X, y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed, name="circles"
    )


def load_moons(
    n: int = 1000,
    noise: float = 0.1,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
) -> Splits:
    """``make_moons`` split like every data set here (stratified, same ``seed``)."""
    X, y = make_moons(n, noise=noise, seed=seed)
    return train_val_test_split(
        X, y, test_fraction=test_fraction, val_fraction=val_fraction, seed=seed, name="moons"
    )


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


def load_dataset(name: str, **options: Any) -> Splits:
    """Load a data set by name (see the module docstring) as ``Splits``.

    ``pool=None|"avg"|"max"`` pools image data 2x2 after loading (and scaling).
    """
    pool = options.pop("pool", None)
    if not isinstance(name, str):
        raise ValueError(f"dataset: expected a name, got {name!r}")
    kind, sep, arg = name.partition(":")
    if not sep and kind in NAMED:
        splits = _call(NAMED[kind], name, **options)
    elif sep and kind in WITH_ARGUMENT and arg:
        splits = _call(WITH_ARGUMENT[kind], name, arg, **options)
    else:
        raise ValueError(f"dataset: unknown name {name!r}; known: {', '.join(DATASET_NAMES)}")
    return splits if pool is None else pool_splits(splits, pool)
