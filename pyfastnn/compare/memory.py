"""Peak resident memory of a native fit, measured in a fresh process.

The train suite (``pyfastnn compare --suite train``) runs
``python -m pyfastnn.compare.memory ROWS SIZES DTYPE`` and reads the one JSON
line it prints: the resident set before X exists, with X, and at its peak
during one epoch of ``fit`` with validation (Linux only: /proc/self).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

# The validation rows of the measured fit (at most X's rows).
VALIDATION_ROWS = 10_000
# What the peak may exceed X by (the training issue's target).
BUDGET_MB = 100


def _peak_rss_mb() -> float:
    """VmHWM: this process's peak resident set (unlike ru_maxrss, which Linux
    carries over from the parent across fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def measure(rows: int, sizes: tuple[int, ...], dtype: str) -> dict[str, float]:
    """In this process: RSS before and with X, peak during one native epoch
    (the imports come first, so "before X" includes pyfastnn and NumPy)."""
    from ..mlp import MLP
    from .problems import make_training_set

    base = _rss_mb()
    p = make_training_set(sizes, rows, dtype)
    with_x = _rss_mb()
    model = MLP(list(sizes), "relu", dtype=dtype, seed=0)
    val = slice(0, min(rows, VALIDATION_ROWS))
    model.fit(p.X, p.y, epochs=1, batch_size=64, lr=p.lr, X_val=p.X[val], y_val=p.y[val])
    peak = _peak_rss_mb()
    return {
        "rows": rows,
        "x_mb": p.X.nbytes / 2**20,
        "rss_before_x_mb": base,
        "rss_with_x_mb": with_x,
        "peak_mb": peak,
        "peak_over_x_mb": peak - p.X.nbytes / 2**20,
        "growth_during_fit_mb": peak - with_x,
        "budget_over_x_mb": BUDGET_MB,
    }


def measure_in_fresh_process(rows: int, sizes: tuple[int, ...], dtype: str) -> dict[str, Any]:
    """``measure`` in a child interpreter importing this same pyfastnn."""
    if not os.path.exists("/proc/self/status"):
        return {"rows": rows, "skipped": "needs /proc (Linux)"}
    here = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", __name__, str(rows), ",".join(map(str, sizes)), dtype]
    run = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": path}
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def describe(m: dict[str, Any]) -> str:
    """One line, as the train suite prints it."""
    if "skipped" in m:
        return f"memory: skipped ({m['skipped']})"
    return (
        f"X {m['x_mb']:.0f} MB; RSS before X {m['rss_before_x_mb']:.0f} MB, with X "
        f"{m['rss_with_x_mb']:.0f} MB; peak during fit {m['peak_mb']:.0f} MB = X + "
        f"{m['peak_over_x_mb']:.0f} MB (target < X + {m['budget_over_x_mb']} MB); "
        f"growth during fit {m['growth_during_fit_mb']:.0f} MB"
    )


if __name__ == "__main__":
    rows_arg, sizes_arg, dtype_arg = sys.argv[1:4]
    figures = measure(int(rows_arg), tuple(int(s) for s in sizes_arg.split(",")), dtype_arg)
    print(json.dumps(figures))
