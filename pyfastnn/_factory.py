"""One place that builds the models the estimators, sweeps and CLI train.

``make_model("mlp" | "logreg" | "perceptron", n_features, n_classes, ...)``
returns an object with ``fit(X, y, ...) -> History``, ``predict``,
``predict_proba``, ``score`` and ``save``: :class:`pyfastnn.MLP`,
:class:`pyfastnn.LogisticRegression` or :class:`pyfastnn.Perceptron`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

MODEL_KINDS = ("mlp", "logreg", "perceptron")

#: Options of :class:`pyfastnn.MLP` that the CLI and sweeps pass through, and their
#: defaults (the MLP's own); linear models take none of them.
MLP_OPTIONS: dict[str, Any] = {
    "output": "softmax",  # a label output: "softmax", "sparsemax" or "relumax"
    "loss": None,  # None: the output's default loss
    "relumax_b": 1.0,
    "eps": 1e-3,
    "activation_param": None,  # None: the activation's default (scaled_relu c, leaky_relu alpha)
    "init": "glorot_uniform",
}


def make_model(
    kind: str,
    n_features: int,
    n_classes: int,
    *,
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    dtype: str = "float32",
    backend: str = "native",
    seed: int = 0,
    **mlp_options: Any,
) -> Any:
    """A fresh model with D = ``n_features`` inputs and K = ``n_classes`` outputs.

    ``hidden``, ``activation`` and ``mlp_options`` (keys of :data:`MLP_OPTIONS`:
    ``output`` -- a label output, "softmax", "sparsemax" or "relumax" --,
    ``loss``, ``relumax_b``, ``eps``, ``activation_param``, ``init``) apply to
    ``"mlp"`` only (``hidden=()`` is a softmax regression); a linear model given
    one of them with a value other than its default raises ``ValueError``.
    """
    import pyfastnn

    unknown = sorted(set(mlp_options) - set(MLP_OPTIONS))
    if unknown:
        raise TypeError(f"make_model: unknown options {unknown}; known: {sorted(MLP_OPTIONS)}")
    if kind == "mlp":
        sizes = [int(n_features), *(int(h) for h in hidden), int(n_classes)]
        options = {**MLP_OPTIONS, **mlp_options}
        return pyfastnn.MLP(
            sizes, activation=activation, dtype=dtype, backend=backend, seed=seed, **options
        )
    changed = sorted(k for k, v in mlp_options.items() if v != MLP_OPTIONS[k])
    if kind in ("logreg", "perceptron") and changed:
        raise ValueError(f"{', '.join(changed)}: options of model 'mlp', not of {kind!r}")
    if kind == "logreg":
        return pyfastnn.LogisticRegression(
            n_features, n_classes, dtype=dtype, backend=backend, seed=seed
        )
    if kind == "perceptron":
        return pyfastnn.Perceptron(n_features, n_classes, dtype=dtype, backend=backend, seed=seed)
    raise ValueError(f"model: expected one of {MODEL_KINDS}, got {kind!r}")


def make_optimizer(name: str, lr: float | None, momentum: float = 0.0) -> Any:
    """``name`` ("sgd" or "adam") as an optimiser object; ``momentum`` is SGD's.

    Returns the name itself when nothing but ``lr`` is set (so each model's
    ``fit`` keeps its own default learning rate when ``lr`` is None).
    """
    from .optim import SGD

    if not momentum:
        return name
    if name != "sgd":
        raise ValueError(f"momentum: applies to optimizer 'sgd', not {name!r}")
    return SGD(momentum=momentum) if lr is None else SGD(lr=lr, momentum=momentum)


def fit_accepts(model: Any, option: str) -> bool:
    """Whether ``model.fit`` takes the keyword ``option`` (e.g. ``"dropout"``)."""
    return option in inspect.signature(model.fit).parameters


def fit_model(model: Any, X: Any, y: Any, *, dropout: float = 0.0, **options: Any) -> Any:
    """``model.fit(X, y, **options)``, adding ``dropout=`` only when it is used.

    A nonzero ``dropout`` with a ``fit`` that cannot apply it raises
    ``ValueError`` rather than being ignored.
    """
    if dropout:
        if not fit_accepts(model, "dropout"):
            raise ValueError(
                f"dropout: this version of {type(model).__name__}.fit has no dropout; use dropout=0"
            )
        options["dropout"] = dropout
    return model.fit(X, y, **options)
