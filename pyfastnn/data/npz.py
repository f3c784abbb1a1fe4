"""``.npz`` archives holding named train / validation / test arrays.

Recognised keys (``X`` may also be written ``x``, as in Keras's ``mnist.npz``):

============  =========================================================
part          keys
============  =========================================================
train         ``X_train``, ``y_train`` (required)
validation    ``X_val`` / ``X_valid`` / ``X_validation`` with
              ``y_val`` / ``y_valid`` / ``y_validation`` (optional)
test          ``X_test``, ``y_test`` (optional)
============  =========================================================

Other keys are ignored. ``X`` arrays are (N, D), or images (N, h, w) which are
flattened (``image_shape`` records (h, w)); ``y`` arrays are (N,) whole
numbers >= 0. The archive is always opened with ``allow_pickle=False``: object
arrays and pickled content are rejected with ``ValueError``, never loaded.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from ._memory import check_memory
from .dataset import Splits
from .preprocess import flatten_images, scale_splits, shift_labels
from .split import as_labels, split_indices

_ALIASES = {
    "train": ("train",),
    "val": ("val", "valid", "validation"),
    "test": ("test",),
}


def _find(files: list[str], letters: tuple[str, ...], part: str, path: str) -> str | None:
    hits = [f"{c}_{s}" for s in _ALIASES[part] for c in letters if f"{c}_{s}" in files]
    if len(hits) > 1:
        raise ValueError(f"{path}: several arrays for one part: {hits}")
    return hits[0] if hits else None


def _check_header(archive: np.lib.npyio.NpzFile, key: str, path: str) -> None:
    """Compare what the array's .npy header declares with what the archive holds,
    before reading: a small file cannot make the reader allocate a huge array."""
    member = key if key in archive.zip.namelist() else f"{key}.npy"
    info = archive.zip.getinfo(member)
    try:
        with archive.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:  # 3.0 only adds UTF-8 field names: no numeric data set needs it
                raise ValueError(f".npy format version {version} is not read")
            header = fh.tell()
    except (ValueError, SyntaxError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: array {key!r} is not a .npy array ({err})") from err
    if dtype.hasobject:
        return  # refused when read (pickle)
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size != header + declared:
        raise ValueError(
            f"{path}: array {key!r} declares {declared} bytes of shape {shape}, "
            f"but the archive holds {info.file_size - header}"
        )
    check_memory(declared, f"{path}: array {key!r} of shape {shape}")


def _read(archive: np.lib.npyio.NpzFile, key: str, path: str) -> np.ndarray:
    _check_header(archive, key, path)
    try:
        arr = archive[key]
    except ValueError as err:  # object arrays need pickle, which is refused
        raise ValueError(
            f"{path}: array {key!r} holds Python objects (pickled data); "
            "refused, only plain numeric arrays are read"
        ) from err
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path}: array {key!r} cannot be read ({err})") from err
    if arr.dtype.hasobject:
        raise ValueError(f"{path}: array {key!r} holds Python objects; refused")
    return arr


def _check_magic(path: Path, path_s: str) -> None:
    """Refuse what is neither a zip (.npz) nor an .npy file by its first bytes, so
    that a text file is called one (np.load would take it for pickled data)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except IsADirectoryError:
        raise ValueError(f"{path_s}: a directory, not an .npz archive") from None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")) or head[:1] == b"\x80":
        return  # zip, .npy, or pickle (refused with its own message below)
    kind = (
        "a text file"
        if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head)
        else ("empty" if not head else "not a zip archive")
    )
    raise ValueError(
        f"{path_s}: not an .npz archive ({kind}, starts with {head!r}); expected a file "
        "written by numpy.savez with arrays X_train, y_train, ..."
    )


def load_npz_splits(
    path: str | os.PathLike[str],
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    scale: bool = True,
    dtype: DTypeLike = np.float32,
    image_shape: tuple[int, int] | None = None,
    remap_labels: bool | str = False,
) -> Splits:
    """Read an .npz archive of named splits (keys: see the module docstring).

    When the archive has no validation pair, ``val_fraction`` of the training
    rows (stratified, ``seed``) become the validation part; 0 keeps them all.
    ``scale=True`` maps features to [0, 1] with the training part's range
    (``preprocess.scale_splits``) as ``dtype``; ``scale=False`` keeps the
    stored values and dtype. ``image_shape`` folds flat rows (N, h*w) into
    images for pooling; 3-D arrays set it themselves. ``remap_labels``: see
    ``preprocess.shift_labels`` (default: labels are kept as stored).
    """
    path = Path(path).expanduser()
    path_s = str(path)
    _check_magic(path, path_s)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except ValueError as err:  # a pickle file, not an archive
        raise ValueError(
            f"{path_s}: not an .npz archive; pickled data are refused ({err})"
        ) from err
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path_s}: not a readable .npz archive ({err})") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path_s}: a single .npy array, not an .npz archive of named splits")
    with archive:
        files = list(archive.files)
        if len(set(files)) != len(files):
            raise ValueError(f"{path_s}: the archive holds an array name twice: {sorted(files)}")
        arrays: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        for part in ("train", "val", "test"):
            kx = _find(files, ("X", "x"), part, path_s)
            ky = _find(files, ("y",), part, path_s)
            if kx is None and ky is None:
                arrays[part] = None
                continue
            if kx is None or ky is None:
                have, lack = (kx, "y") if ky is None else (ky, "X")
                raise ValueError(f"{path_s}: {have!r} has no matching {lack}_{part} array")
            arrays[part] = (_read(archive, kx, path_s), _read(archive, ky, path_s))
    if arrays["train"] is None:
        raise ValueError(
            f"{path_s}: no X_train/y_train arrays (found keys {files}; recognised: "
            "X_train, y_train, X_val|X_valid|X_validation, y_val|y_valid|y_validation, "
            "X_test, y_test; x_ for X_ also works)"
        )
    shapes = set()
    out: dict[str, np.ndarray | None] = {}
    for part, pair in arrays.items():
        if pair is None:
            out[f"X_{part}"] = out[f"y_{part}"] = None
            continue
        X, y = pair
        if X.dtype.kind not in "fiub":
            raise ValueError(f"{path_s}: X_{part} must hold real numbers, got dtype {X.dtype}")
        if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
            raise ValueError(f"{path_s}: X_{part} contains NaN or infinity")
        if X.ndim == 3:
            X, hw = flatten_images(X)
            shapes.add(hw)
        elif X.ndim != 2:
            raise ValueError(f"{path_s}: X_{part} must be (N, D) or (N, h, w), got {X.shape}")
        if y.ndim != 1:
            raise ValueError(f"{path_s}: y_{part} must be (N,), got {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"{path_s}: X_{part} has {len(X)} rows but y_{part} has {len(y)}")
        out[f"X_{part}"], out[f"y_{part}"] = X, as_labels(y, f"{path_s}: y_{part}")
    if len(shapes) > 1:
        raise ValueError(f"{path_s}: the parts have different image shapes {sorted(shapes)}")
    if shapes:
        (found,) = shapes
        if image_shape is not None and tuple(image_shape) != found:
            raise ValueError(f"image_shape: {image_shape} but {path_s} holds {found} images")
        image_shape = found
    info: dict[str, object] = {"source": path_s}
    if out["X_val"] is None and val_fraction > 0:
        tr, va, _ = split_indices(
            out["y_train"], test_fraction=0.0, val_fraction=val_fraction, seed=seed
        )
        X, y = out["X_train"], out["y_train"]
        out.update(X_train=X[tr], y_train=y[tr], X_val=X[va], y_val=y[va])
        info.update(val_from_train=val_fraction, seed=seed)
    names = [k for k in ("y_train", "y_val", "y_test") if out[k] is not None]
    shifted, offset = shift_labels([out[k] for k in names], remap_labels)
    out.update(zip(names, shifted))
    name = os.path.splitext(os.path.basename(path_s))[0]
    splits = Splits(**out, name=name, image_shape=image_shape, label_offset=offset, info=info)
    return scale_splits(splits, dtype) if scale else splits
