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


def _busy() -> str | None:
    """compare's warning when other processes already keep the CPUs busy (else None)."""
    import os

    from pyfastnn.compare.environment import busy_warning, load_average

    return busy_warning(load_average(), os.cpu_count())


def pytest_report_header(config: object) -> list[str]:
    """Say before the timings when the machine is busy, as `pyfastnn compare` does."""
    warning = _busy()
    return [warning] if warning else []


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: object) -> None:
    """Repeat the warning under the tables, where the timings are read."""
    warning = _busy()
    if warning:
        terminalreporter.write_line(warning, yellow=True, bold=True)  # type: ignore[attr-defined]
