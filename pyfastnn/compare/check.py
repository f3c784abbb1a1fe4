"""The correctness check: every contender against the vector backend.

The difference is the largest absolute difference of the compared arrays,
computed in float64; a contender passes when it is at most
``TOLERANCE[dtype] * max(1, max |reference|)`` (a relative tolerance for
large values, absolute for small ones) and finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = {"float32": 1e-4, "float64": 1e-9}


@dataclass
class CheckResult:
    """Outcome for one contender: ``ok`` is None for references (copy floor)."""

    max_abs_diff: float | None
    tolerance: float | None
    ok: bool | None
    note: str = ""
    crashed: bool = False  # the contender raised instead of returning a result

    @property
    def status(self) -> str:
        return "reference" if self.ok is None else ("ok" if self.ok else "FAIL")


def check(reference: np.ndarray, value: object, dtype: str) -> CheckResult:
    """Compare ``value`` with the vector backend's ``reference``."""
    ref = np.asarray(reference, dtype=np.float64)
    tol = TOLERANCE[dtype] * max(1.0, float(np.max(np.abs(ref), initial=0.0)))
    try:
        val = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        return CheckResult(None, tol, False, f"not an array: {err}")
    if val.shape != ref.shape:
        return CheckResult(None, tol, False, f"shape {val.shape}, expected {ref.shape}")
    diff = float(np.max(np.abs(val - ref), initial=0.0))
    ok = bool(np.isfinite(val).all()) and diff <= tol
    return CheckResult(diff, tol, ok, "" if ok else "differs from the vector backend")
