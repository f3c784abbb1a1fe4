"""Figures: learning curves, 2-D decision boundaries, accuracy vs width/depth.

Needs matplotlib (``pip install "pyfastnn[plot]"``), imported when a function
is called. Every function returns a ``matplotlib.figure.Figure`` built without
pyplot (no global state, no window) and, given ``path``, writes a PNG with the
Agg renderer. In a notebook the returned figure displays as usual.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .sweep import METRICS


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # optional extra
        raise ImportError('pyfastnn.plots needs matplotlib: pip install "pyfastnn[plot]"') from err
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)  # Agg renders the PNGs, whatever pyplot's backend is
    return fig


def _save(fig: Any, path: str | os.PathLike[str] | None, dpi: int = 100) -> None:
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi, format="png")


# ---- learning curves ---------------------------------------------------------


def learning_curves(
    history: Any, path: str | os.PathLike[str] | None = None, title: str | None = None
) -> Any:
    """Accuracy (left) and loss (right) per epoch, train and validation.

    ``history`` is a :class:`pyfastnn.History` or its ``as_dict()`` (e.g. read
    back from a results JSON). The best (restored) epoch is marked with a
    dotted vertical line. Returns the Figure (two axes).
    """
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    records: Sequence[Mapping[str, Any]] = history["epochs"]
    if not records:
        raise ValueError("history: no epochs recorded")
    best = history.get("best_epoch", history.get("selected_epoch"))  # older files
    epochs = [r["epoch"] for r in records]
    fig = _figure(figsize=(9, 3.6), layout="constrained")
    ax_acc, ax_loss = fig.subplots(1, 2)
    for ax, metric, label in ((ax_acc, "accuracy", "accuracy"), (ax_loss, "loss", "loss")):
        for split, style in (("train", "-"), ("val", "--")):
            values = [r.get(f"{split}_{metric}") for r in records]
            if any(v is None for v in values):
                continue
            ax.plot(epochs, values, style, marker="o", markersize=3, label=split)
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", label=f"best epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    _save(fig, path)
    return fig


# ---- decision boundary -------------------------------------------------------


def decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    resolution: int = 200,
    margin: float = 0.5,
    title: str | None = None,
    xlabel: str = "x[:, 0]",
    ylabel: str = "x[:, 1]",
) -> Any:
    """Predicted class regions of a classifier on 2-D inputs, with the data.

    ``model`` has ``predict_proba`` (a pyfastnn model or an estimator); ``X``
    is (N, 2), ``y`` (N,) labels. The plane is sampled on a
    ``resolution`` x ``resolution`` grid; colour shows the most probable class,
    shaded by its probability, and for two classes the p = 0.5 contour is drawn.
    ``title`` (e.g. the model and its accuracy; default: the model's repr and
    its accuracy on these points), axis labels ``xlabel``/``ylabel``; the
    legend of the classes sits outside the plot, so it covers no point.
    Returns the Figure (one axes).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X: expected 2-D points (N, 2), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y: expected shape ({X.shape[0]},), got {y.shape}")
    lo = X.min(axis=0) - margin
    hi = X.max(axis=0) + margin
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid_points = np.column_stack([gx.ravel(), gy.ravel()])
    proba = np.asarray(model.predict_proba(grid_points), dtype=np.float64)
    n_classes = proba.shape[1]
    winner = proba.argmax(axis=1).reshape(gx.shape)
    confidence = proba.max(axis=1).reshape(gx.shape)

    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    colours = np.array([cmap(k % 10) for k in range(n_classes)])
    image = colours[winner]
    # fade towards white where the model is unsure (confidence 1/K -> white)
    strength = (confidence - 1.0 / n_classes) / (1.0 - 1.0 / n_classes + 1e-12)
    image[..., :3] = 1.0 - (1.0 - image[..., :3]) * (0.15 + 0.45 * strength[..., None])

    fig = _figure(figsize=(6, 5), layout="constrained")
    ax = fig.subplots()
    ax.imshow(
        image,
        origin="lower",
        extent=(lo[0], hi[0], lo[1], hi[1]),
        aspect="auto",
        interpolation="bilinear",
    )
    if n_classes == 2:
        ax.contour(gx, gy, proba[:, 1].reshape(gx.shape), levels=[0.5], colors="k")
    labels = np.unique(y)
    for i, label in enumerate(labels):
        mask = y == label
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=12,
            color=colours[i % len(colours)],
            edgecolors="k",
            linewidths=0.4,
            label=str(label),
        )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(
        title="class", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False
    )
    if title is None:
        accuracy = float(np.mean(np.asarray(model.predict(X)) == y))
        title = f"{_short_name(model)}\naccuracy {accuracy:.3f} on these {len(y)} points"
    ax.set_title(title, fontsize="medium")
    _save(fig, path)
    return fig


# ---- sweeps ------------------------------------------------------------------


def accuracy_vs(
    result: Any,
    key: str,
    path: str | os.PathLike[str] | None = None,
    *,
    group_by: str | None = None,
    metrics: Sequence[str] = ("val_accuracy", "test_accuracy"),
    title: str | None = None,
) -> Any:
    """Accuracy against one configuration key of a sweep (e.g. "width").

    ``result`` is a :class:`pyfastnn.sweep.SweepResult` or its rows. One line
    per value of ``group_by`` (default: "depth" against "width" and "width"
    against "depth", when it varies) and per metric (validation solid, test
    dashed). Where several rows share a point (other keys varied too), the
    row with the best validation accuracy is shown, and the default title
    names those other keys and their values. Rows with errors are skipped.
    The legend sits outside the axes. Returns the Figure (one axes).
    """
    rows = [r for r in getattr(result, "rows", result) if r.get("error") is None]
    if not rows:
        raise ValueError("result: no successful rows to plot")
    if group_by is None:
        other = {"width": "depth", "depth": "width"}.get(key)
        if other is not None and len({r.get(other) for r in rows}) > 1:
            group_by = other
    groups: dict[Any, dict[Any, Mapping[str, Any]]] = {}
    for r in rows:
        points = groups.setdefault(r.get(group_by) if group_by else None, {})
        x = r[key]
        if x not in points or r["val_accuracy"] > points[x]["val_accuracy"]:
            points[x] = r
    fig = _figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    styles = {"val_accuracy": "-", "test_accuracy": "--", "train_accuracy": ":"}
    for g, (group, points) in enumerate(sorted(groups.items(), key=lambda kv: _order(kv[0]))):
        xs = sorted(points, key=_order)
        for metric in metrics:
            name = metric.replace("_accuracy", "")
            label = name if group_by is None else f"{group_by}={group} ({name})"
            ax.plot(
                [str(x) if not _numeric(x) else x for x in xs],
                [points[x][metric] for x in xs],
                styles.get(metric, "-"),
                marker="o",
                color=f"C{g}",
                label=label,
            )
    over = other_axes(rows, {key, group_by})
    xs_all = sorted({x for p in groups.values() for x in p}, key=_order)
    if all(_numeric(x) for x in xs_all):
        if key == "width" and min(xs_all) > 0:
            ax.set_xscale("log", base=2)
            ax.minorticks_off()
        ax.set_xticks(xs_all, [f"{x:g}" for x in xs_all])
    ax.set_xlabel(key)
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title is None:
        title = f"accuracy vs {key}" + (f"\n{over_note(over)}" if over else "")
    ax.set_title(title, fontsize="medium")
    _save(fig, path)
    return fig


def accuracy_vs_width(
    result: Any, path: str | os.PathLike[str] | None = None, **kwargs: Any
) -> Any:
    """:func:`accuracy_vs` with key "width" (a line per depth when depths vary)."""
    return accuracy_vs(result, "width", path, **kwargs)


def accuracy_vs_depth(
    result: Any, path: str | os.PathLike[str] | None = None, **kwargs: Any
) -> Any:
    """:func:`accuracy_vs` with key "depth" (a line per width when widths vary)."""
    return accuracy_vs(result, "depth", path, **kwargs)


#: Row keys that are results, not settings: the sweep's result columns and its history.
_RESULT_KEYS = frozenset((*METRICS, "history"))


def other_axes(rows: Sequence[Mapping[str, Any]], shown: set[Any]) -> dict[str, list[Any]]:
    """Settings (other than ``shown``) that take several values among ``rows``."""
    out: dict[str, list[Any]] = {}
    for k in rows[0]:
        if k in shown or k in _RESULT_KEYS:
            continue
        values = []
        for r in rows:
            v = r.get(k)
            v = tuple(v) if isinstance(v, list) else v
            if v not in values:
                values.append(v)
        if len(values) > 1:
            out[k] = sorted(values, key=_order)
    return out


def over_note(over: Mapping[str, Sequence[Any]]) -> str:
    """ "each point: the best of the runs over lr in {0.01, 0.1}" for a figure's title."""
    return "each point: the run with the best validation accuracy over " + "; ".join(
        f"{k} in {{{', '.join(_fmt(v) for v in vals)}}}" for k, vals in over.items()
    )


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short_name(model: Any) -> str:
    """ "MLP 2-16-2 relu, softmax" for an MLP, else the class name."""
    name = type(model).__name__
    sizes = getattr(model, "layer_sizes", None)
    if sizes is None or not hasattr(model, "activation"):
        return name
    return f"{name} {'-'.join(str(s) for s in sizes)} {model.activation}, {model.output}"


def _numeric(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _order(x: Any) -> tuple[int, Any]:
    return (0, x) if _numeric(x) else (1, str(x))
