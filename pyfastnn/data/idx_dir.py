"""A directory of MNIST-style IDX files as one ``Splits``.

Files are found by name, gzip or not (content decides, see ``idx.py``):

==============  ===========================================================
role            a file whose name contains
==============  ===========================================================
train images    ``train-images``  (``train-images-idx3-ubyte[.gz]``)
train labels    ``train-labels``
test images     ``t10k-images`` or ``test-images``
test labels     ``t10k-labels`` or ``test-labels``
==============  ===========================================================

This covers MNIST and Fashion-MNIST (``train-images-idx3-ubyte.gz``, ...) and
EMNIST (``emnist-letters-train-images-idx3-ubyte``, ...). ``prefix`` keeps only
names starting with it (``prefix="emnist-letters-"`` in a directory holding
several EMNIST sets). When a name is present both raw and with ``.gz`` the raw
file is used; any other ambiguity is an error listing the candidates.
The train pair is required, the test pair optional.

Labels: EMNIST letters are stored as 1..26; with ``remap_labels="auto"``
(default) a label set with no 0 whose smallest label is 1 is shifted to
0..25 and ``Splits.label_offset`` is 1 (source label = y + 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .dataset import Splits
from .idx import load_mnist_idx
from .preprocess import scale_splits, shift_labels
from .split import split_indices

ROLES = {
    "train images": ("train-images",),
    "train labels": ("train-labels",),
    "test images": ("t10k-images", "test-images"),
    "test labels": ("t10k-labels", "test-labels"),
}


def find_idx_files(directory: str | os.PathLike[str], prefix: str = "") -> dict[str, Path | None]:
    """Map each role (see the module docstring) to its file, or None when absent."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such directory")
    names = sorted(
        p.name
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.startswith(prefix)
    )
    found: dict[str, Path | None] = {}
    for role, keys in ROLES.items():
        hits = [n for n in names if any(k in n for k in keys)]
        raw = [n for n in hits if not n.endswith(".gz")]
        if len(hits) > 1 and len(raw) == 1 and all(n in (raw[0], raw[0] + ".gz") for n in hits):
            hits = raw
        if len(hits) > 1:
            raise ValueError(
                f"{root}: several {role} files {hits}; pass prefix= to choose "
                "(e.g. prefix='emnist-letters-')"
            )
        found[role] = root / hits[0] if hits else None
    for part in ("train", "test"):
        images, labels = found[f"{part} images"], found[f"{part} labels"]
        if (images is None) != (labels is None):
            have = images or labels
            raise ValueError(f"{root}: found {have.name} but no matching {part} file")
    if found["train images"] is None:
        listing = ", ".join(names) or "nothing"
        raise FileNotFoundError(
            f"{root}: no *train-images* / *train-labels* IDX files"
            f"{f' starting with {prefix!r}' if prefix else ''} (found: {listing})"
        )
    return found


def load_idx_dir(
    directory: str | os.PathLike[str],
    *,
    prefix: str = "",
    val_fraction: float = 0.1,
    seed: int = 0,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
    remap_labels: bool | str = "auto",
    transpose: bool = False,
) -> Splits:
    """Train (and test) IDX files of ``directory`` as ``Splits``; X rows are h*w pixels.

    The validation part is ``val_fraction`` of the training file's rows
    (stratified, ``seed``); the test part is the test file. ``scale=True``:
    uint8 pixels / 255 as ``dtype``. ``transpose=True`` turns EMNIST images
    upright (they are stored transposed). ``remap_labels``: module docstring.
    """
    files = find_idx_files(directory, prefix)
    X_train, y_train = load_mnist_idx(
        files["train images"], files["train labels"], flatten=False, transpose=transpose
    )
    image_shape = X_train.shape[1:]
    X_train = X_train.reshape(len(X_train), -1)
    X_test = y_test = None
    if files["test images"] is not None:
        X_test, y_test = load_mnist_idx(
            files["test images"], files["test labels"], flatten=False, transpose=transpose
        )
        if X_test.shape[1:] != image_shape:
            raise ValueError(
                f"{files['test images']}: images are {X_test.shape[1:]}, "
                f"the training images {image_shape}"
            )
        X_test = X_test.reshape(len(X_test), -1)
    ys = [y_train] if y_test is None else [y_train, y_test]
    ys, offset = shift_labels(ys, remap_labels)
    y_train = ys[0]
    if y_test is not None:
        y_test = ys[1]
    tr, va, _ = split_indices(y_train, test_fraction=0.0, val_fraction=val_fraction, seed=seed)
    has_val = val_fraction > 0
    name = prefix.rstrip("-_") or Path(directory).name
    splits = Splits(
        X_train[tr],
        y_train[tr],
        X_train[va] if has_val else None,
        y_train[va] if has_val else None,
        X_test,
        y_test,
        name=name,
        image_shape=(int(image_shape[0]), int(image_shape[1])),
        label_offset=offset,
        info={
            "source": {k: str(v) for k, v in files.items() if v is not None},
            "val_from_train": val_fraction,
            "seed": seed,
        },
    )
    return scale_splits(splits, dtype) if scale else splits
