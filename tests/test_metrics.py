"""pyfastnn.metrics against scikit-learn's definitions and by their own properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pyfastnn import metrics

sk = pytest.importorskip("sklearn.metrics")


def labels(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=n)


# y_true, y_pred, n_classes: random, classes never predicted, classes absent from
# y_true, classes absent from both, a perfect prediction, one sample
CASES = {
    "random": (labels(200, 6, 0), labels(200, 6, 1), 6),
    "never_predicted": (labels(80, 5, 2), labels(80, 5, 3) % 2, 5),
    "absent_from_truth": (labels(80, 4, 4) % 2, labels(80, 4, 5), 4),
    "absent_from_both": (labels(60, 3, 6), labels(60, 3, 7), 7),
    "perfect": (labels(30, 3, 8), labels(30, 3, 8), 3),
    "one_sample": (np.array([2]), np.array([0]), 3),
}


def sklearn_quiet(function, *args, **kwargs):
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true" and the like
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.parametrize("case", CASES)
def test_confusion_matrix_is_scikit_learns(case: str) -> None:
    t, p, k = CASES[case]
    cm = metrics.confusion_matrix(t, p, k)
    np.testing.assert_array_equal(cm, sk.confusion_matrix(t, p, labels=np.arange(k)))
    assert cm.dtype == np.int64 and cm.sum() == len(t)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(t, minlength=k))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(p, minlength=k))


@pytest.mark.parametrize("case", CASES)
def test_precision_recall_f1_support_are_scikit_learns_with_zero_division_0(case: str) -> None:
    t, p, k = CASES[case]
    ours = metrics.precision_recall(t, p, k)
    theirs = sklearn_quiet(
        sk.precision_recall_fscore_support, t, p, labels=np.arange(k), zero_division=0
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert ours.support.dtype == np.int64
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = 2 * ours.precision * ours.recall / (ours.precision + ours.recall)
    np.testing.assert_allclose(ours.f1, np.nan_to_num(harmonic), rtol=1e-14)


@pytest.mark.parametrize("case", CASES)
def test_balanced_accuracy_is_scikit_learns(case: str) -> None:
    t, p, k = CASES[case]
    expected = sklearn_quiet(sk.balanced_accuracy_score, t, p)
    assert metrics.balanced_accuracy(t, p, k) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("case", CASES)
def test_report_dict_holds_scikit_learns_report(case: str) -> None:
    t, p, k = CASES[case]
    names = [f"class {i}" for i in range(k)]
    ours = metrics.classification_report_dict(t, p, k, target_names=names)
    theirs = sklearn_quiet(
        sk.classification_report,
        t,
        p,
        labels=np.arange(k),
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    if "accuracy" not in theirs:  # scikit-learn says "micro avg" when labels are a subset
        theirs["accuracy"] = theirs.pop("micro avg")["recall"]
    assert set(theirs) <= set(ours)
    for key, value in theirs.items():
        if isinstance(value, dict):
            assert ours[key] == pytest.approx(value, rel=1e-14), key
            assert isinstance(ours[key]["support"], int)
        else:
            assert ours[key] == pytest.approx(value, rel=1e-14), key
    assert ours["balanced_accuracy"] == metrics.balanced_accuracy(t, p, k)
    assert ours["confusion_matrix"] == metrics.confusion_matrix(t, p, k).tolist()


def test_report_is_plain_json() -> None:
    import json

    t, p, k = CASES["random"]
    report = metrics.classification_report_dict(t, p, k)
    assert json.loads(json.dumps(report)) == report
    assert report["accuracy"] == np.mean(t == p)


def test_n_classes_defaults_to_the_largest_label_plus_one() -> None:
    t, p = np.array([0, 3, 1]), np.array([0, 1, 1])
    assert metrics.confusion_matrix(t, p).shape == (4, 4)
    assert metrics.confusion_matrix(t, p, 6).shape == (6, 6)
    assert metrics.confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 2).sum() == 0


@pytest.mark.parametrize(
    "args, error, match",
    [
        (([0, 1], [0]), ValueError, "y_pred: has 1 labels but y_true has 2"),
        (([0, 1.5], [0, 1]), TypeError, "y_true: expected a 1-D array of integer"),
        (([[0, 1]], [[0, 1]]), TypeError, "y_true: expected a 1-D array"),
        (([0, 1], "01"), TypeError, "y_pred: expected integer class labels"),
        (([0, -1], [0, 1]), ValueError, "y_true: labels must be >= 0"),
        (([0, 1], [0, 5], 3), ValueError, r"y_pred: labels must lie in \[0, 3\)"),
        (([0, 1], [0, 1], 0), ValueError, "n_classes: expected an integer >= 1"),
        (([0, 1], [0, 1], 2.0), TypeError, "n_classes: expected an integer"),
        (([0, 2**40], [0, 1]), ValueError, "n_classes"),  # a matrix no machine holds
        ((np.zeros(0, int), np.zeros(0, int)), ValueError, "y_true: no labels"),
    ],
)
def test_bad_labels_are_named(args, error, match) -> None:
    t, p, *k = args
    with pytest.raises(error, match=match):
        metrics.confusion_matrix(t, p, *k)


def test_scores_of_nothing_are_refused() -> None:
    empty = np.array([], dtype=np.int64)
    with pytest.raises(ValueError, match="y_true: no samples"):
        metrics.balanced_accuracy(empty, empty, 3)
    with pytest.raises(ValueError, match="y_true: no samples"):
        metrics.classification_report_dict(empty, empty, 3)
    with pytest.raises(ValueError, match="target_names: expected 2 names"):
        metrics.classification_report_dict([0, 1], [0, 1], target_names=["a"])
    with pytest.raises(ValueError, match="target_names: expected distinct names"):
        metrics.classification_report_dict([0, 1], [0, 1], target_names=["a", "accuracy"])
