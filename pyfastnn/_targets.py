"""Conversion of user-supplied ``y`` (and sample / class weights) into what the
losses consume."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from ._checks import all_finite, as_float_array, base_array


def _asarray(y: object, name: str = "y") -> np.ndarray:
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name}: expected an array of labels or targets, got {type(y).__name__}")
    return base_array(y, name)


@dataclass(frozen=True)
class Target:
    """Either integer class labels (N,) or real targets (N, K) — exactly one is set —
    and optional sample weights (N,).

    With ``weights`` the loss of a batch is the weighted mean
    ``sum_i w_i loss_i / sum_i w_i`` (0 when the batch's weights are all 0);
    None means every weight is 1 (the plain mean).
    """

    labels: np.ndarray | None = None  # (N,) int64, each in [0, K)
    values: np.ndarray | None = None  # (N, K) in the model's dtype
    weights: np.ndarray | None = None  # (N,) in the model's dtype, finite, >= 0

    def take(self, rows: np.ndarray | slice) -> Target:
        """The targets (and weights) of ``rows`` (a minibatch)."""
        return Target(
            labels=None if self.labels is None else self.labels[rows],
            values=None if self.values is None else self.values[rows],
            weights=None if self.weights is None else self.weights[rows],
        )

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


def class_labels(target: Target) -> np.ndarray | None:
    """Class labels (N,) of a target: its labels, or a single column of 0/1 values
    (one sigmoid output); None for other real targets."""
    if target.labels is not None:
        return target.labels
    assert target.values is not None
    v = target.values
    if v.shape[1] == 1 and bool(np.all((v == 0) | (v == 1))):
        return v[:, 0].astype(np.int64)
    return None


def _class_weight_table(class_weight: object, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Weights (n_classes,) float64 per class label 0 .. n_classes-1."""
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight: expected None, 'balanced' or a mapping {{class: weight}}, "
                f"got {class_weight!r}"
            )
        # scikit-learn's compute_class_weight: n_samples / (n_classes present * count)
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        present = counts > 0
        table = np.ones(n_classes)
        table[present] = labels.shape[0] / (np.count_nonzero(present) * counts[present])
        return table
    if not isinstance(class_weight, Mapping):
        raise TypeError(
            f"class_weight: expected None, 'balanced' or a mapping {{class: weight}}, "
            f"got {type(class_weight).__name__}"
        )
    table = np.ones(n_classes)
    for key, value in class_weight.items():
        whole = isinstance(key, numbers.Integral) or (
            isinstance(key, numbers.Real) and float(key).is_integer()
        )
        if isinstance(key, bool) or not whole or not 0 <= int(key) < n_classes:
            raise ValueError(
                f"class_weight: keys must be class labels in [0, {n_classes}), got {key!r}"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"class_weight: the weight of class {key!r} is not a number: {value!r}")
        if not (np.isfinite(float(value)) and float(value) >= 0):
            raise ValueError(
                f"class_weight: the weight of class {key!r} must be finite and >= 0, got {value!r}"
            )
        table[int(key)] = float(value)
    return table


def with_weights(
    target: Target,
    sample_weight: object,
    class_weight: object,
    n_classes: int,
    dtype: np.dtype,
) -> Target:
    """``target`` with the weights ``sample_weight * class_weight[y]`` (N,) in ``dtype``.

    ``sample_weight``: None or (N,) real numbers, finite and >= 0, not all 0.
    ``class_weight``: None, "balanced" (n_samples / (n_classes * bincount(y)) over the
    classes present, as scikit-learn) or a mapping {class label 0..K-1: weight}
    (classes not named weigh 1); needs class labels. Weights that are all equal
    are dropped (``weights=None``): the weighted mean is then the plain mean, and
    the results are exactly the unweighted ones.
    """
    if sample_weight is None and class_weight is None:
        return target
    n = target.labels.shape[0] if target.labels is not None else target.values.shape[0]  # type: ignore[union-attr]
    weights = None
    if sample_weight is not None:
        if isinstance(sample_weight, (str, bytes)):
            raise TypeError("sample_weight: expected an array of numbers, got a string")
        sw = base_array(sample_weight, "sample_weight")
        if sw.dtype.kind not in "fiu":
            raise TypeError(f"sample_weight: expected real numbers, got dtype {sw.dtype}")
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(f"sample_weight: expected shape ({n},), got {sw.shape}")
        weights = sw.astype(np.float64)
        if not all_finite(weights):
            raise ValueError("sample_weight: contains NaN or infinity")
        if n and weights.min() < 0:
            raise ValueError("sample_weight: expected weights >= 0, got a negative one")
        if n and not weights.any():
            raise ValueError("sample_weight: the weights are all 0")
    if class_weight is not None:
        labels = class_labels(target)
        if labels is None:
            raise ValueError("class_weight: needs integer class labels y (a classifier)")
        table = _class_weight_table(class_weight, labels, max(n_classes, 2))
        per_row = table[labels]
        weights = per_row if weights is None else weights * per_row
        if n and not weights.any():
            raise ValueError("class_weight, sample_weight: the combined weights are all 0")
    assert weights is not None
    with np.errstate(over="ignore"):
        w = np.ascontiguousarray(weights, dtype=dtype)
    if not all_finite(w) or (n and not w.any()):
        raise ValueError(f"sample_weight, class_weight: the weights do not fit {np.dtype(dtype)}")
    if n == 0 or bool(np.all(w == w[0])):
        return target
    return replace(target, weights=w)
