"""pyfastnn's own contenders (loop, vector, native) and the copy floor.

A :class:`Contender` bundles the call that is timed with the value that the
correctness check compares against the vector backend's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

import pyfastnn

from .. import simplex
from ..linalg import matmul
from ..mlp import MLP
from .problems import MapProblem, MatmulProblem, MLPProblem

BACKENDS = ("loop", "vector", "native")
FLOOR = "copy floor"
Problem = Union[MatmulProblem, MLPProblem, MapProblem]

# thread pool each of our backends runs on (see timing.Timed.pool)
_POOLS = {"loop": "blas", "vector": "blas", "native": "native"}


@dataclass
class Contender:
    """``run`` is timed; ``result()`` returns the array checked against the
    vector backend (None for references such as the copy floor)."""

    name: str
    run: Callable[[], object]
    result: Callable[[], np.ndarray] | None
    pool: str


def own(task: str, backend: str, problem: Problem) -> Contender:
    """The contender for ``task`` in one of our backends."""
    pool = _POOLS[backend]
    if isinstance(problem, MatmulProblem):
        return _matmul(backend, problem, pool)
    if isinstance(problem, MLPProblem):
        return _MLP_TASKS[task](backend, problem, pool)
    return _map(backend, problem, pool)


def copy_floor(problem: MapProblem) -> Contender:
    """np.copyto of the bytes the op reads: one read and one write of them."""
    src = problem.floor_input
    dst = np.empty_like(src)
    return Contender(FLOOR, lambda: np.copyto(dst, src), None, "none")


def _matmul(backend: str, p: MatmulProblem, pool: str) -> Contender:
    out = np.empty((p.A.shape[0], p.B.shape[1]), p.A.dtype)

    def run() -> np.ndarray:
        return matmul(p.A, p.B, out=out, backend=backend)

    return Contender(backend, run, lambda: run().copy(), pool)


def model_for(p: MLPProblem, backend: str) -> Any:
    """A ReLU/softmax MLP with the problem's initial parameters, or the model
    class ``p.model`` names (e.g. Perceptron: (n_features, n_classes) only)."""
    if p.model != "MLP":
        cls = getattr(pyfastnn, p.model)
        return cls(p.sizes[0], p.sizes[-1], dtype=p.dtype.name, backend=backend, seed=0)
    model = MLP(p.sizes, "relu", "softmax", dtype=p.dtype, backend=backend)
    model.params = p.params
    return model


def model_state(model: Any, X: np.ndarray) -> np.ndarray:
    """What is compared after training: the parameters if the model exposes
    them, else its probabilities (or labels) on X."""
    if hasattr(model, "params"):
        return np.array(model.params, copy=True)
    return model_outputs(model, X)


def model_outputs(model: Any, X: np.ndarray) -> np.ndarray:
    """Probabilities on X if the model gives them, else its labels as floats."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    return np.asarray(model.predict(X), dtype=np.float64)


def _forward(backend: str, p: MLPProblem, pool: str) -> Contender:
    model = model_for(p, backend)
    return Contender(backend, lambda: model.forward(p.X), lambda: model.forward(p.X), pool)


def _loss_and_grad(backend: str, p: MLPProblem, pool: str) -> Contender:
    model = model_for(p, backend)
    grad = np.empty_like(model.params)

    def run() -> np.ndarray:
        model.loss_and_grad(p.X, p.y, out=grad)
        return grad

    return Contender(backend, run, lambda: run().copy(), pool)


def _epoch(backend: str, p: MLPProblem, pool: str) -> Contender:
    model = model_for(p, backend)
    options = epoch_options(p)

    def result() -> np.ndarray:
        fresh = model_for(p, backend)
        fresh.fit(p.X, p.y, **options)
        return model_state(fresh, p.X)

    return Contender(backend, lambda: model.fit(p.X, p.y, **options), result, pool)


def epoch_options(p: MLPProblem) -> dict[str, Any]:
    """One epoch of plain SGD over the rows in order (peers can follow the same order)."""
    if p.model != "MLP":
        return {"epochs": 1, "batch_size": p.batch_size}
    return {"epochs": 1, "batch_size": p.batch_size, "lr": p.lr, "shuffle": False}


def _predict(backend: str, p: MLPProblem, pool: str) -> Contender:
    model = model_for(p, backend)
    return Contender(backend, lambda: model.predict(p.X), lambda: model_outputs(model, p.X), pool)


_MLP_TASKS: dict[str, Callable[[str, MLPProblem, str], Contender]] = {
    "forward": _forward,
    "loss_and_grad": _loss_and_grad,
    "epoch": _epoch,
    "predict": _predict,
}


def _map(backend: str, p: MapProblem, pool: str) -> Contender:
    out = np.empty_like(p.Z)
    name = p.name if p.op == "forward" else f"{p.name}_{p.op}"
    fn = getattr(simplex, name)
    args: tuple[np.ndarray, ...] = (p.Z,) if p.op == "forward" else (p.Z, p.V)
    if p.name == "relumax":
        args = (*args, p.b)  # type: ignore[assignment]
    elif p.name == "entmax_bisect":
        args = (*args, p.alpha)  # type: ignore[assignment]

    def run() -> np.ndarray:
        return fn(*args, out=out, backend=backend)

    return Contender(backend, run, lambda: run().copy(), pool)
