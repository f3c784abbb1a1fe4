"""pytest-benchmark suites: ``pytest bench/ --benchmark-group-by=group``.

In a source checkout with an in-place build (the extension
``pyfastnn/_native.*.so`` itself, not only its .pyi stub), import that checkout
rather than an installed copy, as bench/compare.py does.
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILT_HERE = any((ROOT / "pyfastnn" / f"_native{s}").exists() for s in EXTENSION_SUFFIXES)
if BUILT_HERE and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
