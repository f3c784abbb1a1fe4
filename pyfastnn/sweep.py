"""Hyper-parameter sweeps: many configurations trained in parallel processes.

>>> from pyfastnn.sweep import grid, run_sweep
>>> configs = grid(width=[32, 64], depth=[1, 2], optimizer="sgd", lr=[0.05, 0.1], epochs=20)
>>> result = run_sweep(configs, "digits", max_workers=2)
>>> print(result.to_markdown()); result.best["val_accuracy"]

A configuration is a dict of the keys in :data:`DEFAULTS` (missing keys take
those values). Each one trains a fresh model on the training split, keeping
the weights of its best validation epoch, and reports train, validation and
test accuracy and training time.

Parallelism: by default a ``ProcessPoolExecutor`` (spawned processes) with
``max_workers`` workers, each limited to ``threads_per_worker`` native,
OpenMP and BLAS threads so that workers x threads never exceeds the cores.
Any ``concurrent.futures.Executor`` can run the tasks instead, e.g. a dask
cluster's ``Client.get_executor()``; then every worker uses
``threads_per_worker`` threads (default 1).

Data: pass a dataset name for :func:`pyfastnn.data.load_dataset` (each
worker loads it once, cached per process: nothing large crosses process
boundaries) or the arrays themselves (a ``pyfastnn.data.Splits``, or any object
with X_train, y_train, X_val, y_val and optionally X_test, y_test); arrays are
pickled and sent with every task, which is cheap for datasets of a few
megabytes such as digits or mnist5k. For a large dataset on a cluster, pass a
name (or an ``npz:<path>`` the workers can read) rather than arrays.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import csv
import functools
import io
import itertools
import math
import multiprocessing
import numbers
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._datasource import FEATURES, features, load_splits
from ._factory import (
    DEFAULT_ALPHA,
    DEFAULT_OPTIMIZER,
    DEFAULT_WEIGHT_DECAY,
    MLP_OPTIONS,
    MODEL_KINDS,
    OPTIMIZERS,
    check_optimizer_options,
    check_output_options,
    fit_model,
    make_model,
    make_optimizer,
)
from ._files import write_json_atomic, write_text_atomic
from ._spec import ACTIVATIONS, LABEL_OUTPUTS
from .optim import DEFAULT_LR
from .schedules import NAMES as SCHEDULES

#: The keys of a configuration and their defaults.
DEFAULTS: dict[str, Any] = {
    "model": "mlp",  # "mlp", "logreg" or "perceptron"
    "width": 100,  # units per hidden layer (mlp)
    "depth": 1,  # hidden layers (mlp); 0 is a softmax regression
    "hidden": None,  # explicit hidden widths, e.g. (128, 64); overrides width/depth
    "activation": "relu",
    **MLP_OPTIONS,  # output, alpha, loss, relumax_b, eps, activation_param, init (mlp)
    "optimizer": DEFAULT_OPTIMIZER,  # "sgd", "adam", "adamw" or "rmsprop"
    "lr": None,  # None: the optimiser's default (pyfastnn.optim.DEFAULT_LR)
    "lr_schedule": "constant",  # a name of pyfastnn.schedules.NAMES
    "momentum": 0.0,  # sgd and rmsprop only
    "nesterov": False,  # sgd with momentum only
    "weight_decay": None,  # adamw only; None: its default (0.01)
    "clip_norm": None,  # None: no gradient clipping
    "l1": 0.0,
    "l2": 0.0,
    "dropout": 0.0,
    "class_weight": None,  # None or "balanced"
    "epochs": 30,
    "batch_size": 32,
    "patience": None,  # early stopping after this many epochs without improvement
    "features": "raw",  # "raw", "avgpool" or "maxpool" (2x2 pooling of square images)
    "backend": "native",
    "dtype": "float32",
    "seed": 0,
}


def _choice(*options: Any) -> Any:
    def check(v: Any) -> Any:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(map(repr, options))}, got {v!r}")
        return v

    return check


def _number(
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = True,
    integer: bool = False,
    none: bool = False,
) -> Any:
    def check(v: Any) -> Any:
        if v is None and none:
            return v
        kind = "an integer" if integer else "a number"
        ok_type = isinstance(v, numbers.Integral) if integer else isinstance(v, numbers.Real)
        if isinstance(v, bool) or not ok_type or not math.isfinite(v):
            raise ValueError(f"expected {kind}, got {v!r}")
        if v < low or (low_open and v == low) or v > high or (high_open and v == high):
            lo, hi = "(" if low_open else "[", ")" if high_open else "]"
            raise ValueError(f"expected {kind} in {lo}{low:g}, {high:g}{hi}, got {v!r}")
        return int(v) if integer else float(v)

    return check


def _flag(v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"expected true or false, got {v!r}")
    return bool(v)


def _widths(v: Any) -> Any:
    if v is None:
        return v
    if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
        raise ValueError(f"expected a list of widths, got {v!r}")
    return tuple(_number(1, integer=True)(h) for h in v)


#: How each configuration value is checked (and normalised): the same rules as the
#: command line's flags, so a sweep file's mistakes are found before anything runs.
CHECKS: dict[str, Any] = {
    "model": _choice(*MODEL_KINDS),
    "width": _number(1, integer=True),
    "depth": _number(0, integer=True),
    "hidden": _widths,
    "activation": _choice(*ACTIVATIONS),
    "output": _choice(*LABEL_OUTPUTS),
    "alpha": _number(1, low_open=True, none=True),
    "loss": _choice(None, "cross_entropy", "sparsemax", "eps_cross_entropy"),
    "relumax_b": _number(0, low_open=True),
    "eps": _number(0, low_open=True),
    "activation_param": _number(-math.inf, none=True),
    "init": _choice("glorot_uniform", "glorot_normal", "he_uniform", "he_normal"),
    "optimizer": _choice(*OPTIMIZERS),
    "lr": _number(0, low_open=True, none=True),
    "lr_schedule": _choice(*SCHEDULES),
    "momentum": _number(0, 1),
    "nesterov": _flag,
    "weight_decay": _number(0, none=True),
    "clip_norm": _number(0, low_open=True, none=True),
    "l1": _number(0),
    "l2": _number(0),
    "dropout": _number(0, 1),
    "class_weight": _choice(None, "balanced"),
    "epochs": _number(1, integer=True),
    "batch_size": _number(1, integer=True),
    "patience": _number(1, integer=True, none=True),
    "features": _choice(*FEATURES),
    "backend": _choice("native", "vector", "loop"),
    "dtype": _choice("float32", "float64"),
    "seed": _number(0, 2**63, integer=True),
}

#: Result columns, after the configuration's.
METRICS = (
    "val_accuracy",
    "test_accuracy",
    "train_accuracy",
    "best_epoch",
    "epochs_run",
    "train_seconds",
    "error",
)


def grid(**axes: Any) -> list[dict[str, Any]]:
    """Every combination of the list-valued arguments; other values are fixed.

    ``grid(width=[32, 64], depth=[1, 2], lr=0.1)`` gives 4 configurations.
    Only lists (and ranges) are axes: a tuple such as ``hidden=(64, 64)`` is
    one value. The first axis varies slowest.
    """
    unknown = sorted(set(axes) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"grid: unknown keys {unknown}; known: {sorted(DEFAULTS)}")
    names = list(axes)
    values = [list(v) if isinstance(v, (list, range)) else [v] for v in axes.values()]
    for name, vals in zip(names, values):
        if not vals:
            raise ValueError(f"grid: axis {name!r} is empty")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def normalize_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` completed with :data:`DEFAULTS` and checked by :data:`CHECKS`.

    Unknown keys and bad values (``lr="fast"``, ``epochs=0``) raise
    ``ValueError`` naming the key.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"configs: expected dicts, got {type(config).__name__}")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"config: unknown keys {unknown}; known: {sorted(DEFAULTS)}")
    full = {**DEFAULTS, **config}
    for key, check in CHECKS.items():
        try:
            full[key] = check(full[key])
        except ValueError as err:
            raise ValueError(f"{key}: {err}") from None
    check_optimizer_options(
        full["optimizer"], full["momentum"], full["nesterov"], full["weight_decay"]
    )
    check_output_options(full["model"], full["output"], full["alpha"])
    # a row holds the values it ran with
    if full["lr"] is None:
        full["lr"] = DEFAULT_LR[full["optimizer"]]
    if full["optimizer"] == "adamw" and full["weight_decay"] is None:
        full["weight_decay"] = DEFAULT_WEIGHT_DECAY
    if full["model"] == "mlp" and full["output"] == "entmax" and full["alpha"] is None:
        full["alpha"] = DEFAULT_ALPHA
    return full


def hidden_layers(config: Mapping[str, Any]) -> tuple[int, ...]:
    """Hidden widths of a normalized configuration (empty for linear models)."""
    if config["model"] != "mlp":
        return ()
    if config["hidden"] is not None:
        return tuple(config["hidden"])
    return (int(config["width"]),) * int(config["depth"])


# ---- one configuration (runs in a worker) --------------------------------------


def run_config(
    config: Mapping[str, Any],
    data: Any,
    data_options: Mapping[str, Any] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train one configuration; return its result row (never raises for the
    configuration's own failures: the row's ``error`` holds the message)."""
    if threads is not None:
        limit_threads(threads)
    row: dict[str, Any] = {**normalize_config(config), **dict.fromkeys(METRICS)}
    try:
        splits = _splits(data, row["features"], data_options)
        if splits.X_val is None:
            raise ValueError("data: a sweep needs a validation part (X_val, y_val)")
        n_classes = splits.n_classes
        model = make_model(
            row["model"],
            splits.X_train.shape[1],
            n_classes,
            hidden=hidden_layers(row),
            activation=row["activation"],
            dtype=row["dtype"],
            backend=row["backend"],
            seed=row["seed"],
            **{k: row[k] for k in MLP_OPTIONS if row["model"] == "mlp"},
        )
        start = time.perf_counter()
        history = fit_model(
            model,
            splits.X_train,
            splits.y_train,
            epochs=row["epochs"],
            batch_size=row["batch_size"],
            optimizer=make_optimizer(
                row["optimizer"],
                row["lr"],
                row["momentum"],
                nesterov=row["nesterov"],
                weight_decay=row["weight_decay"],
            ),
            lr=row["lr"],
            lr_schedule=row["lr_schedule"],
            clip_norm=row["clip_norm"],
            l1=row["l1"],
            l2=row["l2"],
            dropout=row["dropout"],
            class_weight=row["class_weight"],
            patience=row["patience"],
            X_val=splits.X_val,
            y_val=splits.y_val,
            seed=row["seed"],
        )
        row["train_seconds"] = time.perf_counter() - start
        row["val_accuracy"] = float(model.score(splits.X_val, splits.y_val))
        if splits.X_test is not None:
            row["test_accuracy"] = float(model.score(splits.X_test, splits.y_test))
        row["train_accuracy"] = float(model.score(splits.X_train, splits.y_train))
        row["best_epoch"] = history.best_epoch
        row["epochs_run"] = len(history.epochs)
        row["history"] = history.as_dict()  # the learning curves, without retraining
    except Exception as err:  # one bad configuration must not end the sweep
        row["error"] = f"{type(err).__name__}: {err}"
    if row["hidden"] is not None:
        row["hidden"] = list(row["hidden"])
    return row


def limit_threads(n: int) -> None:
    """Use ``n`` threads in this process: pyfastnn's kernels, and OpenMP and
    BLAS pools (through threadpoolctl when installed; the environment
    variables reach processes started later)."""
    import pyfastnn

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    pyfastnn.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n)


@functools.lru_cache(maxsize=4)
def _named_dataset(name: str, options: tuple[tuple[str, Any], ...]) -> Any:
    return load_splits(name, **dict(options))


def _splits(data: Any, kind: str, data_options: Mapping[str, Any] | None) -> Any:
    if isinstance(data, str):
        data = _named_dataset(data, tuple(sorted((data_options or {}).items())))
    return features(data, kind)


# ---- the sweep ------------------------------------------------------------------


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_sweep(
    configs: Iterable[Mapping[str, Any]],
    data: Any,
    *,
    executor: cf.Executor | None = None,
    max_workers: int | None = None,
    threads_per_worker: int | None = None,
    data_options: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> SweepResult:
    """Train every configuration; rows come back in the order of ``configs``.

    Parameters
    ----------
    configs : dicts with keys of :data:`DEFAULTS` (see :func:`grid`)
    data : a dataset name for ``pyfastnn.data.load_dataset`` (loaded in each
        worker, with ``data_options``), or a ``Splits``-like object (sent with
        each task); the validation part is required, the test part optional
    executor : any ``concurrent.futures.Executor``; None starts a process pool
        of ``max_workers`` (default: cores, at most one per configuration)
    threads_per_worker : threads per task; default cores // workers for the
        own pool (so workers x threads <= cores) and 1 for a given executor
    progress : show a tqdm bar over finished configurations
    """
    configs = [normalize_config(c) for c in configs]
    if not configs:
        raise ValueError("configs: expected at least one configuration")
    cores = cpu_count()
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers: expected >= 1, got {max_workers}")
    if threads_per_worker is not None and threads_per_worker < 1:
        raise ValueError(f"threads_per_worker: expected >= 1, got {threads_per_worker}")
    own = executor is None
    if own:
        problem = unguarded_main_call()
        if problem is not None:
            raise RuntimeError(problem)
        workers = min(len(configs), max_workers or cores)
        threads = threads_per_worker or max(1, cores // workers)
        executor = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
    else:
        workers = max_workers
        threads = threads_per_worker or 1
    assert executor is not None
    start = time.perf_counter()
    rows: list[dict[str, Any] | None] = [None] * len(configs)
    try:
        futures = {
            executor.submit(run_config, config, data, dict(data_options or {}), threads): i
            for i, config in enumerate(configs)
        }
        bar = _progress_bar(len(futures)) if progress else None
        for future in cf.as_completed(futures):
            i = futures[future]
            try:
                rows[i] = future.result()
            except BrokenProcessPool as err:  # a worker died: so will the rest
                done = sum(r is not None for r in rows)
                raise RuntimeError(
                    f"run_sweep: a worker process died ({err}); {done} of {len(rows)} "
                    "configurations had finished. When run_sweep is called from a script, "
                    'put that call under `if __name__ == "__main__":` (worker processes '
                    "import the script again); a crash inside a worker stops the pool too: "
                    "try max_workers=1, or run_config(config, data) in this process to see it"
                ) from err
            except Exception as err:  # the worker itself failed (crash, lost process)
                rows[i] = {**configs[i], **dict.fromkeys(METRICS)}
                rows[i]["error"] = f"{type(err).__name__}: {err}"  # type: ignore[index]
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if own:
            executor.shutdown()
    return SweepResult(
        rows=[r for r in rows if r is not None],
        seconds=time.perf_counter() - start,
        workers=workers,
        threads_per_worker=threads,
        dataset=data if isinstance(data, str) else getattr(data, "name", "") or type(data).__name__,
        data_options=dict(data_options or {}),
    )


def unguarded_main_call() -> str | None:
    """Why starting spawned workers from here would fail, or None.

    Spawned workers import the main script again (as ``__mp_main__``): a
    script that calls :func:`run_sweep` at its top level, outside an
    ``if __name__ == "__main__":`` block, makes every worker start a sweep of
    its own, which multiprocessing refuses, and the pool breaks. Detected here
    from the calling frames and the script's source, before any process starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return None
    guard = (
        'put the code that runs the sweep under `if __name__ == "__main__":` '
        "(spawned worker processes import the script again; see the README), "
        "or pass executor= (e.g. concurrent.futures.ThreadPoolExecutor)"
    )
    if getattr(main, "__name__", "") == "__mp_main__":
        return f"run_sweep: called while a worker process imports the main script: {guard}"
    path = getattr(main, "__file__", None)
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals is not vars(main):
        frame = frame.f_back
    if frame is None or frame.f_code.co_name != "<module>" or not path:
        return None  # called from a function, or no script (REPL, notebook, -c)
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return None
    return f"run_sweep: called at the top level of {path} (line {line}): {guard}"


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    texts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(texts) == 1


def _progress_bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="config")


# ---- results --------------------------------------------------------------------


@dataclass
class SweepResult:
    """Result rows (one dict per configuration: its full configuration, then
    :data:`METRICS`, and ``history``: its ``History.as_dict()``, the per-epoch
    learning curves), wall time, the parallel layout used and the data set."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int | None = None
    threads_per_worker: int | None = None
    dataset: str = ""  # the name given to run_sweep, or the Splits' name
    data_options: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> dict[str, Any] | None:
        """The row with the highest validation accuracy (first on ties; errors skipped)."""
        ok = [r for r in self.rows if r.get("error") is None and r.get("val_accuracy") is not None]
        return max(ok, key=lambda r: r["val_accuracy"]) if ok else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("error") is not None]

    def varying(self) -> list[str]:
        """Configuration keys whose value differs between rows."""
        keys = [k for k in DEFAULTS if any(k in r for r in self.rows)]
        return [k for k in keys if len({_cell(r.get(k)) for r in self.rows}) > 1]

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: dataset, data_options, rows (with histories),
        best, seconds, workers, threads_per_worker."""
        return {
            "dataset": self.dataset,
            "data_options": self.data_options,
            "rows": self.rows,
            "best": self.best,
            "seconds": self.seconds,
            "workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
        }

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`as_dict` as JSON (the whole file or nothing)."""
        write_json_atomic(path, self.as_dict(), default=_jsonable)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One line per row: every configuration key, then the metrics."""
        columns = self.columns(all_config=True)
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        write_text_atomic(path, buffer.getvalue())

    def columns(self, all_config: bool = False) -> list[str]:
        """Config keys (all, or only the varying ones) followed by the metrics."""
        config = [k for k in DEFAULTS if any(k in r for r in self.rows)]
        if not all_config:
            config = self.varying() or config
        metrics = [m for m in METRICS if m != "error" or self.errors]
        return config + metrics

    def to_markdown(self, columns: Sequence[str] | None = None) -> str:
        """A markdown table; by default the varying config keys and the metrics."""
        columns = list(columns) if columns is not None else self.columns()
        lines = [
            "| " + " | ".join(columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
        ]
        for row in self.rows:
            cells = [_cell(row.get(k), markdown=True) for k in columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _cell(value: Any, markdown: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value)
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ") if markdown else text


def _jsonable(value: Any) -> Any:
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)
