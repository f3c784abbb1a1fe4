"""Side-by-side ratios for the native core (matmul and one MLP step).

Each workload's contenders run in alternating blocks in one process (so a
noisy neighbour slows all of them alike); the figure is the median over all
blocks of the per-call time. Usage: ``python bench/core_ratios.py [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

import pyfastnn
from pyfastnn.compare.timing import Timed, Timing, TimingPlan, time_blocks

# thread pool of each contender: a pause separates blocks on different pools
POOLS = {"numpy": "blas", "vector": "blas", "loop": "blas", "torch": "torch"}


def interleaved_timings(
    contenders: dict[str, Callable[[], object]], blocks: int, calls: int
) -> dict[str, Timing]:
    """Each contender's seconds per call, in block order (``calls`` per block),
    timed in alternating blocks (pyfastnn.compare.timing: 2 warm-up calls, then
    ``calls`` timed ones). Rounds run the contenders in the given order, then
    in reverse, so neighbours in the dict are neighbours in time."""
    items = [Timed(name, fn, POOLS.get(name, "native")) for name, fn in contenders.items()]
    return time_blocks(items, TimingPlan(rounds=blocks, calls=calls, warmup=2))


def interleaved(contenders: dict[str, Callable[[], object]], blocks: int, calls: int) -> dict:
    """Median seconds per call of each contender (see interleaved_timings)."""
    return {name: t.median for name, t in interleaved_timings(contenders, blocks, calls).items()}


def show(title: str, times: dict[str, float], flops: float | None = None) -> None:
    base = min(times.values())
    print(f"\n{title}")
    for name, t in times.items():
        rate = f"  {flops / t / 1e9:7.1f} GFLOP/s" if flops else ""
        print(f"  {name:<22} {t * 1e6:11.1f} us  {t / base:6.2f}x the fastest{rate}")


def matmul_workload(m: int, k: int, n: int, blocks: int, rng: np.random.Generator) -> None:
    A = rng.random((m, k), dtype=np.float32)
    B = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    contenders = {
        "native": lambda: pyfastnn.matmul(A, B, out=out),
        "numpy": lambda: np.matmul(A, B, out=out),
    }
    t = interleaved(contenders, blocks, calls=max(5, int(2e9 / (2 * m * k * n))))
    ratio = t["numpy"] / t["native"]
    show(f"matmul {m}x{k}x{n} float32 (numpy/native = {ratio:.2f})", t, 2 * m * k * n)


def torch_step(X: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """One forward + backward of the same network in PyTorch (CPU)."""
    import torch

    torch.set_num_threads(pyfastnn.get_num_threads())
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 26))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(Xt), yt).backward()

    return step


def mlp_step_workload(batch: int, blocks: int, rng: np.random.Generator, torch: bool) -> None:
    X = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 26, size=batch)
    native = pyfastnn.MLP([784, 256, 26], backend="native")
    vector = pyfastnn.MLP([784, 256, 26], backend="vector")
    grad = np.empty_like(native.params)
    contenders: dict[str, Callable[[], object]] = {
        "native": lambda: native.loss_and_grad(X, y, out=grad),
        "vector": lambda: vector.loss_and_grad(X, y, out=grad),
    }
    calls = {1: 400, 64: 100, 256: 30}[batch]
    if batch <= 64:
        loop = pyfastnn.MLP([784, 256, 26], backend="loop")
        contenders["loop"] = lambda: loop.loss_and_grad(X, y)
        calls = max(3, calls // 50)
    if torch:
        contenders["torch"] = torch_step(X, y)
    t = interleaved(contenders, blocks, calls)
    ratio = t["vector"] / t["native"]
    show(f"loss_and_grad 784-256-26 batch {batch} (vector/native = {ratio:.2f})", t)


def threads_workload(blocks: int, rng: np.random.Generator) -> None:
    X = rng.random((256, 784), dtype=np.float32)
    y = rng.integers(0, 26, size=256)
    model = pyfastnn.MLP([784, 256, 26])
    grad = np.empty_like(model.params)
    before = pyfastnn.get_num_threads()

    def with_threads(n: int) -> Callable[[], object]:
        def run() -> None:
            pyfastnn.set_num_threads(n)
            model.loss_and_grad(X, y, out=grad)

        return run

    try:
        t = interleaved({"1 thread": with_threads(1), "2 threads": with_threads(2)}, blocks, 30)
    finally:
        pyfastnn.set_num_threads(before)
    speedup = t["1 thread"] / t["2 threads"]
    show(f"loss_and_grad batch 256, threads (speed-up {speedup:.2f})", t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--torch", action="store_true", help="add PyTorch to the MLP step")
    args = parser.parse_args()
    blocks = 3 if args.quick else 9
    rng = np.random.default_rng(0)
    print(f"threads={pyfastnn.get_num_threads()} kernel={pyfastnn.kernel_info()['isa']}")
    for m, k, n in [(1024, 1024, 1024), (64, 784, 256), (256, 784, 256)]:
        matmul_workload(m, k, n, blocks, rng)
    for batch in (1, 64, 256):
        mlp_step_workload(batch, blocks, rng, args.torch)
    threads_workload(blocks, rng)


if __name__ == "__main__":
    main()
