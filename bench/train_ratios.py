"""Training speed and memory: native fit epochs vs vector vs PyTorch, side by side.

The workload of the training issue: float32, 100000 samples x 784 features,
26 classes, a 784-256-26 ReLU network, softmax cross-entropy, SGD lr 0.01.
Contenders run in alternating blocks in one process, with pauses between
blocks (see core_ratios.py); figures are medians.

    python bench/train_ratios.py            # speed (about 3 minutes), then memory
    python bench/train_ratios.py --quick    # 20000 samples
    python bench/train_ratios.py --memory   # only the peak-RSS check
    python bench/train_ratios.py --threads 1  # pyfastnn, NumPy's BLAS, PyTorch on one thread

Batch 1 is timed on a 3000-row slice (an epoch at batch 1 is 100000 steps);
the figure is per step, the ratio is what matters.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from core_ratios import interleaved, interleaved_timings

import pyfastnn
from pyfastnn.compare.environment import set_blas_threads

SIZES = [784, 256, 26]
LR = 0.01


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], size=n)


def pyfastnn_epoch(X, y, backend: str, batch: int, optimizer: str = "sgd") -> Callable[[], None]:
    model = pyfastnn.MLP(SIZES, "relu", dtype="float32", backend=backend, seed=0)
    lr = LR if optimizer == "sgd" else 1e-3

    def run() -> None:
        model.fit(X, y, epochs=1, batch_size=batch, optimizer=optimizer, lr=lr, train_metrics=False)

    return run


def torch_epoch(X, y, batch: int) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(pyfastnn.get_num_threads())
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(SIZES[1], SIZES[2])
    )
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.functional.cross_entropy

    def run() -> None:
        order = torch.randperm(Xt.shape[0])
        for lo in range(0, Xt.shape[0], batch):
            idx = order[lo : lo + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()

    return run


def speed(n: int, blocks: int) -> None:
    X, y = data(n)
    print(
        f"fit epoch, float32, {n} x {SIZES[0]}, {'-'.join(map(str, SIZES))} ReLU, "
        f"softmax CE, SGD lr {LR}; threads {pyfastnn.get_num_threads()} "
        f"(adaptive: {pyfastnn.get_adaptive_threads()}), "
        f"kernel {pyfastnn.kernel_info()['isa']}"
    )
    # Native SGD sits next to each contender it is compared with, in both
    # directions of the alternating rounds, so that each round also gives
    # ratios of blocks run seconds apart: on a VM whose speed changes from
    # minute to minute, their median is the like-for-like figure (the ratio of
    # the medians can pair a fast block of one with a slow block of the other).
    contenders = {"native adam": pyfastnn_epoch(X, y, "native", 64, "adam")}
    contenders["native"] = pyfastnn_epoch(X, y, "native", 64)
    peer = torch_epoch(X, y, 64)
    if peer is not None:
        contenders["torch"] = peer
    contenders["vector"] = pyfastnn_epoch(X, y, "vector", 64)
    timings = interleaved_timings(contenders, blocks, calls=1)
    t = {name: timing.median for name, timing in timings.items()}

    def paired(name: str) -> float:  # median over rounds of name's block / native's
        return float(np.median(np.divide(timings[name].samples, timings["native"].samples)))

    print(
        f"\nbatch 64 (seconds per epoch, {-(-n // 64)} steps; ratios: of the medians, "
        "and in brackets the median of each round's ratio)"
    )
    for name in ("native", "native adam", "vector", "torch"):
        if name in t:
            print(f"  {name:<12} {t[name]:8.3f} s   {t[name] / t['native']:5.2f}x native")
    print(
        f"  vector / native = {t['vector'] / t['native']:.2f}x ({paired('vector'):.2f}x) "
        "(target >= 1.5)"
    )
    if peer is not None:
        print(
            f"  torch / native  = {t['torch'] / t['native']:.2f}x ({paired('torch'):.2f}x) "
            "(target >= 2.5)"
        )
    print(
        f"  adam / sgd      = {t['native adam'] / t['native']:.3f} "
        f"({paired('native adam'):.3f}) (target <= 1.15)"
    )
    # Adam's extra cost is ~10-15% of a step, within this machine's run-to-run
    # noise: measure it again on a slice, in many short alternating blocks.
    sl = slice(0, min(n, 20_000))
    t = interleaved(
        {
            "sgd": pyfastnn_epoch(X[sl], y[sl], "native", 64),
            "adam": pyfastnn_epoch(X[sl], y[sl], "native", 64, "adam"),
        },
        blocks=3 * blocks,
        calls=1,
    )
    print(
        f"  adam / sgd      = {t['adam'] / t['sgd']:.3f} on {sl.stop} rows, "
        f"{3 * blocks} alternating blocks (target <= 1.15)"
    )

    small_X, small_y = X[:3000], y[:3000]
    contenders = {
        "native": pyfastnn_epoch(small_X, small_y, "native", 1),
        "vector": pyfastnn_epoch(small_X, small_y, "vector", 1),
    }
    peer = torch_epoch(small_X, small_y, 1)
    if peer is not None:
        contenders["torch"] = peer
    t = interleaved(contenders, blocks, calls=1)
    print("\nbatch 1 (microseconds per step, 3000-step epochs)")
    for name, s in t.items():
        print(f"  {name:<12} {s / 3000 * 1e6:8.1f} us   {s / t['native']:6.2f}x native")
    print(f"  vector / native = {t['vector'] / t['native']:.1f}x (target >= 10)")


def peak_rss_mb() -> float:
    """VmHWM: this process's peak resident set (unlike ru_maxrss, which Linux
    carries over from the parent across fork + exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_child(n: int) -> None:
    """Runs in a fresh process: peak RSS of a native fit on an X of n rows."""

    def rss_mb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20

    base = rss_mb()
    X, y = data(n)
    with_x = rss_mb()
    model = pyfastnn.MLP(SIZES, "relu", dtype="float32", seed=0)
    model.fit(X, y, epochs=1, batch_size=64, lr=LR, X_val=X[:10000], y_val=y[:10000])
    peak = peak_rss_mb()
    x_mb = X.nbytes / 2**20
    print(
        f"X {x_mb:.0f} MB; RSS before X {base:.0f} MB, with X {with_x:.0f} MB; "
        f"peak during fit {peak:.0f} MB = X + {peak - x_mb:.0f} MB (target < X + 100 MB); "
        f"growth during fit {peak - with_x:.0f} MB"
    )


def memory(n: int) -> None:
    print("\nmemory (fresh process, native fit of one epoch with validation):")
    subprocess.run([sys.executable, __file__, "--memory-child", str(n)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20000 samples, 2 blocks")
    parser.add_argument("--memory", action="store_true", help="only the memory check")
    parser.add_argument(
        "--threads",
        type=int,
        help="threads for pyfastnn, NumPy's BLAS (threadpoolctl) and PyTorch (default: pyfastnn's)",
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.threads is not None:
        pyfastnn.set_num_threads(args.threads)
        if not set_blas_threads(args.threads):  # the vector backend's BLAS
            print("note: threadpoolctl not installed, NumPy's BLAS keeps its thread count")
    n = 20_000 if args.quick else 100_000
    if not args.memory:
        start = time.perf_counter()
        speed(n, blocks=2 if args.quick else 5)
        print(f"\n(speed part took {time.perf_counter() - start:.0f} s)")
    memory(n)


if __name__ == "__main__":
    main()
