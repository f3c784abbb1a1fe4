"""``pyfastnn sweep``: train a grid of configurations in parallel processes.

Writes, into ``--out``: ``sweep.md`` (markdown table and the best row),
``sweep.csv``, ``sweep.json``, and ``accuracy_vs_width.png`` /
``accuracy_vs_depth.png`` when those axes vary (figures need matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from .._factory import OPTIMIZERS
from .._spec import ACTIVATIONS
from ..schedules import NAMES as SCHEDULES
from . import _args
from .train import INITS, LOSS_NAMES, OUTPUTS

DESCRIPTION = """\
Train every combination of the given values (each flag takes a comma-separated
list) on one dataset, in parallel worker processes (workers x threads per worker
stays within the cores), and tabulate train, validation and test accuracy and
training time per configuration. A configuration that fails (e.g. diverges)
gets a row with its error.

Unset settings take the sweep's defaults, those of `pyfastnn train` except
30 epochs rather than 100 (to keep grids quick):
{defaults}

The grid can also come from a TOML (Python >= 3.11) or JSON file, --config:

    dataset = "digits"        # also: workers, threads_per_worker, out, data_options
    [grid]
    width = [32, 64, 128]     # lists are axes, single values are fixed
    depth = [1, 2]
    optimizer = "sgd"
    lr = [0.05, 0.1]
    epochs = 20

Grid keys (the flags' names with _ for -; width is --hidden):
{keys}
Values are checked as the flags' are, before anything runs. Flags override the file.
An option for one optimiser or output (momentum: sgd, rmsprop; nesterov: sgd;
weight_decay: adamw; alpha: entmax) in a grid that also has others is an error:
sweep those in a grid of their own.
"""
EPILOG = """\
examples:
  pyfastnn sweep --hidden 32,64,128 --depth 1,2,3 --epochs 20
  pyfastnn sweep --model mlp,logreg --optimizer sgd --lr 0.01,0.1 --features raw,avgpool
  pyfastnn sweep --optimizer sgd --momentum 0.9 --nesterov true,false --lr-schedule constant,cosine
  pyfastnn sweep --optimizer adamw --weight-decay 0,0.01,0.1 --clip-norm 1
  pyfastnn sweep --output entmax --alpha 1.25,1.5,2 --class-weight none,balanced
  pyfastnn sweep --config sweep.toml --workers 2 --out results/sweep
"""
FILE_KEYS = ("dataset", "workers", "threads_per_worker", "out", "data_options", "grid")

# flag -> (grid key, item type)
AXES: dict[str, tuple[str, Any]] = {
    "--model": ("model", _args.choice(("mlp", "logreg", "perceptron"))),
    "--hidden": ("width", _args.positive_int),
    "--depth": ("depth", _args.nonneg_int),
    "--activation": ("activation", _args.choice(list(ACTIVATIONS))),
    "--activation-param": ("activation_param", _args.finite_float),
    "--output": ("output", _args.choice(OUTPUTS)),
    "--alpha": ("alpha", _args.above_one),
    "--loss": ("loss", _args.choice(LOSS_NAMES)),
    "--relumax-b": ("relumax_b", _args.positive_float),
    "--eps": ("eps", _args.positive_float),
    "--init": ("init", _args.choice(INITS)),
    "--optimizer": ("optimizer", _args.choice(OPTIMIZERS)),
    "--lr": ("lr", _args.positive_float),
    "--lr-schedule": ("lr_schedule", _args.choice(SCHEDULES)),
    "--momentum": ("momentum", _args.fraction),
    "--nesterov": ("nesterov", _args.boolean),
    "--weight-decay": ("weight_decay", _args.nonneg_float),
    "--clip-norm": ("clip_norm", _args.positive_float),
    "--l1": ("l1", _args.nonneg_float),
    "--l2": ("l2", _args.nonneg_float),
    "--dropout": ("dropout", _args.fraction),
    "--class-weight": ("class_weight", _args.class_weight),
    "--epochs": ("epochs", _args.positive_int),
    "--batch-size": ("batch_size", _args.positive_int),
    "--patience": ("patience", _args.positive_int),
    "--features": ("features", _args.choice(("raw", "avgpool", "maxpool"))),
    "--backend": ("backend", _args.choice(("native", "vector", "loop"))),
    "--dtype": ("dtype", _args.choice(("float32", "float64"))),
    "--seed": ("seed", _args.nonneg_int),
}
AXIS_HELP = {
    "--hidden": "hidden-layer widths (mlp)",
    "--depth": "numbers of hidden layers (mlp)",
    "--patience": "early-stopping patience in epochs",
    "--features": "raw, avgpool, maxpool",
    "--output": ", ".join(OUTPUTS),
    "--alpha": "alpha > 1 of output entmax (entmax only; none: 1.5)",
    "--optimizer": ", ".join(OPTIMIZERS),
    "--lr": "learning rates (none: the optimiser's default)",
    "--lr-schedule": ", ".join(SCHEDULES),
    "--momentum": "momentum of sgd or rmsprop, in [0, 1)",
    "--nesterov": "true, false (alone: true); Nesterov momentum of sgd with --momentum > 0",
    "--weight-decay": "decoupled weight decay of adamw (adamw only; none: 0.01)",
    "--clip-norm": "gradient clipping to this global L2 norm (none: no clipping)",
    "--class-weight": "none, balanced (rows weighted n / (classes x rows of the class))",
}
# flags that alone (no value) mean [True]
SWITCHES = ("--nesterov",)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to ``subparsers``."""
    from ..sweep import DEFAULTS

    defaults = ", ".join(f"{k}={_show(v)}" for k, v in DEFAULTS.items() if k != "hidden")
    p = subparsers.add_parser(
        "sweep",
        help="train a grid of configurations in parallel; write tables and figures",
        description=DESCRIPTION.format(
            defaults=textwrap.fill(defaults, 79), keys=textwrap.fill(", ".join(DEFAULTS), 79)
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a .toml or .json file with the grid (see above)",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset for pyfastnn.data.load_dataset: digits, mnist5k, circles, moons, "
        "idx:<directory> or npz:<path> (default: digits)",
    )
    p.add_argument(
        "--data-option",
        metavar="KEY=VALUE",
        type=_args.key_value,
        action="append",
        default=[],
        help="an option of load_dataset (repeatable)",
    )
    g = p.add_argument_group("grid (comma-separated values; each list is an axis)")
    for flag, (key, item) in AXES.items():
        text = AXIS_HELP.get(flag)
        switch = {"nargs": "?", "const": [True]} if flag in SWITCHES else {}
        g.add_argument(
            flag,
            dest=f"axis_{key}",
            type=_args.listof(item),
            default=None,
            metavar="V[,V...]",
            help=f"{text + ' ' if text else ''}(default: {_show(DEFAULTS[key])})",
            **switch,
        )
    r = p.add_argument_group("running")
    r.add_argument(
        "--workers",
        type=_args.positive_int,
        default=None,
        help="worker processes (default: cores, at most one per configuration)",
    )
    r.add_argument(
        "--threads-per-worker",
        type=_args.thread_count,
        default=None,
        help="native/BLAS threads in each worker (default: cores // workers)",
    )
    r.add_argument(
        "--out", type=Path, default=None, help="output directory (default: results/sweep)"
    )
    r.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run, parser=p)
    return p


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings of a .toml or .json sweep file (keys in FILE_KEYS)."""
    if path.suffix == ".toml":
        try:
            import tomllib  # Python >= 3.11
        except ImportError:
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise ValueError(
                    "reading TOML needs Python >= 3.11 (or `pip install tomli`); "
                    "use a .json file instead"
                ) from None
        with open(path, "rb") as fh:
            settings = tomllib.load(fh)
    elif path.suffix == ".json":
        with open(path, encoding="utf-8") as fh:
            settings = json.load(fh)
    else:
        raise ValueError(f"expected a .toml or .json file, got {path.name}")
    if not isinstance(settings, dict):
        raise ValueError("expected a table of settings at the top level")
    unknown = sorted(set(settings) - set(FILE_KEYS))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {list(FILE_KEYS)}")
    if not isinstance(settings.get("grid", {}), dict):
        raise ValueError("'grid' must be a table of key = value or [values]")
    for key in ("workers", "threads_per_worker"):
        value = settings.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{key}: expected a positive integer, got {value!r}")
    for key in ("dataset", "out"):
        if key in settings and not isinstance(settings[key], str):
            raise ValueError(f"{key}: expected a string, got {settings[key]!r}")
    options = settings.get("data_options", {})
    if not isinstance(options, dict):
        raise ValueError(f"data_options: expected a table of options, got {options!r}")
    return settings


def run(args: argparse.Namespace) -> int:
    from .. import sweep as sw
    from .._datasource import load_splits
    from .._files import check_writable_dir, write_text_atomic

    parser: argparse.ArgumentParser = args.parser
    settings: dict[str, Any] = {}
    if args.config is not None:
        try:
            settings = read_config_file(args.config)
        except (OSError, ValueError) as err:
            parser.error(f"--config {args.config}: {err}")
    axes = dict(settings.get("grid", {}))
    for key in sw.DEFAULTS:
        given = getattr(args, f"axis_{key}", None)
        if given is not None:
            axes[key] = given
    dataset = args.dataset or settings.get("dataset", "digits")
    data_options = {**settings.get("data_options", {}), **dict(args.data_option)}
    workers = args.workers or settings.get("workers")
    threads = args.threads_per_worker or settings.get("threads_per_worker")
    out = args.out or Path(settings.get("out", "results/sweep"))
    try:
        configs = [sw.normalize_config(c) for c in sw.grid(**axes)]
    except (TypeError, ValueError) as err:
        parser.error(f"grid: {err}")
    try:  # fail early on a bad dataset (workers load it again, once each)
        load_splits(dataset, **data_options)
    except (ValueError, TypeError, ImportError, OSError) as err:
        parser.error(f"--dataset {dataset}: {err}")
    try:  # before training: a bad --out must not lose the sweep
        check_writable_dir(out)
    except OSError as err:
        parser.error(f"--out {out}: cannot write there ({err})")

    print(f"sweep: {len(configs)} configurations on {dataset}", file=sys.stderr)
    progress = not args.quiet and _args.progress_available()
    if not args.quiet and not progress:
        print(
            'no progress bar (pip install tqdm, or the extra "pyfastnn[all]", for one); '
            "the table follows when every configuration is done",
            file=sys.stderr,
        )
    result = sw.run_sweep(
        configs,
        dataset,
        max_workers=workers,
        threads_per_worker=threads,
        data_options=data_options,
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    table = result.to_markdown()
    best = result.best
    summary = _best_line(best, result)
    write_text_atomic(out / "sweep.md", f"{table}\n\n{summary}\n")
    result.to_csv(out / "sweep.csv")
    result.to_json(out / "sweep.json")
    figures = [] if args.no_plots else _figures(result, out)

    print(table)
    print(f"\n{summary}")
    written = ["sweep.md", "sweep.csv", "sweep.json", *(f.name for f in figures)]
    print(f"wrote {', '.join(str(out / w) for w in written)}")
    return 0 if best is not None else 1


def _best_line(best: dict[str, Any] | None, result: Any) -> str:
    layout = (
        f"{len(result.rows)} configurations in {result.seconds:.1f} s on "
        f"{result.workers} workers x {result.threads_per_worker} threads"
    )
    if best is None:
        return f"All configurations failed ({layout})."
    keys = result.varying() or ["model"]
    setting = ", ".join(f"{k}={best[k]}" for k in keys)
    return (
        f"Best by validation accuracy: {setting}: val {best['val_accuracy']:.4f}, "
        f"test {best['test_accuracy']:.4f} ({layout}); {len(result.errors)} failed."
    )


def _figure_title(result: Any, key: str) -> str | None:
    """The default title of plots.accuracy_vs, with the dataset in front."""
    from .. import plots

    rows = [r for r in result.rows if r.get("error") is None]
    other = {"width": "depth", "depth": "width"}.get(key)
    shown = {key}
    if other is not None and len({r.get(other) for r in rows}) > 1:
        shown.add(other)
    over = plots.other_axes(rows, shown)
    title = f"{result.dataset}: accuracy vs {key}"
    if over:
        title += "\n" + plots.over_note(over)
    return title


def _figures(result: Any, out: Path) -> list[Path]:
    varying = result.varying()
    written: list[Path] = []
    try:
        from .. import plots

        for key in ("width", "depth"):
            if key in varying and result.best is not None:
                path = out / f"accuracy_vs_{key}.png"
                plots.accuracy_vs(result, key, path, title=_figure_title(result, key))
                written.append(path)
        best = result.best
        if best is not None and best.get("history"):
            path = out / "best_learning_curves.png"
            setting = ", ".join(f"{k}={_show(best[k])}" for k in varying) or best["model"]
            plots.learning_curves(
                best["history"], path, title=f"{result.dataset}: best configuration ({setting})"
            )
            written.append(path)
    except ImportError as err:
        print(f"no figures: {err}", file=sys.stderr)
    return written
