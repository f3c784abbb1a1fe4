"""Figures a new user can read: titles, axis labels, model and accuracy on the
decision boundary, legends outside the points, sweep titles that say what each
point is the best of, and log time axes with several labelled ticks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import pyfastnn  # noqa: E402
from pyfastnn import plots  # noqa: E402
from pyfastnn.compare import plot as compare_plot  # noqa: E402


def _legend_outside_axes(fig, ax) -> bool:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    return legend.x0 >= ax.get_window_extent(renderer).x1 - 1


def test_decision_boundary_names_model_accuracy_and_axes() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    model = pyfastnn.MLP([2, 8, 2], dtype="float64", backend="vector", seed=0)
    model.fit(X, y, epochs=30, lr=0.5, batch_size=16)
    accuracy = model.score(X, y)
    fig = plots.decision_boundary(model, X, y)
    ax = fig.axes[0]
    assert "MLP 2-8-2 relu" in ax.get_title()
    assert f"accuracy {accuracy:.3f}" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()
    assert _legend_outside_axes(fig, ax)
    titled = plots.decision_boundary(model, X, y, title="mine", xlabel="a", ylabel="b")
    assert titled.axes[0].get_title() == "mine" and titled.axes[0].get_xlabel() == "a"


def test_sweep_figure_says_what_each_point_is_the_best_of() -> None:
    rows = [
        {"width": w, "depth": 1, "lr": lr, "l2": 0.0, "val_accuracy": v, "test_accuracy": v,
         "error": None, "history": {"epochs": []}}
        for w, lr, v in [(16, 0.1, 0.8), (16, 0.01, 0.7), (32, 0.1, 0.85), (32, 0.01, 0.9)]
    ]  # fmt: skip
    fig = plots.accuracy_vs(rows, "width")
    title = fig.axes[0].get_title()
    assert "best validation accuracy over lr in {0.01, 0.1}" in title
    assert "l2" not in title and "depth" not in title  # fixed settings are not named
    assert _legend_outside_axes(fig, fig.axes[0])
    alone = plots.accuracy_vs([r for r in rows if r["lr"] == 0.1], "width")
    assert alone.axes[0].get_title() == "accuracy vs width"


@pytest.mark.parametrize("span", [1.5, 3.0, 30.0, 3e5])
def test_log_time_axes_have_several_labelled_ticks(span) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [1e-4, 1e-4 * span])
    ax.set_yscale("log")
    compare_plot.readable_log_axis(ax, "y")
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    labels = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks()) if lo <= v <= hi]
    plt.close(fig)
    assert len([t for t in labels if t]) >= 2, labels
    assert all(t.endswith(("s", "ms", "us", "ns")) for t in labels if t)


def test_compare_charts_carry_the_busy_note(tmp_path) -> None:
    meta = {"dtype": "float32", "threads": {"native": 2}, "cpu": "cpu", "logical_cpus": 2}
    doc = {
        "meta": {**meta, "load_average": {"start": 100.0}},
        "results": [{"workload": "w", "backend": "native", "median_s": 1e-4}],
        "sweeps": [
            {"key": "threads", "xs": [1, 2], "series": {"native": [1e-4, 1.2e-4]},
             "x_label": "threads", "title": "threads"}
        ],
    }  # fmt: skip
    assert "busy machine (load 100.0 on 2 CPUs)" in compare_plot.busy_note(doc)
    quiet = {**doc, "meta": {**meta, "load_average": {"start": 0.0}}}
    assert compare_plot.busy_note(quiet) == ""
    paths = compare_plot.plot_all(doc, str(tmp_path))
    assert set(paths) == {"table", "threads"}
