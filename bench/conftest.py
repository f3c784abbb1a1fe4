"""pytest-benchmark suites: ``pytest bench/ --benchmark-group-by=group``.

In a source checkout with an in-place build (``pyfastnn/_native*`` present),
import that checkout rather than an installed copy, as bench/compare.py does.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if any((ROOT / "pyfastnn").glob("_native*")) and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
