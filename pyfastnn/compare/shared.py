"""``pyfastnn compare --suite shared``: speed where users run it, beside other work.

The other suites time each contender in blocks with a pause before each block
so that the other thread pools in the process have gone quiet: the steady
state of a machine that belongs to one library. This suite measures the
opposite, side by side with PyTorch where it is installed:

- ``numpy``: a 784-256-26 ``loss_and_grad`` at batch 64 called alternately
  with NumPy's 256 x 256 float64 ``A @ A`` (OpenBLAS's pool): each one's
  median time interleaved over its median time alone; pyfastnn both with
  OpenBLAS on its own threads (the default) and with OpenBLAS's work on
  pyfastnn's pool (``route_blas_threads``);
- ``torch pool``: the same step alternating with a PyTorch 256 x 256 matmul
  (PyTorch's own OpenMP pool), when PyTorch is installed; pyfastnn both on its
  own pool and with its jobs on PyTorch's OpenMP team
  (``route_openmp_threads``);
- ``xla pool``: the same step alternating with a jitted JAX 256 x 256
  float32 matmul (XLA's CPU thread pool), when JAX is installed;
- ``attention``: sparse attention written in NumPy, ``sparsemax(Q @ K.T) @ V``
  (T = 512, d = 64): the pipeline's median time over the sum of its parts'
  medians timed alone (pyfastnn with OpenBLAS routed and not; PyTorch: the
  same with entmax's sparsemax, or with softmax when entmax is not installed);
- ``busy core``: a spinner process holds one core (started and stopped by the
  suite, bounded in time) while the step runs on all threads and on one
  thread, and in the ``vector`` backend (NumPy), also with OpenBLAS routed
  and (PyTorch installed) with pyfastnn's jobs on PyTorch's OpenMP team.

"Alone" is each contender timed after a pause in which the other pools go
quiet, with pyfastnn's contention gate reset: what the previous scenario
taught the gate (a back-off of up to 0.5 s, longer than the pause) would
otherwise time pyfastnn "alone" on one thread. The busy-core blocks keep what
the gate learnt (the load lasts through the scenario).

Every figure is a median over rounds; ratios are of medians measured in the
same run. Returns one dict (written as JSON and markdown by the CLI).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np

from .. import _native
from .._runtime import (
    get_num_threads,
    route_blas_threads,
    route_openmp_threads,
    set_num_threads,
    thread_pool_stats,
)
from . import peers
from .contenders import own
from .environment import ThreadSettings, load_average, machine
from .problems import make_mlp
from .runner import Options
from .timing import SETTLE_SECONDS

# How many calls each median is taken over, per mode: (step calls, rounds).
_CALLS = {"tiny": (3, 1), "quick": (60, 3), "full": (200, 5)}
# The spinner of the busy-core scenario stops by itself after this long.
SPINNER_SECONDS = 300.0


def _elapsed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median_alone(fn: Callable[[], object], calls: int, reset_gate: bool = True) -> float:
    """Median time of ``calls`` calls after a pause (and, unless told, with
    pyfastnn's contention gate reset: it forgets what ran before)."""
    time.sleep(SETTLE_SECONDS)  # the other pools go quiet first
    if reset_gate:
        _native.reset_contention()
    fn()
    return statistics.median(_elapsed(fn) for _ in range(calls))


def _interleaved(
    fn: Callable[[], object], other: Callable[[], object], calls: int
) -> tuple[float, float]:
    """Median times of fn and other, called alternately ``calls`` times each."""
    fn(), other()
    mine, theirs = [], []
    for _ in range(calls):
        mine.append(_elapsed(fn))
        theirs.append(_elapsed(other))
    return statistics.median(mine), statistics.median(theirs)


@contextmanager
def busy_core(seconds: float = SPINNER_SECONDS) -> Iterator[subprocess.Popen[bytes]]:
    """A process spinning on one core for at most ``seconds``, stopped on exit."""
    code = f"import time\nend = time.monotonic() + {seconds!r}\nwhile time.monotonic() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)  # it is running before anything is timed
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


def _step(dtype: str, backend: str) -> Callable[[], object]:
    return own("loss_and_grad", backend, make_mlp((784, 256, 26), 64, dtype)).run


def _torch_step(dtype: str) -> Callable[[], object] | None:
    if not peers.installed("torch"):
        return None
    return peers.build("torch", "loss_and_grad", make_mlp((784, 256, 26), 64, dtype)).run


def _numpy_matmul() -> Callable[[], object]:
    a = np.random.default_rng(1).random((256, 256))
    return lambda: a @ a


def _torch_matmul() -> Callable[[], object] | None:
    if not peers.installed("torch"):
        return None
    import torch

    a = torch.rand(256, 256, dtype=torch.float64)
    return lambda: a @ a


def _jax_matmul() -> Callable[[], object] | None:
    """A jitted 256 x 256 float32 matmul on XLA's CPU thread pool, or None."""
    if not peers.installed("jax"):
        return None
    import jax
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(1).random((256, 256), dtype=np.float32))
    product = jax.jit(lambda x: x @ x)
    return lambda: product(a).block_until_ready()


def _attention_parts(lib: str) -> tuple[Callable[[], object], list[Callable[[], object]]] | None:
    """(pipeline, its parts) of sparse attention in NumPy + pyfastnn or PyTorch."""
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((512, 64)) for _ in range(3))
    if lib == "numpy":  # the same allocations with NumPy's exp in place of the map
        scores = q @ k.T
        weights = np.exp(scores)
        return (
            lambda: np.exp(q @ k.T) @ v,
            [lambda: q @ k.T, lambda: np.exp(scores), lambda: weights @ v],
        )
    if lib == "pyfastnn":
        from ..simplex import sparsemax

        scores = q @ k.T
        probs = sparsemax(scores)
        return (
            lambda: sparsemax(q @ k.T) @ v,
            [lambda: q @ k.T, lambda: sparsemax(scores), lambda: probs @ v],
        )
    if not peers.installed("torch"):
        return None
    import torch

    sparse_map = _torch_sparse_map()
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    with torch.no_grad():
        tscores = tq @ tk.T
        tprobs = sparse_map(tscores)

    def pipeline() -> object:
        with torch.no_grad():
            return sparse_map(tq @ tk.T) @ tv

    def score() -> object:
        with torch.no_grad():
            return tq @ tk.T

    def normalise() -> object:
        with torch.no_grad():
            return sparse_map(tscores)

    def mix() -> object:
        with torch.no_grad():
            return tprobs @ tv

    return pipeline, [score, normalise, mix]


def _torch_sparse_map() -> Callable[[Any], Any]:
    import torch

    if peers.installed("entmax"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from entmax import sparsemax

        return lambda z: sparsemax(z, dim=-1)
    return lambda z: torch.softmax(z, dim=-1)


def _row(scenario: str, contender: str, alone: float, shared: float, **extra: Any) -> dict:
    return {
        "scenario": scenario,
        "contender": contender,
        "alone_s": alone,
        "shared_s": shared,
        "ratio": shared / alone,
        **extra,
    }


def _beside_pool(name: str, other: Callable[[], object], steps: dict, calls: int) -> list[dict]:
    rows = []
    for contender, step in steps.items():
        alone = _median_alone(step, calls)
        other_alone = _median_alone(other, calls)
        mine, theirs = _interleaved(step, other, calls)
        rows.append(
            _row(
                name,
                contender,
                alone,
                mine,
                other_alone_s=other_alone,
                other_shared_s=theirs,
                other_ratio=theirs / other_alone,
            )
        )
    return rows


#: The label suffix of rows measured with OpenBLAS's work on pyfastnn's pool.
BLAS_ON_POOL = ", OpenBLAS on pyfastnn's pool"


def _with_blas_on_pool(measure: Callable[[], list[dict]]) -> list[dict]:
    """``measure()`` with OpenBLAS's work routed to pyfastnn's pool, its rows
    relabelled (nothing when no loaded OpenBLAS takes the routing)."""
    was_routed = bool(thread_pool_stats()["blas_routed"])
    if not route_blas_threads(True):
        return []
    try:
        rows = measure()
    finally:
        route_blas_threads(was_routed)
    return [{**row, "contender": row["contender"] + BLAS_ON_POOL} for row in rows]


#: The label suffix of rows measured with pyfastnn's jobs on PyTorch's OpenMP team.
ON_OPENMP_TEAM = ", on PyTorch's OpenMP team"


def _on_openmp_team(measure: Callable[[], list[dict]]) -> list[dict]:
    """``measure()`` with pyfastnn's jobs on PyTorch's libgomp team, its rows
    relabelled (nothing when PyTorch loaded no libgomp)."""
    was_routed = _native.openmp_threads_routed()
    if not route_openmp_threads(True, library="torch"):
        _native.route_openmp_threads(was_routed)
        return []
    try:
        rows = measure()
    finally:
        _native.route_openmp_threads(was_routed)
    return [{**row, "contender": row["contender"] + ON_OPENMP_TEAM} for row in rows]


def _attention(calls: int, use_peers: bool) -> list[dict]:
    """Pipeline over the sum of its parts; also the pipeline on one thread, and
    the same pipeline with NumPy's exp in place of the sparse map: the
    allocations' share (fresh 512 x 512 intermediates cost page faults on any
    thread count when the memory allocator hands out new mappings)."""
    rows = []
    libs = ("pyfastnn", "numpy", "torch") if use_peers else ("pyfastnn", "numpy")
    for lib in libs:
        parts = _attention_parts(lib)
        if parts is None:
            continue
        pipeline, pieces = parts
        alone = sum(_median_alone(p, calls) for p in pieces)
        shared = _median_alone(pipeline, calls)
        limit = _one_thread(lib)
        one_thread = None
        if limit is not None:
            with limit:
                one_thread = _median_alone(pipeline, calls)
        label = {
            "pyfastnn": "pyfastnn",
            "numpy": "NumPy, exp in place of sparsemax (reference)",
            "torch": f"torch ({_torch_map_name()})",
        }[lib]
        rows.append(_row("attention", label, alone, shared, one_thread_s=one_thread))
    return rows


def _one_thread(lib: str) -> AbstractContextManager | None:
    """pyfastnn's, PyTorch's or (NumPy) OpenBLAS's threads limited to one;
    None for NumPy without threadpoolctl."""
    if lib == "numpy":
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return None
        return threadpool_limits(1, user_api="blas")
    return _threads_limited(lib)


@contextmanager
def _threads_limited(lib: str) -> Iterator[None]:
    set_threads = set_num_threads if lib == "pyfastnn" else _set_torch_threads
    threads = get_num_threads() if lib == "pyfastnn" else _torch_threads()
    set_threads(1)
    try:
        yield
    finally:
        set_threads(threads)


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _torch_map_name() -> str:
    return "entmax sparsemax" if peers.installed("entmax") else "softmax"


def _busy(dtype: str, calls: int, threads: int, use_peers: bool) -> list[dict]:
    """With a spinner on one core: all threads over one thread, and vector over native."""
    rows = []
    native, vector = _step(dtype, "native"), _step(dtype, "vector")
    torch_step = _torch_step(dtype) if use_peers else None
    with busy_core():
        for contender, step, set_threads in (
            ("pyfastnn native", native, set_num_threads),
            ("torch", torch_step, _set_torch_threads),
        ):
            if step is None:
                continue
            set_threads(threads)
            many = _median_alone(step, calls, reset_gate=False)
            set_threads(1)
            one = _median_alone(step, calls, reset_gate=False)
            set_threads(threads)
            rows.append(_row("busy core", contender, one, many, threads=threads))
        native_time = _median_alone(native, calls, reset_gate=False)
        vector_time = _median_alone(vector, calls, reset_gate=False)
        rows.append(_row("busy core", "vector / native", native_time, vector_time))
    return rows


def _set_torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def run_shared(options: Options, quiet: bool = False) -> dict[str, Any]:
    """Every scenario at ``options.mode``; thread counts are restored on return."""
    calls, rounds = _CALLS[options.mode]
    settings = ThreadSettings(options.threads, options.peers)
    threads = get_num_threads()
    doc: dict[str, Any] = {
        "meta": {
            **machine(),
            "suite": "shared",
            "mode": options.mode,
            "dtype": options.dtype,
            "threads": settings.describe(),
            "command": options.command,
            "load_average": {"start": load_average()},
            "rounds": rounds,
            "calls_per_median": calls,
        },
        "rows": [],
    }
    try:
        steps = {"pyfastnn native": _step(options.dtype, "native")}
        torch_step = _torch_step(options.dtype) if options.peers else None
        if torch_step is not None:
            steps["torch"] = torch_step
        scenarios: list[tuple[str, Callable[[], list[dict]]]] = [
            (
                "numpy",
                lambda: (
                    _beside_pool("numpy", _numpy_matmul(), steps, calls)
                    + _with_blas_on_pool(
                        lambda: _beside_pool(
                            "numpy",
                            _numpy_matmul(),
                            {"pyfastnn native": steps["pyfastnn native"]},
                            calls,
                        )
                    )
                ),
            ),
            (
                "attention",
                lambda: (
                    _attention(calls, options.peers)
                    + _with_blas_on_pool(lambda: _attention(calls, False))
                ),
            ),
            (
                "busy core",
                lambda: (
                    _busy(options.dtype, calls, threads, options.peers)
                    + _with_blas_on_pool(lambda: _busy(options.dtype, calls, threads, False))
                    + (
                        _on_openmp_team(lambda: _busy(options.dtype, calls, threads, False))
                        if options.peers and peers.installed("torch")
                        else []
                    )
                ),
            ),
        ]
        torch_mm = _torch_matmul() if options.peers else None
        if torch_mm is not None:
            native_only = {"pyfastnn native": steps["pyfastnn native"]}
            scenarios.insert(
                1,
                (
                    "torch pool",
                    lambda: (
                        _beside_pool("torch pool", torch_mm, steps, calls)
                        + _on_openmp_team(
                            lambda: _beside_pool("torch pool", torch_mm, native_only, calls)
                        )
                    ),
                ),
            )
        jax_mm = _jax_matmul() if options.peers else None
        if jax_mm is not None:
            native_only = {"pyfastnn native": steps["pyfastnn native"]}
            scenarios.insert(
                1, ("xla pool", lambda: _beside_pool("xla pool", jax_mm, native_only, calls))
            )
        for name, scenario in scenarios:
            if options.only and options.only not in name:
                continue
            rounds_rows = [scenario() for _ in range(rounds)]
            merged = _median_rows(rounds_rows)
            doc["rows"].extend(merged)
            if not quiet:
                print(shared_markdown(merged), flush=True)
    finally:
        settings.restore()
    doc["meta"]["pool"] = thread_pool_stats()
    doc["meta"]["load_average"]["end"] = load_average()
    return doc


def _median_rows(rounds_rows: list[list[dict]]) -> list[dict]:
    """Per row: the median of each figure over the rounds."""
    merged = []
    for i, first in enumerate(rounds_rows[0]):
        row = dict(first)
        for key, value in first.items():
            if isinstance(value, float):
                row[key] = statistics.median(r[i][key] for r in rounds_rows)
        merged.append(row)
    return merged


_HEADINGS = {
    "numpy": "interleaved with NumPy's 256x256 matmul (OpenBLAS pool)",
    "torch pool": "interleaved with a PyTorch 256x256 matmul (PyTorch's OpenMP pool)",
    "xla pool": "interleaved with a jitted JAX 256x256 float32 matmul (XLA's CPU pool)",
    "attention": "sparsemax(Q @ K.T) @ V, T=512, d=64: pipeline / sum of its parts alone",
    "busy core": "one core busy with another process (a spinner the suite starts and stops)",
}


def shared_markdown(rows: list[dict]) -> str:
    """A markdown table of rows of one or more scenarios."""
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        lines += ["", f"**{_HEADINGS[scenario]}**", ""]
        mine = [r for r in rows if r["scenario"] == scenario]
        if scenario in ("numpy", "torch pool", "xla pool"):
            lines += [
                "| contender | alone | interleaved | ratio | other alone | other interleaved "
                "| other ratio |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {r['contender']} | {_us(r['alone_s'])} | {_us(r['shared_s'])} | "
                f"{r['ratio']:.2f}x | {_us(r['other_alone_s'])} | {_us(r['other_shared_s'])} | "
                f"{r['other_ratio']:.2f}x |"
                for r in mine
            ]
        elif scenario == "attention":
            lines += [
                "| contender | sum of parts | pipeline | ratio | pipeline on one thread |",
                "|---|---:|---:|---:|---:|",
            ]
            lines += [
                f"| {r['contender']} | {_us(r['alone_s'])} | {_us(r['shared_s'])} | "
                f"{r['ratio']:.2f}x | "
                f"{'n/a' if r['one_thread_s'] is None else _us(r['one_thread_s'])} |"
                for r in mine
            ]
        else:
            lines += ["| ratio | of | over | value |", "|---|---:|---:|---:|"]
            for r in mine:
                if r["contender"].startswith("vector / native"):
                    what, num, den = r["contender"], "vector", "native, all threads"
                else:
                    what = f"{r['contender']}: all threads / one thread"
                    num, den = "all threads", "one thread"
                lines.append(
                    f"| {what} | {num} {_us(r['shared_s'])} | {den} {_us(r['alone_s'])} | "
                    f"{r['ratio']:.2f}x |"
                )
    return "\n".join(lines)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us"


def shared_document(doc: dict[str, Any]) -> str:
    """The suite as a markdown page: what was run, where, and the tables."""
    meta = doc["meta"]
    return "\n".join(
        [
            "# pyfastnn on a shared machine",
            "",
            f"`{meta['command']}` on {meta.get('cpu', 'unknown CPU')} "
            f"({meta.get('logical_cpus', '?')} logical CPUs), kernel {meta.get('kernel', '?')}, "
            f"threads {_threads_text(meta['threads'])}, {meta['dtype']}, {meta['date']}, "
            f"load average {meta['load_average']['start']} -> {meta['load_average']['end']}.",
            "",
            "Medians over "
            f"{meta['rounds']} round(s) of {meta['calls_per_median']} calls; a ratio is of "
            "medians measured in the same run. Unlike the steady-state tables (which pause "
            "before each block so the other pools are quiet), these time the contenders "
            "beside other work. 784-256-26 loss_and_grad at batch 64 unless said.",
            shared_markdown(doc["rows"]),
            "",
            "The attention pipeline allocates and frees its two 512 x 512 float64 "
            "intermediates on every call. Where the memory allocator hands out fresh "
            "mappings, each costs a page fault per 4 KiB on any thread count: the NumPy "
            "row (exp in place of sparsemax, NumPy's own result) shows that share; "
            "pyfastnn's map writes into memory kept from its freed results "
            "(pyfastnn.release_result_memory frees it). The one-thread column is the "
            "reference the thread pool must beat.",
            "",
            f"thread pool: {meta['pool']}",
            "",
        ]
    )


def _threads_text(threads: Any) -> str:
    if isinstance(threads, dict):
        return ", ".join(f"{k} {v}" for k, v in threads.items())
    return str(threads)
