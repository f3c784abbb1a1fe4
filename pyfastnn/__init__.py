"""pyfastnn: small neural classifiers and sparse probability maps on the CPU.

Every operation exists in three backends behind one API: ``"loop"`` (per-sample
Python, the readable reference), ``"vector"`` (batched NumPy) and ``"native"``
(this package's C++ kernels, the default).
"""

__version__ = "0.1.0"

from . import _native
from .linalg import matmul

__all__ = ["__version__", "matmul"]
