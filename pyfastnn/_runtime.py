"""Thread count and kernel selection of the native module."""

from __future__ import annotations

from . import _native
from ._checks import check_positive_int


def set_num_threads(n: int) -> None:
    """Use ``n`` OpenMP threads in every native call from now on (process-wide).

    The initial value comes from ``OMP_NUM_THREADS`` or the number of CPUs.
    """
    n = check_positive_int(n, "n")
    if n > _native.MAX_THREADS:
        raise ValueError(f"n: expected at most {_native.MAX_THREADS} threads, got {n}")
    _native.set_num_threads(n)


def get_num_threads() -> int:
    """Number of threads native calls use."""
    return int(_native.num_threads())


def kernel_info() -> dict[str, object]:
    """Which micro-kernels are active and what the CPU could run.

    ``isa`` is ``"avx512"``, ``"avx2_fma"`` or ``"portable"``. The default is
    the best the CPU supports; the environment variable ``PYFASTNN_KERNEL``
    (``auto``, ``avx512``, ``avx2`` or ``portable``, read at import) selects one.
    """
    return {
        "isa": _native.active_isa(),
        "cpu_supports_avx2_fma": bool(_native.cpu_supports_avx2_fma()),
        "cpu_supports_avx512": bool(_native.cpu_supports_avx512()),
        "num_threads": get_num_threads(),
    }


def set_kernel(isa: str) -> None:
    """Select the micro-kernels: ``"avx512"``, ``"avx2_fma"`` or ``"portable"``.

    Raises ``ValueError`` for an unknown name or one this CPU cannot run.
    """
    if not isinstance(isa, str):
        raise TypeError(f"isa: expected a string, got {type(isa).__name__}")
    _native.set_active_isa(isa)
