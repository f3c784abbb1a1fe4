"""Saving and loading models: :func:`save` and :func:`load` of the model file
format (:mod:`pyfastnn._model_file`: one ``.npz``, parameters + JSON, no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _model_file, _safetensors
from . import mlp as _mlp
from ._checks import check_backend, check_memory
from ._spec import ALPHA_OUTPUTS, MAX_PARAMS
from .linear import LogisticRegression, Perceptron
from .mlp import MLP

# "model" field of the description -> class (files without it hold an MLP)
_KINDS = {"mlp": MLP, "logistic_regression": LogisticRegression, "perceptron": Perceptron}


def save(model: MLP, path: str | Path) -> None:
    """Write ``model`` to ``path`` (an .npz file: ``params`` + ``meta`` JSON; a
    safetensors file when ``path`` ends in ".safetensors")."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    model.save(_model_file.check_path(path))


def load(path: str | Path, backend: str = "native") -> MLP:
    """Read a model written by :func:`save` (an MLP, LogisticRegression or
    Perceptron); errors name what is wrong.

    The file is checked before it costs anything: for an npz file its members,
    then the description, then the parameters' header against the size the
    description implies, and only then the parameters are read and the model is
    built (a safetensors file: its header, then the tensors' byte ranges, see
    ``_safetensors``); a damaged or hostile file raises ``ValueError`` (a
    missing one ``FileNotFoundError``).
    """
    check_backend(backend)
    if not str(path).endswith(_safetensors.SUFFIX):
        return _load_npz(path, backend)
    meta, params = _safetensors.read(path)
    kind = meta.get("model", "mlp")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"path: unknown model kind {kind!r}")
    dtype, n_params = _declared_params(meta)
    if params.dtype != dtype or params.size != n_params:
        raise ValueError(
            f"path: the tensors ({params.size} values of {params.dtype}) do not match "
            f"the description ({n_params} values of dtype {dtype})"
        )
    return _built(kind, meta, params, backend)


def to_bytes(model: MLP) -> bytes:
    """The bytes of ``model``'s .npz model file (what :func:`save` writes)."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    return _model_file.to_bytes(model._description(), model.params)


def from_bytes(data: bytes, backend: str = "native") -> MLP:
    """The model in the bytes of an .npz model file (from :func:`to_bytes`),
    checked as :func:`load` checks a file."""
    if not isinstance(data, bytes):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    return _load_npz(data, check_backend(backend))


def _load_npz(source: str | Path | bytes, backend: str) -> MLP:
    with _model_file.ModelFile(source) as f:
        meta = f.meta
        kind = meta.get("model", "mlp")
        if not isinstance(kind, str) or kind not in _KINDS:
            raise ValueError(f"path: unknown model kind {kind!r}")
        dtype, n_params = _declared_params(meta)
        params = f.params(dtype, n_params)
    return _built(kind, meta, params, backend)


def _built(kind: str, meta: dict, params: np.ndarray, backend: str) -> MLP:
    """The model of the description with these parameters."""
    try:
        model = _build(kind, meta, backend)
    except KeyError as err:
        raise ValueError(f"path: model file lacks the field {err}") from err
    except (TypeError, ValueError) as err:
        raise ValueError(f"path: invalid model description ({err})") from err
    model.params = params  # checks shape, dtype and finiteness
    return model


def _declared_params(meta: dict) -> tuple[np.dtype, int]:
    """(dtype, number of parameters) the description declares, checked without
    building anything."""
    sizes, dtype = meta.get("layer_sizes"), meta.get("dtype")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(type(s) is int and s >= 1 for s in sizes)
    ):
        raise ValueError(f"path: layer_sizes must be a list of >= 2 integers >= 1, got {sizes!r}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"path: dtype must be 'float32' or 'float64', got {dtype!r}")
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if n_params > MAX_PARAMS:
        raise ValueError(f"path: layer_sizes {sizes} would need {n_params} parameters")
    dt = np.dtype(dtype)
    check_memory(n_params * dt.itemsize, "path", f"the parameters of layer_sizes {sizes}")
    return dt, n_params


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
        alpha=meta["alpha"] if meta["output"] in ALPHA_OUTPUTS else None,
    )


_mlp.set_file_loader(from_bytes)  # pickles of models are read through the model file
