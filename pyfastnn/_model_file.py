"""The model file format: one ``.npz`` holding ``params`` and a ``meta`` JSON.

No pickle anywhere: the description is plain JSON, checked field by field by
:mod:`pyfastnn.model_io`, and the parameters are a plain ``.npy`` vector, so a
hand-crafted file can at worst be rejected with an error; it never runs code.

A file is read in the order that bounds what it can cost: the zip directory
(exactly the members ``meta.npy`` and ``params.npy``, each once), then the
description (at most :data:`MAX_META_BYTES`), which the caller validates and
turns into the parameter vector it expects; only then the header of
``params.npy`` is compared with that expectation and the data read, no more
than the header declares. A file that lies anywhere costs a ``ValueError``,
not the memory or the time its claims would.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._files import atomic_file

FORMAT = "pyfastnn.mlp"
VERSION = 1
MEMBERS = ("meta.npy", "params.npy")
# A description is a few hundred bytes; anything much larger is not one.
MAX_META_BYTES = 1 << 16
# What zipfile raises on damaged archives besides BadZipFile: flag bits and
# compression methods it does not implement, broken deflate streams, an
# "encrypted" flag (RuntimeError: password required).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)
# Bytes read per call when reading the parameters (bounds each temporary).
_CHUNK = 1 << 22


def check_path(path: object) -> str | os.PathLike[str]:
    """A file system path (``str`` or ``os.PathLike``); never a file descriptor."""
    if isinstance(path, (str, os.PathLike)):
        return path
    raise TypeError(f"path: expected a file path (str or os.PathLike), got {type(path).__name__}")


def write(path: str | Path, meta: dict[str, Any], params: np.ndarray) -> None:
    """Write ``params`` and the description ``meta`` (format and version added)."""
    path = check_path(path)
    with atomic_file(path) as fh:  # whole or not at all
        _write_to(fh, meta, params)


def to_bytes(meta: dict[str, Any], params: np.ndarray) -> bytes:
    """The bytes of the file :func:`write` would write (pickling goes through them)."""
    buffer = io.BytesIO()
    _write_to(buffer, meta, params)
    return buffer.getvalue()


def _write_to(fh: IO[bytes], meta: dict[str, Any], params: np.ndarray) -> None:
    meta = {"format": FORMAT, "version": VERSION, **meta}
    np.savez(fh, params=params, meta=np.array(json.dumps(meta)))


class ModelFile:
    """An open model file: ``meta`` (the checked description) and :meth:`params`.

    Use as a context manager; errors name the file and what is wrong.
    """

    def __init__(self, path: str | Path | bytes) -> None:
        # bytes: a file in memory (from :func:`to_bytes`), called "<bytes>" in errors
        self.path = "<bytes>" if isinstance(path, bytes) else check_path(path)
        source = io.BytesIO(path) if isinstance(path, bytes) else self.path
        try:
            self._zip = zipfile.ZipFile(source)
        except FileNotFoundError:
            raise
        except (*_ZIP_ERRORS, ValueError) as err:
            raise self._error(f"not a readable zip archive ({err})") from err
        try:
            names = [info.filename for info in self._zip.infolist()]
            if sorted(names) != sorted(MEMBERS):
                raise self._error(
                    f"expected exactly the members {list(MEMBERS)}, found {names[:10]}"
                    + (" ..." if len(names) > 10 else "")
                )
            self.meta = self._read_meta()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> ModelFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def _error(self, what: str) -> ValueError:
        return ValueError(f"path: {self.path} is not a valid pyfastnn model file: {what}")

    def _open(self, member: str) -> tuple[IO[bytes], np.dtype, tuple[int, ...], int]:
        """(stream after the header, dtype, shape, data bytes declared) of a member."""
        info = self._zip.getinfo(member)
        try:
            fh = self._zip.open(info)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (*_ZIP_ERRORS, ValueError, SyntaxError) as err:
            raise self._error(f"{member} is not a .npy array ({err})") from err
        if dtype.hasobject or fortran:
            fh.close()
            raise self._error(f"{member} holds {dtype} in {'Fortran' if fortran else 'C'} order")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        header = fh.tell()
        if info.file_size != header + nbytes:
            fh.close()
            raise self._error(
                f"{member} declares {nbytes} data bytes after its header, but the archive "
                f"says the member holds {info.file_size - header}"
            )
        return fh, dtype, shape, nbytes

    def _read_meta(self) -> dict[str, Any]:
        fh, dtype, shape, nbytes = self._open("meta.npy")
        with fh:
            if dtype.kind != "U" or shape != () or nbytes > MAX_META_BYTES:
                raise self._error(
                    f"meta.npy must be one JSON string of at most {MAX_META_BYTES} bytes, "
                    f"got {dtype} of shape {shape} ({nbytes} bytes)"
                )
            try:
                data = fh.read(nbytes)
            except _ZIP_ERRORS as err:
                raise self._error(f"meta.npy cannot be read ({err})") from err
        if len(data) != nbytes:
            raise self._error("meta.npy is truncated")
        text = str(np.frombuffer(data, dtype=dtype, count=1)[0])
        try:
            meta = json.loads(text)
        except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
            raise self._error(f"the description is not valid JSON ({err})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise self._error("the description does not name the pyfastnn format")
        if meta.get("version") != VERSION:
            raise ValueError(f"path: unsupported model file version {meta.get('version')!r}")
        return meta

    def params(self, dtype: np.dtype, size: int) -> np.ndarray:
        """The parameter vector, which must be ``size`` values of ``dtype``.

        The header is checked against that before any data is read; the data
        is read into one array of that size (native byte order).
        """
        fh, file_dtype, shape, nbytes = self._open("params.npy")
        with fh:
            if file_dtype.newbyteorder("=") != dtype or shape != (size,):
                raise ValueError(
                    f"path: parameters have dtype {file_dtype} and shape {shape}, "
                    f"expected {dtype} ({size},)"
                )
            out = np.empty(size, dtype=file_dtype)
            view = memoryview(out).cast("B")
            try:
                done = 0
                while done < nbytes:
                    got = fh.readinto(view[done : done + _CHUNK])
                    if not got:
                        break
                    done += got
            except _ZIP_ERRORS as err:
                raise self._error(f"params.npy cannot be read ({err})") from err
            if done != nbytes:
                raise self._error(f"params.npy is truncated ({done} of {nbytes} bytes)")
        return out.astype(dtype, copy=False)
