"""Linear classifiers: multinomial logistic regression and the multiclass perceptron.

Both are one dense layer ``scores = X @ W + b`` (W (D, K), b (K,)) and share
everything with :class:`pyfastnn.MLP`: the three backends, ``fit`` (the native
epoch loop included), ``predict``, ``decision_function`` (the scores X @ W + b),
``score``, ``summary``, ``save``/``pyfastnn.load`` and pickling.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from .mlp import MLP
from .optim import Optimizer
from .schedules import ScheduleLike
from .training import Callback, History


def _check_counts(n_features: object, n_classes: object) -> tuple[int, int]:
    for name, value, least in (("n_features", n_features, 1), ("n_classes", n_classes, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected an integer, got {value!r}")
        if value < least:
            raise ValueError(f"{name}: expected an integer >= {least}, got {value}")
    return int(n_features), int(n_classes)  # type: ignore[arg-type]


class LogisticRegression(MLP):
    """Multinomial logistic regression: ``p = softmax(X @ W + b)``.

    Trained on the mean cross-entropy ``-log p_y`` plus, through ``fit``'s
    ``l2`` and ``l1``, ``l2 * sum W^2 + l1 * sum |W|`` (the bias is not
    penalised). Shapes: X (N, n_features), y (N,) labels in [0, n_classes).
    Weights start at zero (``init="zeros"``; the loss is convex), or from
    any of :class:`MLP`'s schemes.
    """

    _FILE_KIND = "logistic_regression"

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        dtype: str | np.dtype = "float32",
        backend: str = "native",
        seed: int = 0,
        init: str = "zeros",
    ) -> None:
        D, K = _check_counts(n_features, n_classes)
        super().__init__(
            [D, K], "identity", "softmax", dtype=dtype, backend=backend, seed=seed, init=init
        )

    def __repr__(self) -> str:
        return (
            f"LogisticRegression(n_features={self.n_inputs}, n_classes={self.n_outputs}, "
            f"dtype={self.dtype.name!r}, backend={self.backend!r})"
        )


class Perceptron(MLP):
    """Multiclass perceptron: predicts ``argmax(X @ W + b)`` (the first on ties).

    A mistake on sample x of class y, predicted p, updates
    ``W[:, y] += lr * x, W[:, p] -= lr * x`` (and the biases likewise): the
    gradient step of the loss ``z_p - z_y`` (see :class:`MLP`'s "perceptron"
    loss); correct samples change nothing. ``fit`` defaults to the classic
    setting, one sample per step, with SGD at the default rate of
    ``pyfastnn.optim.DEFAULT_LR`` (from zero weights and without penalties
    the rate only scales the weights: the predictions do not depend on it);
    larger minibatches average the updates of their mistakes. Weights start
    at zero.
    """

    _FILE_KIND = "perceptron"

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        dtype: str | np.dtype = "float32",
        backend: str = "native",
        seed: int = 0,
        init: str = "zeros",
    ) -> None:
        D, K = _check_counts(n_features, n_classes)
        super().__init__(
            [D, K],
            "identity",
            "identity",
            dtype=dtype,
            backend=backend,
            seed=seed,
            init=init,
            loss="perceptron",
        )

    def __repr__(self) -> str:
        return (
            f"Perceptron(n_features={self.n_inputs}, n_classes={self.n_outputs}, "
            f"dtype={self.dtype.name!r}, backend={self.backend!r})"
        )

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        epochs: int = 10,
        batch_size: int = 1,
        optimizer: str | Optimizer = "sgd",
        lr: float | None = None,
        lr_schedule: ScheduleLike = None,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
        X_val: ArrayLike | None = None,
        y_val: ArrayLike | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        shuffle: bool = True,
        seed: int = 0,
        train_metrics: bool = True,
        progress: bool = False,
        sample_weight: ArrayLike | None = None,
        class_weight: str | dict | None = None,
        callbacks: Iterable[Callback] = (),
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
        resume: str | os.PathLike[str] | None = None,
        clip_norm: float | None = None,
    ) -> History:
        """Train in place on X (N, n_features), y (N,) labels; the classic
        default of one sample per step (``batch_size=1``). See
        :func:`pyfastnn.training.fit` for the options."""
        return super().fit(
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            lr=lr,
            lr_schedule=lr_schedule,
            l1=l1,
            l2=l2,
            dropout=dropout,
            X_val=X_val,
            y_val=y_val,
            patience=patience,
            restore_best=restore_best,
            shuffle=shuffle,
            seed=seed,
            train_metrics=train_metrics,
            progress=progress,
            sample_weight=sample_weight,
            class_weight=class_weight,
            callbacks=callbacks,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
            clip_norm=clip_norm,
        )

    def predict_proba(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """(N, K) one-hot rows of the predicted class: a perceptron makes hard
        decisions and has no probabilities to give (its scores are
        :meth:`decision_function`). ``batch_size``: rows per evaluation chunk."""
        scores = self.decision_function(X, batch_size)
        proba = np.zeros_like(scores)
        proba[np.arange(scores.shape[0]), np.argmax(scores, axis=1)] = 1
        return proba
