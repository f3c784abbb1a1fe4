"""pyfastnn's thread pool as a threadpoolctl library.

threadpoolctl (used by scikit-learn, joblib and dask to keep nested
parallelism from oversubscribing the cores) finds thread pools among the
loaded shared libraries and sets their thread counts. Registering a controller
for ``pyfastnn._native`` makes ``threadpool_limits(1)`` and
``threadpool_info()`` cover pyfastnn as they cover OpenMP and BLAS. It is
listed with ``user_api="openmp"`` (the role it plays: compute threads of
native code, limited together with OpenMP runtimes by
``threadpool_limits(..., user_api="openmp")``) and ``internal_api="pyfastnn"``.
The library is found by its file name and the two C symbols that read and set
the count (csrc/bindings/bindings_runtime.cpp).
"""

from __future__ import annotations

import sys


def register_with_threadpoolctl() -> bool:
    """Register the controller if threadpoolctl (>= 3.2) is installed; whether it was.

    Called once, when ``pyfastnn`` is imported.
    """
    try:
        import threadpoolctl
    except ImportError:
        return False
    base = getattr(threadpoolctl, "LibController", None)
    register = getattr(threadpoolctl, "register", None)
    if base is None or register is None:  # threadpoolctl < 3.2: no custom controllers
        return False

    class PyfastnnController(base):  # type: ignore[misc, valid-type]
        user_api = "openmp"
        internal_api = "pyfastnn"
        filename_prefixes = ("_native",)
        check_symbols = ("pyfastnn_get_num_threads", "pyfastnn_set_num_threads")

        def get_num_threads(self) -> int:
            return int(self.dynlib.pyfastnn_get_num_threads())

        def set_num_threads(self, num_threads: int) -> None:
            self.dynlib.pyfastnn_set_num_threads(int(num_threads))

        def get_version(self) -> str | None:
            pyfastnn = sys.modules.get("pyfastnn")
            return getattr(pyfastnn, "__version__", None)

    register(PyfastnnController)
    return True
