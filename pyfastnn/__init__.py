"""pyfastnn: small neural classifiers and sparse probability maps on the CPU.

Every operation exists in three backends behind one API: ``"loop"`` (per-sample
Python, the readable reference), ``"vector"`` (batched NumPy) and ``"native"``
(this package's C++ kernels, the default).
"""

__version__ = "0.1.0"

from ._runtime import get_num_threads, kernel_info, set_kernel, set_num_threads
from .gradcheck import GradcheckResult, gradcheck
from .linalg import matmul
from .mlp import MLP, Gradients

__all__ = [
    "MLP",
    "Gradients",
    "GradcheckResult",
    "__version__",
    "get_num_threads",
    "gradcheck",
    "kernel_info",
    "matmul",
    "set_kernel",
    "set_num_threads",
]
