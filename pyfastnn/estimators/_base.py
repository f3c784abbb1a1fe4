"""The shared machinery of the scikit-learn classifiers.

Subclasses name their model kind and how to build it; this class handles the
scikit-learn side: input validation, label encoding through ``classes_``,
seeding from ``random_state``, ``partial_fit`` and pickling.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
except ImportError as err:  # optional dependency
    raise ImportError(
        'pyfastnn.estimators needs scikit-learn: pip install "pyfastnn[sklearn]"'
    ) from err

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # older releases have the method instead
    _sk_validate_data = None

from .._checks import all_finite
from .._factory import fit_model, make_model
from ..model_io import load as _load_model

_SEED_LIMIT = 2**31 - 1


def _validate(estimator: BaseEstimator, X: Any, y: Any = "no_validation", **kw: Any) -> Any:
    """scikit-learn's ``validate_data`` (sets/checks n_features_in_, feature_names_in_).

    A fitted estimator given what validate_data would return unchanged (a finite
    float NumPy X (N, n_features_in_), no feature names seen in fit, y a finite
    numeric vector (N,)) skips it: its checks cost ~0.5 ms a call, more than a
    partial_fit epoch or a predict of a few hundred rows.
    """
    if not kw.get("reset", True) and _already_valid(estimator, X, y):
        return X if isinstance(y, str) else (X, y)
    kw.setdefault("dtype", (np.float64, np.float32))
    if _sk_validate_data is not None:
        return _sk_validate_data(estimator, X, y, **kw)
    return estimator._validate_data(X, y, **kw)  # pragma: no cover (scikit-learn < 1.6)


def _already_valid(estimator: BaseEstimator, X: Any, y: Any) -> bool:
    if (
        type(X) is not np.ndarray
        or X.dtype not in (np.float32, np.float64)
        or X.ndim != 2
        or X.shape[0] < 1
        or X.shape[1] != getattr(estimator, "n_features_in_", -1)
        or hasattr(estimator, "feature_names_in_")
        or not all_finite(X)
    ):
        return False
    if isinstance(y, str):  # "no_validation"
        return True
    return (
        type(y) is np.ndarray
        and y.ndim == 1
        and y.shape[0] == X.shape[0]
        and (y.dtype.kind in "iu" or (y.dtype.kind == "f" and all_finite(y)))
    )


class ModelPickling:
    """Pickling of an estimator whose ``model_`` is a pyfastnn model: the model
    travels as the bytes of its .npz model file (the native handle is rebuilt)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: never touch self.__dict__
        model = state.get("model_")
        if model is not None:
            state["model_"] = _ModelBytes(_model_to_bytes(model), model.backend)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        blob = state.get("model_")
        if isinstance(blob, _ModelBytes):
            state["model_"] = _model_from_bytes(blob.data, blob.backend)
        super().__setstate__(state)


class PyfastnnClassifier(ModelPickling, ClassifierMixin, BaseEstimator):
    """Base of the pyfastnn classifiers; not used directly.

    Learned attributes (after ``fit``): ``classes_`` (K,) the labels in sorted
    order, ``n_features_in_`` D, ``model_`` the trained pyfastnn model,
    ``history_`` its :class:`pyfastnn.History` (of the last ``fit`` or
    ``partial_fit`` call), ``n_iter_`` the epochs run in total.
    """

    _model_kind = "mlp"

    # ---- what subclasses provide ---------------------------------------------

    def _model_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`pyfastnn._factory.make_model` besides the sizes."""
        return {}

    def _fit_options(self) -> dict[str, Any]:
        """Keyword arguments for the model's ``fit``."""
        return {
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "l1": self.l1,
            "l2": self.l2,
            "dropout": getattr(self, "dropout", 0.0),  # hidden layers only (MLPClassifier)
            "progress": bool(self.verbose),
        }

    # ---- training ------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> PyfastnnClassifier:
        """Train a new model on X (N, D) and labels y (N,) of any type; return self."""
        X, y = _validate(self, X, y, reset=True)
        check_classification_targets(y)
        self.classes_ = _check_classes(np.unique(y), type(self).__name__)
        seed = int(check_random_state(self.random_state).randint(_SEED_LIMIT))
        self.model_ = self._new_model(X.shape[1], seed)
        self._shuffle_seed = seed
        self.n_iter_ = 0
        self.history_ = self._train(X, self._encode(y), self.epochs)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> PyfastnnClassifier:
        """One epoch over X (N, D), y (N,); continues from the current weights.

        ``classes`` (all labels that will ever occur) is read on the first call;
        without it the labels of that first ``y`` are taken as all the classes.
        Optimiser state (Adam moments) starts afresh with each call.
        """
        first = not hasattr(self, "model_")
        X, y = _validate(self, X, y, reset=first)
        check_classification_targets(y)
        if first:
            labels = y if classes is None else np.asarray(classes)
            self.classes_ = _check_classes(np.unique(labels), type(self).__name__)
            seed = int(check_random_state(self.random_state).randint(_SEED_LIMIT))
            self.model_ = self._new_model(X.shape[1], seed)
            self._shuffle_seed = seed
            self.n_iter_ = 0
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes: {np.unique(classes)} differs from classes_ {self.classes_} "
                "given on the first call to partial_fit"
            )
        self.history_ = self._train(X, self._encode(y), 1)
        return self

    def _new_model(self, n_features: int, seed: int) -> Any:
        return make_model(
            self._model_kind,
            n_features,
            len(self.classes_),
            dtype=self.dtype,
            backend=self.backend,
            seed=seed,
            **self._model_options(),
        )

    def _train(self, X: np.ndarray, y_index: np.ndarray, epochs: int) -> Any:
        # a different shuffling order for every partial_fit call
        history = fit_model(
            self.model_,
            X,
            y_index,
            epochs=epochs,
            seed=self._shuffle_seed + self.n_iter_,
            **self._fit_options(),
        )
        self.n_iter_ += len(history.epochs)
        return history

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Labels -> indices into classes_ (N,) int64; unknown labels raise."""
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"y: labels {np.unique(y[unknown])} are not in classes_ {self.classes_}; "
                "pass every label with classes= on the first call to partial_fit"
            )
        return index.astype(np.int64)

    # ---- prediction ----------------------------------------------------------

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, K), columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return np.asarray(self.model_.predict_proba(X), dtype=np.float64)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Natural log of :meth:`predict_proba` (N, K)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (N,), taken from ``classes_``."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # score: ClassifierMixin.score (mean accuracy)

    # ---- the weights in scikit-learn's layout ----------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices (n_in, n_out) per layer, as scikit-learn's
        ``MLPClassifier.coefs_`` (views into the model's parameters)."""
        return self._fitted_model().weights

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors (n_out,) per layer, as scikit-learn's ``intercepts_``."""
        return self._fitted_model().biases

    def _fitted_model(self) -> Any:
        model = self.__dict__.get("model_")
        if model is None:  # AttributeError: hasattr(est, "coefs_") is False before fit
            raise AttributeError(f"{type(self).__name__} is not fitted yet: no coefs_")
        return model


def _check_classes(classes: np.ndarray, name: str) -> np.ndarray:
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes; the data contain only one class: "
            f"{classes[0]!r}"
        )
    return classes


class _ModelBytes:
    """A model file's bytes inside a pickle."""

    def __init__(self, data: bytes, backend: str) -> None:
        self.data = data
        self.backend = backend


def _model_to_bytes(model: Any) -> bytes:
    fd, path = tempfile.mkstemp(suffix=".npz")
    os.close(fd)
    try:
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _model_from_bytes(data: bytes, backend: str) -> Any:
    fd, path = tempfile.mkstemp(suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _load_model(path, backend=backend)
    finally:
        os.unlink(path)
