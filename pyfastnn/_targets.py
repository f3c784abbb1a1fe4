"""Conversion of user-supplied ``y`` into what the losses consume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, base_array


def _asarray(y: object, name: str = "y") -> np.ndarray:
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name}: expected an array of labels or targets, got {type(y).__name__}")
    return base_array(y, name)


@dataclass(frozen=True)
class Target:
    """Either integer class labels (N,) or real targets (N, K) — exactly one is set."""

    labels: np.ndarray | None = None  # (N,) int64, each in [0, K)
    values: np.ndarray | None = None  # (N, K) in the model's dtype

    def dense(self, n_outputs: int, dtype: np.dtype) -> np.ndarray:
        """(N, K) targets: the values, or the one-hot encoding of the labels."""
        if self.values is not None:
            return self.values
        assert self.labels is not None
        onehot = np.zeros((self.labels.shape[0], n_outputs), dtype=dtype)
        onehot[np.arange(self.labels.shape[0]), self.labels] = 1
        return onehot


def as_labels(
    y: object, n_samples: int, n_classes: int, name: str = "y", check_range: bool = True
) -> np.ndarray:
    """Integer class labels (N,) as int64, each in [0, n_classes).

    ``check_range=False`` leaves the range check to the caller (the native
    module checks labels itself, saving two reductions per call).
    """
    y = _asarray(y, name)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name}: expected class labels of shape ({n_samples},), got {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"{name}: has {y.shape[0]} labels but X has {n_samples} rows")
    if y.dtype != np.int64 or not y.flags.c_contiguous or not y.flags.aligned:
        y = np.array(y, dtype=np.int64, order="C")  # a new array is aligned
    if check_range and n_samples and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name}: labels must lie in [0, {n_classes}), got values in [{y.min()}, {y.max()}]"
        )
    return y


def whole_float_labels(y: object, labels_only: bool, n_outputs: int) -> object:
    """``y`` with 1-D float class labels that are all whole numbers (``y.astype(float)``,
    as scikit-learn accepts) turned into int64; anything else is returned unchanged
    (and judged by :func:`make_target`). Used by ``fit``."""
    if isinstance(y, (list, tuple)):
        try:
            y = np.asarray(y)
        except (ValueError, TypeError):  # ragged: make_target names it
            return y
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind != "f":
        return y
    if not labels_only and n_outputs == 1:  # real targets of a single output
        return y
    with np.errstate(invalid="ignore"):
        whole = bool(np.all(np.isfinite(y))) and bool(np.all(y == np.floor(y)))
    if not whole or (y.size and float(np.max(np.abs(y))) >= 2.0**53):
        return y
    return y.astype(np.int64)


def make_target(
    y: object,
    labels_only: bool,
    n_samples: int,
    n_outputs: int,
    dtype: np.dtype,
    check_range: bool = True,
    name: str = "y",
) -> Target:
    """Interpret ``y`` for an output/loss pair.

    - ``labels_only`` (softmax, sparsemax, relumax outputs; the perceptron
      loss): integer labels (N,).
    - otherwise (sigmoid + BCE, identity + MSE): real targets (N, K); or, when
      K == 1, real targets (N,); or, when K > 1, integer labels (N,), one-hot
      encoded.
    """
    if labels_only:
        return Target(labels=as_labels(y, n_samples, n_outputs, name, check_range))
    y = _asarray(y, name)
    if y.ndim == 1 and n_outputs > 1:
        return Target(labels=as_labels(y, n_samples, n_outputs, name, check_range))
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    values = as_float_array(y, name, 2, dtype=dtype, finite=False, allow_empty=True)
    if values.shape != (n_samples, n_outputs):
        raise ValueError(
            f"{name}: expected targets of shape ({n_samples}, {n_outputs}), got {values.shape}"
        )
    return Target(values=values)


def predicted_labels(output: str, out: np.ndarray) -> np.ndarray:
    """Class labels (N,) int64 from a classifier's outputs (N, K): whether the one
    output exceeds 0.5 for a single sigmoid output, the first argmax otherwise."""
    if output == "sigmoid" and out.shape[1] == 1:
        return (out[:, 0] > 0.5).astype(np.int64)
    return np.argmax(out, axis=1)
