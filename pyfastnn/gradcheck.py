"""Finite-difference check of a network's analytic gradients."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_positive_int, check_real, check_seed
from .mlp import MLP


@dataclass
class GradcheckResult:
    """Relative errors between analytic and central-difference gradients.

    ``errors`` maps "weights[l]", "biases[l]" and "X" to
    ``max|analytic - numeric| / max(max|analytic|, max|numeric|, 1e-12)`` over
    the checked entries of that array. ``passed`` is every error <= ``tol``.
    """

    errors: dict[str, float] = field(default_factory=dict)
    tol: float = 1e-6

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0

    @property
    def passed(self) -> bool:
        return self.max_error <= self.tol

    def __bool__(self) -> bool:
        return self.passed


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(analytic))), float(np.max(np.abs(numeric))), 1e-12)
    return float(np.max(np.abs(analytic - numeric))) / scale


def gradcheck(
    model: MLP,
    X: ArrayLike,
    y: ArrayLike,
    l1: float = 0.0,
    l2: float = 0.0,
    eps: float = 1e-6,
    tol: float = 1e-6,
    max_entries: int | None = 200,
    seed: int = 0,
) -> GradcheckResult:
    """Compare ``loss_and_grad`` and ``input_grad`` with central differences.

    ``model`` must be float64 (float32 rounding swamps a difference quotient).
    Each parameter array and X is checked at up to ``max_entries`` entries
    chosen at random with ``seed`` (``None``: every entry). Each entry costs two
    loss evaluations. Keep points away from kinks (relu at 0, |W| at 0 with
    l1 > 0), where the derivative is one-sided. Returns a
    :class:`GradcheckResult`; truthy when every relative error is <= ``tol``.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model: expected a pyfastnn.MLP, got {type(model).__name__}")
    if model.dtype != np.float64:
        raise ValueError(f"model: gradcheck needs a float64 model, got {model.dtype}")
    eps = check_real(eps, "eps")
    if eps <= 0:
        raise ValueError(f"eps: expected a step > 0, got {eps}")
    tol = check_real(tol, "tol", minimum=0.0)
    if max_entries is not None:
        max_entries = check_positive_int(max_entries, "max_entries")
    X = model._input(X)
    rng = np.random.default_rng(check_seed(seed))
    _, grads = model.loss_and_grad(X, y, l1, l2)
    dX = model.input_grad(X, y)
    result = GradcheckResult(tol=tol)

    def check(
        name: str, values: np.ndarray, analytic: np.ndarray, inputs: np.ndarray, penalised: bool
    ) -> None:
        """Perturb ``values`` (a view the loss reads) entry by entry."""
        flat_values = values.reshape(-1)
        flat_analytic = analytic.reshape(-1)
        idx = np.arange(flat_values.size)
        if max_entries is not None and idx.size > max_entries:
            idx = rng.choice(idx, size=max_entries, replace=False)
        numeric = np.empty(idx.size)
        pen = (l1, l2) if penalised else (0.0, 0.0)
        for n, i in enumerate(idx):
            old = flat_values[i]
            flat_values[i] = old + eps
            up = model.loss(inputs, y, *pen)
            flat_values[i] = old - eps
            down = model.loss(inputs, y, *pen)
            flat_values[i] = old
            numeric[n] = (up - down) / (2 * eps)
        result.errors[name] = _relative_error(flat_analytic[idx], numeric)

    for i, W in enumerate(model._weights):
        check(f"weights[{i}]", W, grads.weights[i], X, True)
    for i, b in enumerate(model._biases):
        check(f"biases[{i}]", b, grads.biases[i], X, True)
    X_work = X.copy()  # perturbed in place; the caller's X is left alone
    check("X", X_work, dX, X_work, False)
    return result
