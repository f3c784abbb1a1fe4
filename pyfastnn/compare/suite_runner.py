"""Runs a ratio suite (``pyfastnn compare --suite core|train``): each group's
contenders in alternating blocks (``timing.time_blocks``), then every ratio
twice -- of the medians over all blocks, and the median of each round's
ratio (blocks run seconds apart: robust when the machine's speed drifts).
Returns one dict (written as JSON by the CLI)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._runtime import get_adaptive_threads
from . import memory
from .environment import ThreadSettings, busy_warning, load_average, machine
from .report import group_markdown
from .runner import Options
from .suites import Group, Ratio, Suite, suite
from .timing import Timing, TimingPlan, time_blocks

# Warm-up calls before each block (a first call slower than the block skips the second).
WARMUP = 2


def run_suite(name: str, options: Options, quiet: bool = False) -> dict[str, Any]:
    """Time suite ``name`` at ``options.mode``; thread counts are restored on return."""
    s = suite(name, options.mode, options.dtype)
    settings = ThreadSettings(options.threads, options.peers)
    try:
        doc = _new_document(s, options, settings)
        _say(_headline(doc), quiet)
        peak: float | None = None
        chosen = [g for g in s.groups if not options.only or options.only in g.title]
        # the peak runs when a group measured against it does
        wanted = [
            g for g in s.groups if g in chosen or (g.is_peak and any(c.flops for c in chosen))
        ]
        for group in wanted:
            start = time.perf_counter()
            result = _run_group(group, s, options, settings)
            if group.is_peak:
                peak = next(
                    (r["gflops"] for r in result["rows"] if r["contender"] == "native"), None
                )
                doc["peak_gflops"] = peak
            elif peak:
                for row in result["rows"]:
                    if row["gflops"]:
                        row["fraction_of_peak"] = row["gflops"] / peak
            doc["groups"].append(result)
            doc["seconds"][group.title] = time.perf_counter() - start
            _say("\n" + group_markdown(result), quiet)
        if s.memory and (not options.only or options.only in "memory"):
            rows, sizes = s.memory
            doc["memory"] = memory.measure_in_fresh_process(rows, sizes, options.dtype)
            _say("\nmemory (fresh process, native fit of one epoch with validation):", quiet)
            _say(memory.describe(doc["memory"]), quiet)
        doc["meta"]["load_average"]["end"] = load_average()
        return doc
    finally:
        settings.restore()


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, flush=True)


def _new_document(s: Suite, options: Options, settings: ThreadSettings) -> dict[str, Any]:
    meta = {
        **machine(),
        "suite": s.name,
        "mode": options.mode,
        "dtype": options.dtype,
        "threads": settings.describe(),
        "adaptive_threads": get_adaptive_threads(),
        "command": options.command,
        "load_average": {"start": load_average()},
        "timing": {
            "rounds": s.rounds,
            "warmup": WARMUP,
            "statistic": "median of per-call times over all blocks, after warm-up",
        },
        "notes": s.notes,
    }
    return {"meta": meta, "groups": [], "memory": None, "seconds": {}}


def _headline(doc: dict[str, Any]) -> str:
    m, t = doc["meta"], doc["meta"]["threads"]
    line = (
        f"pyfastnn compare --suite {m['suite']} ({m['mode']}, {m['dtype']}): {m['cpu']}, "
        f"kernel {m['kernel']}, threads native={t['native']} (adaptive: "
        f"{m['adaptive_threads']}) torch={t['torch']} blas={t['blas']} (of {t['cpus']} CPUs)"
    )
    busy = busy_warning(m["load_average"]["start"], t["cpus"])
    return line if busy is None else f"{line}\n{busy}"


def _run_group(g: Group, s: Suite, options: Options, settings: ThreadSettings) -> dict[str, Any]:
    items = g.build(options.peers)
    plan = TimingPlan(rounds=g.rounds * s.rounds, calls=g.calls, warmup=WARMUP)
    if options.mode == "tiny":
        plan.settle = 0.0
    try:
        times = time_blocks(items, plan)
    finally:
        settings.apply()  # a group may set thread counts (core's threads group)
    medians = {key: t.median for key, t in times.items()}
    base = medians[g.relative_to] if g.relative_to in medians else min(medians.values())
    rows = [
        {
            "contender": key,
            "median_s": medians[key],
            "best_s": t.best,
            "calls": len(t.samples),
            "per_step_s": medians[key] / g.steps if g.steps > 1 else None,
            "relative": medians[key] / base,
            "gflops": g.flops / medians[key] / 1e9 if g.flops else None,
        }
        for key, t in times.items()
    ]
    ratios = [
        ratio_figures(r, times) for r in g.ratios if r.numerator in times and r.denominator in times
    ]
    return {
        "title": g.title,
        "rounds": plan.rounds,
        "calls_per_block": g.calls,
        "steps_per_call": g.steps,
        "relative_to": g.relative_to or "the fastest",
        "rows": rows,
        "ratios": ratios,
    }


def ratio_figures(r: Ratio, times: dict[Any, Timing]) -> dict[str, Any]:
    """Both forms of the ratio: of the medians over all blocks, and the median over
    rounds of the ratio of the two block medians (one block each per round)."""
    num, den = times[r.numerator], times[r.denominator]
    per_round = np.divide(num.block_medians, den.block_medians)
    return {
        "label": r.label,
        "numerator": r.numerator,
        "denominator": r.denominator,
        "of_medians": num.median / den.median,
        "median_of_rounds": float(np.median(per_round)),
        "target": r.target,
    }
