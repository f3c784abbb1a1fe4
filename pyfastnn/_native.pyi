# Type stub of the C++ extension pyfastnn._native (csrc/bindings/).
# Arrays are C-contiguous float32/float64 (the Network's dtype: Network32 float32,
# Network64 float64) unless said otherwise; labels are int64. Every function checks
# dtypes, shapes and layout and raises TypeError/ValueError naming the argument.

from collections.abc import Sequence
from typing import Final

import numpy as np

Array = np.ndarray

# codes of the C++ enums (csrc/nn/activations.hpp, csrc/nn/losses.hpp,
# csrc/simplex/simplex.hpp), by name
ACTIVATIONS: Final[dict[str, int]]
OUTPUTS: Final[dict[str, int]]
LOSSES: Final[dict[str, int]]
SPARSE_MAPS: Final[dict[str, int]]
SPARSEMAX_LOSS: Final[int]  # simplex_loss's code of the sparsemax loss
MAX_PARAMS: Final[int]  # parameters a Network may have
MAX_THREADS: Final[int]

class EpochSpec:
    """One epoch of minibatch training (csrc/nn/network.hpp EpochSpec)."""

    def __init__(
        self,
        batch_size: int,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
        seed: int = 0,
        epoch: int = 0,
        steps_before: int = 0,
        clip_norm: float | None = None,
    ) -> None: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def l1(self) -> float: ...
    @property
    def l2(self) -> float: ...
    @property
    def dropout(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def steps_before(self) -> int: ...
    @property
    def clip_norm(self) -> float | None: ...

class OptimizerSpec:
    """Kind "sgd" (lr, momentum, nesterov), "adam" (lr, beta1, beta2, eps), "adamw" (as
    adam, weight_decay) or "rmsprop" (lr, alpha, eps, momentum) (csrc/nn/optim.hpp)."""

    def __init__(
        self,
        kind: str,
        lr: float,
        momentum: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        alpha: float = 0.99,
    ) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def lr(self) -> float: ...
    @property
    def momentum(self) -> float: ...
    @property
    def beta1(self) -> float: ...
    @property
    def beta2(self) -> float: ...
    @property
    def eps(self) -> float: ...
    @property
    def nesterov(self) -> bool: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def alpha(self) -> float: ...

class _Network:
    def __init__(
        self,
        sizes: list[int],
        activation: int,
        activation_param: float,
        output: int,
        loss: int = 0,
        relumax_b: float = 1.0,
        eps: float = 1e-3,
        alpha: float = 1.5,
    ) -> None: ...
    @property
    def num_params(self) -> int: ...
    def forward(self, params: Array, X: Array, out: Array) -> bool:
        """out (n, K) = outputs at X (n, D); False when a pre-activation was not finite."""
    def loss_and_grad(
        self,
        params: Array,
        X: Array,
        y: Array,
        l1: float,
        l2: float,
        dparams: Array | None,
        dX: Array | None,
        dropout: float = 0.0,
        seed: int = 0,
        epoch: int = 0,
        step: int = 0,
        sample_weight: Array | None = None,
    ) -> float:
        """Mean loss (weighted by sample_weight (n,) when given) + penalty of X (n, D),
        y (n,) labels or (n, K) targets; fills dparams (num_params,) and dX (n, D)
        when given; NaN when not finite."""
    def train_epoch(
        self,
        params: Array,
        grad: Array,
        X: Array,
        y: Array,
        order: Array | None,
        epoch: EpochSpec,
        optimizer: OptimizerSpec,
        state: dict[str, Array],
        sample_weight: Array | None = None,
    ) -> tuple[float, int, int]:
        """One epoch; state: velocity (SGD with momentum) or m, v (Adam), (num_params,)
        each. Returns (loss sum, minibatches done, failed minibatch or -1)."""
    def reference_step(
        self,
        params: Array,
        grad: Array,
        X: Array,
        y: Array,
        l1: float,
        l2: float,
        dropout: float,
        seed: int,
        epoch: int,
        step: int,
        t: int,
        optimizer: OptimizerSpec,
        state: dict[str, Array],
        sample_weight: Array | None = None,
        clip_norm: float | None = None,
    ) -> float:
        """The unfused reference of one train_epoch step on the minibatch X (n, D):
        loss_and_grad into grad, clipped to the global norm clip_norm (None: not
        clipped), then optimiser step t of all params. Returns the loss (NaN: no step)."""

class Network32(_Network): ...
class Network64(_Network): ...

class ThreadGovernor:
    def __init__(self) -> None: ...
    def configure(self, max_threads: int, key: int) -> None: ...
    def choose(self) -> int: ...
    def record(self, threads: int, seconds: float) -> None: ...
    @property
    def best(self) -> int: ...

class GovernorBlocks:
    STEPS_PER_SAMPLE: int
    def __init__(self) -> None: ...
    def choose(self, governor: ThreadGovernor) -> int: ...
    def record(self, governor: ThreadGovernor, seconds: float, counted: bool = True) -> None: ...

def matmul(
    a: Array, b: Array, trans_a: bool, trans_b: bool, out: Array, accumulate: bool = False
) -> None:
    """out (M, N) = op(a) @ op(b) (+ out if accumulate)."""

def all_finite(x: Array) -> bool: ...
def num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def adaptive_threads() -> bool: ...
def set_adaptive_threads(enabled: bool) -> None: ...
def pool_stats() -> dict[str, int]:
    """jobs, jobs_with_team, contended_jobs, openmp_jobs, backoff_ns, workers, cpus,
    most_threads_at_once, calls_in_flight."""

def reset_contention() -> None: ...
def output_array(shape: Sequence[int], dtype: np.dtype) -> Array:
    """Uninitialised C-contiguous; from 256 KiB its memory is kept when freed."""

def release_output_buffers() -> None: ...
def output_buffer_stats() -> dict[str, int]:
    """kept, kept_bytes, reused, allocated; min_bytes, max_kept, max_kept_bytes."""

def reset_most_threads_at_once() -> None: ...
def team_selftest(members: int, timeout_ns: int) -> int:
    """One team of `members` waiting for one another: how many saw all arrive."""

def route_blas_threads(on: bool) -> list[str]:
    """Route the loaded OpenBLAS libraries' threads to the pool (or back): their paths."""

def blas_threads_routed() -> bool: ...
def move_off_callers_cpu_selftest() -> tuple[bool, int, int, bool]: ...
def blas_routed_libraries() -> list[str]: ...
def openmp_libraries() -> list[str]:
    """Paths of the loaded libraries that define GOMP_parallel themselves, in load order."""

def route_openmp_threads(path: str) -> bool:
    """Run the pool's jobs on the team of the libgomp at path ("" : back to the pool)."""

def openmp_threads_routed() -> str:
    """The routed libgomp's path, "" when none."""

def pool_selftest(
    pieces: int, threads: int, spin_ns: int = 0, fail_piece: int = -1
) -> tuple[list[int], int]:
    """One parallel job of `pieces` pieces: (runs per piece, pieces run off the caller)."""

class ContentionGate:
    MIN_WAIT_NS: int
    SLOW_PIECE: float
    RECENT: int
    CONTENDED_OF_RECENT: int
    FIRST_BACKOFF_NS: int
    MAX_BACKOFF_NS: int
    POLITE_NS: int
    def __init__(self) -> None: ...
    def record_caller(self, now_ns: int, wall_ns: int, cpu_ns: int) -> None: ...
    def caller_displaced_recently(self, now_ns: int) -> bool: ...
    @property
    def displaced_jobs(self) -> int: ...
    def allow_team(self, now_ns: int) -> bool: ...
    def record(
        self, now_ns: int, wait_ns: int, own_piece_ns: int, worker_piece_ns: int
    ) -> None: ...
    @property
    def backoff_ns(self) -> int: ...
    @property
    def contended_jobs(self) -> int: ...

class SpinBudget:
    MIN_NS: int
    MAX_NS: int
    RECENT: int
    COVER: int
    def __init__(self) -> None: ...
    def record(self, gap_ns: int) -> None: ...
    @property
    def limit_ns(self) -> int: ...

def cpu_supports_avx2_fma() -> bool: ...
def cpu_supports_avx512() -> bool: ...
def active_isa() -> str: ...
def set_active_isa(name: str) -> None: ...
def active_kernels() -> dict[str, dict[str, str]]:
    """{dtype: {kernel family: ISA of its active kernels}}."""

def kernel_environment_problem() -> tuple[bool, str]:
    """(deprecated name, message) about PYFASTNN_KERNEL at load; message "" if none."""

# sparse maps, row by row on Z (n, K); inv_temperature = 1 / T
def softmax_forward(Z: Array, out: Array, inv_temperature: float = 1.0) -> None: ...
def sparsemax_forward(Z: Array, out: Array, inv_temperature: float = 1.0) -> None: ...
def relumax_forward(Z: Array, out: Array, b: float, inv_temperature: float = 1.0) -> None: ...
def sparsemax_threshold(Z: Array, tau: Array, inv_temperature: float = 1.0) -> None:
    """tau (n,): sparsemax(Z / T) = max(Z / T - tau[:, None], 0)."""

# Jacobian products from P = map(Z / T) (n, K): out = J V (jvp) or J^T G (vjp)
def softmax_jvp_from_output(
    P: Array, V: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def softmax_vjp_from_output(
    P: Array, G: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def sparsemax_jvp_from_output(
    P: Array, V: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def sparsemax_vjp_from_output(
    P: Array, G: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def relumax_jvp_from_output(
    P: Array, V: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def relumax_vjp_from_output(
    P: Array, G: Array, out: Array, b: float = 1.0, inv_temperature: float = 1.0
) -> None: ...
def simplex_loss(
    mapping: int,
    Z: Array,
    y: Array,
    b: float,
    eps: float,
    loss_rows: Array,
    dZ: Array | None,
    scale: float,
    inv_temperature: float = 1.0,
) -> float:
    """Sum of the per-row losses; mapping SPARSEMAX_LOSS or a SPARSE_MAPS code
    (eps-smoothed cross-entropy). Fills loss_rows (n,) and dZ (n, K) when given."""

# entmax15 / alpha-entmax (alpha > 1, else ValueError naming alpha)
def entmax15_forward(Z: Array, out: Array, inv_temperature: float = 1.0) -> None: ...
def entmax_bisect_forward(
    Z: Array, out: Array, alpha: float, inv_temperature: float = 1.0
) -> None: ...
def softmax_exp(
    z: Array, out: Array, m: float = 0.0, scale: float = 1.0, minus_max: bool = False
) -> float | tuple[float, float]:
    """out = exp((z - m) * scale) by the active softmax exp kernel (1-D); returns the
    sum, or (sum, max z) with minus_max (float32; m = max z, scale 1). For tests."""

def entmax_bisect_product_from_input(
    Z: Array, V: Array, out: Array, alpha: float, inv_temperature: float = 1.0
) -> None:
    """out = J V / T = J^T V / T at P = alpha-entmax(Z / T), P never stored where a fused
    kernel serves; out overlaps neither Z nor V."""

def entmax_product_from_output(
    P: Array, V: Array, out: Array, alpha: float, inv_temperature: float = 1.0
) -> None:
    """out = J V / T = J^T V / T, J = diag(s) - s s^T / sum s, s = P^(2 - alpha)."""

def entmax15_loss(
    Z: Array,
    y: Array,
    loss_rows: Array,
    dZ: Array | None,
    scale: float,
    inv_temperature: float = 1.0,
) -> float:
    """Sum of the per-row entmax15 Fenchel-Young losses; fills loss_rows and dZ."""

def entmax_bisect_loss(
    Z: Array,
    y: Array,
    alpha: float,
    loss_rows: Array,
    dZ: Array | None,
    scale: float,
    inv_temperature: float = 1.0,
) -> float:
    """Sum of the per-row alpha-entmax Fenchel-Young losses; fills loss_rows and dZ."""
