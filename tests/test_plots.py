"""Figures: PNG files of reasonable size with the expected axes and lines."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import pyfastnn  # noqa: E402
from pyfastnn import plots  # noqa: E402

MIN_PNG = 5_000  # bytes; an empty or broken figure is far smaller


def circles(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    y = rng.integers(0, 2, n)
    radius = np.where(y == 1, 0.5, 1.0) + rng.normal(scale=0.05, size=n)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]), y


def png_ok(path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > MIN_PNG


def test_learning_curves(tmp_path) -> None:
    X, y = circles()
    model = pyfastnn.MLP([2, 16, 2], activation="tanh", dtype="float64", seed=0)
    history = model.fit(X[:150], y[:150], epochs=4, lr=0.3, X_val=X[150:], y_val=y[150:])
    fig = plots.learning_curves(history, tmp_path / "curves.png", title="circles")
    png_ok(tmp_path / "curves.png")
    acc, loss = fig.axes
    # train, validation and the best-epoch marker on each
    assert len(acc.lines) == 3 and len(loss.lines) == 3
    assert list(acc.lines[0].get_xdata()) == [1, 2, 3, 4]
    # without validation data: only the training curves, from the dict form
    history = model.fit(X, y, epochs=2)
    fig = plots.learning_curves(history.as_dict())
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]


def test_decision_boundary_on_circles(tmp_path) -> None:
    X, y = circles()
    model = pyfastnn.MLP([2, 32, 2], activation="tanh", dtype="float64", seed=0)
    model.fit(X, y, epochs=40, lr=0.3, batch_size=16)
    fig = plots.decision_boundary(model, X, y, tmp_path / "boundary.png", resolution=60)
    png_ok(tmp_path / "boundary.png")
    (ax,) = fig.axes
    assert len(ax.collections) >= 3  # the 0.5 contour and one scatter per class
    assert len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.decision_boundary(model, np.ones((3, 3)), np.zeros(3))


def test_accuracy_vs_width_and_depth(tmp_path) -> None:
    rows = [
        {
            "width": w,
            "depth": d,
            "val_accuracy": 0.5 + w / 1000 + d / 100,
            "test_accuracy": 0.5,
            "error": None,
        }
        for w in (16, 32, 64)
        for d in (1, 2)
    ]
    rows.append({"width": 8, "depth": 1, "val_accuracy": None, "error": "boom"})
    fig = plots.accuracy_vs_width(rows, tmp_path / "width.png")
    png_ok(tmp_path / "width.png")
    (ax,) = fig.axes
    assert len(ax.lines) == 4  # 2 depths x (val, test); the error row is skipped
    assert list(ax.lines[0].get_xdata()) == [16, 32, 64]
    fig = plots.accuracy_vs_depth(rows, metrics=("val_accuracy",))
    assert len(fig.axes[0].lines) == 3  # one per width


def test_missing_matplotlib_gives_install_hint(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "pyfastnn\[plot\]"'):
        plots.learning_curves({"epochs": [{"epoch": 1, "train_loss": 1.0}]})
