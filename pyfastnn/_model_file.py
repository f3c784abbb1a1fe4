"""The model file format: one ``.npz`` holding ``params`` and a ``meta`` JSON.

No pickle anywhere: arrays are read with ``allow_pickle=False`` and the
description is plain JSON, checked field by field by :mod:`pyfastnn.model_io`,
so a hand-crafted file can at worst be rejected with an error; it never runs code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "pyfastnn.mlp"
VERSION = 1


def write(path: str | Path, meta: dict[str, Any], params: np.ndarray) -> None:
    """Write ``params`` and the description ``meta`` (format and version added)."""
    meta = {"format": FORMAT, "version": VERSION, **meta}
    with open(path, "wb") as fh:
        np.savez(fh, params=params, meta=np.array(json.dumps(meta)))


def read(path: str | Path) -> tuple[dict[str, Any], np.ndarray]:
    """(description, params) of a model file; errors name what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) != {"params", "meta"}:
                raise ValueError(f"path: {path} is not a pyfastnn model file")
            params = archive["params"]
            meta = json.loads(str(archive["meta"]))
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, KeyError) as err:
        raise ValueError(f"path: {path} is not a readable pyfastnn model file ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"path: {path} is not a pyfastnn model file")
    if meta.get("version") != VERSION:
        raise ValueError(f"path: unsupported model file version {meta.get('version')!r}")
    return meta, params
