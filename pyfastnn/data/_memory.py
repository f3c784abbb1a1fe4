"""The machine's memory, to refuse data sizes it cannot hold before allocating.

(The data package imports nothing from the rest of pyfastnn; ``pyfastnn._checks``
has the same check for models.)
"""

from __future__ import annotations

import os


def physical_memory() -> int | None:
    """Bytes of physical memory of the machine, or None where unknown."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def check_memory(nbytes: int, what: str) -> None:
    """ValueError when ``nbytes`` exceed the machine's physical memory; ``what``
    (e.g. "n: 10**11 points") starts the message."""
    total = physical_memory()
    if total is not None and nbytes > total:
        raise ValueError(
            f"{what} would need {nbytes / 2**30:.3g} GiB, more than the "
            f"{total / 2**30:.3g} GiB of memory of this machine"
        )
