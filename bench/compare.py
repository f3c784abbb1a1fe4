"""Loop vs vector vs native vs peers, checked then timed: ``pyfastnn compare``.

Usage: ``python bench/compare.py [--quick | --full] [--out DIR] [--markdown PATH] ...``
(``--help`` lists everything). docs/BENCHMARKS.md is produced by
``python bench/compare.py --full --out docs/benchmarks --markdown docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a build inside this checkout (the extension itself, not its .pyi stub): use it
if any((ROOT / "pyfastnn" / f"_native{s}").exists() for s in EXTENSION_SUFFIXES):
    sys.path.insert(0, str(ROOT))

from pyfastnn.compare.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
