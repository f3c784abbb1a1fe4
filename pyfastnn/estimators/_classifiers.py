"""LogisticRegressionClassifier and PerceptronClassifier (pyfastnn's parameter names).

The scikit-learn-named MLP estimators are in ``_mlp.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optim
from ._base import PyfastnnClassifier


class _Trained(PyfastnnClassifier):
    """Holds the training hyper-parameters common to the linear classifiers."""

    def _fit_options(self) -> dict[str, Any]:
        options = super()._fit_options()
        if options["lr"] is None and isinstance(self.optimizer, str):
            options["lr"] = optim.DEFAULT_LR.get(self.optimizer.lower())
        return options


class _Linear(_Trained):
    """The parameters of the two linear classifiers (no hidden layers)."""

    def __init__(
        self,
        optimizer: str = "sgd",
        lr: float | None = None,
        epochs: int = 30,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        backend: str = "native",
        dtype: str = "float32",
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @property
    def coef_(self) -> np.ndarray:
        """Weights (n_classes, n_features), scikit-learn's linear-model layout
        (``decision_function = X @ coef_.T + intercept_``); a copy."""
        return self._fitted_model().weights[0].T.copy()

    @property
    def intercept_(self) -> np.ndarray:
        """Biases (n_classes,); a copy."""
        return self._fitted_model().biases[0].copy()


_LINEAR_DOC = """

    Parameters
    ----------
    optimizer : "sgd" or "adam"
    lr : float or None
        Learning rate; None means 0.1 for SGD and 0.001 for Adam.
    epochs : int
        Passes over the data in ``fit`` (``partial_fit`` makes one).
    batch_size : int
    l1, l2 : float
        Penalties ``l1 * sum|W| + l2 * sum W^2`` on the weights.
    backend : "native", "vector" or "loop"
    dtype : "float32" or "float64"
    random_state : int, RandomState or None
    verbose : bool

    Attributes
    ----------
    classes_ : ndarray (K,)
    n_features_in_ : int
    model_ : the trained pyfastnn model
    history_ : pyfastnn.History
    n_iter_ : int
    coef_ : ndarray (K, D), intercept_ : ndarray (K,)
        scikit-learn's linear-model layout (copies).
    coefs_, intercepts_ : lists with one array
        scikit-learn's MLP layout (views into the model).
    """


class LogisticRegressionClassifier(_Linear):
    __doc__ = (
        "Multinomial logistic regression (softmax of X @ W + b, cross-entropy) "
        "trained by minibatch SGD or Adam with pyfastnn's kernels." + _LINEAR_DOC
    )
    _model_kind = "logreg"


class PerceptronClassifier(_Linear):
    __doc__ = (
        "A multiclass perceptron (pyfastnn.Perceptron) trained with pyfastnn's "
        "kernels; needs a pyfastnn that has ``pyfastnn.Perceptron``." + _LINEAR_DOC
    )
    _model_kind = "perceptron"
