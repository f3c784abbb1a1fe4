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
#: The optimisers by name (:data:`pyfastnn.optim.DEFAULT_LR` has their learning rates).
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
#: The optimiser of ``pyfastnn train`` and sweeps when none is given (as
#: scikit-learn's MLPClassifier: it trains well at its default rate).
DEFAULT_OPTIMIZER = "adam"
#: alpha of an ``output="entmax"`` MLP when none is given (:class:`pyfastnn.MLP`'s).
DEFAULT_ALPHA = 1.5
#: weight_decay of AdamW when none is given (:class:`pyfastnn.optim.AdamW`'s).
DEFAULT_WEIGHT_DECAY = 0.01

#: Options of :class:`pyfastnn.MLP` that the CLI and sweeps pass through, and their
#: defaults (the MLP's own); linear models take none of them.
MLP_OPTIONS: dict[str, Any] = {
    "output": "softmax",  # a label output: softmax, sparsemax, relumax, entmax15 or entmax
    "alpha": None,  # alpha > 1 of output "entmax" (None: DEFAULT_ALPHA); no other output's
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
    ``output`` -- a label output, "softmax", "sparsemax", "relumax", "entmax15"
    or "entmax" --, ``alpha`` (of "entmax"), ``loss``, ``relumax_b``, ``eps``,
    ``activation_param``, ``init``) apply to
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


def check_optimizer_options(
    name: str, momentum: float = 0.0, nesterov: bool = False, weight_decay: float | None = None
) -> None:
    """Raise ``ValueError`` (naming the option) for an option that ``name`` does
    not take: ``momentum`` is sgd's and rmsprop's, ``nesterov`` sgd's (and needs
    momentum > 0), ``weight_decay`` adamw's."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if momentum and name not in ("sgd", "rmsprop"):
        raise ValueError(f"momentum: applies to optimizer 'sgd' or 'rmsprop', not {name!r}")
    if nesterov and name != "sgd":
        raise ValueError(f"nesterov: applies to optimizer 'sgd', not {name!r}")
    if nesterov and not momentum:
        raise ValueError("nesterov: needs momentum > 0")
    if weight_decay is not None and name != "adamw":
        raise ValueError(f"weight_decay: applies to optimizer 'adamw', not {name!r}")


def check_output_options(model: str, output: str, alpha: float | None) -> None:
    """Raise ``ValueError`` naming ``alpha`` when it is given without output "entmax"."""
    if alpha is not None and (model != "mlp" or output != "entmax"):
        what = f"output {output!r}" if model == "mlp" else f"model {model!r}"
        raise ValueError(f"alpha: applies to output 'entmax' (of model 'mlp') only, not {what}")


def make_optimizer(
    name: str,
    lr: float | None,
    momentum: float = 0.0,
    *,
    nesterov: bool = False,
    weight_decay: float | None = None,
) -> Any:
    """``name`` (one of :data:`OPTIMIZERS`) as an optimiser object with ``lr``
    (None: its default rate), ``momentum`` (sgd, rmsprop), ``nesterov`` (sgd)
    and ``weight_decay`` (adamw; None: its default); ``ValueError`` for an
    option the optimiser does not take (see :func:`check_optimizer_options`).

    Returns the name itself when nothing but ``lr`` is set (so each model's
    ``fit`` keeps its own default learning rate when ``lr`` is None).
    """
    from .optim import SGD, AdamW, RMSprop

    check_optimizer_options(name, momentum, nesterov, weight_decay)
    rate = {} if lr is None else {"lr": lr}
    if name == "sgd" and momentum:
        return SGD(momentum=momentum, nesterov=nesterov, **rate)
    if name == "rmsprop" and momentum:
        return RMSprop(momentum=momentum, **rate)
    if name == "adamw" and weight_decay is not None:
        return AdamW(weight_decay=weight_decay, **rate)
    return name


def fit_accepts(model: Any, option: str) -> bool:
    """Whether ``model.fit`` takes the keyword ``option`` (e.g. ``"dropout"``)."""
    return option in inspect.signature(model.fit).parameters


#: ``fit`` options that some models' ``fit`` lacks, with the value meaning "not used".
OPTIONAL_FIT_OPTIONS: dict[str, Any] = {
    "dropout": 0.0,
    "clip_norm": None,
    "class_weight": None,
    "sample_weight": None,
    "checkpoint": None,
    "resume": None,
}


def fit_model(model: Any, X: Any, y: Any, **options: Any) -> Any:
    """``model.fit(X, y, **options)``, passing the options of
    :data:`OPTIONAL_FIT_OPTIONS` only when they are used.

    Such an option set (e.g. a nonzero ``dropout``, a ``clip_norm``) with a
    ``fit`` that cannot apply it raises ``ValueError`` naming it rather than
    being ignored.
    """
    for key, unused in OPTIONAL_FIT_OPTIONS.items():
        if key not in options:
            continue
        value = options[key]
        if value is None or (unused is not None and value == unused):
            del options[key]
        elif not fit_accepts(model, key):
            raise ValueError(
                f"{key}: this version of {type(model).__name__}.fit has no {key}; leave it out"
            )
    if "checkpoint" not in options:
        options.pop("checkpoint_every", None)
    return model.fit(X, y, **options)
