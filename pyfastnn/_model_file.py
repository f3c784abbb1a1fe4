"""The model file format: one ``.npz`` holding ``params`` and a ``meta`` JSON.

A training checkpoint (``fit(checkpoint=...)``) is a model file with more:
its description has a ``"checkpoint"`` field and the archive may hold the
arrays :data:`CHECKPOINT_MEMBERS` and ``opt_<key>.npy`` (the optimiser's
state). Readers of a plain model ignore those members; they are accepted only
by name (at most :data:`MAX_MEMBERS` in all) and only beside that field, and
each is read like ``params.npy``: header first, checked against what the
caller expects, then no more data than that.

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
import re
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._files import atomic_file

FORMAT = "pyfastnn.mlp"
VERSION = 1
MEMBERS = ("meta.npy", "params.npy")
#: Fixed names of a checkpoint's extra members (besides ``opt_<key>.npy``).
CHECKPOINT_MEMBERS = ("best_params.npy", "history.npy")
#: ``opt_<key>.npy``: one array of the optimiser's state (``init_state`` key).
OPT_MEMBER = re.compile(r"opt_[a-z][a-z0-9_]{0,31}\.npy")
#: Members of a checkpoint at most (an optimiser keeps a few state arrays).
MAX_MEMBERS = 16
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


def write(
    path: str | Path,
    meta: dict[str, Any],
    params: np.ndarray,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write ``params`` and the description ``meta`` (format and version added);
    ``extra`` (a checkpoint's arrays: member name without ".npy" -> array)
    only with a ``"checkpoint"`` field in ``meta``."""
    path = check_path(path)
    with atomic_file(path) as fh:  # whole or not at all
        _write_to(fh, meta, params, extra)


def to_bytes(meta: dict[str, Any], params: np.ndarray) -> bytes:
    """The bytes of the file :func:`write` would write (pickling goes through them)."""
    buffer = io.BytesIO()
    _write_to(buffer, meta, params)
    return buffer.getvalue()


def _write_to(
    fh: IO[bytes],
    meta: dict[str, Any],
    params: np.ndarray,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    meta = {"format": FORMAT, "version": VERSION, **meta}
    arrays = dict(extra or {})
    for name in arrays:
        if not is_checkpoint_member(name + ".npy") or "checkpoint" not in meta:
            raise ValueError(f"extra: {name!r} is not a checkpoint member")
    np.savez(fh, params=params, meta=np.array(json.dumps(meta)), **arrays)


def is_checkpoint_member(name: str) -> bool:
    """Whether ``name`` is one of the members only a checkpoint may hold."""
    return name in CHECKPOINT_MEMBERS or OPT_MEMBER.fullmatch(name) is not None


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
            extra = [n for n in names if n not in MEMBERS]
            if (
                len(names) > MAX_MEMBERS
                or len(set(names)) != len(names)
                or len(names) - len(extra) != len(MEMBERS)
                or not all(is_checkpoint_member(n) for n in extra)
            ):
                raise self._error(
                    f"expected exactly the members {list(MEMBERS)} (a checkpoint: also "
                    f"{list(CHECKPOINT_MEMBERS)} and opt_<key>.npy), found {names[:10]}"
                    + (" ..." if len(names) > 10 else "")
                )
            #: a checkpoint's extra members (never read when loading a model)
            self.extra = sorted(extra)
            self.meta = self._read_meta()
            if self.extra and "checkpoint" not in self.meta:
                raise self._error(f"members {self.extra} belong to checkpoints only")
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
        return self.array("params.npy", dtype, (size,), what="parameters")

    def array(
        self, member: str, dtype: np.dtype, shape: tuple[int, ...], what: str | None = None
    ) -> np.ndarray:
        """Member ``member`` (e.g. "history.npy"), which must hold an array of
        ``dtype`` and ``shape``: checked in its header before any data is read."""
        if member not in MEMBERS and member not in self.extra:
            raise self._error(f"the member {member} is missing")
        fh, file_dtype, file_shape, nbytes = self._open(member)
        with fh:
            if file_dtype.newbyteorder("=") != dtype or file_shape != shape:
                raise ValueError(
                    f"path: {what or member} {'have' if what else 'has'} dtype {file_dtype} "
                    f"and shape {file_shape}, "
                    f"expected {dtype} {shape}"
                )
            out = np.empty(shape, dtype=file_dtype)
            view = memoryview(out).cast("B")
            try:
                done = 0
                while done < nbytes:
                    got = fh.readinto(view[done : done + _CHUNK])
                    if not got:
                        break
                    done += got
            except _ZIP_ERRORS as err:
                raise self._error(f"{member} cannot be read ({err})") from err
            if done != nbytes:
                raise self._error(f"{member} is truncated ({done} of {nbytes} bytes)")
        return out.astype(dtype, copy=False)
