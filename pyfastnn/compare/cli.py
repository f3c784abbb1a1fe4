"""The ``pyfastnn compare`` command (also ``python bench/compare.py``)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from typing import Any

from .suites import SUITES

DESCRIPTION = """\
Run the same workloads -- matmul; MLP forward, loss_and_grad, one training epoch
and predict; sparsemax / relumax / softmax forward, JVP and VJP -- in the loop,
vector and native backends and in the installed peers (PyTorch CPU, scikit-learn's
MLPClassifier, entmax). First every contender's result is compared with the vector
backend's (max abs difference printed; failures marked FAIL and the exit status is
1), then each is timed: median per-call time over alternating blocks after warm-up.
Prints a markdown table with speed-ups over loop and vector, GFLOP/s and the
fraction of the GEMM peak measured in the same run (matrix-product work) or of the
copy floor (np.copyto of the same bytes; sparse maps), then scaling sweeps over
batch size, hidden width, depth, number of classes K and threads. Writes
compare.json (every figure, the machine, thread counts and load average),
compare.png (bar chart, log scale) and sweep_<name>.png (curves) into --out; the
PNGs need matplotlib (pip install 'pyfastnn[plot]'). Peers: pip install
torch==2.13.0, then pip install 'pyfastnn[bench]'; missing ones are listed as
not installed.

--suite core and --suite train time instead the native core side by side (matmul
native vs NumPy, one loss_and_grad step at batch 1/64/256 in every backend and
PyTorch, 1 vs 2 threads) and the training issue's workload (one fit epoch of
784-256-26 on 100000 x 784 float32 rows at batch 64 and 1: native SGD and Adam,
vector, PyTorch; peak memory in a fresh process), with every ratio given twice:
of the medians, and the median of the per-round ratios. These suites, like the
table, pause before each block so that the other thread pools are quiet: the
steady state of a machine that belongs to one library.

--suite shared measures the opposite: one training step called alternately with
NumPy's matmul, PyTorch's and a jitted JAX matmul (each one's time interleaved over
alone), the
sparse-attention pipeline sparsemax(Q @ K.T) @ V against the sum of its parts,
and the step with one core held by a spinner process (all threads over one
thread, vector over native), side by side with PyTorch."""

EPILOG = """\
modes: --quick (default) finishes in under a minute on a 2-core machine, loop only at
tiny sizes; --full runs every workload and sweep point (several minutes); --tiny is for
the test suite (seconds, numbers meaningless). With --suite train, --quick is 20000 rows
(about a minute), --full 100000 (several minutes).
examples: pyfastnn compare --full --out docs/benchmarks --markdown docs/BENCHMARKS.md
          pyfastnn compare --suite train --threads 1 --only memory"""


DEFAULTS = {"out": os.path.join("results", "compare"), "dtype": "float32", "suite": "backends"}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _threads(text: str) -> int:
    from .._native import MAX_THREADS

    value = _positive(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_THREADS} threads, got {value}")
    return value


def _unwritable(args: argparse.Namespace) -> str | None:
    """Why --out or --markdown cannot be written (checked before the run), or None."""
    targets = [("--out", args.out)]
    if args.markdown:
        targets.append(("--markdown", os.path.dirname(os.path.abspath(args.markdown))))
    for flag, directory in targets:
        try:
            os.makedirs(directory, exist_ok=True)
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as err:
            return f"{flag}: cannot write to {directory} ({err.strerror or err})"
    if args.markdown and os.path.isdir(args.markdown):
        return f"--markdown: {args.markdown} is a directory"
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``compare`` (shared by the subcommand and bench/compare.py)."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="mode",
        action="store_const",
        const="quick",
        help="small sizes, 3 rounds: under a minute (the default)",
    )
    mode.add_argument(
        "--full",
        dest="mode",
        action="store_const",
        const="full",
        help="all workloads and sweep points, 5 rounds: several minutes",
    )
    mode.add_argument(
        "--tiny",
        dest="mode",
        action="store_const",
        const="tiny",
        help="tiny sizes, 1 round, for tests: seconds, numbers meaningless",
    )
    parser.set_defaults(mode="quick")
    parser.add_argument(
        "--suite",
        choices=SUITES,
        default=DEFAULTS["suite"],
        help="backends: the checked table and sweeps (default); core: matmul, MLP step and "
        "threads ratios; train: fit-epoch ratios and peak memory; shared: beside NumPy's "
        "and PyTorch's pools, a sparse-attention pipeline, one core busy",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULTS["out"],
        help="directory for compare.json and the PNGs (default: results/compare)",
    )
    parser.add_argument(
        "--threads",
        type=_threads,
        default=None,
        metavar="N",
        help="threads for pyfastnn, PyTorch and NumPy's BLAS (BLAS needs "
        "threadpoolctl; default: pyfastnn's current count, i.e. all CPUs)",
    )
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default=DEFAULTS["dtype"],
        help="data type of every workload (default float32)",
    )
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        default=None,
        help="also write a complete benchmarks page (table, sweeps, PNG links, "
        "machine, command, date) to PATH, e.g. docs/BENCHMARKS.md",
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        default=None,
        help="run only workloads whose name contains TEXT (plus the GEMM "
        "peak), e.g. --only sparsemax",
    )
    parser.add_argument(
        "--no-peers",
        dest="peers",
        action="store_false",
        help="leave out PyTorch, scikit-learn and entmax",
    )
    parser.add_argument(
        "--no-sweeps", dest="sweeps", action="store_false", help="only the table, no scaling sweeps"
    )
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="write no PNG files")


def add_compare_parser(sub: Any) -> None:
    """Register ``compare`` on the subparsers object of ``pyfastnn``'s parser."""
    parser = sub.add_parser(
        "compare",
        help="loop vs vector vs native vs PyTorch/scikit-learn/entmax: agreement and speed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def command_line(args: argparse.Namespace, prefix: str = "pyfastnn compare") -> str:
    """The command that reproduces ``args`` (non-default options only)."""
    parts = [prefix, f"--{args.mode}"]
    for name in ("suite", "out", "threads", "dtype", "markdown", "only"):
        value = getattr(args, name)
        if value is not None and value != DEFAULTS.get(name):
            parts += [f"--{name}", str(value)]
    parts += [f"--no-{name}" for name in ("peers", "sweeps", "plot") if not getattr(args, name)]
    return " ".join(shlex.quote(p) if p != prefix else p for p in parts)


def run(args: argparse.Namespace, prefix: str = "pyfastnn compare") -> int:
    """Run the comparison for parsed arguments; 1 if any contender disagreed."""
    from .plot import plot_all
    from .report import markdown_document, markdown_table, skipped_lines, write_json
    from .runner import Options, run_compare

    problem = _unwritable(args)
    if problem is not None:
        print(f"{prefix}: error: {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    command = command_line(args, prefix)
    options = Options(
        mode=args.mode,
        dtype=args.dtype,
        threads=args.threads,
        peers=args.peers,
        sweeps=args.sweeps,
        only=args.only,
        command=command,
    )
    if args.suite != "backends":
        return _run_suite(args, options, start)
    doc = run_compare(options)
    print("\n## Results\n")
    print(markdown_table(doc))
    for line in skipped_lines(doc):
        print(line)
    json_path = os.path.join(args.out, "compare.json")
    images = plot_all(doc, args.out) if args.plot else {}
    doc["meta"]["seconds"] = time.perf_counter() - start
    write_json(doc, json_path)
    print(f"\nwrote {json_path}" + "".join(f", {p}" for p in images.values()))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(markdown_document(doc, args.markdown, images))
        print(f"wrote {args.markdown}")
    if doc["failures"]:
        print(f"\n!!!!! {len(doc['failures'])} CORRECTNESS FAILURE(S): see above !!!!!")
        return 1
    print(f"done in {doc['meta']['seconds']:.0f} s")
    return 0


def _run_suite(args: argparse.Namespace, options: Any, start: float) -> int:
    """A ratio suite: timed (the backends suite checks the same computations)."""
    from .report import suite_document, write_json
    from .shared import run_shared, shared_document
    from .suite_runner import run_suite

    if args.suite == "shared":
        doc, document = run_shared(options), shared_document
    else:
        doc, document = run_suite(args.suite, options), suite_document
    doc["meta"]["seconds"] = time.perf_counter() - start
    json_path = os.path.join(args.out, f"{args.suite}.json")
    write_json(doc, json_path)
    print(f"\nwrote {json_path}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(document(doc))
        print(f"wrote {args.markdown}")
    print(f"done in {doc['meta']['seconds']:.0f} s")
    return 0


def main(argv: list[str] | None = None, prog: str = "python bench/compare.py") -> int:
    """Stand-alone entry point (bench/compare.py)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv), prog)
