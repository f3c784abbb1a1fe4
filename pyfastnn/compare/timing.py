"""Block timing shared by ``pyfastnn compare``, ``pyfastnn demo`` and ``bench/``.

Lesson learned on small shared machines: OpenBLAS (NumPy), libgomp (pyfastnn)
and PyTorch's OpenMP pool all keep their threads spinning for a while after a
call, so alternating contenders call by call makes the pools fight. Each
contender is therefore timed in a *block* of back-to-back calls after a short
warm-up, with a pause before the block whenever the previous block ran on a
different thread pool, and the order of the blocks alternates from round to
round. The figure reported is the median of all per-call times.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# Long enough for OpenBLAS's and libgomp's idle threads to go to sleep.
SETTLE_SECONDS = 0.25

# Pools whose threads do not spin after a call (single-threaded work).
QUIET_POOLS = frozenset({"none"})


@dataclass
class Timed:
    """One thing to time: ``fn`` called repeatedly.

    ``pool`` names the thread pool ``fn`` runs on ("native", "blas", "torch",
    "none" for single-threaded work); ``setup`` runs before every block (e.g.
    to set a thread count) and is not timed.
    """

    key: Hashable
    fn: Callable[[], object]
    pool: str = "none"
    setup: Callable[[], None] | None = None


@dataclass
class TimingPlan:
    """How long and how often to time.

    ``calls`` fixes the number of timed calls per block; ``None`` picks it so
    that a block lasts about ``block_seconds`` (1 ... ``max_calls`` calls).
    """

    rounds: int = 3
    settle: float = SETTLE_SECONDS
    block_seconds: float = 0.05
    max_calls: int = 100
    calls: int | None = None
    warmup: int = 2


@dataclass
class Timing:
    """Per-call wall times (seconds) of one item, over all blocks; and the median
    of each block, in the order the blocks ran (one block per round)."""

    samples: list[float]
    block_medians: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def best(self) -> float:
        return min(self.samples)


def _settle(prev_pool: str | None, pool: str, seconds: float) -> None:
    if prev_pool is not None and prev_pool != pool and prev_pool not in QUIET_POOLS:
        time.sleep(seconds)


def _calls(plan: TimingPlan, seconds_per_call: float) -> int:
    if plan.calls is not None:
        return plan.calls
    guess = int(plan.block_seconds / max(seconds_per_call, 1e-9))
    return max(1, min(plan.max_calls, guess))


def time_blocks(items: Sequence[Timed], plan: TimingPlan) -> dict[Hashable, Timing]:
    """Time every item in blocks; rounds alternate the order of the items.

    Returns ``{item.key: Timing}``. The first block is always preceded by a
    pause (the caller's own work may have woken a pool).
    """
    result: dict[Hashable, Timing] = {item.key: Timing([]) for item in items}
    prev_pool: str | None = "unknown"
    for r in range(plan.rounds):
        for item in items if r % 2 == 0 else list(reversed(items)):
            if item.setup is not None:
                item.setup()
            _settle(prev_pool, item.pool, plan.settle)
            prev_pool = item.pool
            last = 0.0
            for i in range(max(1, plan.warmup)):
                start = time.perf_counter()
                item.fn()
                last = time.perf_counter() - start
                if i == 0 and last > plan.block_seconds:
                    break  # one slow call warms up as well as two
            block = []
            for _ in range(_calls(plan, last)):
                start = time.perf_counter()
                item.fn()
                block.append(time.perf_counter() - start)
            result[item.key].samples.extend(block)
            result[item.key].block_medians.append(float(np.median(block)))
    return result


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` in one block after a pause."""
    plan = TimingPlan(rounds=1, calls=repeats, warmup=warmup)
    return time_blocks([Timed("fn", fn)], plan)["fn"].median
