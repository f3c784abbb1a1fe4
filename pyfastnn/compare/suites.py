"""The ratio suites of ``pyfastnn compare --suite core|train``: what each runs.

A suite is a list of :class:`Group`\\ s; a group's contenders are timed side by
side in alternating blocks (``timing``) and reported with ratios of their
times. The table suite (``--suite backends``, the default) checks the same
computations for agreement; these suites only time them.

- ``core``: matmul native vs NumPy; one ``loss_and_grad`` of 784-256-26 at
  batch 1, 64 and 256 in native, vector, loop (small batches) and PyTorch;
  native on 1 vs 2 threads.
- ``train``: the training issue's workload, one ``fit`` epoch of 784-256-26 on
  100000 x 784 float32 rows (``--quick``: 20000), SGD lr 0.01, batch 64 in
  native SGD and Adam, PyTorch and vector; Adam vs SGD again in many short
  blocks; batch 1 on a 3000-row slice; peak memory in a fresh process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .._runtime import set_num_threads
from . import peers
from .contenders import Problem, own
from .problems import MLPProblem, make_matmul, make_mlp, make_training_set
from .timing import Timed

SUITES = ("backends", "core", "train", "shared")


@dataclass
class Ratio:
    """``numerator``'s time over ``denominator``'s (higher = denominator faster)."""

    numerator: str
    denominator: str
    target: str = ""  # the goal, as text (e.g. ">= 1.5")

    @property
    def label(self) -> str:
        return f"{self.numerator} / {self.denominator}"


@dataclass
class Group:
    """Contenders timed together. ``calls`` timed calls per block, ``rounds``
    times the suite's rounds; ``relative_to`` names the contender every row
    is divided by (None: the fastest); ``steps`` > 1 also reports the time per
    step (one call = ``steps`` optimiser steps)."""

    title: str
    build: Callable[[bool], list[Timed]]  # (with peers) -> contenders
    calls: int
    ratios: list[Ratio]
    rounds: int = 1
    relative_to: str | None = None
    flops: float | None = None
    steps: int = 1
    # the GEMM peak of the run: its "native" row's rate is what the other
    # groups' rates are a fraction of (fraction_of_peak)
    is_peak: bool = False


@dataclass
class Suite:
    name: str
    rounds: int
    groups: list[Group]
    memory: tuple[int, tuple[int, ...]] | None = None  # (rows, sizes) of the RSS check
    notes: list[str] = field(default_factory=list)


def suite(name: str, mode: str, dtype: str) -> Suite:
    """The suite ``name`` ("core" or "train") at the sizes of ``mode``."""
    return {"core": _core, "train": _train}[name](mode, dtype)


# ---- core ---------------------------------------------------------------------------------------


@dataclass
class _CoreSizes:
    rounds: int
    matmuls: list[tuple[int, int, int]]
    net: tuple[int, ...]
    step_calls: dict[int, int]  # batch -> timed calls per block
    loop_max: int  # largest batch the loop backend runs at
    matmul_flops_per_block: float  # calls = max(min_calls, this / FLOPs of one call)
    min_calls: int
    loop_min_calls: int  # with loop, a group times max(this, calls // LOOP_CALL_DIVISOR)


_CORE_FULL = _CoreSizes(
    rounds=9,
    matmuls=[(1024, 1024, 1024), (64, 784, 256), (256, 784, 256)],
    net=(784, 256, 26),
    step_calls={1: 400, 64: 100, 256: 30},
    loop_max=64,
    matmul_flops_per_block=2e9,
    min_calls=5,
    loop_min_calls=3,
)
CORE_SIZES = {
    "full": _CORE_FULL,
    "quick": replace(_CORE_FULL, rounds=3),
    "tiny": _CoreSizes(
        rounds=1,
        matmuls=[(16, 16, 16)],
        net=(20, 16, 5),
        step_calls={1: 2, 8: 2},
        loop_max=8,
        matmul_flops_per_block=0.0,
        min_calls=1,
        loop_min_calls=1,
    ),
}
# A group with the loop backend times this many times fewer calls per block.
LOOP_CALL_DIVISOR = 50


def _core(mode: str, dtype: str) -> Suite:
    s = CORE_SIZES[mode]
    groups = []
    for m, k, n in s.matmuls:
        flops = 2.0 * m * k * n
        groups.append(
            Group(
                f"matmul {m}x{k}x{n} {dtype} (vector: NumPy)",
                lambda _, m=m, k=k, n=n: _own(
                    "matmul", ("native", "vector"), make_matmul(m, k, n, dtype)
                ),
                calls=max(s.min_calls, int(s.matmul_flops_per_block / flops)),
                ratios=[Ratio("vector", "native")],
                flops=flops,
            )
        )
    name = "-".join(map(str, s.net))
    for batch, calls in s.step_calls.items():
        backends: tuple[str, ...] = ("native", "vector")
        if batch <= s.loop_max:
            backends += ("loop",)
            calls = max(s.loop_min_calls, calls // LOOP_CALL_DIVISOR)
        groups.append(
            Group(
                f"loss_and_grad {name} batch {batch}",
                lambda with_peers, b=batch, be=backends: _mlp_step(s.net, b, dtype, be, with_peers),
                calls=calls,
                ratios=[Ratio("vector", "native")],
            )
        )
    batch = max(s.step_calls)
    groups.append(
        Group(
            f"loss_and_grad {name} batch {batch}, threads",
            lambda _, b=batch: _threads(s.net, b, dtype),
            calls=s.step_calls[batch],
            ratios=[Ratio("1 thread", "2 threads")],
        )
    )
    return Suite("core", s.rounds, groups)


def _own(task: str, backends: tuple[str, ...], problem: Problem) -> list[Timed]:
    return [Timed(b, c.run, c.pool) for b in backends for c in [own(task, b, problem)]]


def _mlp_step(
    net: tuple[int, ...], batch: int, dtype: str, backends: tuple[str, ...], with_peers: bool
) -> list[Timed]:
    p = make_mlp(net, batch, dtype)
    items = _own("loss_and_grad", backends, p)
    if with_peers and peers.installed("torch"):
        c = peers.build("torch", "loss_and_grad", p)
        items.append(Timed("torch", c.run, c.pool))
    return items


def _threads(net: tuple[int, ...], batch: int, dtype: str) -> list[Timed]:
    run = own("loss_and_grad", "native", make_mlp(net, batch, dtype)).run
    return [
        Timed(f"{n} thread{'s' * (n > 1)}", run, "native", lambda n=n: set_num_threads(n))
        for n in (1, 2)
    ]


# ---- train --------------------------------------------------------------------------------------


@dataclass
class _TrainSizes:
    rounds: int
    rows: int
    net: tuple[int, ...]
    adam_rows: int  # Adam vs SGD again on this many rows, in 3x the rounds
    batch1_rows: int  # an epoch at batch 1 is one step per row: a slice
    peak_n: int = 1024  # the GEMM peak: native matmul n x n x n


_TRAIN_FULL = _TrainSizes(
    rounds=5, rows=100_000, net=(784, 256, 26), adam_rows=20_000, batch1_rows=3000
)
TRAIN_SIZES = {
    "full": _TRAIN_FULL,
    "quick": replace(_TRAIN_FULL, rounds=2, rows=20_000),
    "tiny": _TrainSizes(
        rounds=1, rows=200, net=(20, 16, 5), adam_rows=100, batch1_rows=20, peak_n=64
    ),
}
TRAIN_BATCH = 64
ADAM_LR = 1e-3  # SGD uses the problem's lr (0.01)


def _train(mode: str, dtype: str) -> Suite:
    s = TRAIN_SIZES[mode]
    name = "-".join(map(str, s.net))
    made: list[MLPProblem] = []  # the training set, made when the first group runs

    def data(rows: int) -> MLPProblem:
        """The first ``rows`` rows of the training set (views)."""
        if not made:
            made.append(make_training_set(s.net, s.rows, dtype))
        p = made[0]
        return MLPProblem(p.sizes, p.X[:rows], p.y[:rows], p.params, lr=p.lr)

    def batch64(with_peers: bool) -> list[Timed]:
        # Native SGD sits next to each contender it is compared with, in both
        # directions of the alternating rounds, so that each round also gives
        # ratios of blocks run seconds apart: on a VM whose speed changes from
        # minute to minute, their median is the like-for-like figure (the ratio
        # of the medians can pair a fast block of one with a slow block of the other).
        p = data(s.rows)
        items = [
            _fit("native adam", p, "native", TRAIN_BATCH, "adam"),
            _fit("native", p, "native", TRAIN_BATCH),
        ]
        if with_peers and peers.installed("torch"):
            items.append(_torch_fit(p, TRAIN_BATCH))
        if with_peers and peers.installed("jax"):
            items += _jax_fits(p, TRAIN_BATCH)
        return items + [_fit("vector", p, "vector", TRAIN_BATCH)]

    def batch256(with_peers: bool) -> list[Timed]:
        p = data(s.rows)
        items = [_fit("native", p, "native", 256)]
        if with_peers and peers.installed("jax"):
            items += _jax_fits(p, 256)
        return items + [_fit("vector", p, "vector", 256)]

    def adam_vs_sgd(_: bool) -> list[Timed]:
        p = data(min(s.rows, s.adam_rows))
        return [
            _fit("sgd", p, "native", TRAIN_BATCH),
            _fit("adam", p, "native", TRAIN_BATCH, "adam"),
        ]

    def batch1(with_peers: bool) -> list[Timed]:
        p = data(min(s.rows, s.batch1_rows))
        items = [_fit("native", p, "native", 1), _fit("vector", p, "vector", 1)]
        if with_peers and peers.installed("torch"):
            items.append(_torch_fit(p, 1))
        return items

    def gemm_peak(_: bool) -> list[Timed]:
        from ..linalg import matmul

        mm = make_matmul(s.peak_n, s.peak_n, s.peak_n, dtype)
        return [Timed("native", lambda: matmul(mm.A, mm.B), "native")]

    def epoch_flops(rows: int) -> float:
        """Matrix-product FLOPs of an epoch without the accuracy pass: forward
        and dW for every layer, dH for all but the first."""
        fwd = 2.0 * rows * sum(a * b for a, b in zip(s.net[:-1], s.net[1:]))
        return 3 * fwd - 2.0 * rows * s.net[0] * s.net[1]

    head = f"fit 1 epoch {name} ReLU, softmax CE, SGD lr {MLPProblem.lr}"
    rows64 = s.rows
    rows_adam, rows1 = min(s.rows, s.adam_rows), min(s.rows, s.batch1_rows)
    n = s.peak_n
    groups = [
        Group(
            f"GEMM peak of this run: native matmul {n}x{n}x{n} {dtype}",
            gemm_peak,
            calls=max(3, int(2e9 / (2.0 * n**3))),
            ratios=[],
            flops=2.0 * n**3,
            is_peak=True,
        ),
        Group(
            f"{head}, {rows64} rows, batch {TRAIN_BATCH} ({-(-rows64 // TRAIN_BATCH)} steps)",
            batch64,
            calls=1,
            flops=epoch_flops(rows64),
            ratios=[
                Ratio("vector", "native", ">= 1.5"),
                Ratio("torch", "native", ">= 2.5"),
                Ratio("jax scan", "native", ">= 1.25"),
                Ratio("jax step", "native"),
                Ratio("native adam", "native", "<= 1.15"),
            ],
            relative_to="native",
        ),
        Group(
            f"{head}, {rows64} rows, batch 256 ({-(-rows64 // 256)} steps)",
            batch256,
            calls=1,
            flops=epoch_flops(rows64),
            ratios=[
                Ratio("vector", "native"),
                Ratio("jax scan", "native", ">= 1.25"),
                Ratio("jax step", "native"),
            ],
            relative_to="native",
        ),
        Group(
            f"Adam vs SGD, native, {rows_adam} rows, batch {TRAIN_BATCH}, "
            f"{3 * s.rounds} alternating blocks",
            adam_vs_sgd,
            calls=1,
            ratios=[Ratio("adam", "sgd", "<= 1.15")],
            rounds=3,
            relative_to="sgd",
        ),
        Group(
            f"{head}, {rows1} rows, batch 1",
            batch1,
            calls=1,
            ratios=[Ratio("vector", "native", ">= 10")],
            relative_to="native",
            steps=rows1,
        ),
    ]
    notes = [
        "GFLOP/s of an epoch count its matrix products (forward and dW of every layer, "
        "dH of all but the first); '% of peak' divides them by the native matmul rate "
        "measured first in the same run.",
        "Adam's extra cost is ~10-15% of a step, within a shared machine's run-to-run "
        "noise: it is measured again on a slice, in many short alternating blocks.",
        "An epoch at batch 1 is one step per row: it is timed on a slice; the ratio is "
        "what matters.",
    ]
    return Suite("train", s.rounds, groups, memory=(s.rows, s.net), notes=notes)


def _fit(key: str, p: MLPProblem, backend: str, batch: int, optimizer: str = "sgd") -> Timed:
    """One shuffled epoch of ``fit`` (no train accuracy pass), from the problem's weights."""
    from ..mlp import MLP

    model = MLP(p.sizes, "relu", dtype=p.dtype, backend=backend)
    model.params = p.params
    lr = p.lr if optimizer == "sgd" else ADAM_LR

    def run() -> None:
        model.fit(
            p.X, p.y, epochs=1, batch_size=batch, optimizer=optimizer, lr=lr, train_metrics=False
        )

    return Timed(key, run, "blas" if backend == "vector" else "native")


def _jax_fits(p: MLPProblem, batch: int) -> list[Timed]:
    """One shuffled SGD epoch in JAX: jitted per minibatch, and as one jitted scan."""
    from .jax_peer import epoch_runner

    return [
        Timed("jax scan", epoch_runner(p, batch, whole_epoch=True), "xla"),
        Timed("jax step", epoch_runner(p, batch, whole_epoch=False), "xla"),
    ]


def _torch_fit(p: MLPProblem, batch: int) -> Timed:
    """One shuffled SGD epoch in PyTorch (CPU), from the problem's weights."""
    import torch

    net, X, y = peers.torch_net(p), torch.from_numpy(p.X), torch.from_numpy(p.y)
    opt = torch.optim.SGD(net.parameters(), lr=p.lr)
    loss = torch.nn.functional.cross_entropy

    def run() -> None:
        order = torch.randperm(X.shape[0])
        for lo in range(0, X.shape[0], batch):
            idx = order[lo : lo + batch]
            opt.zero_grad(set_to_none=True)
            loss(net(X[idx]), y[idx]).backward()
            opt.step()

    return Timed("torch", run, "torch")
