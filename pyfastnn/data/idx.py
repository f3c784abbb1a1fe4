"""IDX files (MNIST, EMNIST, Fashion-MNIST), gzip-compressed or not.

Layout (all integers big-endian): two zero bytes, one dtype code byte, one byte
``ndim``; then ``ndim`` uint32 sizes; then the values, big-endian, C order.
Dtype codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. A file is treated as gzip when it starts with the gzip magic
bytes 1f 8b, whatever its name.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path
from typing import BinaryIO

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


# Bytes decompressed per read: bounds each temporary and what is read past the
# data to report trailing bytes.
_CHUNK = 1 << 20


def _read_upto(fh: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes of ``fh`` (fewer at its end), in chunks of at most ``_CHUNK``
    so that memory follows the data actually present, not ``n``."""
    if n <= _CHUNK:
        return fh.read(n)
    parts = []
    while n > 0:
        part = fh.read(min(n, _CHUNK))
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def read_idx(fh: BinaryIO, source: str = "<stream>", size: int | None = None) -> np.ndarray:
    """Decode the IDX stream ``fh`` into an array of shape (d0, d1, ...), native
    byte order, reading no more than the header declares (plus at most
    ``_CHUNK`` bytes to report trailing data).

    ``size`` is the stream's length when known (a raw file): a truncated file is
    then refused before its data are read. ``source`` names the file in errors.
    """
    head = fh.read(4)
    if len(head) < 4:
        raise ValueError(f"{source}: truncated IDX header ({len(head)} bytes, need at least 4)")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{source}: wrong magic number {head.hex()} (an IDX file starts with 00 00, "
            "a dtype code and the number of dimensions)"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{source}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    dims = fh.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{source}: truncated IDX header (need {header} bytes for {ndim} dimensions, "
            f"file has {4 + len(dims)})"
        )
    shape = tuple(int(s) for s in np.frombuffer(dims, dtype=">u4"))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size is not None and size - header < expected:  # refused before reading
        raise _truncated(source, shape, dtype, expected, size - header)
    data = _read_upto(fh, expected)
    if len(data) < expected:
        raise _truncated(source, shape, dtype, expected, len(data))
    extra = len(_read_upto(fh, _CHUNK)) if size is None else size - header - expected
    if extra:
        count = f"{extra}" if extra < _CHUNK else f"at least {extra}"
        raise ValueError(
            f"{source}: {count} trailing bytes after the {expected} data bytes of shape {shape}"
        )
    flat = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _truncated(
    source: str, shape: tuple[int, ...], dtype: np.dtype, expected: int, have: int
) -> ValueError:
    return ValueError(
        f"{source}: truncated data: shape {shape} of {dtype.name} needs {expected} bytes "
        f"after the header, file has {have}"
    )


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes (see :func:`read_idx`)."""
    return read_idx(io.BytesIO(data), source, size=len(data))


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip): an array of the file's shape and dtype.

    Returns e.g. (60000, 28, 28) uint8 for MNIST images, (60000,) uint8 for
    labels. Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    naming the file for a wrong magic number, unknown dtype code, truncated
    data or trailing bytes. A gzip file is decompressed as a stream, only as
    far as its header declares data (and a little beyond, to see trailing
    bytes), so a small file that inflates hugely costs no more than that.
    """
    source = str(path)
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            return read_idx(raw, source, size=os.fstat(raw.fileno()).st_size)
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as fh:
                return read_idx(fh, source)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{source}: starts like gzip but does not decompress ({err})") from err


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
