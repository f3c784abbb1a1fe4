"""Runs the comparison: for every workload, check all contenders against the
vector backend, then time them; then the scaling sweeps. Returns one dict
(written as JSON by the CLI)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from .._runtime import set_num_threads
from . import peers
from .check import CheckResult, check
from .contenders import BACKENDS, FLOOR, Contender, Problem, copy_floor, own
from .environment import (
    ThreadSettings,
    busy_warning,
    load_average,
    machine,
    set_blas_threads,
    set_torch_threads,
)
from .problems import MapProblem, MatmulProblem
from .report import format_seconds
from .timing import Timed, TimingPlan, time_blocks
from .workloads import LINEAR_MODELS, Sweep, Workload, sweeps, workloads

# A peer factory: (task, problem) -> Contender, or None when it has no such task.
PeerFactory = Callable[[str, Problem], "Contender | None"]

PLANS = {
    "tiny": TimingPlan(rounds=1, settle=0.0, block_seconds=0.001, max_calls=2, warmup=1),
    "quick": TimingPlan(rounds=3, settle=0.15, block_seconds=0.02, max_calls=30),
    "full": TimingPlan(rounds=5, block_seconds=0.15, max_calls=200),
}
# sweeps have many points: fewer rounds and shorter blocks
SWEEP_PLANS = {
    "tiny": PLANS["tiny"],
    "quick": TimingPlan(rounds=2, settle=0.15, block_seconds=0.01, max_calls=10),
    "full": TimingPlan(rounds=3, block_seconds=0.08, max_calls=100),
}


@dataclass
class Options:
    """Everything ``pyfastnn compare`` can be asked to do."""

    mode: str = "quick"
    dtype: str = "float32"
    threads: int | None = None
    peers: bool = True
    sweeps: bool = True
    only: str | None = None  # run only workloads whose name contains this (and the peak)
    command: str = ""


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, flush=True)


def run_compare(
    options: Options, extra_peers: Sequence[PeerFactory] = (), quiet: bool = False
) -> dict[str, Any]:
    """Run the table's workloads and the sweeps; return the results document.

    ``extra_peers`` add contenders to every workload they return one for (the
    tests inject a wrong one). Thread counts are restored on return.
    """
    settings = ThreadSettings(options.threads, options.peers)
    try:
        doc = _new_document(options, settings)
        _run_table(doc, options, extra_peers, quiet)
        if options.sweeps:
            _say("\n## Sweeps", quiet)
            for sw in sweeps(options.mode, options.dtype):
                start = time.perf_counter()
                plan = SWEEP_PLANS[options.mode]
                doc["sweeps"].append(_run_sweep(sw, options, plan, settings, quiet))
                settings.apply()
                doc["seconds"][f"sweep {sw.key}"] = time.perf_counter() - start
        doc["meta"]["load_average"]["end"] = load_average()
        return doc
    finally:
        settings.restore()


def _new_document(options: Options, settings: ThreadSettings) -> dict[str, Any]:
    plan = PLANS[options.mode]
    tol = "1e-4" if options.dtype == "float32" else "1e-9"
    meta = {
        **machine(),
        "mode": options.mode,
        "dtype": options.dtype,
        "threads": settings.describe(),
        "command": options.command,
        "load_average": {"start": load_average()},
        "timing": {
            "rounds": plan.rounds,
            "settle_seconds": plan.settle,
            "block_seconds": plan.block_seconds,
            "sweep_rounds": SWEEP_PLANS[options.mode].rounds,
            "statistic": "median of per-call times over all blocks, after warm-up",
        },
        "tolerance": f"max |x - vector| <= tol * max(1, max |vector|), tol = {tol}",
    }
    keys = ("results", "skipped", "failures", "sweeps")
    return {"meta": meta, "peak": None, **{k: [] for k in keys}, "seconds": {}}


def _run_table(
    doc: dict[str, Any], options: Options, extra_peers: Sequence[PeerFactory], quiet: bool
) -> None:
    m, t = doc["meta"], doc["meta"]["threads"]
    _say(
        f"pyfastnn compare ({options.mode}, {options.dtype}): {m['cpu']}, kernel "
        f"{m['kernel']}, threads native={t['native']} torch={t['torch']} "
        f"blas={t['blas']} (of {t['cpus']} CPUs)",
        quiet,
    )
    busy = busy_warning(m["load_average"]["start"], t["cpus"])
    if busy:
        _say(busy, quiet)
    todo = workloads(options.mode, options.dtype)
    for model in LINEAR_MODELS:
        if not any(w.name.startswith(model) for w in todo):
            doc["skipped"].append(
                {"workload": model, "backend": model, "reason": "not in this pyfastnn build"}
            )
    _say("\n## Correctness (max abs difference vs the vector backend)", quiet)
    plan = PLANS[options.mode]
    for wl in todo:
        if options.only and not wl.peak and options.only not in wl.name:
            continue
        start = time.perf_counter()
        rows = _run_workload(wl, options, plan, extra_peers, doc, quiet)
        doc["results"].extend(rows)
        doc["seconds"][wl.name] = time.perf_counter() - start
        if wl.peak:
            doc["peak"] = _peak(wl.name, rows)
    peak = (doc["peak"] or {}).get("gflops")
    for row in doc["results"]:
        if row["gflops"] and peak:
            row["fraction_of_peak"] = row["gflops"] / peak


def _peak(name: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best rate of native and NumPy on the peak GEMM: the fastest single call,
    as a peak is a best case (a median would carry the machine's noise into every
    "% of peak")."""
    rates = {
        r["backend"]: r["gflops"] * r["median_s"] / r["best_s"]  # FLOPs / best time
        for r in rows
        if r["backend"] in ("native", "vector") and r["gflops"] and r["best_s"]
    }
    if not rates:
        return None
    backend = max(rates, key=rates.__getitem__)
    by = "NumPy" if backend == "vector" else "native"
    return {"workload": name, "gflops": rates[backend], "by": by, "statistic": "fastest call"}


# ---- one workload ------------------------------------------------------------------------------


def _contenders(
    wl: Workload, problem: Problem, options: Options, extra: Sequence[PeerFactory], doc: dict
) -> list[Contender]:
    found = [own(wl.task, b, problem) for b in wl.backends]
    for name in BACKENDS:
        if name not in wl.backends:
            doc["skipped"].append(
                {"workload": wl.name, "backend": name, "reason": "too slow at this size"}
            )
    if options.peers:
        for peer in peers.PEERS:
            if not peers.applies(peer, wl.task, problem):
                continue
            if not peers.installed(peer):
                doc["skipped"].append(
                    {"workload": wl.name, "backend": peer, "reason": "not installed"}
                )
                continue
            try:
                found.append(peers.build(peer, wl.task, problem))
            except peers.NotApplicable as err:
                doc["skipped"].append({"workload": wl.name, "backend": peer, "reason": str(err)})
    for factory in extra:
        contender = factory(wl.task, problem)
        if contender is not None:
            found.append(contender)
    if isinstance(problem, MapProblem):
        found.append(copy_floor(problem))
    return found


def _check_all(
    wl: Workload, contenders: list[Contender], dtype: str, doc: dict, quiet: bool
) -> dict[str, CheckResult]:
    values: dict[str, Any] = {}
    checks: dict[str, CheckResult] = {}
    for c in contenders:
        if c.result is None:
            checks[c.name] = CheckResult(None, None, None)
            continue
        try:
            values[c.name] = c.result()
        except Exception as err:  # a broken contender is a failure, not a crash
            checks[c.name] = CheckResult(
                None, None, False, f"raised {type(err).__name__}: {err}", crashed=True
            )
    for name, value in values.items():
        checks[name] = check(values["vector"], value, dtype)
    checks = {c.name: checks[c.name] for c in contenders}  # contenders' order
    parts = []
    for name, res in checks.items():
        if res.ok is None:
            continue
        diff = "-" if res.max_abs_diff is None else f"{res.max_abs_diff:.2g}"
        parts.append(f"{name} {diff} {res.status}")
    _say(f"  {wl.name}: " + "; ".join(parts), quiet)
    for name, res in checks.items():
        if res.ok is False:
            message = (
                f"{wl.name}: {name} {res.note} (max abs diff {res.max_abs_diff}, "
                f"tolerance {res.tolerance})"
            )
            doc["failures"].append({"workload": wl.name, "backend": name, "message": message})
            _say(f"  !!!!! CORRECTNESS FAILURE !!!!! {message}", quiet)
    return checks


def _run_workload(
    wl: Workload,
    options: Options,
    plan: TimingPlan,
    extra: Sequence[PeerFactory],
    doc: dict,
    quiet: bool,
) -> list[dict[str, Any]]:
    problem = wl.make()
    contenders = _contenders(wl, problem, options, extra, doc)
    checks = _check_all(wl, contenders, options.dtype, doc, quiet)
    timed = [c for c in contenders if not checks[c.name].crashed]
    times = time_blocks([Timed(c.name, c.run, c.pool) for c in timed], plan)
    flops = (
        problem.flops
        if isinstance(problem, MatmulProblem)
        else (None if isinstance(problem, MapProblem) else problem.flops(wl.task))
    )
    medians = {name: t.median for name, t in times.items()}
    rows = []
    for c in contenders:
        res, t = checks[c.name], medians.get(c.name)
        floor = c.name == FLOOR
        rows.append(
            {
                "workload": wl.name,
                "task": wl.task,
                "bound": wl.bound,
                "backend": c.name,
                "median_s": t,
                "best_s": times[c.name].best if c.name in times else None,
                "calls": len(times[c.name].samples) if c.name in times else 0,
                "speedup_vs_loop": None if floor else _ratio(medians.get("loop"), t),
                "speedup_vs_vector": None if floor else _ratio(medians.get("vector"), t),
                "gflops": flops / t / 1e9 if flops and t else None,
                "fraction_of_peak": None,
                "fraction_of_copy_floor": None if floor else _ratio(medians.get(FLOOR), t),
                "max_abs_diff": res.max_abs_diff,
                "tolerance": res.tolerance,
                "check": res.status,
            }
        )
    return rows


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


# ---- sweeps ------------------------------------------------------------------------------------


def _series_contender(series: str, task: str, problem: Problem) -> Contender | None:
    if series in BACKENDS:
        return own(task, series, problem)
    if series == FLOOR:
        return copy_floor(problem) if isinstance(problem, MapProblem) else None
    if not (peers.installed(series) and peers.applies(series, task, problem)):
        return None
    try:
        return peers.build(series, task, problem)
    except peers.NotApplicable:
        return None


def _thread_setter(series: str, n: int) -> Callable[[], None]:
    def setup() -> None:
        if series == "native":
            set_num_threads(n)
        elif series == "torch":
            set_torch_threads(n)
        else:
            set_blas_threads(n)

    return setup


def _run_sweep(
    sw: Sweep, options: Options, plan: TimingPlan, settings: ThreadSettings, quiet: bool
) -> dict[str, Any]:
    problems = {x: sw.make(x) for x in sw.xs}
    items, names = [], []
    for series in sw.series:
        if series not in BACKENDS and series != FLOOR and not options.peers:
            continue
        if series == "vector" and sw.threads and not set_blas_threads(settings.native):
            sw.notes.append("vector: threadpoolctl not installed, BLAS threads not settable")
            continue
        for x in sw.xs:
            if series == "loop" and (sw.loop_max is None or x > sw.loop_max):
                continue
            c = _series_contender(series, sw.task, problems[x])
            if c is None:
                continue
            setup = _thread_setter(series, x) if sw.threads else None
            items.append(Timed((series, x), c.run, c.pool, setup))
            if series not in names:
                names.append(series)
    times = time_blocks(items, plan)
    series_times = {
        name: [times[(name, x)].median if (name, x) in times else None for x in sw.xs]
        for name in names
    }
    _say(f"\n{sw.title} (median time per call)", quiet)
    _say(f"  {sw.x_label:>14} " + " ".join(f"{n:>12}" for n in names), quiet)
    for i, x in enumerate(sw.xs):
        cells = [series_times[n][i] for n in names]
        _say(f"  {x:>14} " + " ".join(f"{format_seconds(v):>12}" for v in cells), quiet)
    return {
        "key": sw.key,
        "title": sw.title,
        "x_label": sw.x_label,
        "xs": list(sw.xs),
        "task": sw.task,
        "series": series_times,
        "notes": list(sw.notes),
    }
