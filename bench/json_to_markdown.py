"""Turn pytest-benchmark's ``--benchmark-json`` output into a markdown table.

Usage::

    pytest bench/ --benchmark-json=bench.json
    python bench/json_to_markdown.py bench.json [-o bench.md]

One row per benchmark, grouped by ``benchmark.group`` (groups in the order they
ran, rows fastest first): median time, ratio to the fastest row of the group
and ratio to the native backend's row (the fastest ``native*`` row if there are
several; ``-`` when the group has none). Ratios are time / reference time, so
2.0x means twice as slow.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# parameter names that say which contender a benchmark is, most specific first
CONTENDER_PARAMS = ("backend", "who", "op", "threads")


def contender(bench: dict[str, Any]) -> str:
    """The contender's label: its backend-like parameter, else the test name."""
    params = bench.get("params") or {}
    for key in CONTENDER_PARAMS:
        if key in params:
            return str(params[key])
    return str(bench["name"])


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def groups(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Benchmarks by group, groups in run order, each sorted by median time."""
    out: dict[str, list[dict[str, Any]]] = {}
    for bench in data["benchmarks"]:
        out.setdefault(bench.get("group") or "(no group)", []).append(bench)
    return {g: sorted(rows, key=lambda b: b["stats"]["median"]) for g, rows in out.items()}


def to_markdown(data: dict[str, Any]) -> str:
    """The markdown table for one pytest-benchmark JSON document."""
    lines = [
        "| group | name | median | vs fastest | vs native |",
        "|---|---|---|---|---|",
    ]
    for group, rows in groups(data).items():
        fastest = rows[0]["stats"]["median"]
        natives = [b["stats"]["median"] for b in rows if contender(b).startswith("native")]
        native = min(natives) if natives else None
        for bench in rows:
            median = bench["stats"]["median"]
            vs_native = f"{median / native:.2f}x" if native else "-"
            lines.append(
                f"| {group} | {contender(bench)} | {format_seconds(median)} | "
                f"{median / fastest:.2f}x | {vs_native} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="file written by pytest --benchmark-json")
    parser.add_argument("-o", "--output", help="write the table here (default: print it)")
    args = parser.parse_args(argv)
    with open(args.json, encoding="utf-8") as fh:
        table = to_markdown(json.load(fh))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(table)
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
