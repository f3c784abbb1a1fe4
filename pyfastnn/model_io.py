"""Model files: one ``.npz`` holding the parameters and a JSON description.

No pickle anywhere: arrays are read with ``allow_pickle=False`` and the
description is plain JSON checked field by field, so a hand-crafted file can
at worst be rejected with an error; it never runs code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .mlp import MLP

FORMAT = "pyfastnn.mlp"
VERSION = 1


def save(model: MLP, path: str | Path) -> None:
    """Write ``model`` to ``path`` (an .npz file: ``params`` + ``meta`` JSON)."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "layer_sizes": list(model.layer_sizes),
        "activation": model.activation,
        "activation_param": model.activation_param,
        "output": model.output,
        "loss": model.loss_name,
        "relumax_b": model.relumax_b,
        "eps": model.eps,
        "dtype": model.dtype.name,
    }
    with open(path, "wb") as fh:
        np.savez(fh, params=model.params, meta=np.array(json.dumps(meta)))


def load(path: str | Path, backend: str = "native") -> MLP:
    """Read a model written by :func:`save`; errors name what is wrong."""
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
    try:
        model = MLP(
            meta["layer_sizes"],
            activation=meta["activation"],
            output=meta["output"],
            dtype=meta["dtype"],
            backend=backend,
            activation_param=meta["activation_param"]
            if meta["activation"] in ("scaled_relu", "leaky_relu")
            else None,
            loss=meta["loss"],
            relumax_b=meta["relumax_b"],
            eps=meta["eps"],
        )
    except KeyError as err:
        raise ValueError(f"path: model file lacks the field {err}") from err
    except (TypeError, ValueError) as err:
        raise ValueError(f"path: invalid model description ({err})") from err
    if params.dtype != model.dtype or params.shape != model.params.shape:
        raise ValueError(
            f"path: parameters have dtype {params.dtype} and shape {params.shape}, "
            f"expected {model.dtype} {model.params.shape}"
        )
    model.params = params  # checks finiteness
    return model
