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
from .model_io import load, save
from .optim import SGD, Adam
from .simplex import (
    relumax,
    relumax_jacobian,
    relumax_jvp,
    relumax_jvp_from_output,
    relumax_vjp,
    relumax_vjp_from_output,
    smoothed_cross_entropy,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_jvp_from_output,
    softmax_vjp,
    softmax_vjp_from_output,
    sparsemax,
    sparsemax_jacobian,
    sparsemax_jvp,
    sparsemax_jvp_from_output,
    sparsemax_loss,
    sparsemax_threshold,
    sparsemax_vjp,
    sparsemax_vjp_from_output,
)
from .training import History, fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "History",
    "fit",
    "load",
    "save",
    "Gradients",
    "GradcheckResult",
    "__version__",
    "get_num_threads",
    "gradcheck",
    "kernel_info",
    "matmul",
    "relumax",
    "relumax_jacobian",
    "relumax_jvp",
    "relumax_jvp_from_output",
    "relumax_vjp",
    "relumax_vjp_from_output",
    "smoothed_cross_entropy",
    "softmax",
    "softmax_jacobian",
    "softmax_jvp",
    "softmax_jvp_from_output",
    "softmax_vjp",
    "softmax_vjp_from_output",
    "sparsemax",
    "sparsemax_jacobian",
    "sparsemax_jvp",
    "sparsemax_jvp_from_output",
    "sparsemax_loss",
    "sparsemax_threshold",
    "sparsemax_vjp",
    "sparsemax_vjp_from_output",
    "set_kernel",
    "set_num_threads",
]
