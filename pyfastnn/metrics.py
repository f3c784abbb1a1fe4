"""Classification metrics from integer class labels: the confusion matrix and
what is read off it.

Labels are integers in [0, K), as the models see them (``y_true``, ``y_pred``
(N,) each); K is ``n_classes``, or one more than the largest label in either
array when not given. Conventions are scikit-learn's, so the numbers can be
checked against ``sklearn.metrics`` (the tests do):

- ``confusion_matrix[i, j]`` counts samples of true class i predicted as j
  (rows: truth, columns: prediction).
- Per class k: precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)``,
  F1 ``2 tp / (2 tp + fp + fn)`` (the harmonic mean of the two), support
  ``tp + fn`` (samples of class k). A ratio whose denominator is 0 — the
  precision of a class never predicted, the recall of a class absent from
  ``y_true``, the F1 of a class absent from both — is 0, as scikit-learn's
  ``zero_division=0``; no warning is raised.
- Balanced accuracy: the mean recall over the classes present in ``y_true``
  (scikit-learn's ``balanced_accuracy_score``; classes that only occur in
  ``y_pred``, or in neither array, are left out of the mean).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._checks import base_array, check_memory

__all__ = [
    "PrecisionRecall",
    "balanced_accuracy",
    "classification_report_dict",
    "confusion_matrix",
    "precision_recall",
]


class PrecisionRecall(NamedTuple):
    """Per-class figures, (K,) arrays each: precision, recall, F1 (float64) and
    support (int64, the number of samples of each class in ``y_true``)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """(K, K) int64 counts: entry [i, j] is the number of samples of true class i
    predicted as class j; y_true, y_pred (N,) integer labels in [0, K)."""
    t, p, k = _labels(y_true, y_pred, n_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def precision_recall(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
) -> PrecisionRecall:
    """Per-class precision, recall, F1 and support (K,) each (see the module
    docstring for the formulas and the zero-division rule)."""
    return _from_confusion(confusion_matrix(y_true, y_pred, n_classes))


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> float:
    """Mean over the classes present in ``y_true`` of their recall (N >= 1)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    return _balanced(cm)


def classification_report_dict(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int | None = None,
    target_names: list[str] | None = None,
) -> dict[str, object]:
    """The figures of scikit-learn's ``classification_report(..., output_dict=True,
    zero_division=0)`` over the labels 0 .. K-1, plus more, in plain Python types:

    ``{name: {"precision", "recall", "f1-score", "support"} for each class,
    "accuracy", "macro avg": {...}, "weighted avg": {...}, "balanced_accuracy",
    "confusion_matrix": K lists of K ints}``. Class names are ``target_names``
    (K strings) or the labels as strings; the macro average is over all K
    classes, the weighted one weighs by support (N >= 1).
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    k = cm.shape[0]
    if target_names is None:
        names = [str(i) for i in range(k)]
    else:
        if isinstance(target_names, (str, bytes)) or len(target_names) != k:
            raise ValueError(f"target_names: expected {k} names, got {target_names!r}")
        names = [str(name) for name in target_names]
        if len(set(names)) != k or set(names) & _SUMMARY_KEYS:
            raise ValueError(
                f"target_names: expected distinct names other than {sorted(_SUMMARY_KEYS)}, "
                f"got {names}"
            )
    n = int(cm.sum())
    if n == 0:
        raise ValueError("y_true: no samples to report on")
    pr = _from_confusion(cm)
    report: dict[str, object] = {
        name: _row(pr.precision[i], pr.recall[i], pr.f1[i], pr.support[i])
        for i, name in enumerate(names)
    }
    report["accuracy"] = float(np.trace(cm)) / n
    report["macro avg"] = _row(pr.precision.mean(), pr.recall.mean(), pr.f1.mean(), n)
    w = pr.support / n
    report["weighted avg"] = _row(
        float(w @ pr.precision), float(w @ pr.recall), float(w @ pr.f1), n
    )
    report["balanced_accuracy"] = _balanced(cm)
    report["confusion_matrix"] = cm.tolist()
    return report


_SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "balanced_accuracy", "confusion_matrix"}


def _row(precision: float, recall: float, f1: float, support: int) -> dict[str, float | int]:
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1-score": float(f1),
        "support": int(support),
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den is 0 (zero_division=0)."""
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _from_confusion(cm: np.ndarray) -> PrecisionRecall:
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)  # tp + fp
    support = cm.sum(axis=1)  # tp + fn
    return PrecisionRecall(
        precision=_ratio(tp, predicted),
        recall=_ratio(tp, support.astype(np.float64)),
        f1=_ratio(2 * tp, predicted + support),  # 2 tp + fp + fn
        support=support.astype(np.int64),
    )


def _balanced(cm: np.ndarray) -> float:
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        raise ValueError("y_true: no samples to score")
    return float(np.mean(np.diag(cm)[present] / support[present]))


def _labels(
    y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(y_true, y_pred) as int64 (N,) each and K, checked."""
    if n_classes is not None:
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
            raise TypeError(f"n_classes: expected an integer, got {n_classes!r}")
        if n_classes < 1:
            raise ValueError(f"n_classes: expected an integer >= 1, got {n_classes}")
    arrays = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y is None or isinstance(y, (str, bytes)):
            raise TypeError(f"{name}: expected integer class labels, got {type(y).__name__}")
        arr = base_array(y, name)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise TypeError(
                f"{name}: expected a 1-D array of integer class labels, "
                f"got {arr.dtype} of shape {arr.shape}"
            )
        if arr.size and int(arr.min()) < 0:
            raise ValueError(f"{name}: labels must be >= 0, got {int(arr.min())}")
        arrays.append(arr)
    t, p = arrays
    if t.shape != p.shape:
        raise ValueError(f"y_pred: has {p.shape[0]} labels but y_true has {t.shape[0]}")
    largest = max(int(a.max()) if a.size else -1 for a in arrays)
    if n_classes is None:
        k = largest + 1
        if k == 0:
            raise ValueError("y_true: no labels, and no n_classes to size the matrix")
    else:
        k = int(n_classes)
        if largest >= k:
            name = "y_true" if t.size and int(t.max()) == largest else "y_pred"
            raise ValueError(f"{name}: labels must lie in [0, {k}), got {largest}")
    check_memory(k * k * 8, "n_classes", f"a confusion matrix of {k} x {k} classes")
    return t.astype(np.int64, copy=False), p.astype(np.int64, copy=False), k
