"""The ``native`` backend of the simplex maps: one call into C++ per operation.

The kernels (csrc/simplex/) split rows across OpenMP threads, release the
GIL, and find the sparsemax threshold without sorting (docs/SPARSE_MAPS.md).
Every function receives arrays already validated by :mod:`pyfastnn.simplex`
(C-contiguous float32/float64, ``out`` not overlapping the inputs) and writes
its result into ``out``.
"""

from __future__ import annotations

import numpy as np

from .. import _native

# Codes of csrc/simplex/simplex.hpp's SparseMap, and simplex_loss's code of the
# sparsemax loss, as the extension defines them.
MAP_CODES: dict[str, int] = _native.SPARSE_MAPS
_SPARSEMAX_LOSS: int = _native.SPARSEMAX_LOSS

_FORWARD = {
    "softmax": _native.softmax_forward,
    "sparsemax": _native.sparsemax_forward,
    "entmax15": _native.entmax15_forward,
}
_JVP = {name: getattr(_native, f"{name}_jvp_from_output") for name in MAP_CODES}
_VJP = {name: getattr(_native, f"{name}_vjp_from_output") for name in MAP_CODES}
_ENTMAX = ("entmax15", "entmax_bisect")  # b is alpha (1.5 for entmax15)


def forward(name: str, Z: np.ndarray, b: float, temperature: float, out: np.ndarray) -> None:
    if name == "relumax":
        _native.relumax_forward(Z, out, b, 1.0 / temperature)
    elif name == "entmax_bisect":
        _native.entmax_bisect_forward(Z, out, b, 1.0 / temperature)
    else:
        _FORWARD[name](Z, out, 1.0 / temperature)


def sparsemax_threshold(Z: np.ndarray, temperature: float, out: np.ndarray) -> None:
    _native.sparsemax_threshold(Z, out, 1.0 / temperature)


def jvp_from_output(
    name: str, P: np.ndarray, V: np.ndarray, b: float, temperature: float, out: np.ndarray
) -> None:
    if name in _ENTMAX:  # J is symmetric: one product
        _native.entmax_product_from_output(P, V, out, b, 1.0 / temperature)
    else:
        _JVP[name](P, V, out, b, 1.0 / temperature)


def vjp_from_output(
    name: str, P: np.ndarray, G: np.ndarray, b: float, temperature: float, out: np.ndarray
) -> None:
    if name in _ENTMAX:
        _native.entmax_product_from_output(P, G, out, b, 1.0 / temperature)
    else:
        _VJP[name](P, G, out, b, 1.0 / temperature)


# Maps whose product from the input is one native call (product_from_input below);
# for the others the dispatcher runs the map, then the product from its output.
FUSED_FROM_INPUT: frozenset[str] = frozenset({"entmax_bisect"})


def product_from_input(
    name: str, Z: np.ndarray, V: np.ndarray, b: float, temperature: float, out: np.ndarray
) -> None:
    """J V / T = J^T V / T at P = alpha-entmax(Z / T) (J is symmetric), fused with the
    map where a kernel serves (P never stored)."""
    _native.entmax_bisect_product_from_input(Z, V, out, b, 1.0 / temperature)


def sparsemax_loss(
    Z: np.ndarray, y: np.ndarray, temperature: float, scale: float, grad: np.ndarray | None
) -> np.ndarray:
    losses = np.empty(Z.shape[0], dtype=Z.dtype)
    _native.simplex_loss(_SPARSEMAX_LOSS, Z, y, 1.0, 1.0, losses, grad, scale, 1.0 / temperature)
    return losses


def smoothed_cross_entropy(
    name: str,
    Z: np.ndarray,
    y: np.ndarray,
    b: float,
    eps: float,
    temperature: float,
    scale: float,
    grad: np.ndarray | None,
) -> np.ndarray:
    losses = np.empty(Z.shape[0], dtype=Z.dtype)
    _native.simplex_loss(MAP_CODES[name], Z, y, b, eps, losses, grad, scale, 1.0 / temperature)
    return losses


def entmax_loss(
    Z: np.ndarray,
    y: np.ndarray,
    alpha: float,
    exact15: bool,
    temperature: float,
    scale: float,
    grad: np.ndarray | None,
) -> np.ndarray:
    """Per-row Fenchel-Young loss of entmax15 (exact15) or alpha-entmax;
    grad = scale (p - e_y) / T."""
    losses = np.empty(Z.shape[0], dtype=Z.dtype)
    if exact15:
        _native.entmax15_loss(Z, y, losses, grad, scale, 1.0 / temperature)
    else:
        _native.entmax_bisect_loss(Z, y, alpha, losses, grad, scale, 1.0 / temperature)
    return losses
