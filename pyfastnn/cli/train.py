"""``pyfastnn train``: train one model on a dataset and write its results.

Writes, into ``--out``: ``results.json`` (the configuration, the per-epoch
history, the train/validation/test accuracies and, per split, the metrics of
:mod:`pyfastnn.metrics`: balanced accuracy, per-class precision / recall / F1 /
support and the confusion matrix), ``model.npz`` (read it back with
``pyfastnn.load``), ``learning_curves.png`` and, for 2-D data,
``decision_boundary.png`` (the figures need matplotlib). The progress bar shows
each epoch's training loss and validation accuracy.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from .._factory import DEFAULT_ALPHA, DEFAULT_OPTIMIZER, DEFAULT_WEIGHT_DECAY, OPTIMIZERS
from .._spec import ACTIVATIONS
from ..optim import DEFAULT_LR
from ..schedules import NAMES
from . import _args

MODELS = ("mlp", "logreg", "perceptron")
FEATURES = ("raw", "avgpool", "maxpool")
# the outputs trained on class labels
OUTPUTS = ("softmax", "sparsemax", "relumax", "entmax15", "entmax")
LOSS_NAMES = ("cross_entropy", "sparsemax", "eps_cross_entropy")
INITS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")
EPOCHS = 100  # the default of --epochs
DESCRIPTION = """\
Train one model on a dataset's training split, keep the weights of the best
validation epoch, and report train, validation and test accuracy, the balanced
accuracy, per-class precision and recall and the confusion matrix. The
defaults (one hidden layer of 100 ReLU units, float32, Adam at its default
rate 0.001, 100 epochs of minibatches of 32) train well on the bundled digits
(about 0.95 test accuracy). Runs can be checkpointed and resumed.
"""
EPILOG = """\
examples:
  pyfastnn train
  pyfastnn train --model logreg --epochs 50 --optimizer sgd --lr 0.05
  pyfastnn train --hidden 128,64 --optimizer adamw --weight-decay 0.05 --features avgpool
  pyfastnn train --optimizer sgd --lr 0.1 --momentum 0.9 --nesterov --lr-schedule cosine
  pyfastnn train --output entmax --alpha 1.3 --clip-norm 1 --class-weight balanced
  pyfastnn train --epochs 50 --checkpoint run.npz --checkpoint-every 10
  pyfastnn train --epochs 100 --checkpoint run.npz --resume run.npz   # continue that run
  pyfastnn train --dataset moons --hidden 32 --depth 2 --activation tanh --out results/moons
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` command to ``subparsers``."""
    p = subparsers.add_parser(
        "train",
        help="train one model on a dataset; write results JSON, figures and the model",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _args.add_dataset_arguments(p)
    p.add_argument(
        "--features",
        type=_args.choice(FEATURES),
        default="raw",
        help="inputs: raw, or 2x2 avgpool / maxpool of square images (default: raw)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--model",
        type=_args.choice(MODELS),
        default="mlp",
        help="mlp, logreg (softmax regression) or perceptron (default: mlp)",
    )
    m.add_argument(
        "--hidden",
        type=_args.listof(_args.positive_int),
        default=[100],
        metavar="W[,W...]",
        help="hidden widths, e.g. 100 or 128,64 (default: 100; mlp only)",
    )
    m.add_argument(
        "--depth",
        type=_args.nonneg_int,
        default=None,
        help="number of hidden layers, each of the single --hidden width (0: none)",
    )
    m.add_argument(
        "--activation",
        type=_args.choice(list(ACTIVATIONS)),
        default="relu",
        help="hidden activation (default: relu)",
    )
    m.add_argument(
        "--activation-param",
        type=_args.finite_float,
        default=None,
        metavar="C",
        help="c of scaled_relu (default 5), alpha of leaky_relu (default 0.01)",
    )
    m.add_argument(
        "--output",
        type=_args.choice(OUTPUTS),
        default="softmax",
        help="output map: softmax, or the sparse sparsemax, relumax, entmax15 (alpha-entmax "
        "at alpha 1.5) or entmax (alpha-entmax at --alpha), each trained with its own loss "
        "(default: softmax; mlp only)",
    )
    m.add_argument(
        "--alpha",
        type=_args.above_one,
        default=None,
        metavar="A",
        help=f"alpha > 1 of --output entmax (default: {DEFAULT_ALPHA:g}; 2 is sparsemax, "
        "near 1 softmax; entmax only)",
    )
    m.add_argument(
        "--loss",
        type=_args.choice(LOSS_NAMES),
        default=None,
        help="loss of the output: cross_entropy (softmax); sparsemax or eps_cross_entropy "
        "(sparsemax, relumax; default: the first)",
    )
    m.add_argument(
        "--relumax-b",
        type=_args.positive_float,
        default=1.0,
        metavar="B",
        help="b of the relumax output (default: 1.0)",
    )
    m.add_argument(
        "--eps",
        type=_args.positive_float,
        default=1e-3,
        help="eps of eps_cross_entropy (default: 0.001)",
    )
    m.add_argument(
        "--init",
        type=_args.choice(INITS),
        default="glorot_uniform",
        help="weight initialisation (default: glorot_uniform)",
    )
    m.add_argument(
        "--dtype",
        type=_args.choice(("float32", "float64")),
        default="float32",
        help="float32 (default, as every model) or float64",
    )
    m.add_argument(
        "--backend",
        type=_args.choice(("native", "vector", "loop")),
        default="native",
        help="native (C++), vector (NumPy) or loop (default: native)",
    )
    t = p.add_argument_group("training")
    t.add_argument(
        "--optimizer",
        type=_args.choice(OPTIMIZERS),
        default=DEFAULT_OPTIMIZER,
        help="sgd, adam, adamw (Adam with decoupled weight decay) or rmsprop "
        f"(default: {DEFAULT_OPTIMIZER})",
    )
    t.add_argument(
        "--lr",
        type=_args.positive_float,
        default=None,
        help="learning rate (default: the optimiser's, "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
        + ")",
    )
    t.add_argument(
        "--lr-schedule",
        type=_args.choice(NAMES),
        default="constant",
        help="learning rate per epoch: " + ", ".join(NAMES) + " (default: constant; "
        "see pyfastnn.schedules)",
    )
    t.add_argument(
        "--momentum",
        type=_args.fraction,
        default=0.0,
        help="momentum of sgd or rmsprop, in [0, 1) (default: 0)",
    )
    t.add_argument(
        "--nesterov",
        action="store_true",
        help="Nesterov momentum (sgd with --momentum > 0; default: off)",
    )
    t.add_argument(
        "--weight-decay",
        type=_args.nonneg_float,
        default=None,
        metavar="WD",
        help="decoupled weight decay of adamw: each step first multiplies every parameter "
        f"by 1 - lr * WD (default: {DEFAULT_WEIGHT_DECAY:g}; adamw only)",
    )
    t.add_argument(
        "--clip-norm",
        type=_args.positive_float,
        default=None,
        metavar="C",
        help="scale each step's gradient down to global L2 norm C when it is larger "
        "(default: no clipping)",
    )
    t.add_argument("--epochs", type=_args.positive_int, default=EPOCHS, help=f"(default: {EPOCHS})")
    t.add_argument("--batch-size", type=_args.positive_int, default=32, help="(default: 32)")
    t.add_argument("--l1", type=_args.nonneg_float, default=0.0, help="l1 penalty on weights")
    t.add_argument("--l2", type=_args.nonneg_float, default=0.0, help="l2 penalty on weights")
    t.add_argument(
        "--class-weight",
        type=_args.class_weight,
        default=None,
        metavar="balanced|none",
        help="balanced: weight each training row by n / (classes x rows of its class), as "
        "scikit-learn's class_weight='balanced' (default: none, every row 1)",
    )
    t.add_argument(
        "--dropout",
        type=_args.fraction,
        default=0.0,
        help="dropout rate (needs a fit with dropout support)",
    )
    t.add_argument(
        "--patience",
        type=_args.positive_int,
        default=None,
        help="stop after this many epochs without validation improvement",
    )
    t.add_argument(
        "--seed",
        type=_args.nonneg_int,
        default=0,
        help="seed of the weights and the shuffling (default: 0)",
    )
    t.add_argument(
        "--threads",
        type=_args.thread_count,
        default=None,
        help="native threads (default: all cores)",
    )
    o = p.add_argument_group("output")
    o.add_argument(
        "--out",
        type=Path,
        default=Path("results/train"),
        help="output directory (default: results/train)",
    )
    o.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a checkpoint (a .npz model file that pyfastnn.load reads, with the "
        "optimiser and run state) every --checkpoint-every epochs and after the last "
        "(default: none)",
    )
    o.add_argument(
        "--checkpoint-every",
        type=_args.positive_int,
        default=None,
        metavar="N",
        help="epochs between checkpoints (default: 1; needs --checkpoint)",
    )
    o.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="PATH",
        help="continue the run checkpointed in PATH up to --epochs, with that run's other "
        "settings: the same weights as a run without the break (default: a fresh run)",
    )
    o.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run, parser=p)
    return p


def hidden_widths(hidden: list[int], depth: int | None) -> tuple[int, ...]:
    """--hidden and --depth combined: a single width repeated ``depth`` times."""
    if depth is None:
        return tuple(hidden)
    if len(hidden) != 1:
        raise ValueError("--depth needs a single --hidden width (or give all widths in --hidden)")
    return tuple(hidden) * depth


def run(args: argparse.Namespace) -> int:
    from .. import set_num_threads
    from .._datasource import features, load_splits
    from .._factory import fit_accepts, fit_model, make_model, make_optimizer
    from .._files import check_writable_dir, write_json_atomic

    parser: argparse.ArgumentParser = args.parser
    try:
        hidden = hidden_widths(args.hidden, args.depth)
    except ValueError as err:
        parser.error(str(err))
    try:
        check_combinations(args)
    except ValueError as err:
        parser.error(_as_flags(str(err)))
    out: Path = args.out
    try:  # before training: a bad --out must not lose the run
        check_writable_dir(out)
    except OSError as err:
        parser.error(f"--out {out}: cannot write there ({err})")
    if args.checkpoint is not None:
        try:  # likewise for the checkpoint's directory
            check_writable_dir(args.checkpoint.parent)
        except OSError as err:
            parser.error(f"--checkpoint {args.checkpoint}: cannot write there ({err})")
        if args.checkpoint.is_dir():
            parser.error(f"--checkpoint {args.checkpoint}: is a directory, expected a file path")
    if args.resume is not None:
        if not args.resume.is_file():
            parser.error(f"--resume {args.resume}: no such checkpoint file")
        from ..model_io import load

        try:  # a model file at all (fit checks that it holds a run of these settings)
            load(str(args.resume))
        except (ValueError, TypeError, OSError) as err:
            parser.error(f"--resume {args.resume}: {str(err).removeprefix('path: ')}")
    if args.threads is not None:
        set_num_threads(args.threads)
    try:
        splits = features(load_splits(args.dataset, **dict(args.data_option)), args.features)
    except (ValueError, TypeError, ImportError, OSError) as err:
        parser.error(f"--dataset {args.dataset}: {err}")
    n_classes = splits.n_classes
    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    weight_decay = args.weight_decay
    if args.optimizer == "adamw" and weight_decay is None:
        weight_decay = DEFAULT_WEIGHT_DECAY
    alpha = args.alpha
    if args.output == "entmax" and alpha is None:
        alpha = DEFAULT_ALPHA
    mlp_options = {
        "output": args.output,
        "alpha": alpha,
        "loss": args.loss,
        "relumax_b": args.relumax_b,
        "eps": args.eps,
        "activation_param": args.activation_param,
        "init": args.init,
    }
    config = {
        "dataset": args.dataset,
        "data_options": dict(args.data_option),
        "features": args.features,
        "model": args.model,
        "hidden": list(hidden) if args.model == "mlp" else [],
        "activation": args.activation,
        **mlp_options,
        "dtype": args.dtype,
        "backend": args.backend,
        "optimizer": args.optimizer,
        "lr": lr,
        "lr_schedule": args.lr_schedule,
        "momentum": args.momentum,
        "nesterov": args.nesterov,
        "weight_decay": weight_decay,
        "clip_norm": args.clip_norm,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "l1": args.l1,
        "l2": args.l2,
        "dropout": args.dropout,
        "class_weight": args.class_weight,
        "patience": args.patience,
        "seed": args.seed,
        "checkpoint": None if args.checkpoint is None else str(args.checkpoint),
        "checkpoint_every": None if args.checkpoint is None else args.checkpoint_every or 1,
        "resume": None if args.resume is None else str(args.resume),
    }
    try:
        model = make_model(
            args.model,
            splits.X_train.shape[1],
            n_classes,
            hidden=hidden,
            activation=args.activation,
            dtype=args.dtype,
            backend=args.backend,
            seed=args.seed,
            **mlp_options,
        )
        optimizer = make_optimizer(
            args.optimizer, lr, args.momentum, nesterov=args.nesterov, weight_decay=weight_decay
        )
    except (NotImplementedError, ValueError) as err:  # e.g. sizes beyond the machine's memory
        parser.error(_as_flags(str(err)))
    progress = not args.quiet and _args.progress_available()
    # the bar shows the validation accuracy per epoch when fit takes callbacks
    line = _ProgressLine(args.epochs) if progress and fit_accepts(model, "callbacks") else None
    extra: dict[str, Any] = {"callbacks": [line]} if line is not None else {}
    print(
        f"training {model!r} on {args.dataset} ({args.features}): "
        f"{_rows(splits.y_train)} train / {_rows(splits.y_val)} val / "
        f"{_rows(splits.y_test)} test\n  {describe(config)}",
        file=sys.stderr,
    )
    if args.resume is not None:
        print(f"resuming the run checkpointed in {args.resume}", file=sys.stderr)
    if args.checkpoint is not None:
        every = config["checkpoint_every"]
        print(
            f"checkpoints to {args.checkpoint} every {every} epoch{'s' * (every > 1)}",
            file=sys.stderr,
        )
    if not args.quiet and not progress:
        print(
            f"training {args.epochs} epochs without a progress bar "
            '(pip install tqdm, or the extra "pyfastnn[all]", for one)...',
            file=sys.stderr,
        )
    start = time.perf_counter()
    try:
        history = fit_model(
            model,
            splits.X_train,
            splits.y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=optimizer,
            lr=lr,
            lr_schedule=args.lr_schedule,
            clip_norm=args.clip_norm,
            l1=args.l1,
            l2=args.l2,
            dropout=args.dropout,
            class_weight=args.class_weight,
            patience=args.patience,
            seed=args.seed,
            X_val=splits.X_val,  # None: no best-epoch selection
            y_val=splits.y_val,
            progress=progress and line is None,
            checkpoint=config["checkpoint"],
            checkpoint_every=config["checkpoint_every"],
            resume=config["resume"],
            **extra,
        )
    except FloatingPointError as err:
        print(f"pyfastnn train: {err}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as err:  # e.g. dropout without support, a bad checkpoint
        parser.error(_as_flags(str(err)))
    except OSError as err:  # the checkpoint cannot be read or written
        print(f"pyfastnn train: {err}", file=sys.stderr)
        return 1
    finally:
        if line is not None:
            line.close()
    seconds = time.perf_counter() - start
    parts = [
        (part, X, y)
        for part, X, y in (
            ("train", splits.X_train, splits.y_train),
            ("val", splits.X_val, splits.y_val),
            ("test", splits.X_test, splits.y_test),
        )
        if X is not None
    ]
    metrics = {part: split_metrics(model.predict(X), y, n_classes) for part, X, y in parts}
    scores: dict[str, float | None] = {
        f"{part}_accuracy": None if part not in metrics else metrics[part]["accuracy"]
        for part in ("train", "val", "test")
    }

    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.npz"
    model.save(str(model_path))
    results = {
        "config": config,
        "history": history.as_dict(),
        **scores,
        "metrics": metrics,
        "class_labels": [k + splits.label_offset for k in range(n_classes)],
        "epochs_run": len(history.epochs),
        "best_epoch": history.best_epoch,
        "train_seconds": seconds,
        "model_file": str(model_path),
    }
    write_json_atomic(out / "results.json", results)
    figures = [] if args.no_plots else _figures(model, history, splits, out, config, scores)

    print(summary_table(results))
    print(metrics_text(results))
    print(f"\nwrote {out / 'results.json'}, {model_path}" + "".join(f", {f}" for f in figures))
    return 0


def check_combinations(args: argparse.Namespace) -> None:
    """``ValueError`` (naming the option) for flags that do not go together:
    --momentum, --nesterov, --weight-decay with another optimiser, --alpha
    without --output entmax, --checkpoint-every without --checkpoint."""
    from .._factory import check_optimizer_options, check_output_options

    check_optimizer_options(args.optimizer, args.momentum, args.nesterov, args.weight_decay)
    check_output_options(args.model, args.output, args.alpha)
    if args.checkpoint_every is not None and args.checkpoint is None:
        raise ValueError("checkpoint_every: needs --checkpoint PATH")


# option names as the model, the optimiser and fit spell them in messages
_OPTION_NAMES = (
    "activation_param",
    "relumax_b",
    "momentum",
    "nesterov",
    "weight_decay",
    "clip_norm",
    "class_weight",
    "checkpoint_every",
    "checkpoint",
    "resume",
    "dropout",
    "alpha",
    "output",
    "loss",
    "init",
    "eps",
)


def _as_flags(message: str) -> str:
    """A model/optimiser/fit error in the flags' spelling (relumax_b: -> --relumax-b:)."""
    for key in _OPTION_NAMES:
        message = re.sub(rf"(?<![\w-]){key}:", f"--{key.replace('_', '-')}:", message)
    return message


def describe(config: dict[str, Any]) -> str:
    """A one-line name of a run's model and training, e.g. "mlp 32-32 tanh, sgd lr
    0.1"; options away from their defaults are named too ("mlp 100 relu, entmax
    (alpha 1.3) output, adamw lr 0.001 weight decay 0.01, clip norm 1, cosine
    schedule, balanced class weights")."""
    if config["model"] == "mlp":
        layers = "-".join(str(h) for h in config["hidden"]) or "no hidden layer"
        model = f"mlp {layers} {config['activation']}"
        output = config.get("output", "softmax")
        if output == "entmax":
            model += f", entmax (alpha {config.get('alpha') or DEFAULT_ALPHA:g}) output"
        elif output != "softmax":
            model += f", {output} output"
    else:
        model = config["model"]
    parts = [model, f"{config['optimizer']} lr {config['lr']:g}"]
    if config.get("momentum"):
        nesterov = "nesterov " if config.get("nesterov") else ""
        parts[-1] += f" {nesterov}momentum {config['momentum']:g}"
    if config.get("weight_decay") is not None:
        parts[-1] += f" weight decay {config['weight_decay']:g}"
    if config.get("clip_norm") is not None:
        parts.append(f"clip norm {config['clip_norm']:g}")
    if config.get("lr_schedule", "constant") != "constant":
        parts.append(f"{config['lr_schedule']} schedule")
    if config.get("class_weight") is not None:
        parts.append(f"{config['class_weight']} class weights")
    return ", ".join(parts)


def summary_table(results: dict[str, Any]) -> str:
    """The final markdown table of a training run (the balanced accuracy is of the
    split :func:`reported_split` names)."""
    head = ["epochs run", "best epoch", "train acc", "val acc", "test acc"]
    head += ["balanced acc", "time (s)"]
    part = reported_split(results)
    cells = [
        str(results["epochs_run"]),
        str(results["best_epoch"]),
        _fmt(results["train_accuracy"]),
        _fmt(results["val_accuracy"]),
        _fmt(results["test_accuracy"]),
        f"{_fmt(results['metrics'][part]['balanced_accuracy'])} ({part})",
        f"{results['train_seconds']:.2f}",
    ]
    return "\n".join(
        ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(cells) + " |"]
    )


def split_metrics(predicted: Any, y: Any, n_classes: int) -> dict[str, Any]:
    """What results.json holds per split: accuracy, balanced accuracy, per-class
    precision / recall / F1 / support (lists over the classes 0 .. K-1) and the
    confusion matrix (rows: true class, columns: predicted; see pyfastnn.metrics)."""
    from ..metrics import balanced_accuracy, confusion_matrix, precision_recall

    pr = precision_recall(y, predicted, n_classes)
    return {
        "accuracy": float((predicted == y).mean()),
        "balanced_accuracy": balanced_accuracy(y, predicted, n_classes),
        "precision": pr.precision.tolist(),
        "recall": pr.recall.tolist(),
        "f1": pr.f1.tolist(),
        "support": pr.support.tolist(),
        "confusion_matrix": confusion_matrix(y, predicted, n_classes).tolist(),
    }


def reported_split(results: dict[str, Any]) -> str:
    """The split the printout details: test, else validation, else train."""
    return next(p for p in ("test", "val", "train") if p in results["metrics"])


# confusion matrices of more classes than this are left to results.json
MAX_PRINTED_CLASSES = 20


def metrics_text(results: dict[str, Any]) -> str:
    """Per-class precision / recall / F1 / support and the confusion matrix of the
    split :func:`reported_split` names, as printed after the summary table."""
    part = reported_split(results)
    m = results["metrics"][part]
    labels = [str(label) for label in results["class_labels"]]
    name = {"test": "test", "val": "validation", "train": "training"}[part]
    width = max(len("class"), *(len(label) for label in labels))
    lines = [
        f"\n{name} split, per class:",
        f"{'class':>{width}}  precision  recall      f1  support",
    ]
    for i, label in enumerate(labels):
        lines.append(
            f"{label:>{width}}  {m['precision'][i]:9.4f}  {m['recall'][i]:6.4f}  "
            f"{m['f1'][i]:6.4f}  {m['support'][i]:7d}"
        )
    if len(labels) > MAX_PRINTED_CLASSES:
        lines.append(f"confusion matrix ({len(labels)} classes): in results.json")
        return "\n".join(lines)
    cells = [labels, *([str(v) for v in row] for row in m["confusion_matrix"])]
    cw = max(len(c) for row in cells for c in row)
    lines.append(f"\nconfusion matrix ({name}; rows: true class, columns: predicted):")
    lines.append(" " * width + "  " + " ".join(f"{c:>{cw}}" for c in labels))
    for label, row in zip(labels, cells[1:]):
        lines.append(f"{label:>{width}}  " + " ".join(f"{c:>{cw}}" for c in row))
    return "\n".join(lines)


class _ProgressLine:
    """A ``fit`` callback drawing the progress bar: one step per epoch, showing
    the epoch's mean training loss and (with a validation split) its validation
    accuracy. Needs tqdm."""

    def __init__(self, epochs: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs, unit="epoch")

    def __call__(self, model: Any, record: Any) -> None:
        self.bar.update(record.epoch - self.bar.n)  # a resumed run starts past 0
        self.bar.set_postfix(postfix_of(record))

    def close(self) -> None:
        self.bar.close()


def postfix_of(record: Any) -> dict[str, str]:
    """The progress line's figures of an epoch record: loss, and val_acc when known."""
    figures = {"loss": f"{record.train_loss:.4f}"}
    if record.val_accuracy is not None:
        figures["val_acc"] = f"{record.val_accuracy:.4f}"
    return figures


def _rows(y: Any) -> int:
    return 0 if y is None else len(y)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _figures(
    model: Any,
    history: Any,
    splits: Any,
    out: Path,
    config: dict[str, Any],
    scores: dict[str, float | None],
) -> list[Path]:
    name = f"{config['dataset']}: {describe(config)}"
    try:
        from .. import plots

        written = [out / "learning_curves.png"]
        plots.learning_curves(history, written[0], title=f"learning curves, {name}")
        if splits.X_train.shape[1] == 2:
            written.append(out / "decision_boundary.png")
            part = "train" if splits.X_test is None else "test"
            X, y = getattr(splits, f"X_{part}"), getattr(splits, f"y_{part}")
            acc = scores[f"{part}_accuracy"]
            plots.decision_boundary(
                model,
                X,
                y,
                written[-1],
                title=f"{name}\n{part} points, {part} accuracy {acc:.3f}",
            )
    except ImportError as err:
        print(f"no figures: {err}", file=sys.stderr)
        return []
    return written
