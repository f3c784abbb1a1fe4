"""The inputs of each workload, and what a workload costs (FLOPs or bytes).

A *task* names what is computed: ``"matmul"``; ``"forward"``,
``"loss_and_grad"``, ``"epoch"``, ``"predict"`` (MLP); ``"<map>_<op>"`` with
map in softmax / sparsemax / relumax / entmax15 / entmax_bisect and op in
forward / jvp / vjp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAPS = ("sparsemax", "relumax", "softmax", "entmax15", "entmax_bisect")
MAP_OPS = ("forward", "jvp", "vjp")
MLP_TASKS = ("forward", "loss_and_grad", "epoch", "predict")
RELUMAX_B = 1.0
ENTMAX_ALPHA = 1.3  # entmax_bisect's alpha: not 1.5 or 2, which have no pow


@dataclass
class MatmulProblem:
    """C = A @ B with A (M, K) and B (K, N)."""

    A: np.ndarray
    B: np.ndarray

    @property
    def flops(self) -> float:
        m, k = self.A.shape
        return 2.0 * m * k * self.B.shape[1]


@dataclass
class MLPProblem:
    """A ReLU/softmax network, its inputs and (for "epoch") the SGD settings.

    ``params`` are the initial parameters in pyfastnn's flat layout (W_0, b_0,
    W_1, ...); every contender starts from them.
    """

    sizes: tuple[int, ...]
    X: np.ndarray
    y: np.ndarray
    params: np.ndarray
    batch_size: int = 64
    lr: float = 0.01
    model: str = "MLP"  # or the name of another pyfastnn model class (same fit/predict API)

    @property
    def dtype(self) -> np.dtype:
        return self.X.dtype

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W (in, out), b (out,)) per layer, views into ``params``."""
        layers, offset = [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            W = self.params[offset : offset + n_in * n_out].reshape(n_in, n_out)
            offset += n_in * n_out
            layers.append((W, self.params[offset : offset + n_out]))
            offset += n_out
        return layers

    def forward_flops(self, rows: int | None = None) -> float:
        n = self.X.shape[0] if rows is None else rows
        return 2.0 * n * sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def flops(self, task: str) -> float:
        """Matrix-product FLOPs: forward 2N·Σ in·out; a gradient adds dW for every
        layer and dH for all but the first; an epoch = gradients over all rows
        plus the accuracy pass ``fit`` reports."""
        fwd = self.forward_flops()
        if task in ("forward", "predict"):
            return fwd
        first = 2.0 * self.X.shape[0] * self.sizes[0] * self.sizes[1]
        grad = 3 * fwd - first
        return grad + fwd if task == "epoch" else grad


@dataclass
class MapProblem:
    """A sparse map (or softmax) applied row by row to Z (N, K); V is the JVP
    direction or the VJP cotangent."""

    name: str
    op: str
    Z: np.ndarray
    V: np.ndarray
    b: float = RELUMAX_B
    alpha: float = ENTMAX_ALPHA
    floor_input: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # the bytes the op reads: Z, plus V for the products
        self.floor_input = self.Z if self.op == "forward" else np.concatenate([self.Z, self.V])

    @property
    def task(self) -> str:
        return f"{self.name}_{self.op}"


def make_matmul(m: int, k: int, n: int, dtype: str, seed: int = 0) -> MatmulProblem:
    rng = np.random.default_rng(seed)
    return MatmulProblem(
        rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    )


def make_mlp(
    sizes: tuple[int, ...], rows: int, dtype: str, batch_size: int = 64, seed: int = 0
) -> MLPProblem:
    """Inputs uniform in [0, 1), labels uniform, Glorot-uniform initial weights."""
    from ..mlp import MLP

    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(rows, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=rows)
    params = MLP(sizes, dtype=dtype, seed=seed).params.copy()
    return MLPProblem(tuple(sizes), X, y, params, batch_size=batch_size)


def make_training_set(sizes: tuple[int, ...], rows: int, dtype: str, seed: int = 0) -> MLPProblem:
    """As ``make_mlp``, but X is drawn in ``dtype`` directly: no float64 copy of a
    large X ever exists (the train suite's peak-memory figure counts it)."""
    from ..mlp import MLP

    rng = np.random.default_rng(seed)
    X = rng.random((rows, sizes[0]), dtype=np.dtype(dtype).type)
    y = rng.integers(0, sizes[-1], size=rows)
    params = MLP(sizes, dtype=dtype, seed=seed).params.copy()
    return MLPProblem(tuple(sizes), X, y, params)


def make_map(name: str, op: str, n: int, k: int, dtype: str, seed: int = 0) -> MapProblem:
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, k)).astype(dtype)
    V = rng.standard_normal((n, k)).astype(dtype)
    return MapProblem(name, op, Z, V)
