"""Regenerate the result tables of README.md from the commands printed above them.

    python docs/readme_tables.py            # run the sweeps, rewrite README.md
    python docs/readme_tables.py --print    # run them, print the blocks only

Each study is a ``pyfastnn sweep`` command line (exactly the one the README
shows, run in-process through the CLI) and a function that turns its
``sweep.json`` into a markdown table. The block between the markers
``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` in README.md is replaced
by the command, the table and a line saying where it was printed (CPU, kernel
ISA, dtype, date): float32 results differ between ISAs (AVX-512, AVX2 and the
portable kernels sum in different orders), so the line says which printed them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

Rows = list[dict[str, Any]]


def _best(rows: Rows, key: str) -> dict[Any, dict[str, Any]]:
    """For each value of ``key``, the row with the best validation accuracy (first on ties)."""
    best: dict[Any, dict[str, Any]] = {}
    for r in rows:
        if r.get("error") is None and (
            r[key] not in best or r["val_accuracy"] > best[r[key]]["val_accuracy"]
        ):
            best[r[key]] = r
    return best


def _acc(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x is not None else "-"


FEATURE_NAMES = {
    "raw": "raw (784)",
    "maxpool": "2×2 max pool (196)",
    "avgpool": "2×2 avg pool (196)",
}


def features_table(rows: Rows) -> str:
    best = _best(rows, "features")
    lines = ["| features (inputs) | best val | its test | lr | l2 |", "|---|---|---|---|---|"]
    for key in sorted(best, key=lambda k: -best[k]["val_accuracy"]):
        r = best[key]
        lines.append(
            f"| {FEATURE_NAMES[key]} | {_acc(r['val_accuracy'])} | {_acc(r['test_accuracy'])} "
            f"| {r['lr']:g} | {r['l2']:g} |"
        )
    return "\n".join(lines)


def axis_table(key: str, label: str) -> Callable[[Rows], str]:
    def table(rows: Rows) -> str:
        best = _best(rows, key)
        xs = sorted(best)
        return "\n".join(
            [
                f"| {label} | " + " | ".join(str(x) for x in xs) + " |",
                "|---|" + "---|" * len(xs),
                "| best val | " + " | ".join(_acc(best[x]["val_accuracy"]) for x in xs) + " |",
                "| its test | " + " | ".join(_acc(best[x]["test_accuracy"]) for x in xs) + " |",
                "| at lr | " + " | ".join(f"{best[x]['lr']:g}" for x in xs) + " |",
            ]
        )

    return table


#: name -> (the README's command, after "pyfastnn "; the table of its sweep.json)
STUDIES: dict[str, tuple[list[str], Callable[[Rows], str]]] = {
    "features": (
        ["sweep", "--dataset", "mnist5k", "--model", "logreg", "--features",
         "raw,avgpool,maxpool", "--optimizer", "sgd", "--lr", "0.001,0.01,0.1", "--l2",
         "0.00001,0.0001", "--epochs", "20"],
        features_table,
    ),
    "width": (
        ["sweep", "--dataset", "mnist5k", "--hidden", "16,32,64,128,256", "--optimizer", "sgd",
         "--lr", "0.01,0.1", "--epochs", "30"],
        axis_table("width", "width"),
    ),
    "depth": (
        ["sweep", "--dataset", "mnist5k", "--hidden", "128", "--depth", "1,3,5,7,9",
         "--optimizer", "sgd", "--lr", "0.01,0.1", "--epochs", "30"],
        axis_table("depth", "hidden layers"),
    ),
}  # fmt: skip


def command_text(argv: list[str]) -> str:
    """The command as the README shows it, wrapped before --lr / --epochs."""
    words = ["pyfastnn", *argv]
    lines, line = [], ""
    for word in words:
        if word.startswith("--") and len(line) > 50:
            lines.append(line + " \\")
            line = "   "
        line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def where() -> str:
    import pyfastnn
    from pyfastnn.compare.environment import cpu_model

    isa = pyfastnn.kernel_info()["isa"]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return (
        f"Printed by `python docs/readme_tables.py` on {date}: {cpu_model()}, kernel {isa} "
        f"(`pyfastnn.kernel_info()['isa']`), float32, native backend. Other ISAs sum "
        "float32 in other orders, so their figures can differ in the last digits and, "
        "through training, by a few test rows."
    )


def run_study(name: str) -> str:
    """Run study ``name`` through the CLI and return its README block (no markers)."""
    from pyfastnn.__main__ import main

    argv, table = STUDIES[name]
    with tempfile.TemporaryDirectory() as out:
        code = main([*argv, "--out", out, "--quiet", "--no-plots"])
        if code != 0:
            raise SystemExit(f"{name}: the sweep failed (exit {code})")
        rows = json.loads((Path(out) / "sweep.json").read_text())["rows"]
    return f"```bash\n{command_text(argv)}\n```\n\n{table(rows)}\n\n{where()}"


def replace_block(text: str, name: str, block: str) -> str:
    """``text`` with the block between the ``name`` markers replaced by ``block``."""
    pattern = re.compile(
        rf"(<!-- table:{name} -->\n)(?:.*?\n)?(<!-- /table:{name} -->)", flags=re.DOTALL
    )
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- table:{name} --> ... <!-- /table:{name} -->")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="print, do not rewrite README.md")
    parser.add_argument("names", nargs="*", help=f"of {', '.join(STUDIES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(STUDIES))
    if unknown:
        parser.error(f"unknown studies {unknown}; known: {', '.join(STUDIES)}")
    blocks = {}
    for name in args.names or STUDIES:
        blocks[name] = run_study(name)
        print(blocks[name], file=sys.stdout if args.print else sys.stderr)
    if not args.print:
        text = README.read_text(encoding="utf-8")  # read now: it may have changed meanwhile
        for name, block in blocks.items():
            text = replace_block(text, name, block)
        README.write_text(text, encoding="utf-8")
        print(f"rewrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
