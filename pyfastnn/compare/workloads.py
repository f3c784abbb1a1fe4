"""What each mode runs: the table's workloads and the scaling sweeps.

Modes: ``tiny`` (seconds; for the test suite, numbers meaningless), ``quick``
(under a minute; loop only at tiny sizes), ``full`` (everything). The loop
backend is included only where one call takes well under a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import pyfastnn

from .contenders import Problem
from .problems import MAP_OPS, MAPS, make_map, make_matmul, make_mlp

MODES = ("tiny", "quick", "full")
ALL = ("loop", "vector", "native")
FAST = ("vector", "native")
# Models with MLP's fit/predict API but constructed as cls(n_features, n_classes, ...);
# a name missing from this pyfastnn build is skipped.
LINEAR_MODELS = ("Perceptron", "LogisticRegression")


@dataclass
class Workload:
    """One row group of the table. ``bound`` is "compute" (GFLOP/s and the
    fraction of the measured GEMM peak are reported) or "memory" (the
    fraction of the copy floor); ``peak`` marks the GEMM that measures the peak."""

    name: str
    task: str
    make: Callable[[], Problem]
    backends: tuple[str, ...]
    bound: str = "compute"
    peak: bool = False


@dataclass
class Sweep:
    """Time of one task as one size varies; ``series`` are own backends and peers.
    ``loop_max`` is the largest x at which loop runs (None: never)."""

    key: str
    title: str
    x_label: str
    xs: list[int]
    task: str
    make: Callable[[int], Problem]
    series: tuple[str, ...]
    loop_max: int | None = None
    threads: bool = False  # x is the thread count
    notes: list[str] = field(default_factory=list)


@dataclass
class Sizes:
    peak: int
    matmuls: list[tuple[int, int, int, tuple[str, ...]]]
    net: tuple[int, ...]
    forward: list[tuple[int, tuple[str, ...]]]  # (batch, backends)
    grad: list[tuple[int, tuple[str, ...]]]
    epoch: list[tuple[int, tuple[str, ...]]]  # (rows, backends)
    predict: list[tuple[int, tuple[str, ...]]]
    maps: list[tuple[str, str, int, int, tuple[str, ...]]]  # (map, op, N, K, backends)
    batch: int = 64
    sweep_batches: list[int] = field(default_factory=list)
    sweep_widths: list[int] = field(default_factory=list)
    sweep_depths: list[int] = field(default_factory=list)
    sweep_ks: list[int] = field(default_factory=list)
    sweep_elements: int = 1 << 20
    sweep_loop: bool = False


# Short and long rows beside (10000, 1000): the sizes of the entmax family's goals.
ENTMAX_GOAL_SHAPES = ((100_000, 26), (1000, 30_000))


def _all_maps(n: int, k: int, backends: tuple[str, ...]) -> list:
    return [(m, op, n, k, backends) for m in MAPS for op in MAP_OPS]


SIZES: dict[str, Sizes] = {
    "tiny": Sizes(
        peak=64,
        matmuls=[(8, 8, 8, ALL)],
        net=(20, 16, 5),
        forward=[(8, ALL)],
        grad=[(8, ALL)],
        epoch=[(32, ALL)],
        predict=[(50, ALL)],
        maps=[
            ("sparsemax", "forward", 8, 10, ALL),
            ("sparsemax", "vjp", 8, 10, ALL),
            ("softmax", "jvp", 8, 10, ALL),
        ],
        batch=8,
        sweep_batches=[1, 4],
        sweep_widths=[4, 8],
        sweep_depths=[1, 2],
        sweep_ks=[10, 100],
        sweep_elements=1000,
        sweep_loop=True,
    ),
    "quick": Sizes(
        peak=1024,
        matmuls=[(64, 64, 64, ALL)],
        net=(784, 256, 26),
        forward=[(64, ALL)],
        grad=[(64, ALL)],
        epoch=[(128, ALL)],
        predict=[(10_000, FAST)],
        maps=[("sparsemax", "forward", 64, 100, ALL)]
        + [("sparsemax", op, 1000, 1000, FAST) for op in MAP_OPS]
        + [("relumax", "forward", 1000, 1000, FAST), ("softmax", "forward", 1000, 1000, FAST)]
        + [
            (m, op, 1000, 1000, FAST)
            for m in ("entmax15", "entmax_bisect")
            for op in ("forward", "vjp")
        ],
        sweep_batches=[1, 32, 1024],
        sweep_widths=[16, 128, 1024],
        sweep_depths=[1, 5, 9],
        sweep_ks=[10, 1000, 100_000],
    ),
    "full": Sizes(
        peak=2048,
        matmuls=[
            (16, 16, 16, ALL),
            (64, 64, 64, ALL),
            (1, 784, 256, FAST),
            (64, 784, 256, FAST),
            (256, 784, 256, FAST),
            (1024, 1024, 1024, FAST),
        ],
        net=(784, 256, 26),
        forward=[(1, ALL), (64, ALL), (1024, FAST)],
        grad=[(1, ALL), (64, ALL), (256, FAST)],
        epoch=[(1024, ALL), (10_000, FAST)],
        predict=[(10_000, ALL)],
        maps=_all_maps(64, 100, ALL)
        + _all_maps(10_000, 1000, FAST)
        + [
            (m, "vjp", n, k, FAST)  # forward + backward at the other goal sizes of the
            for n, k in ENTMAX_GOAL_SHAPES  # entmax family (entmax as the peer)
            for m in ("sparsemax", "entmax15", "entmax_bisect")
        ],
        sweep_batches=[1, 4, 16, 64, 256, 1024],
        sweep_widths=[16, 32, 64, 128, 256, 512, 1024],
        sweep_depths=list(range(1, 10)),
        sweep_ks=[10, 100, 1000, 10_000, 100_000],
        sweep_elements=1 << 22,
        sweep_loop=True,
    ),
}


def _net_name(sizes: tuple[int, ...]) -> str:
    return "-".join(map(str, sizes))


def workloads(mode: str, dtype: str) -> list[Workload]:
    """The table's workloads for ``mode``, in the order they are run and shown."""
    s = SIZES[mode]
    p = s.peak
    out = [
        Workload(
            f"matmul {p}x{p}x{p}", "matmul", lambda: make_matmul(p, p, p, dtype), FAST, peak=True
        )
    ]
    for m, k, n, be in s.matmuls:
        out.append(
            Workload(
                f"matmul {m}x{k}x{n}",
                "matmul",
                lambda m=m, k=k, n=n: make_matmul(m, k, n, dtype),
                be,
            )
        )
    net, bs = s.net, s.batch
    name = _net_name(net)
    for task, label, rows_list in (
        ("forward", f"MLP forward {name}, batch {{}}", s.forward),
        ("loss_and_grad", f"MLP loss_and_grad {name}, batch {{}}", s.grad),
        ("epoch", f"MLP fit 1 epoch {name}, rows {{}}, batch {bs}", s.epoch),
        ("predict", f"MLP predict {name}, rows {{}}", s.predict),
    ):
        for rows, be in rows_list:
            out.append(
                Workload(
                    label.format(rows),
                    task,
                    lambda r=rows: make_mlp(net, r, dtype, batch_size=bs),
                    be,
                )
            )
    for model in LINEAR_MODELS:
        if getattr(pyfastnn, model, None) is None:
            continue  # not in this build yet
        for task, rows, be in (("epoch", s.epoch[0][0], ALL), ("predict", s.predict[0][0], FAST)):
            out.append(
                Workload(
                    f"{model} {task} {net[0]}->{net[-1]}, rows {rows}",
                    task,
                    lambda r=rows, mdl=model: _linear(net, r, dtype, bs, mdl),
                    be,
                )
            )
    for name, op, n, k, be in s.maps:
        out.append(
            Workload(
                f"{name} {op} ({n}, {k})",
                f"{name}_{op}",
                lambda name=name, op=op, n=n, k=k: make_map(name, op, n, k, dtype),
                be,
                bound="memory",
            )
        )
    return out


def _linear(net: tuple[int, ...], rows: int, dtype: str, bs: int, model: str) -> Problem:
    p = make_mlp((net[0], net[-1]), rows, dtype, batch_size=bs)
    p.model = model
    return p


def sweeps(mode: str, dtype: str) -> list[Sweep]:
    """The scaling sweeps for ``mode``."""
    s = SIZES[mode]
    net, bs = s.net, s.batch
    d, k = net[0], net[-1]
    hidden = net[1]
    loop = 64 if s.sweep_loop else None
    mlp = ("native", "vector", "loop", "torch")
    threads = sorted({1, 2, os.cpu_count() or 1})
    return [
        Sweep(
            "batch",
            f"loss_and_grad {_net_name(net)} vs batch size",
            "batch size",
            s.sweep_batches,
            "loss_and_grad",
            lambda b: make_mlp(net, b, dtype),
            mlp,
            loop_max=loop,
        ),
        Sweep(
            "width",
            f"loss_and_grad {d}-H-{k}, batch {bs}, vs hidden width H",
            "hidden width",
            s.sweep_widths,
            "loss_and_grad",
            lambda h: make_mlp((d, h, k), bs, dtype),
            mlp,
            loop_max=256 if s.sweep_loop else None,
        ),
        Sweep(
            "depth",
            f"loss_and_grad {d}-{hidden}x(depth)-{k}, batch {bs}, vs depth",
            "hidden layers",
            s.sweep_depths,
            "loss_and_grad",
            lambda L: make_mlp((d, *([hidden] * L), k), bs, dtype),
            mlp,
            loop_max=9 if s.sweep_loop else None,
        ),
        Sweep(
            "classes",
            f"sparsemax forward vs K, N*K = {s.sweep_elements}",
            "classes K",
            s.sweep_ks,
            "sparsemax_forward",
            lambda kk: make_map("sparsemax", "forward", max(1, s.sweep_elements // kk), kk, dtype),
            ("native", "vector", "entmax", "copy floor"),
        ),
        Sweep(
            "threads",
            f"loss_and_grad {_net_name(net)}, batch {4 * bs}, vs threads",
            "threads",
            threads,
            "loss_and_grad",
            lambda t: make_mlp(net, 4 * bs, dtype),
            ("native", "vector", "torch"),
            threads=True,
        ),
    ]
