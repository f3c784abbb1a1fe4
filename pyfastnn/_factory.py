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


def make_model(
    kind: str,
    n_features: int,
    n_classes: int,
    *,
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    output: str = "softmax",
    dtype: str = "float32",
    backend: str = "native",
    seed: int = 0,
) -> Any:
    """A fresh model with D = ``n_features`` inputs and K = ``n_classes`` outputs.

    ``hidden``, ``activation`` and ``output`` (a label output: "softmax",
    "sparsemax" or "relumax") apply to ``"mlp"`` only (``hidden=()`` is a
    softmax regression).
    """
    import pyfastnn

    if kind == "mlp":
        sizes = [int(n_features), *(int(h) for h in hidden), int(n_classes)]
        return pyfastnn.MLP(
            sizes, activation=activation, output=output, dtype=dtype, backend=backend, seed=seed
        )
    if kind == "logreg":
        return pyfastnn.LogisticRegression(
            n_features, n_classes, dtype=dtype, backend=backend, seed=seed
        )
    if kind == "perceptron":
        return pyfastnn.Perceptron(n_features, n_classes, dtype=dtype, backend=backend, seed=seed)
    raise ValueError(f"model: expected one of {MODEL_KINDS}, got {kind!r}")


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
