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

from .linear import LogisticRegression, Perceptron
from .mlp import MLP

FORMAT = "pyfastnn.mlp"
VERSION = 1
# "model" field of the description -> class (files without it hold an MLP)
_KINDS = {"mlp": MLP, "logistic_regression": LogisticRegression, "perceptron": Perceptron}


def _kind(model: MLP) -> str:
    return next(k for k, cls in reversed(_KINDS.items()) if isinstance(model, cls))


def save(model: MLP, path: str | Path) -> None:
    """Write ``model`` to ``path`` (an .npz file: ``params`` + ``meta`` JSON)."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": _kind(model),
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
    """Read a model written by :func:`save` (an MLP, LogisticRegression or
    Perceptron); errors name what is wrong."""
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
    kind = meta.get("model", "mlp")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"path: unknown model kind {kind!r}")
    try:
        model = _build(kind, meta, backend)
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


def _build(kind: str, meta: dict, backend: str) -> MLP:
    """An untrained model of the described kind and shape."""
    if kind != "mlp":
        sizes = meta["layer_sizes"]
        if not isinstance(sizes, list) or len(sizes) != 2:
            raise ValueError(f"a {kind} has exactly 2 layer sizes, got {sizes!r}")
        model = _KINDS[kind](sizes[0], sizes[1], dtype=meta["dtype"], backend=backend)
        if (model.output, model.loss_name) != (meta["output"], meta["loss"]):
            raise ValueError(f"output/loss {meta['output']}/{meta['loss']} do not fit a {kind}")
        return model
    return MLP(
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
