"""Saving and loading models: :func:`save` and :func:`load` of the model file
format (:mod:`pyfastnn._model_file`: one ``.npz``, parameters + JSON, no pickle)."""

from __future__ import annotations

from pathlib import Path

from . import _model_file, _safetensors
from .linear import LogisticRegression, Perceptron
from .mlp import MLP

# "model" field of the description -> class (files without it hold an MLP)
_KINDS = {"mlp": MLP, "logistic_regression": LogisticRegression, "perceptron": Perceptron}


def save(model: MLP, path: str | Path) -> None:
    """Write ``model`` to ``path`` (an .npz file: ``params`` + ``meta`` JSON; a
    safetensors file when ``path`` ends in ".safetensors")."""
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    model.save(path)


def load(path: str | Path, backend: str = "native") -> MLP:
    """Read a model written by :func:`save` (an MLP, LogisticRegression or
    Perceptron); errors name what is wrong."""
    if str(path).endswith(_safetensors.SUFFIX):
        meta, params = _safetensors.read(path)
    else:
        meta, params = _model_file.read(path)
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
