"""Result files written whole or not at all.

``atomic_file(path)`` (and ``write_text_atomic(path, text)`` over it) writes to
a temporary file in the same directory, flushes it to disk and renames it over
``path`` (``os.replace`` is
atomic on POSIX and Windows), so a reader sees the old file or the new one,
never a truncated one. ``write_json_atomic`` serialises first: a value JSON
cannot hold raises before anything is written.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Callable


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """A file opened for writing that replaces ``path`` only when the block ends
    without an exception (written to a temporary file beside it, flushed to
    disk, then renamed over it); on an exception ``path`` is left as it was."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if text else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` by a file holding ``text`` (UTF-8), atomically."""
    with atomic_file(path, "w") as fh:
        fh.write(text)


def write_json_atomic(
    path: str | os.PathLike[str], value: Any, default: Callable[[Any], Any] | None = None
) -> None:
    """``json.dumps(value, indent=2)`` written with :func:`write_text_atomic`.

    Serialisation happens first: ``TypeError`` for a value JSON cannot hold
    leaves ``path`` as it was.
    """
    write_text_atomic(path, json.dumps(value, indent=2, default=default) + "\n")


def check_writable_dir(path: str | os.PathLike[str]) -> None:
    """Create directory ``path`` (and parents) and check a file can be written in it.

    Raises ``OSError`` (with the path) when it is a file, cannot be created,
    or is not writable -- before any long work whose results would be lost.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{path}: exists and is not a directory")
    os.makedirs(path, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
    os.close(fd)
    os.unlink(probe)
