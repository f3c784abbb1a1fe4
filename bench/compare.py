"""Loop vs vector vs native vs peers, checked then timed: ``pyfastnn compare``.

Usage: ``python bench/compare.py [--quick | --full] [--out DIR] [--markdown PATH] ...``
(``--help`` lists everything). docs/BENCHMARKS.md is produced by
``python bench/compare.py --full --out docs/benchmarks --markdown docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if any((ROOT / "pyfastnn").glob("_native*")):  # a build inside this checkout: use it
    sys.path.insert(0, str(ROOT))

from pyfastnn.compare.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
