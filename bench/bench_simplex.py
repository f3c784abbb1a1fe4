"""Sparse maps: native vs vector vs entmax (PyTorch, CPU) vs the memory floor.

Run: ``pytest bench/bench_simplex.py --benchmark-group-by=group`` -- each group is
one workload (float32) and its rows sit side by side: our backends, entmax's
sparsemax (skipped when entmax / torch are not installed), and the copy floor
(``np.copyto`` of the array into a preallocated one: one read + one write).
Native calls write into a preallocated ``out`` too, so both sides measure
memory traffic and arithmetic, not page faults of fresh allocations; two more
rows show both with a fresh result array per call.

``test_map`` covers softmax / sparsemax / relumax forward, JVP and VJP (from Z)
in every backend (loop only at the small size), with the peer that has the same
operation (entmax's sparsemax forward and VJP, PyTorch's softmax forward, JVP
via ``torch.func.jvp`` and VJP via autograd) and the copy floor of the bytes the
op reads; these contenders are the ones ``pyfastnn compare`` checks and times.

``python bench/bench_simplex.py`` prints the same comparison as one table with
ratios to the floor and to entmax, and the time per element as K grows.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
import pytest

import pyfastnn
from pyfastnn.compare import contenders, peers
from pyfastnn.compare.problems import MAP_OPS, MAPS, make_map

WORKLOADS = [(100_000, 26), (10_000, 1000), (1000, 30_000)]
SWEEP_ELEMENTS = 1 << 22  # N * K of the time-per-element curve
SWEEP_K = [10, 26, 32, 64, 100, 1000, 10_000, 100_000]
B = 1.0  # relumax's b
REPEATS, SLOW_REPEATS = 25, 3  # timed calls per op in table mode (slow: vector, entmax)


def make(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, k), dtype=np.float32)
    G = rng.standard_normal((n, k), dtype=np.float32)
    return Z, G


def entmax_or_none():
    try:
        import torch
        from entmax import sparsemax
    except ImportError:
        return None, None
    torch.set_num_threads(pyfastnn.get_num_threads())
    return torch, sparsemax


ALPHA = 1.3  # alpha of the alpha-entmax rows (not 1.5 or 2: the general pow path)


def entmax_family_or_none():
    """(entmax15, entmax_bisect) of the entmax package, or None without it / torch."""
    try:
        from entmax import entmax15, entmax_bisect
    except ImportError:
        return None
    return entmax15, entmax_bisect


# ---- the operations, as zero-argument callables --------------------------------------------


def ops_forward(Z: np.ndarray) -> dict[str, Callable[[], object]]:
    out = np.empty_like(Z)
    ops: dict[str, Callable[[], object]] = {
        "copy floor (np.copyto)": lambda: np.copyto(out, Z),
        "native sparsemax": lambda: pyfastnn.sparsemax(Z, out=out),
        "native relumax": lambda: pyfastnn.relumax(Z, B, out=out),
        "vector sparsemax": lambda: pyfastnn.sparsemax(Z, out=out, backend="vector"),
        # the same with a fresh result array each call (page faults included)
        "copy, allocating (Z.copy())": lambda: Z.copy(),
        "native sparsemax, allocating": lambda: pyfastnn.sparsemax(Z),
    }
    ops["native entmax15"] = lambda: pyfastnn.entmax15(Z, out=out)
    ops["native entmax_bisect"] = lambda: pyfastnn.entmax_bisect(Z, ALPHA, out=out)
    torch, ent = entmax_or_none()
    if torch is not None:
        Zt = torch.from_numpy(Z)
        ops["entmax sparsemax"] = lambda: ent(Zt, dim=-1)
        family = entmax_family_or_none()
        if family is not None:
            ops["entmax entmax15"] = lambda: family[0](Zt, dim=-1)
            ops["entmax entmax_bisect"] = lambda: family[1](Zt, ALPHA, dim=-1)
    return ops


def ops_forward_backward(Z: np.ndarray, G: np.ndarray) -> dict[str, Callable[[], object]]:
    P, dZ = np.empty_like(Z), np.empty_like(Z)

    def native(name: str, backend: str = "native") -> Callable[[], object]:
        if name == "relumax":
            return lambda: pyfastnn.relumax_vjp_from_output(
                pyfastnn.relumax(Z, B, out=P, backend=backend), G, B, out=dZ, backend=backend
            )
        return lambda: pyfastnn.sparsemax_vjp_from_output(
            pyfastnn.sparsemax(Z, out=P, backend=backend), G, out=dZ, backend=backend
        )

    ops: dict[str, Callable[[], object]] = {
        "copy floor (np.copyto)": lambda: np.copyto(P, Z),
        "native sparsemax fwd+vjp": native("sparsemax"),
        "native relumax fwd+vjp": native("relumax"),
        "vector sparsemax fwd+vjp": native("sparsemax", "vector"),
        "native entmax15 fwd+vjp": lambda: pyfastnn.entmax15_vjp_from_output(
            pyfastnn.entmax15(Z, out=P), G, out=dZ
        ),
        "native entmax_bisect fwd+vjp": lambda: pyfastnn.entmax_bisect_vjp_from_output(
            pyfastnn.entmax_bisect(Z, ALPHA, out=P), G, ALPHA, out=dZ
        ),
        # the VJP from Z: one call, fused with the map in the short-row lane kernels
        "native entmax_bisect vjp": lambda: pyfastnn.entmax_bisect_vjp(Z, G, ALPHA, out=dZ),
        "native sparsemax vjp": lambda: pyfastnn.sparsemax_vjp(Z, G, out=dZ),
    }
    torch, ent = entmax_or_none()
    if torch is not None:
        Zt = torch.from_numpy(Z).clone().requires_grad_()
        Gt = torch.from_numpy(G)

        def fwd_bwd(f: Callable) -> Callable[[], None]:
            def run() -> None:
                Zt.grad = None
                f(Zt).backward(Gt)

            return run

        ops["entmax sparsemax fwd+bwd"] = fwd_bwd(lambda x: ent(x, dim=-1))
        family = entmax_family_or_none()
        if family is not None:
            ops["entmax entmax15 fwd+bwd"] = fwd_bwd(lambda x: family[0](x, dim=-1))
            ops["entmax entmax_bisect fwd+bwd"] = fwd_bwd(lambda x: family[1](x, ALPHA, dim=-1))
        try:
            import pyfastnn.torch as pt
        except ImportError:
            pass
        else:
            ops["pyfastnn.torch entmax15 fwd+bwd"] = fwd_bwd(lambda x: pt.entmax15(x))
            ops["pyfastnn.torch entmax_bisect fwd+bwd"] = fwd_bwd(
                lambda x: pt.entmax_bisect(x, ALPHA)
            )
    return ops


def slow(name: str, n: int, k: int) -> bool:
    return (name.startswith("vector") or name.startswith("entmax")) and n * k > 10**6


# ---- pytest-benchmark ------------------------------------------------------------------------

FORWARD_NAMES = list(ops_forward(np.zeros((1, 2), np.float32)))
FB_NAMES = list(ops_forward_backward(*make(1, 2)))


def run(benchmark, fn: Callable[[], object], heavy: bool) -> None:
    rounds = 3 if heavy else 30
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("op", FORWARD_NAMES)
@pytest.mark.parametrize("n, k", WORKLOADS)
def test_forward(benchmark, n: int, k: int, op: str) -> None:
    benchmark.group = f"forward ({n}, {k}) float32"
    ops = ops_forward(make(n, k)[0])
    if op not in ops:
        pytest.skip("entmax / torch not installed")
    run(benchmark, ops[op], slow(op, n, k))


@pytest.mark.parametrize("op", FB_NAMES)
@pytest.mark.parametrize("n, k", WORKLOADS)
def test_forward_backward(benchmark, n: int, k: int, op: str) -> None:
    benchmark.group = f"forward + VJP ({n}, {k}) float32"
    ops = ops_forward_backward(*make(n, k))
    if op not in ops:
        pytest.skip("entmax / torch not installed")
    run(benchmark, ops[op], slow(op, n, k))


@pytest.mark.parametrize("op", ["copy floor (np.copyto)", "native sparsemax", "native relumax"])
@pytest.mark.parametrize("k", SWEEP_K)
def test_sweep(benchmark, k: int, op: str) -> None:
    benchmark.group = f"sweep K={k} (N*K = 2^22) float32"
    run(benchmark, ops_forward(make(SWEEP_ELEMENTS // k, k)[0])[op], False)


MAP_SIZES = [(64, 100), (10_000, 1000)]  # loop only at the first


def map_cases() -> list:
    """(map, op, N, K, contender) combinations that exist: our backends, the copy
    floor, and each peer that has the operation (whether installed or not)."""
    cases = []
    for name in MAPS:
        for op in MAP_OPS:
            probe = make_map(name, op, 1, 2, "float32")
            names = ["native", "vector", "loop", contenders.FLOOR]
            names += [p for p in peers.PEERS if peers.applies(p, probe.task, probe)]
            if name in peers.ENTMAX_MAPS and op == "jvp":
                names.remove("entmax")  # no forward-mode derivative in entmax
            for n, k in MAP_SIZES:
                cases += [(name, op, n, k, c) for c in names if c != "loop" or n * k <= 10**4]
    return cases


@pytest.mark.parametrize("name, op, n, k, who", map_cases())
def test_map(benchmark, name: str, op: str, n: int, k: int, who: str) -> None:
    benchmark.group = f"{name} {op} ({n}, {k}) float32"
    problem = make_map(name, op, n, k, "float32")
    if who == contenders.FLOOR:
        c = contenders.copy_floor(problem)
    elif who in peers.PEERS:
        for module in ("torch", "entmax") if who == "entmax" else (who,):
            pytest.importorskip(module)
        import torch

        torch.set_num_threads(pyfastnn.get_num_threads())
        c = peers.build(who, problem.task, problem)
    else:
        c = contenders.own(problem.task, who, problem)
    heavy = who in ("loop", "vector", "entmax") and n * k > 10**6
    run(benchmark, c.run, heavy)


# ---- table mode --------------------------------------------------------------------------------


def best_times(ops: dict[str, Callable[[], object]], n: int, k: int) -> dict[str, float]:
    """Minimum wall time (s) of each op over several repetitions. The ops take turns
    (round robin) so that load from other processes hits all of them alike."""
    for fn in ops.values():
        fn()  # warm-up
    best = dict.fromkeys(ops, float("inf"))
    for rep in range(REPEATS):
        for name, fn in ops.items():
            if slow(name, n, k) and rep >= SLOW_REPEATS:
                continue
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def table(title: str, n: int, k: int, ops: dict[str, Callable[[], object]]) -> None:
    t = best_times(ops, n, k)
    floor = t["copy floor (np.copyto)"]

    def peer(name: str) -> float | None:  # entmax's row of the same map (else its sparsemax)
        family = next((f for f in ("entmax15", "entmax_bisect") if f in name), "sparsemax")
        return next((v for n_, v in t.items() if n_.startswith(f"entmax {family}")), None)

    print(f"\n{title} ({n}, {k}) float32")
    print(f"  {'':36s} {'ms':>9s} {'x floor':>8s} {'entmax / this':>14s}")
    for name, v in t.items():
        ref = peer(name)
        ratio = f"{ref / v:14.1f}" if ref is not None else f"{'-':>14s}"
        print(f"  {name:36s} {v * 1e3:9.3f} {v / floor:8.2f} {ratio}")


def main() -> None:
    print(f"pyfastnn {pyfastnn.__version__}, {pyfastnn.kernel_info()}")
    for n, k in WORKLOADS:
        table("forward", n, k, ops_forward(make(n, k)[0]))
    for n, k in WORKLOADS:
        table("forward + VJP", n, k, ops_forward_backward(*make(n, k)))
    print(f"\ntime per element, N * K = {SWEEP_ELEMENTS} float32 (ns)")
    print(f"  {'K':>7s} {'copy':>8s} {'sparsemax':>10s} {'relumax':>8s} {'relu/sparse':>12s}")
    for k in SWEEP_K:
        names = ("copy floor (np.copyto)", "native sparsemax", "native relumax")
        ops = ops_forward(make(SWEEP_ELEMENTS // k, k)[0])
        best = best_times({name: ops[name] for name in names}, SWEEP_ELEMENTS // k, k)
        t = [best[name] * 1e9 / SWEEP_ELEMENTS for name in names]
        print(f"  {k:7d} {t[0]:8.3f} {t[1]:10.3f} {t[2]:8.3f} {t[2] / t[1]:12.2f}")


if __name__ == "__main__":
    sys.exit(main())
