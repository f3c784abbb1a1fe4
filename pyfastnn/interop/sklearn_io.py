"""Weights in and out of scikit-learn's ``MLPClassifier`` / ``MLPRegressor``.

scikit-learn stores a fitted network as ``coefs_`` (list of (in, out)
matrices: pyfastnn's layout), ``intercepts_`` (list of (out,) vectors), the
hidden ``activation`` ("identity", "logistic", "tanh", "relu") and
``out_activation_`` ("softmax", "logistic", "identity"); those map one to one
onto pyfastnn's activations and outputs ("logistic" is "sigmoid").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._spec import NetSpec

try:
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import LabelBinarizer
except ImportError as err:  # optional dependency
    raise ImportError(
        'scikit-learn conversion needs scikit-learn: pip install "pyfastnn[sklearn]"'
    ) from err

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_OUTPUTS = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity"}
_SK_ACTIVATIONS = {ours: theirs for theirs, ours in _ACTIVATIONS.items()}


def from_sklearn(estimator: Any) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray]]:
    """(MLP keyword arguments, weights, biases) of a fitted scikit-learn
    ``MLPClassifier`` or ``MLPRegressor``; the arrays are copies."""
    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            "estimator: expected a fitted sklearn.neural_network.MLPClassifier or "
            f"MLPRegressor, got {type(estimator).__name__}"
        )
    coefs = getattr(estimator, "coefs_", None)
    intercepts = getattr(estimator, "intercepts_", None)
    if coefs is None or intercepts is None:
        raise ValueError("estimator: is not fitted (no coefs_ / intercepts_)")
    if estimator.activation not in _ACTIVATIONS:
        raise ValueError(f"estimator: unknown activation {estimator.activation!r}")
    if estimator.out_activation_ not in _OUTPUTS:
        raise ValueError(f"estimator: unknown out_activation_ {estimator.out_activation_!r}")
    weights = [np.array(W) for W in coefs]
    biases = [np.array(b) for b in intercepts]
    dtype = weights[0].dtype
    if dtype not in (np.float32, np.float64) or any(a.dtype != dtype for a in weights + biases):
        raise ValueError("estimator: coefs_/intercepts_ must all be float32 or float64")
    options = {
        "layer_sizes": [weights[0].shape[0]] + [W.shape[1] for W in weights],
        "activation": _ACTIVATIONS[estimator.activation],
        "output": _OUTPUTS[estimator.out_activation_],
        "dtype": dtype.name,
    }
    return options, weights, biases


def to_sklearn(
    spec: NetSpec,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    classes: Any = None,
) -> MLPClassifier | MLPRegressor:
    """A fitted scikit-learn estimator computing the same function: an
    ``MLPClassifier`` for softmax outputs and a single sigmoid output (its
    ``classes_`` are ``classes``, default 0 .. K-1 (0, 1 for one sigmoid
    output)), an ``MLPRegressor`` for identity outputs trained on real targets.
    Hidden activations: identity, relu, tanh, sigmoid."""
    if spec.activation not in _SK_ACTIVATIONS:
        raise ValueError(
            f"model: activation {spec.activation!r} has no scikit-learn equivalent "
            f"(supported: {sorted(_SK_ACTIVATIONS)})"
        )
    hidden = tuple(spec.sizes[1:-1])
    activation = _SK_ACTIVATIONS[spec.activation]
    if spec.output == "identity" and not spec.labels_only:
        est: Any = MLPRegressor(hidden_layer_sizes=hidden, activation=activation)
    elif spec.output == "softmax" or (spec.output == "sigmoid" and spec.n_outputs == 1):
        est = MLPClassifier(hidden_layer_sizes=hidden, activation=activation)
        n_classes = max(spec.n_outputs, 2)
        labels = np.arange(n_classes) if classes is None else np.asarray(classes)
        if labels.ndim != 1 or len(labels) != n_classes or len(np.unique(labels)) != n_classes:
            raise ValueError(f"classes: expected {n_classes} distinct labels, got {classes!r}")
        est.classes_ = labels
        est._label_binarizer = LabelBinarizer().fit(labels)
    else:
        raise ValueError(
            f"model: output {spec.output!r} ({spec.loss}) with {spec.n_outputs} outputs has "
            "no scikit-learn equivalent (softmax, one sigmoid output, or identity regression)"
        )
    est.coefs_ = [np.array(W) for W in weights]
    est.intercepts_ = [np.array(b) for b in biases]
    est.n_features_in_ = spec.n_inputs
    est.n_layers_ = spec.n_layers + 1
    est.n_outputs_ = spec.n_outputs
    est.out_activation_ = {"softmax": "softmax", "sigmoid": "logistic"}.get(spec.output, "identity")
    est.n_iter_ = 0
    return est
