"""IDX files (MNIST, EMNIST, Fashion-MNIST), gzip-compressed or not.

Layout (all integers big-endian): two zero bytes, one dtype code byte, one byte
``ndim``; then ``ndim`` uint32 sizes; then the values, big-endian, C order.
Dtype codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. A file is treated as gzip when it starts with the gzip magic
bytes 1f 8b, whatever its name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def read_maybe_gzip(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``, decompressed when it starts with the gzip magic."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: starts like gzip but does not decompress ({err})") from err


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array of shape (d0, d1, ...), native byte order.

    ``source`` names the file in error messages.
    """
    if len(data) < 4:
        raise ValueError(f"{source}: truncated IDX header ({len(data)} bytes, need at least 4)")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{source}: wrong magic number {data[:4].hex()} (an IDX file starts with 00 00, "
            "a dtype code and the number of dimensions)"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{source}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{source}: truncated IDX header (need {header} bytes for {ndim} dimensions, "
            f"file has {len(data)})"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = len(data) - header
    if have < expected:
        raise ValueError(
            f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} bytes "
            f"after the header, file has {have}"
        )
    if have > expected:
        raise ValueError(
            f"{source}: {have - expected} trailing bytes after the {expected} data bytes "
            f"of shape {shape}"
        )
    flat = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip): an array of the file's shape and dtype.

    Returns e.g. (60000, 28, 28) uint8 for MNIST images, (60000,) uint8 for
    labels. Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    naming the file for a wrong magic number, unknown dtype code, truncated
    data or trailing bytes.
    """
    return parse_idx(read_maybe_gzip(path), source=str(path))


def load_mnist_idx(
    images_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    *,
    flatten: bool = True,
    transpose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file (N, h, w) and its labels file (N,).

    Returns ``X`` of shape (N, h*w) (``flatten=True``, row-major) or (N, h, w),
    in the file's dtype (uint8 for MNIST), and ``y`` (N,) int64 as stored (no
    remapping here). ``transpose=True`` swaps each image's rows and columns:
    EMNIST stores its images transposed, which matters for display only.
    """
    X = load_idx(images_path)
    y = load_idx(labels_path)
    if X.ndim != 3:
        raise ValueError(f"{images_path}: expected images of shape (N, h, w), got {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"{labels_path}: expected labels of shape (N,), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{labels_path}: expected integer labels, got {y.dtype}")
    if len(X) != len(y):
        raise ValueError(
            f"{Path(images_path).name} has {len(X)} images but "
            f"{Path(labels_path).name} has {len(y)} labels ({images_path}, {labels_path})"
        )
    if len(X) == 0:
        raise ValueError(f"{images_path}: holds 0 images (and {labels_path} 0 labels)")
    if y.dtype.kind == "i" and y.min() < 0:
        raise ValueError(
            f"{labels_path}: negative labels (min {int(y.min())}); labels must be >= 0"
        )
    if transpose:
        X = np.ascontiguousarray(X.transpose(0, 2, 1))
    if flatten:
        X = X.reshape(len(X), -1)
    return X, y.astype(np.int64)
