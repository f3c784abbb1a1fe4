"""``pyfastnn demo``: one forward + backward pass in every backend, compared.

Builds a 784 -> 256 -> 26 ReLU network with a softmax output (the seed
reports' EMNIST-letters shape), evaluates ``loss_and_grad`` on a random
minibatch in the three backends, prints how far apart their answers are and
the median time of each, and, like ``pyfastnn compare``, warns when the load
average says other processes keep the CPUs busy (timings then swing widely).
"""

from __future__ import annotations

import os

import numpy as np

from ._checks import check_memory
from ._runtime import get_num_threads, kernel_info
from .compare.environment import busy_warning, load_average
from .compare.timing import median_seconds
from .mlp import MLP

# Bytes per row of the minibatch, float64 units: the float64 draw of X and its
# cast, and the activations and gradients the backends keep (784 + 256 + 26 wide).
_ROW_VALUES = 2 * 784 + 4 * (256 + 26)


def check_demo_memory(batch: int, dtype: str) -> None:
    """Refuse, before allocating, a minibatch whose arrays exceed the machine's memory."""
    check_memory(batch * _ROW_VALUES * 8, "batch", f"a minibatch of {batch} rows")


def run_demo(batch: int = 64, dtype: str = "float32", repeats: int = 20, seed: int = 0) -> dict:
    """Run the comparison and return its figures (also printed)."""
    check_demo_memory(batch, dtype)
    # as `pyfastnn compare`: say so when other processes keep the CPUs busy
    busy = busy_warning(load_average(), os.cpu_count())
    rng = np.random.default_rng(seed)
    model = MLP([784, 256, 26], activation="relu", output="softmax", dtype=dtype, seed=seed)
    X = rng.uniform(0, 1, size=(batch, 784)).astype(dtype)
    y = rng.integers(0, 26, size=batch)

    results = {}
    for backend, reps in (
        ("loop", max(1, repeats // 10)),
        ("vector", repeats),
        ("native", repeats),
    ):
        model.backend = backend
        loss, grads = model.loss_and_grad(X, y, l2=1e-4)
        # one block per backend after a pause (see compare.timing), median of the calls
        seconds = median_seconds(lambda: model.loss_and_grad(X, y, l2=1e-4), reps)
        results[backend] = {"loss": loss, "grad": grads.flat, "seconds": seconds}

    ref = results["loop"]
    info = kernel_info()
    print(
        f"pyfastnn demo: loss_and_grad of a 784-256-26 ReLU/softmax MLP, batch {batch}, "
        f"{dtype}, {get_num_threads()} threads, kernel {info['isa']}"
    )
    if busy is not None:
        print(busy)
    print(
        f"{'backend':<8} {'loss':>12} {'max |grad - loop|':>18} {'median ms':>10} "
        f"{'vs loop':>8} {'vs vector':>9}"
    )
    for backend, r in results.items():
        diff = float(np.max(np.abs(r["grad"].astype(np.float64) - ref["grad"])))
        print(
            f"{backend:<8} {r['loss']:>12.6f} {diff:>18.3g} {r['seconds'] * 1e3:>10.3f} "
            f"{ref['seconds'] / r['seconds']:>7.1f}x "
            f"{results['vector']['seconds'] / r['seconds']:>8.1f}x"
        )
    if busy is not None:
        print("(timings taken on a busy machine: see the warning above)")
    return results
