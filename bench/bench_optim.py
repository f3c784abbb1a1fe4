"""One native training epoch per optimiser: SGD, SGD with gradient clipping,
Adam, AdamW, RMSprop (20000 x 784 float32, 784-256-26 ReLU softmax, batch 64,
shuffled rows; the issue's goal: clipping (also with sample weights and the
changing rate of a schedule: SGD at another lr) within 10% of plain SGD, Adam
and AdamW within 1.15x).

Run: ``python bench/bench_optim.py [--repeats 9]`` for the medians of
alternating repeats (one epoch of each variant in turn, so that a busy machine
slows all of them alike) and each variant's ratio to SGD (of the medians, and
the median of the per-round ratios); or
``pytest bench/bench_optim.py --benchmark-group-by=group`` for pytest-benchmark's
rows. Only the epoch is timed (backend ``train_epoch``: no accuracy pass).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import pytest

import pyfastnn
from pyfastnn._targets import make_target
from pyfastnn.backends import EpochPlan, native
from pyfastnn.optim import SGD, Adam, AdamW, RMSprop

SIZES = (784, 256, 26)
ROWS, BATCH = 20000, 64
CLIP_NORM = 1.0  # below the gradients' norm at the start: the clipping acts
VARIANTS = {  # name: (optimiser, clip_norm); "+weights": per-row sample weights too
    "sgd": (SGD(0.01), None),
    "sgd+clip": (SGD(0.01), CLIP_NORM),
    # a schedule only replaces the optimiser's lr between epochs (8 us per epoch)
    "sgd+clip+weights": (SGD(0.005), CLIP_NORM),
    "adam": (Adam(0.001), None),
    "adamw": (AdamW(0.001), None),
    "rmsprop": (RMSprop(0.001), None),
}


class Epochs:
    """The data, one model per variant, and one epoch of a variant."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.X = rng.uniform(0, 1, size=(ROWS, SIZES[0])).astype(np.float32)
        y = rng.integers(0, SIZES[-1], size=ROWS)
        self.models = {name: pyfastnn.MLP(SIZES, "relu", "softmax", seed=0) for name in VARIANTS}
        spec = next(iter(self.models.values())).spec
        self.target = make_target(y, spec.labels_only, ROWS, spec.n_outputs, spec.dtype)
        weights = rng.uniform(0.5, 2.0, size=ROWS).astype(np.float32)
        self.weighted = dataclasses.replace(self.target, weights=weights)
        self.state = {
            name: VARIANTS[name][0].init_state(m.params.size, np.float32)
            for name, m in self.models.items()
        }
        self.grad = np.zeros(spec.n_params, np.float32)
        self.rng = np.random.default_rng(1)
        self.epochs = dict.fromkeys(VARIANTS, 0)

    def run(self, name: str) -> float:
        """Seconds of one epoch of variant ``name``."""
        opt, clip = VARIANTS[name]
        model = self.models[name]
        epoch = self.epochs[name]
        order = self.rng.permutation(ROWS)
        plan = EpochPlan(BATCH, epoch=epoch, steps_before=epoch * -(-ROWS // BATCH),
                         clip_norm=clip)  # fmt: skip
        start = time.perf_counter()
        _, _, failed = native.train_epoch(
            model.spec, model.params, self.grad, self.X,
            self.weighted if name.endswith("+weights") else self.target, order, plan, opt,
            self.state[name],
        )  # fmt: skip
        seconds = time.perf_counter() - start
        assert failed == -1
        self.epochs[name] += 1
        return seconds


@pytest.fixture(scope="module")
def epochs() -> Epochs:
    return Epochs()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_epoch(benchmark, epochs: Epochs, name: str) -> None:
    benchmark.group = f"native epoch {ROWS}x784 784-256-26 float32 batch {BATCH}: optimisers"
    benchmark.pedantic(epochs.run, args=(name,), rounds=5, warmup_rounds=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="epochs of each variant")
    args = parser.parse_args()
    runs = Epochs()
    for name in VARIANTS:  # warm-up: workspaces, pages of X, the thread governor
        runs.run(name)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for r in range(args.repeats):
        names = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for name in names:
            times[name].append(runs.run(name))
    base = statistics.median(times["sgd"])
    print(f"native epoch {ROWS}x784, 784-256-26, batch {BATCH}, float32, "
          f"{pyfastnn.get_num_threads()} threads, {args.repeats} alternating repeats")  # fmt: skip
    for name, t in times.items():
        med = statistics.median(t)
        paired = statistics.median(a / b for a, b in zip(t, times["sgd"]))
        print(f"  {name:9s} median {med * 1e3:7.1f} ms  (min {min(t) * 1e3:7.1f})  "
              f"x{med / base:.3f} of sgd (per-round ratios: median x{paired:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
