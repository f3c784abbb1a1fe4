"""Thread count and kernel selection of the native module."""

from __future__ import annotations

import os
import warnings

import numpy as np

from . import _native
from ._checks import check_positive_int


def set_num_threads(n: int) -> None:
    """Use at most ``n`` threads in every native call from now on (process-wide).

    The initial value comes from ``OMP_NUM_THREADS`` (its first entry) or the
    number of CPUs this process may run on; threadpoolctl's
    ``threadpool_limits`` sets it too (the library appears there with
    ``user_api="openmp"``, ``internal_api="pyfastnn"``). A call runs on fewer
    threads than this when there are fewer CPUs, when other native calls run at
    the same time from other Python threads (together they keep to ``n``), in
    a child made by ``fork()`` (one thread), and while the thread pool measures
    that the machine is busy (see :func:`thread_pool_stats`). Results do not
    depend on the count. Training epochs may also run steps on fewer threads
    when that measures faster (see :func:`set_adaptive_threads`).
    """
    n = check_positive_int(n, "n")
    if n > _native.MAX_THREADS:
        raise ValueError(f"n: expected at most {_native.MAX_THREADS} threads, got {n}")
    _native.set_num_threads(n)


def get_num_threads() -> int:
    """Number of threads native calls may use (see :func:`set_num_threads`)."""
    return int(_native.num_threads())


def thread_pool_stats() -> dict[str, int]:
    """What the native thread pool has done in this process so far.

    Keys: ``jobs`` (parallel jobs that asked for more than one thread and got
    the pool), ``jobs_with_team`` (those in which a worker ran a piece),
    ``contended_jobs`` (those in which the caller waited for a worker whose
    piece took far longer than the caller's: another process or another
    library's threads held its core), ``backoff_ns`` (how long jobs currently
    run on the calling thread alone after contention; 0 when none),
    ``workers`` (worker threads started), ``cpus`` (CPUs this process may run
    on), ``most_threads_at_once`` (the most threads that ran native parallel
    work at the same time, callers and workers together, since import or
    :func:`reset_thread_high_water`), ``calls_in_flight`` (native calls
    running now), ``worker_moves`` (times a spinning worker found itself on
    the CPU of the thread that called and moved to another),
    ``displaced_jobs`` (sampled jobs whose calling thread was off its CPU for
    over a quarter of the job: then the workers stop competing for a core for
    4 s), ``spin_limit_ns`` (how long a worker last spun for its next job
    before sleeping: twice the longest recent gap between jobs that a spin
    could bridge, within 20-100 us), ``blas_routed`` (1 while OpenBLAS's
    threaded work is routed to this pool, see :func:`route_blas_threads`), ``blas_late_teams``
    (OpenBLAS calls whose parts did not all start in time), ``openmp_routed``
    (1 while the pool's jobs run on a libgomp team, see
    :func:`route_openmp_threads`) and ``openmp_jobs`` (jobs that ran on that
    team).
    """
    stats = {str(k): int(v) for k, v in _native.pool_stats().items()}
    stats["blas_routed"] = int(_native.blas_threads_routed())
    stats["openmp_routed"] = int(bool(_native.openmp_threads_routed()))
    return stats


def reset_thread_high_water() -> None:
    """Start ``thread_pool_stats()["most_threads_at_once"]`` again from the threads running now."""
    _native.reset_most_threads_at_once()


#: The environment variable that routes OpenBLAS's work to the pool at import when "pool".
BLAS_THREADS_ENV = "PYFASTNN_BLAS_THREADS"


def route_blas_threads(enabled: bool = True) -> list[str]:
    """Run the threaded work of the loaded OpenBLAS libraries on pyfastnn's thread pool.

    Off by default; ``PYFASTNN_BLAS_THREADS=pool`` in the environment turns it
    on at import. OpenBLAS, the BLAS of NumPy's and SciPy's wheels, keeps a
    worker spinning for about 0.1 s after each threaded call; with both
    libraries' work on one pool, each keeps its speed beside the other
    (1.0-1.1x beside NumPy's 256x256 matmul on 2 cores, against 1.06-1.2x on
    OpenBLAS's own threads; docs/BENCHMARKS_SHARED.md). The cost: OpenBLAS's
    parts of a call wait for one another and must all run at once, and while
    another process holds a core a pool worker woken for them can wait for the
    scheduler's tick (NumPy's 784-256-26 step at batch 64: up to 4.0 ms routed
    against 0.5-0.6 ms), which is why it is not the default.
    ``thread_pool_stats()["blas_late_teams"]`` counts such calls.

    OpenBLAS's results, its thread count and threadpoolctl's limits on it do
    not change; only which threads run its parts (one OpenBLAS call at a time
    runs on the pool: calls from several Python threads take turns). Needs
    OpenBLAS 0.3.27 or later (older ones lack the hook and stay as they are).
    While routing is on, a library loaded later (SciPy's OpenBLAS, imported
    after pyfastnn) is routed by the first native call made at least 0.1 s
    after the previous look. It may be called at any time: OpenBLAS reads the
    hook once as each threaded call starts, and a call finishes on the threads
    it started on.

    Returns the paths of the libraries changed ([] when none was found).
    ``enabled=False`` gives them back their own threads.
    """
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"enabled: expected a bool, got {type(enabled).__name__}")
    return [str(p) for p in _native.route_blas_threads(bool(enabled))]


def _env_setting(name: str, on: str, default: str = "own") -> bool:
    """Whether the environment variable ``name`` (unset or empty: ``default``)
    says ``on`` ("own": no; anything else: a warning, and ``default``)."""
    setting = os.environ.get(name, "").strip().lower() or default
    if setting not in (on, "own"):
        warnings.warn(
            f"{name}={setting!r} is not {on!r} or 'own': using {default!r}",
            RuntimeWarning,
            stacklevel=4,
        )
        setting = default
    return setting == on


def _route_blas_threads_at_import() -> None:
    """Route OpenBLAS's work to the pool when PYFASTNN_BLAS_THREADS says "pool"."""
    if _env_setting(BLAS_THREADS_ENV, "pool"):
        route_blas_threads(True)


#: The environment variable that routes the pool's jobs to a loaded libgomp at import when "team".
OPENMP_THREADS_ENV = "PYFASTNN_OPENMP_THREADS"


def route_openmp_threads(enabled: bool = True, library: str | None = None) -> list[str]:
    """Run pyfastnn's parallel work on the team of a libgomp loaded in the process.

    Off by default; ``PYFASTNN_OPENMP_THREADS=team`` in the environment turns
    it on at import (only a libgomp loaded by then counts: import PyTorch
    first, or call this after importing it). PyTorch's wheel brings its own
    libgomp, whose threads spin for a while after each of PyTorch's parallel
    regions; on a machine with few cores pyfastnn's pool then waits for a core
    that a spinning OpenMP thread holds, and PyTorch's next region waits for
    the core that pyfastnn's pool worker holds. Routed, pyfastnn hands each
    parallel job to that libgomp (``GOMP_parallel``, the calling thread being
    the team's thread 0) and its threads take the job's fixed pieces one at a
    time, as pyfastnn's own workers do: one set of threads serves both
    libraries and pyfastnn's workers stay asleep (784-256-26 ``loss_and_grad``
    at batch 64 alternating with PyTorch's 256 x 256 matmul on 2 cores: 1.06x
    its time alone, against 1.9x on pyfastnn's pool; no slower alone; figures
    in docs/ARCHITECTURE.md). After a routed job waited for an OpenMP thread
    that the machine did not run (another process on the cores), jobs go back
    to pyfastnn's pool for a while.

    Results are the same bits as without routing (the pieces are the same).
    The thread count stays pyfastnn's (:func:`set_num_threads`,
    ``OMP_NUM_THREADS``, threadpoolctl). Only the Python thread that holds
    pyfastnn's pool is routed (libgomp keeps a team per calling thread): calls
    from other Python threads at the same time run as without routing, on the
    calling thread. A child made by ``fork()`` never uses the parent's team.
    Jobs whose parts must all run at once (OpenBLAS's, with
    :func:`route_blas_threads`) go to the team too when libgomp will give every
    part a thread, else to pyfastnn's pool.

    ``library`` picks the libgomp whose path contains that text; by default
    PyTorch's if it is loaded, else the first libgomp loaded. Returns the path
    routed (``[]`` when no libgomp is loaded, or with ``enabled=False``, which
    gives the work back to pyfastnn's pool). Call it while no native call runs.
    """
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"enabled: expected a bool, got {type(enabled).__name__}")
    if library is not None and not isinstance(library, str):
        raise TypeError(f"library: expected a string or None, got {type(library).__name__}")
    if not enabled:
        _native.route_openmp_threads("")
        return []
    found = [str(p) for p in _native.openmp_libraries()]
    if library is not None:
        found = [p for p in found if library in p]
    else:
        found.sort(key=lambda p: f"{os.sep}torch{os.sep}" not in p)  # PyTorch's first
    for path in found:
        if _native.route_openmp_threads(path):
            return [path]
    _native.route_openmp_threads("")
    return []


def _route_openmp_threads_at_import() -> None:
    """Route the pool's jobs to a loaded libgomp when PYFASTNN_OPENMP_THREADS says "team"."""
    if _env_setting(OPENMP_THREADS_ENV, "team") and not route_openmp_threads(True):
        warnings.warn(
            f"{OPENMP_THREADS_ENV}=team: no libgomp is loaded yet (import torch before "
            "pyfastnn, or call pyfastnn.route_openmp_threads() after importing it)",
            RuntimeWarning,
            stacklevel=3,
        )


def set_adaptive_threads(enabled: bool) -> None:
    """Let native training epochs run a step on fewer threads when that is faster.

    On (the default), ``fit`` with the native backend times every minibatch
    step and runs the next ones on the thread count that measured fastest
    recently: ``get_num_threads()`` or a half of it, down to 1, probing the
    others now and then. This matters on virtual machines whose vCPUs are
    sometimes placed far apart, where a step of a small network can run slower
    on two threads than on one. The weights and losses are the same on any
    thread count, so this changes only speed. Off, every step uses
    ``get_num_threads()`` threads. Process-wide.
    """
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"enabled: expected a bool, got {type(enabled).__name__}")
    _native.set_adaptive_threads(bool(enabled))


def get_adaptive_threads() -> bool:
    """Whether native training epochs choose their thread count by measurement."""
    return bool(_native.adaptive_threads())


def kernel_info() -> dict[str, object]:
    """Which kernels are active and what the CPU could run.

    ``isa`` is the instruction set chosen: ``"avx512"``, ``"avx2"`` or
    ``"portable"``. The default is the best the CPU supports; the environment
    variable ``PYFASTNN_KERNEL`` (``auto`` or one of those names, read at
    import) or :func:`set_kernel` chooses another. ``kernels`` maps each dtype
    (``"float32"``, ``"float64"``) to the kernel families (``gemm``,
    ``simplex_maps``, ``simplex_products``, ``softmax_exp``, ``optimizer``,
    ``activation``) and the ISA of the kernels each uses now: the ISA chosen, or a lower one where
    the family has no kernels of its own (``softmax_exp`` is ``std::exp`` but
    for float32 under avx512).
    """
    return {
        "isa": _native.active_isa(),
        "kernels": _native.active_kernels(),
        "cpu_supports_avx2_fma": bool(_native.cpu_supports_avx2_fma()),
        "cpu_supports_avx512": bool(_native.cpu_supports_avx512()),
        "num_threads": get_num_threads(),
    }


def set_kernel(isa: str) -> None:
    """Choose the kernels of every family: ``"avx512"``, ``"avx2"``, ``"portable"`` or ``"auto"``.

    ``"auto"`` is the best the CPU supports. ``"avx2_fma"``, the former name of
    ``"avx2"``, still works and warns (``DeprecationWarning``). Raises
    ``ValueError`` for an unknown name or one this CPU cannot run. Process-wide.
    """
    if not isinstance(isa, str):
        raise TypeError(f"isa: expected a string, got {type(isa).__name__}")
    if isa == "avx2_fma":
        warnings.warn(
            "set_kernel('avx2_fma') is deprecated: use set_kernel('avx2')",
            DeprecationWarning,
            stacklevel=2,
        )
        isa = "avx2"
    _native.set_active_isa(isa)


def _warn_about_the_environment() -> None:
    """Warn when PYFASTNN_KERNEL was not usable (the automatic choice runs) or deprecated."""
    deprecated, problem = _native.kernel_environment_problem()
    if problem:
        warnings.warn(problem, DeprecationWarning if deprecated else RuntimeWarning, stacklevel=3)


_warn_about_the_environment()
_route_blas_threads_at_import()
_route_openmp_threads_at_import()
