"""One scikit-learn MLPClassifier script, run twice with only the import changed.

Usage: ``python bench/sklearn_dropin.py [--quick] [--repeats N] [--markdown PATH] [--json PATH]``

The script (:func:`script`) is written for ``sklearn.neural_network.MLPClassifier``:
``fit``, ``predict_proba``, ``score``, ``partial_fit`` over chunks, a fit with
``early_stopping=True`` and a ``GridSearchCV`` over ``mlp__learning_rate_init`` and
``mlp__alpha`` in a ``Pipeline``. It runs once with scikit-learn's class and once
with ``pyfastnn.estimators.MLPClassifier`` on the same data: scikit-learn's
digits (1797 8x8 images, a stratified 75/25 split) and MNIST-5k (the bundled
5000 images: 4000 train, 1000 test; ``pyfastnn.data.load_mnist_5k``). No network.

It reports, per data set and step, the test accuracy and the wall time of each
side (the median of ``--repeats`` runs, 3 by default, the sides alternating) and
their ratio (the goal: accuracy within 1 point of scikit-learn's and
training at least 3x faster). docs/BENCHMARKS_SKLEARN.md is produced by
``python bench/sklearn_dropin.py --markdown docs/BENCHMARKS_SKLEARN.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# a build inside this checkout (the extension itself, not its .pyi stub): use it
if any((ROOT / "pyfastnn" / f"_native{s}").exists() for s in EXTENSION_SUFFIXES):
    sys.path.insert(0, str(ROOT))

STEPS = ("fit", "partial_fit", "early_stopping", "grid_search")


def script(
    MLPClassifier: type,  # noqa: N803 (the class, as a script imports it)
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    max_iter: int,
) -> dict[str, dict[str, float]]:
    """The scikit-learn script; returns {step: {"seconds", "accuracy"}}."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, dict[str, float]] = {}

    start = time.perf_counter()
    clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=max_iter, random_state=0)
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(np.unique(y_train)))
    out["fit"] = {"seconds": seconds, "accuracy": clf.score(X_test, y_test)}

    start = time.perf_counter()
    online = MLPClassifier(hidden_layer_sizes=(100,), random_state=0)
    classes = np.unique(y_train)
    chunks = np.array_split(np.arange(len(X_train)), 10)
    for _ in range(max(1, max_iter // 4)):
        for rows in chunks:
            online.partial_fit(X_train[rows], y_train[rows], classes=classes)
    out["partial_fit"] = {
        "seconds": time.perf_counter() - start,
        "accuracy": online.score(X_test, y_test),
    }

    start = time.perf_counter()
    early = MLPClassifier(
        hidden_layer_sizes=(100,), early_stopping=True, max_iter=max_iter, random_state=0
    )
    early.fit(X_train, y_train)
    out["early_stopping"] = {
        "seconds": time.perf_counter() - start,
        "accuracy": early.score(X_test, y_test),
        "epochs": early.n_iter_,
    }

    start = time.perf_counter()
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(hidden_layer_sizes=(100,), max_iter=max_iter, random_state=0)),
        ]
    )
    grid = {"mlp__learning_rate_init": [1e-3, 1e-2], "mlp__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    out["grid_search"] = {
        "seconds": time.perf_counter() - start,
        "accuracy": search.score(X_test, y_test),
    }
    return out


def datasets() -> dict[str, tuple[np.ndarray, ...]]:
    """name -> (X_train, y_train, X_test, y_test), features in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from pyfastnn.data import load_mnist_5k

    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    mnist = load_mnist_5k()  # float32 in [0, 1]; train + validation parts train here
    return {
        "digits": (digits[0], digits[2], digits[1], digits[3]),
        "mnist5k": (
            np.vstack([mnist.X_train, mnist.X_val]),
            np.concatenate([mnist.y_train, mnist.y_val]),
            mnist.X_test,
            mnist.y_test,
        ),
    }


def run(max_iter: int, repeats: int) -> dict[str, Any]:
    """Each data set's script ``repeats`` times per side, the sides alternating
    (sklearn, pyfastnn, sklearn, ...); per step the median seconds and the
    accuracies of every repeat (the same in each: both sides are seeded)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    from pyfastnn import route_blas_threads, thread_pool_stats
    from pyfastnn.estimators import MLPClassifier as PyfastnnMLP

    was_routed = bool(thread_pool_stats()["blas_routed"])
    sides: dict[str, Callable[..., Any]] = {"sklearn": SklearnMLP, "pyfastnn": PyfastnnMLP}
    results: dict[str, Any] = {}
    for name, data in datasets().items():
        runs: dict[str, list[dict[str, dict[str, float]]]] = {side: [] for side in sides}
        for repeat in range(repeats):
            for side, cls in sides.items():
                # scikit-learn's side as without pyfastnn: NumPy's OpenBLAS on
                # its own threads (pyfastnn's side as the environment set it).
                route_blas_threads(was_routed and side == "pyfastnn")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    runs[side].append(script(cls, *data, max_iter=max_iter))
                print(f"{name:8s} {side:9s} run {repeat + 1} of {repeats} done", file=sys.stderr)
        route_blas_threads(was_routed)
        results[name] = {"shape": list(data[0].shape), "test_rows": len(data[2])}
        for side, side_runs in runs.items():
            results[name][side] = {
                step: {
                    "seconds": float(np.median([r[step]["seconds"] for r in side_runs])),
                    "seconds_all": [r[step]["seconds"] for r in side_runs],
                    "accuracy": side_runs[0][step]["accuracy"],
                    "accuracy_all": [r[step]["accuracy"] for r in side_runs],
                }
                for step in STEPS
            }
    return results


def environment(max_iter: int, repeats: int) -> dict[str, Any]:
    import sklearn

    import pyfastnn

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "pyfastnn": getattr(pyfastnn, "__version__", "?"),
        "load_average_1min": load,
        "max_iter": max_iter,
        "repeats": repeats,
    }


def markdown(results: dict[str, Any], env: dict[str, Any]) -> str:
    lines = [
        "# scikit-learn drop-in: one MLPClassifier script, two imports",
        "",
        "<!-- Generated; do not edit by hand. Regenerate with the command below. -->",
        "Generated by `python bench/sklearn_dropin.py --markdown docs/BENCHMARKS_SKLEARN.md`.",
        "",
        f"- date: {env['date']}; {env['cpus']} logical CPUs; 1-minute load average "
        f"{env['load_average_1min']:.2f} at the start (a shared machine: indicative figures)",
        f"- Python {env['python']}, NumPy {env['numpy']}, scikit-learn {env['sklearn']}, "
        f"pyfastnn {env['pyfastnn']}",
        f"- the script (`script` in bench/sklearn_dropin.py): MLPClassifier(hidden_layer_sizes"
        f"=(100,), max_iter={env['max_iter']}, random_state=0), all other parameters "
        "scikit-learn's defaults (Adam, batch_size='auto', alpha=1e-4, float32 in pyfastnn); "
        "`partial_fit` over 10 chunks, "
        f"{max(1, env['max_iter'] // 4)} passes; `early_stopping=True`; "
        "GridSearchCV(Pipeline(StandardScaler, MLP), learning_rate_init x alpha, 2 x 2, cv=3)",
        "- seconds: wall time of the step's training calls (the grid search includes its "
        f"12 + 1 fits and their scoring), the median of {env['repeats']} runs of the script "
        "per side, the sides alternating (sklearn, pyfastnn, sklearn, ...); scikit-learn's "
        "side with NumPy's OpenBLAS on its own threads (as without pyfastnn), pyfastnn's as "
        "configured (PYFASTNN_BLAS_THREADS); accuracy on the "
        "held-out test rows (the same in every run)",
        "",
        "| data | step | sklearn acc | pyfastnn acc | diff (points) | sklearn s | "
        "pyfastnn s | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        totals = {"sklearn": 0.0, "pyfastnn": 0.0}
        for step in STEPS:
            a, b = res["sklearn"][step], res["pyfastnn"][step]
            totals["sklearn"] += a["seconds"]
            totals["pyfastnn"] += b["seconds"]
            lines.append(
                f"| {name} {tuple(res['shape'])} | {step} | {a['accuracy']:.4f} | "
                f"{b['accuracy']:.4f} | {100 * (b['accuracy'] - a['accuracy']):+.1f} | "
                f"{a['seconds']:.2f} | {b['seconds']:.2f} | "
                f"**{a['seconds'] / b['seconds']:.1f}x** |"
            )
        lines.append(
            f"| {name} | all training | | | | {totals['sklearn']:.2f} | "
            f"{totals['pyfastnn']:.2f} | **{totals['sklearn'] / totals['pyfastnn']:.1f}x** |"
        )
    lines += [
        "",
        "Goal (issue 15): accuracy within 1 point of scikit-learn's and training at "
        "least 3x faster. Both sides run the same stopping rule (tol, n_iter_no_change) "
        "on the same data; their weights start from different random draws and the "
        "minibatch orders differ, so single-run accuracies differ by a few tenths of a "
        "point either way.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="max_iter=20 instead of 200")
    parser.add_argument("--max-iter", type=int, default=None, help="max_iter of every fit")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of the script per side (median seconds)"
    )
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    max_iter = args.max_iter or (20 if args.quick else 200)
    if args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    env = environment(max_iter, args.repeats)
    results = run(max_iter, args.repeats)
    text = markdown(results, env)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
