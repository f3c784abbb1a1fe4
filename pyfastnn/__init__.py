"""pyfastnn: small neural classifiers and sparse probability maps on the CPU.

Every operation exists in three backends behind one API: ``"loop"`` (per-sample
Python, the readable reference), ``"vector"`` (batched NumPy) and ``"native"``
(this package's C++ kernels, the default).
"""

__version__ = "0.1.0"

from . import metrics
from . import simplex as _simplex
from ._memory import release_result_memory
from ._runtime import (
    get_adaptive_threads,
    get_num_threads,
    kernel_info,
    reset_thread_high_water,
    route_blas_threads,
    route_openmp_threads,
    set_adaptive_threads,
    set_kernel,
    set_num_threads,
    thread_pool_stats,
)
from ._threadpoolctl import register_with_threadpoolctl as _register_with_threadpoolctl
from .gradcheck import GradcheckResult, gradcheck
from .linalg import matmul
from .linear import LogisticRegression, Perceptron
from .mlp import MLP, Gradients
from .model_io import load, save
from .optim import SGD, Adam, AdamW, RMSprop
from .simplex import *  # noqa: F403  (names listed in simplex.__all__)
from .training import History, fit

__all__ = [
    "MLP",
    "LogisticRegression",
    "Perceptron",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "History",
    "fit",
    "load",
    "save",
    "Gradients",
    "GradcheckResult",
    "__version__",
    "get_adaptive_threads",
    "get_num_threads",
    "gradcheck",
    "kernel_info",
    "matmul",
    "metrics",
    "release_result_memory",
    "reset_thread_high_water",
    "route_blas_threads",
    "route_openmp_threads",
    "set_adaptive_threads",
    "set_kernel",
    "set_num_threads",
    "thread_pool_stats",
    *_simplex.__all__,
]

_register_with_threadpoolctl()
