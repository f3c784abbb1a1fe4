"""PNG charts of a comparison run (needs matplotlib: ``pip install pyfastnn[plot]``)."""

from __future__ import annotations

import os
from typing import Any

COLORS = {
    "loop": "#9e9e9e",
    "vector": "#1f77b4",
    "native": "#d62728",
    "torch": "#ff7f0e",
    "sklearn": "#2ca02c",
    "entmax": "#9467bd",
    "copy floor": "#000000",
}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(doc: dict[str, Any], out_dir: str) -> dict[str, str]:
    """Write compare.png and sweep_<key>.png; return {"table" | key: path}.
    Without matplotlib, print a note and return {}."""
    plt = _pyplot()
    if plt is None:
        print("note: matplotlib is not installed; no PNG written (pip install 'pyfastnn[plot]')")
        return {}
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    if doc["results"]:
        paths["table"] = _bars(plt, doc, os.path.join(out_dir, "compare.png"))
    for sw in doc["sweeps"]:
        paths[sw["key"]] = _curves(plt, sw, doc, os.path.join(out_dir, f"sweep_{sw['key']}.png"))
    return paths


def _seconds(value: float, _pos: Any = None) -> str:
    """A tick label for a time in seconds: 250 ns, 40 us, 1.5 ms, 2 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value / 1e-9:g} ns"


def readable_log_axis(ax: Any, which: str) -> None:
    """Labelled ticks, as times, on the log-scale time axis ``which`` ("x" or "y")
    of ``ax``: at 1, 2 and 5 of every decade, or at 1, 1.5, 2, 3, 5 and 7 when the
    data span less than about a decade (else one tick or none would be labelled),
    or at the powers of ten when they span more than four."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    ax.autoscale_view()
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(axis.get_view_interval())
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 0.0
    subs = (1.0,) if decades > 4 else (1.0, 2.0, 5.0) if decades > 1.2 else (1, 1.5, 2, 3, 5, 7)
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(_seconds))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def busy_note(doc: dict[str, Any]) -> str:
    """A line for a chart's title when the machine was busy at the start (else "")."""
    from .environment import busy_warning

    m = doc.get("meta", {})
    load = m.get("load_average", {}).get("start")
    if busy_warning(load, m.get("logical_cpus")) is None:
        return ""
    return f"\nbusy machine (load {load} on {m.get('logical_cpus')} CPUs): timings unreliable"


def _bars(plt: Any, doc: dict[str, Any], path: str) -> str:
    workloads: list[str] = []
    for row in doc["results"]:
        if row["workload"] not in workloads:
            workloads.append(row["workload"])
    backends = [b for b in COLORS if any(r["backend"] == b for r in doc["results"])]
    backends += sorted({r["backend"] for r in doc["results"]} - set(backends))
    times = {(r["workload"], r["backend"]): r["median_s"] for r in doc["results"]}
    widest = max(sum(1 for b in backends if times.get((w, b))) for w in workloads)
    height = 0.8 / max(1, widest)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.16 * len(workloads) * (widest + 1)))
    labelled: set[str] = set()
    for i, wl in enumerate(workloads):
        present = [b for b in backends if times.get((wl, b))]  # no gaps for missing ones
        for j, backend in enumerate(present):
            y = i + (j - (len(present) - 1) / 2) * height
            label = None if backend in labelled else backend
            labelled.add(backend)
            ax.barh(y, times[(wl, backend)], height=height, label=label, color=COLORS.get(backend))
    ax.set_xscale("log")
    readable_log_axis(ax, "x")
    ax.set_yticks(range(len(workloads)))
    ax.set_yticklabels(workloads, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median time per call (log scale; shorter is faster)")
    m = doc["meta"]
    ax.set_title(
        f"pyfastnn compare, {m['dtype']}, {m['threads']['native']} threads, {m['cpu']}"
        + busy_note(doc),
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _curves(plt: Any, sw: dict[str, Any], doc: dict[str, Any], path: str) -> str:
    from matplotlib.ticker import NullLocator

    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    for name, times in sw["series"].items():
        pts = [(x, t) for x, t in zip(sw["xs"], times) if t]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name, color=COLORS.get(name))
    ax.set_yscale("log")
    ax.minorticks_off()
    readable_log_axis(ax, "y")
    if sw["key"] != "threads" and max(sw["xs"]) / max(1, min(sw["xs"])) > 8:
        ax.set_xscale("log")
    ax.set_xticks(sw["xs"])
    ax.set_xticklabels([str(x) for x in sw["xs"]], fontsize=8)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(sw["x_label"])
    ax.set_ylabel("median time per call (log scale)")
    ax.set_title(sw["title"] + busy_note(doc), fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
