"""MLPClassifier, LogisticRegressionClassifier and PerceptronClassifier."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import PyfastnnClassifier

# lr=None picks these (per optimiser)
DEFAULT_LR = {"sgd": 0.1, "adam": 0.001}


class _Trained(PyfastnnClassifier):
    """Holds the training hyper-parameters common to all three classifiers."""

    def _fit_options(self) -> dict[str, Any]:
        options = super()._fit_options()
        if options["lr"] is None and isinstance(self.optimizer, str):
            options["lr"] = DEFAULT_LR.get(self.optimizer.lower())
        return options


class MLPClassifier(_Trained):
    """A multi-layer perceptron classifier trained by pyfastnn's kernels.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers, e.g. ``(100,)`` or ``(64, 64)``; ``()``
        gives a softmax regression.
    activation : str
        Hidden activation: "relu", "tanh", "sigmoid", "gelu", "leaky_relu",
        "scaled_relu", "softplus" or "identity".
    output : str
        "softmax" (cross-entropy), "sparsemax" or "relumax".
    optimizer : "sgd" or "adam"
    lr : float or None
        Learning rate; None means 0.1 for SGD and 0.001 for Adam.
    epochs : int
        Passes over the data in ``fit`` (``partial_fit`` makes one).
    batch_size : int
    l1, l2 : float
        Penalties ``l1 * sum|W| + l2 * sum W^2`` on the weights.
    dropout : float
        Dropout rate of the hidden layers; needs a pyfastnn whose ``fit`` has
        ``dropout=`` (0 always works).
    backend : "native", "vector" or "loop"
    dtype : "float32" or "float64"
        Precision of the model (inputs are converted to it). In float32 the
        probabilities of a row can differ in the last bit or two depending on
        the batch it is predicted in; float64 makes them agree to ~1e-16.
    random_state : int, RandomState or None
        Seeds the initial weights and the shuffling.
    verbose : bool
        Show a progress bar per ``fit`` (needs tqdm).

    Attributes
    ----------
    classes_ : ndarray (K,)
    n_features_in_ : int
    feature_names_in_ : ndarray, when X had string column names
    model_ : pyfastnn.MLP
    history_ : pyfastnn.History
    n_iter_ : int
        Epochs run in total.
    coefs_ : list of ndarray (n_in, n_out)
    intercepts_ : list of ndarray (n_out,)
        The weights in scikit-learn's ``MLPClassifier`` layout (views into
        ``model_``); ``pyfastnn.MLP.from_sklearn`` and ``model_.to_sklearn``
        convert whole models.
    """

    _model_kind = "mlp"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        output: str = "softmax",
        optimizer: str = "sgd",
        lr: float | None = None,
        epochs: int = 30,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
        backend: str = "native",
        dtype: str = "float32",
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.dropout = dropout
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _model_options(self) -> dict[str, Any]:
        sizes = self.hidden_layer_sizes
        hidden = (sizes,) if isinstance(sizes, int) else tuple(sizes)
        return {"hidden": hidden, "activation": self.activation, "output": self.output}


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
