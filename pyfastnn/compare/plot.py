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
    ax.set_yticks(range(len(workloads)))
    ax.set_yticklabels(workloads, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median time per call (s, log scale; shorter is faster)")
    m = doc["meta"]
    ax.set_title(
        f"pyfastnn compare, {m['dtype']}, {m['threads']['native']} threads, {m['cpu']}", fontsize=9
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _curves(plt: Any, sw: dict[str, Any], doc: dict[str, Any], path: str) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, times in sw["series"].items():
        pts = [(x, t) for x, t in zip(sw["xs"], times) if t]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name, color=COLORS.get(name))
    ax.set_yscale("log")
    if sw["key"] != "threads" and max(sw["xs"]) / max(1, min(sw["xs"])) > 8:
        ax.set_xscale("log")
    ax.set_xticks(sw["xs"])
    ax.set_xticklabels([str(x) for x in sw["xs"]], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel(sw["x_label"])
    ax.set_ylabel("median time per call (s)")
    ax.set_title(sw["title"], fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
