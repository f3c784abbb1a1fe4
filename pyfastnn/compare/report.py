"""Markdown tables and the JSON file of a comparison run."""

from __future__ import annotations

import json
import os
from typing import Any

from .environment import busy_warning

LEGEND = (
    "median: median wall time per call (fastest contender of a workload in bold). "
    "vs loop / vs vector: that backend's time divided by this row's (higher = faster). "
    "GFLOP/s counts matrix-product FLOPs (at the median time); % of peak is relative to the "
    "fastest call of native or NumPy on the large square GEMM measured in the same run. "
    "Sparse maps are memory-bound: "
    "% of copy is the time of `np.copyto` of the bytes the op reads divided by this row's "
    "(100% = as fast as copying its inputs once). max abs diff: largest difference from the "
    "vector backend's result (the reference)."
)
COLUMNS = [
    "workload",
    "backend",
    "median",
    "vs loop",
    "vs vector",
    "GFLOP/s",
    "efficiency",
    "max abs diff",
    "check",
]


def format_seconds(seconds: float | None) -> str:
    """'12.3 us', '4.56 ms', '1.23 s'; '-' for None."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}x"


def _efficiency(row: dict[str, Any]) -> str:
    if row["backend"] == "copy floor":
        return "(floor)"
    if row["bound"] == "memory":
        frac = row["fraction_of_copy_floor"]
        return "-" if frac is None else f"{100 * frac:.0f}% of copy"
    frac = row["fraction_of_peak"]
    return "-" if frac is None else f"{100 * frac:.0f}% of peak"


def _diff(row: dict[str, Any]) -> str:
    if row["backend"] == "vector":
        return "(reference)"
    return "-" if row["max_abs_diff"] is None else f"{row['max_abs_diff']:.2g}"


def markdown_table(doc: dict[str, Any]) -> str:
    """The results as one markdown table, workloads in run order."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    fastest: dict[str, float] = {}
    for row in doc["results"]:
        t = row["median_s"]
        if t and row["backend"] != "copy floor" and row["check"] == "ok":
            fastest[row["workload"]] = min(t, fastest.get(row["workload"], t))
    for row in doc["results"]:
        median = format_seconds(row["median_s"])
        if row["median_s"] is not None and row["median_s"] == fastest.get(row["workload"]):
            median = f"**{median}**"
        check = "**FAIL**" if row["check"] == "FAIL" else row["check"]
        cells = [
            row["workload"],
            row["backend"],
            median,
            _times(row["speedup_vs_loop"]),
            _times(row["speedup_vs_vector"]),
            "-" if row["gflops"] is None else f"{row['gflops']:.3g}",
            _efficiency(row),
            _diff(row),
            check,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_table(sweep: dict[str, Any]) -> str:
    """One sweep as a markdown table: x down, contenders across."""
    names = list(sweep["series"])
    lines = [f"| {sweep['x_label']} | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for i, x in enumerate(sweep["xs"]):
        cells = [format_seconds(sweep["series"][n][i]) for n in names]
        lines.append(f"| {x} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def header(doc: dict[str, Any]) -> str:
    """Machine, threads and timing method, as a few markdown lines."""
    m = doc["meta"]
    t = m["threads"]
    peers = ", ".join(f"{k} {v}" for k, v in m["peers"].items() if v) or "none installed"
    peak = doc.get("peak")
    peak_text = (
        f"{peak['gflops']:.1f} GFLOP/s ({peak['by']}, fastest call of {peak['workload']}, "
        f"{m['dtype']})"
        if peak
        else "not measured"
    )
    timing = m["timing"]
    return "\n".join(
        [
            f"- CPU: {m['cpu']} ({m['logical_cpus']} logical CPUs), "
            f"pyfastnn kernel `{m['kernel']}`",
            f"- threads: pyfastnn {t['native']}, PyTorch {t['torch'] or '-'}, "
            f"NumPy BLAS {t['blas'] or 'unknown'}",
            f"- pyfastnn {m['pyfastnn']}, NumPy {m['numpy']}, Python {m['python']}; peers: {peers}",
            f"- date: {m['date']}; mode `{m['mode']}`, dtype {m['dtype']}; 1-minute load "
            f"average {m['load_average'].get('start')} at the start, "
            f"{m['load_average'].get('end')} at the end",
            f"- measured GEMM peak: {peak_text}",
            f"- timing: {timing['statistic']}; {timing['rounds']} rounds of blocks in alternating "
            f"order ({timing['sweep_rounds']} in the sweeps), {timing['settle_seconds']} s pause "
            "when the thread pool changes",
        ]
    )


def skipped_lines(doc: dict[str, Any]) -> list[str]:
    """Skipped (workload, contender) pairs, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for s in doc["skipped"]:
        by_reason.setdefault(f"{s['backend']}: {s['reason']}", []).append(s["workload"])
    lines = []
    for reason, names in by_reason.items():
        count = len(names)
        where = "" if names[0] in reason else f" ({count} workload{'s' * (count > 1)})"
        lines.append(f"- {reason}{where}")
    return lines


def write_json(doc: dict[str, Any], path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


def markdown_document(doc: dict[str, Any], path: str, images: dict[str, str]) -> str:
    """The whole benchmarks page; ``images`` maps "table" / sweep keys to PNG paths,
    written relative to the page's directory."""
    base = os.path.dirname(os.path.abspath(path))

    def image(key: str, alt: str) -> list[str]:
        if key not in images:
            return []
        return [f"![{alt}]({os.path.relpath(images[key], base).replace(os.sep, '/')})", ""]

    m = doc["meta"]
    out: list[str] = [
        "# Benchmarks",
        "",
        "<!-- Generated; do not edit by hand. Regenerate with the command below. -->",
        f"Generated by `{m['command']}`.",
        "",
        header(doc),
        f"- agreement: {m['tolerance']}",
        "",
    ]
    busy = busy_warning(m["load_average"].get("start"), m["logical_cpus"])
    if busy:
        out += [f"> **{busy}**", ""]
    out += [
        "## Loop vs vector vs native vs peers",
        "",
        markdown_table(doc),
        "",
        LEGEND,
        "",
        *image("table", "median time per workload and backend (log scale)"),
    ]
    if doc["failures"]:
        out += ["**Correctness failures:**", ""]
        out += [f"- {f['message']}" for f in doc["failures"]] + [""]
    skipped = skipped_lines(doc)
    if skipped:
        out += ["Not run:", "", *skipped, ""]
    if doc["sweeps"]:
        out += [
            "## Scaling",
            "",
            "Median time per call, log scale; the contenders are the ones checked in the table.",
            "",
        ]
        for sw in doc["sweeps"]:
            out += [f"### {sw['title']}", "", *image(sw["key"], sw["title"]), sweep_table(sw), ""]
            out += [f"_{note}_" for note in sw["notes"]]
    return "\n".join(out).rstrip() + "\n"


# ---- ratio suites (--suite core|train) ---------------------------------------------------


def group_markdown(g: dict[str, Any]) -> str:
    """One group: its contenders, then its ratios, as markdown tables."""
    steps = g["steps_per_call"] > 1
    rates = any(row["gflops"] for row in g["rows"])
    head = ["contender", "median"] + (["per step"] if steps else [])
    head += [f"x {g['relative_to']}"] + (["GFLOP/s"] if rates else [])
    lines = [f"### {g['title']}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in g["rows"]:
        cells = [row["contender"], format_seconds(row["median_s"])]
        if steps:
            cells.append(format_seconds(row["per_step_s"]))
        cells.append(f"{row['relative']:.2f}x")
        if rates:
            cells.append("-" if row["gflops"] is None else f"{row['gflops']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    if g["ratios"]:
        lines += ["", "| ratio | of the medians | median of per-round ratios | target |"]
        lines.append("|---|---|---|---|")
        for r in g["ratios"]:
            lines.append(
                f"| {r['label']} | {r['of_medians']:.3f} | {r['median_of_rounds']:.3f} | "
                f"{r['target'] or '-'} |"
            )
    return "\n".join(lines)


def suite_document(doc: dict[str, Any]) -> str:
    """The page of a ratio suite: machine, every group, the memory check."""
    from .memory import describe

    m, t = doc["meta"], doc["meta"]["threads"]
    out = [
        f"# Benchmarks: the {m['suite']} suite",
        "",
        "<!-- Generated; do not edit by hand. Regenerate with the command below. -->",
        f"Generated by `{m['command']}`.",
        "",
        f"- CPU: {m['cpu']} ({m['logical_cpus']} logical CPUs), pyfastnn kernel `{m['kernel']}`",
        f"- threads: pyfastnn {t['native']} (adaptive: {m['adaptive_threads']}), "
        f"PyTorch {t['torch'] or '-'}, NumPy BLAS {t['blas'] or 'unknown'}",
        f"- date: {m['date']}; mode `{m['mode']}`, dtype {m['dtype']}; 1-minute load average "
        f"{m['load_average'].get('start')} at the start, {m['load_average'].get('end')} at the end",
        f"- timing: {m['timing']['statistic']}; {m['timing']['rounds']} rounds of blocks in "
        "alternating order (more where a group says so)",
        "",
    ]
    for g in doc["groups"]:
        out += [group_markdown(g), ""]
    if doc["memory"] is not None:
        out += ["### Memory (fresh process, native fit of one epoch with validation)", ""]
        out += [describe(doc["memory"]), ""]
    out += [f"_{note}_" for note in m["notes"]]
    return "\n".join(out).rstrip() + "\n"
