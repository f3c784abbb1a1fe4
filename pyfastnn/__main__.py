"""Command line: ``pyfastnn <command>`` (or ``python -m pyfastnn <command>``)."""

from __future__ import annotations

import argparse
import sys

from .cli import _args
from .cli import sweep as cli_sweep
from .cli import train as cli_train
from .compare.cli import add_compare_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyfastnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="forward + backward of a 784-256-26 MLP in the loop, vector and native backends",
        description="Run loss_and_grad of a 784-256-26 ReLU/softmax MLP on a random minibatch "
        "in all three backends; print how far their gradients are from the loop "
        "reference and their median times.",
    )
    demo.add_argument(
        "--batch", type=_args.positive_int, default=64, help="minibatch size (default 64)"
    )
    demo.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    demo.add_argument(
        "--repeats", type=_args.positive_int, default=20, help="timed repeats (default 20)"
    )
    demo.add_argument(
        "--threads", type=_args.thread_count, default=None, help="native threads (default: all)"
    )
    for command in (cli_train, cli_sweep):
        command.register(sub)
    add_compare_parser(sub)
    args = parser.parse_args(argv)
    if hasattr(args, "run"):  # subcommands that bring their own runner
        return int(args.run(args))

    if args.command == "demo":
        from . import set_num_threads
        from .demo import check_demo_memory, run_demo

        try:
            check_demo_memory(args.batch, args.dtype)
        except ValueError as err:
            demo.error(f"argument --batch: {str(err).partition(': ')[2]}")
        if args.threads is not None:
            set_num_threads(args.threads)
        run_demo(batch=args.batch, dtype=args.dtype, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
