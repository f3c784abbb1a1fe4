"""Thread counts for every pool in the process, and a description of the machine."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .._runtime import get_num_threads, kernel_info, set_num_threads
from . import peers


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; else what platform reports)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
    return max(counts) if counts else None


def set_blas_threads(n: int) -> bool:
    """Limit NumPy's BLAS to ``n`` threads (needs threadpoolctl); False if not possible."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n, user_api="blas")
    return True


def set_torch_threads(n: int) -> None:
    if "torch" in sys.modules or peers.installed("torch"):
        import torch

        torch.set_num_threads(n)


class ThreadSettings:
    """Sets the thread count of pyfastnn, PyTorch and (with threadpoolctl) BLAS;
    ``restore()`` puts back what was there before."""

    def __init__(self, n: int | None, use_torch: bool) -> None:
        self._native_before = get_num_threads()
        self._blas_before = _blas_threads()
        self._use_torch = use_torch and peers.installed("torch")
        self._torch_before: int | None = None
        if self._use_torch:
            import torch

            self._torch_before = torch.get_num_threads()
        self.native = n or self._native_before
        self.apply()

    def apply(self) -> None:
        """(Re)apply the chosen counts, e.g. after a thread sweep."""
        set_num_threads(self.native)
        if self._use_torch:
            set_torch_threads(self.native)
        if self._blas_before is not None and self.native != self._blas_before:
            set_blas_threads(self.native)

    def restore(self) -> None:
        set_num_threads(self._native_before)
        if self._torch_before is not None:
            set_torch_threads(self._torch_before)
        if self._blas_before is not None:
            set_blas_threads(self._blas_before)

    def describe(self) -> dict[str, Any]:
        return {
            "native": get_num_threads(),
            "torch": get_num_threads() if self._use_torch else None,
            "blas": _blas_threads(),
            "cpus": os.cpu_count(),
        }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    from .. import __version__

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "kernel": kernel_info()["isa"],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyfastnn": __version__,
        "numpy": np.__version__,
        "peers": {name: version(name) for name in peers.PEERS},
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def version(peer: str) -> str | None:
    return peers.version(peer) if peers.installed(peer) else None


def load_average() -> float | None:
    """The 1-minute load average (None where the OS does not report one)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def busy_warning(load: float | None, cpus: int | None) -> str | None:
    """A warning when other processes already keep the CPUs busy."""
    if load is None or not cpus or load < max(0.75, cpus - 0.5):
        return None
    return (
        f"WARNING: load average {load} on {cpus} CPUs before starting: other processes are "
        "running, and multithreaded timings (spinning OpenMP/BLAS barriers) suffer most; "
        "compare numbers from a quiet machine, or use --threads 1"
    )
