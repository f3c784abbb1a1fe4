"""Probability maps onto the simplex -- softmax, sparsemax, relumax_b -- with exact
Jacobian products and losses, on batches of rows, in three backends.

Every function maps the rows of a 2-D array ``Z`` (N, K) -- or ``z / T`` for a
temperature ``T > 0`` -- and takes ``backend="loop" | "vector" | "native"``:

- ``softmax(z)_i = exp(z_i) / sum_j exp(z_j)``
- ``sparsemax(z) = argmin_{p in simplex} |p - z|^2 = max(z - tau(z), 0)``, the
  Euclidean projection onto the probability simplex (Martins & Astudillo 2016,
  "From Softmax to Sparsemax", ICML)
- ``relumax_b(z)_i = relu(z_i - max(z) + b) / sum_j relu(z_j - max(z) + b)``, ``b > 0``

Jacobians (``S = {i : p_i > 0}`` the support, ``s`` its indicator, ``m`` the first
index of ``max(p)``, ``D = sum_j relu(z_j - max z + b) = b / p_m``), all divided by T:

- softmax:   ``J = diag(p) - p p^T``
- sparsemax: ``J = diag(s) - s s^T / |S|``
- relumax_b: ``J = (diag(s) - p s^T - s e_m^T + |S| p e_m^T) / D`` -- the ``e_m``
  terms are the path through ``max(z)``; ``J 1 = 0``. Derivation: docs/SPARSE_MAPS.md.

Conventions (the same in every backend):

- A row with a NaN, a +inf, or only -inf entries gives a row of NaN (outputs,
  products, gradients, loss). ``-inf`` entries are classes with probability 0.
- Products ignore the entries of ``V`` / ``G`` outside the support (they meet
  structural zeros of the Jacobian), so a NaN there does not reach the result.
- At a tie for the max, relumax's Jacobian is that of the branch where the
  first maximal entry is the largest (the derivative when that entry is nudged
  up). An entry exactly at a support boundary (``p_i = 0``) is outside the support.
- Inputs that are not C-contiguous float32/float64 are copied once (integers
  become float64); ``V``, ``G`` and ``P`` take the dtype of ``Z`` (or ``P``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Callable, Union

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, base_array, check_backend, check_real
from .backends import simplex_loop, simplex_native, simplex_vector

MAPPINGS = ("softmax", "sparsemax", "relumax")
REDUCTIONS = ("mean", "sum", "none")
_BACKENDS: dict[str, ModuleType] = {
    "loop": simplex_loop,
    "vector": simplex_vector,
    "native": simplex_native,
}

Loss = Union[float, np.ndarray]

__all__ = [
    "MAPPINGS",
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
]


# ---- argument checks ------------------------------------------------------------------


def _backend(backend: str) -> ModuleType:
    return _BACKENDS[check_backend(backend)]


def _rows(X: ArrayLike, name: str) -> np.ndarray:
    """A C-contiguous float32/float64 (N, K) array, N, K >= 1; NaN and inf allowed."""
    return as_float_array(X, name, 2, finite=False)


def _like(X: ArrayLike, name: str, ref: np.ndarray, ref_name: str) -> np.ndarray:
    arr = as_float_array(X, name, 2, dtype=ref.dtype, finite=False, allow_empty=True)
    if arr.shape != ref.shape:
        raise ValueError(f"{name}: expected the shape of {ref_name} {ref.shape}, got {arr.shape}")
    return arr


def _positive(value: object, name: str, dtype: np.dtype) -> float:
    """A finite real > 0 that stays finite and > 0 in ``dtype``."""
    v = check_real(value, name)
    if v <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {v}")
    with np.errstate(over="ignore", under="ignore"):
        cast = dtype.type(v)
    if not (cast > 0 and np.isfinite(cast)):
        raise ValueError(f"{name}: {v} is out of the range of {dtype}")
    return v


def _temperature(value: object, dtype: np.dtype) -> float:
    t = _positive(value, "temperature", dtype)
    with np.errstate(over="ignore", under="ignore"):
        inv = dtype.type(1.0 / t)
    if not (inv > 0 and np.isfinite(inv)):
        raise ValueError(f"temperature: 1/{t} is out of the range of {dtype}")
    return t


def _b(value: object, dtype: np.dtype) -> float:
    b = _positive(value, "b", dtype)
    if b < np.finfo(dtype).tiny:  # subnormal: 1 / sum(relu(...)) >= 1 / (K b) overflows
        raise ValueError(f"b: {b} is below the smallest normal {dtype} {np.finfo(dtype).tiny}")
    return b


def _labels(y: ArrayLike, n: int, k: int) -> np.ndarray:
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"y: expected integer class labels, got {type(y).__name__}")
    arr = base_array(y, "y")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"y: expected integer class labels, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"y: expected shape ({n},) (one label per row of Z), got {arr.shape}")
    if n and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"y: labels must lie in [0, {k}), got {arr.min()}..{arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _into(
    out: object,
    shape: tuple[int, ...],
    dtype: np.dtype,
    inputs: tuple[np.ndarray, ...],
    compute: Callable[[np.ndarray], None],
) -> np.ndarray:
    """Run ``compute(dest)`` into ``out`` (checked) or a new array; returns it."""
    if out is None:
        dest = np.empty(shape, dtype=dtype)
        compute(dest)
        return dest
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out: expected dtype {dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out: expected shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: expected a writable C-contiguous array")
    if not out.flags.aligned or any(np.may_share_memory(out, a) for a in inputs):
        out[...] = _into(None, shape, dtype, inputs, compute)  # overlaps an input, or misaligned
    else:
        compute(out)
    return out


# ---- forward maps ------------------------------------------------------------------------


def _forward(
    name: str, Z: ArrayLike, b: object, temperature: object, out: object, backend: str
) -> np.ndarray:
    be = _backend(backend)
    Z = _rows(Z, "Z")
    T = _temperature(temperature, Z.dtype)
    bv = _b(b, Z.dtype) if name == "relumax" else 1.0
    return _into(out, Z.shape, Z.dtype, (Z,), lambda o: be.forward(name, Z, bv, T, o))


def softmax(
    Z: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``softmax(Z / T)`` row by row: Z (N, K) -> (N, K), every entry > 0 (up to underflow).

    Computed as ``exp(z - max z) / sum`` (no overflow). ``out``, if given, is a
    C-contiguous (N, K) array of Z's dtype, overwritten and returned.
    """
    return _forward("softmax", Z, None, temperature, out, backend)


def sparsemax(
    Z: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``sparsemax(Z / T)`` row by row: Z (N, K) -> (N, K), the Euclidean projection
    of each row onto the probability simplex (Martins & Astudillo 2016).

    Exact zeros outside the support. ``loop`` sorts each row in Python, ``vector``
    sorts with NumPy, ``native`` finds the threshold in expected O(K) without
    sorting (candidates above ``max(z) - T``, then Michelot's pruning as in
    Condat 2016, "Fast projection onto the simplex and the l1 ball").
    """
    return _forward("sparsemax", Z, None, temperature, out, backend)


def relumax(
    Z: ArrayLike,
    b: float,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``relumax_b(Z / T)`` row by row: Z (N, K) -> (N, K), b > 0 (in units of Z / T):
    ``relu(z - max z + b) / sum(relu(z - max z + b))``; the largest entry gets
    ``b / D``, entries below ``max z - b`` get exactly 0.
    """
    return _forward("relumax", Z, b, temperature, out, backend)


def sparsemax_threshold(
    Z: ArrayLike, *, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """tau (N,) with ``sparsemax(Z / T) = max(Z / T - tau[:, None], 0)``.

    ``b = max(Z / T) - tau`` (always > 0) makes ``relumax_b(Z / T) = sparsemax(Z / T)``.
    """
    be = _backend(backend)
    Z = _rows(Z, "Z")
    T = _temperature(temperature, Z.dtype)
    tau = np.empty(Z.shape[0], dtype=Z.dtype)
    be.sparsemax_threshold(Z, T, tau)
    return tau


# ---- Jacobian products ------------------------------------------------------------------


def _product(
    name: str,
    X: ArrayLike,
    V: ArrayLike,
    b: object,
    temperature: object,
    out: object,
    backend: str,
    jvp: bool,
    from_output: bool,
) -> np.ndarray:
    be = _backend(backend)
    xname, vname = ("P" if from_output else "Z"), ("V" if jvp else "G")
    X = _rows(X, xname)
    V = _like(V, vname, X, xname)
    T = _temperature(temperature, X.dtype)
    bv = _b(b, X.dtype) if name == "relumax" else 1.0
    product = be.jvp_from_output if jvp else be.vjp_from_output

    def compute(dest: np.ndarray) -> None:
        if from_output:
            product(name, X, V, bv, T, dest)
        else:  # the forward result goes into dest, then the product overwrites it
            be.forward(name, X, bv, T, dest)
            product(name, dest, V, bv, T, dest)

    return _into(out, X.shape, X.dtype, (X, V), compute)


_PRODUCT_DOC = """{what} of ``{name}(Z / T)``, row by row: {x}, {v} (N, K) -> (N, K).

{formula}{source}

``out``, if given, is a C-contiguous (N, K) array of the dtype of {x}, overwritten
and returned (it may be {x} or {v} itself). See the module docstring for the
Jacobian and the conventions (NaN rows, entries outside the support, ties).
"""


def _doc(fn: Callable, what: str, name: str, v: str, from_output: bool) -> Callable:
    formula = {
        "JVP": f"Row i of the result is ``J(z_i / T) {v.lower()}_i / T``, the derivative of "
        f"``{name}(Z / T)`` in the direction {v}.",
        "VJP": f"Row i of the result is ``J(z_i / T)^T {v.lower()}_i / T``: the gradient "
        f"with respect to Z of ``sum(G * {name}(Z / T))`` (backpropagation).",
    }[what]
    source = (
        f" ``P`` is the forward result ``{name}(Z / T)`` (same T, and for relumax the same b):"
        " the map is not recomputed."
        if from_output
        else ""
    )
    x = "P" if from_output else "Z"
    fn.__doc__ = _PRODUCT_DOC.format(what=what, name=name, x=x, v=v, formula=formula, source=source)
    return fn


def softmax_jvp(
    Z: ArrayLike,
    V: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("softmax", Z, V, None, temperature, out, backend, True, False)


def softmax_vjp(
    Z: ArrayLike,
    G: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("softmax", Z, G, None, temperature, out, backend, False, False)


def sparsemax_jvp(
    Z: ArrayLike,
    V: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("sparsemax", Z, V, None, temperature, out, backend, True, False)


def sparsemax_vjp(
    Z: ArrayLike,
    G: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("sparsemax", Z, G, None, temperature, out, backend, False, False)


def relumax_jvp(
    Z: ArrayLike,
    V: ArrayLike,
    b: float,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("relumax", Z, V, b, temperature, out, backend, True, False)


def relumax_vjp(
    Z: ArrayLike,
    G: ArrayLike,
    b: float,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("relumax", Z, G, b, temperature, out, backend, False, False)


def softmax_jvp_from_output(
    P: ArrayLike,
    V: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("softmax", P, V, None, temperature, out, backend, True, True)


def softmax_vjp_from_output(
    P: ArrayLike,
    G: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("softmax", P, G, None, temperature, out, backend, False, True)


def sparsemax_jvp_from_output(
    P: ArrayLike,
    V: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("sparsemax", P, V, None, temperature, out, backend, True, True)


def sparsemax_vjp_from_output(
    P: ArrayLike,
    G: ArrayLike,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("sparsemax", P, G, None, temperature, out, backend, False, True)


def relumax_jvp_from_output(
    P: ArrayLike,
    V: ArrayLike,
    b: float,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("relumax", P, V, b, temperature, out, backend, True, True)


def relumax_vjp_from_output(
    P: ArrayLike,
    G: ArrayLike,
    b: float,
    *,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    return _product("relumax", P, G, b, temperature, out, backend, False, True)


for _fn, _what, _name, _v, _from in [
    (softmax_jvp, "JVP", "softmax", "V", False),
    (softmax_vjp, "VJP", "softmax", "G", False),
    (sparsemax_jvp, "JVP", "sparsemax", "V", False),
    (sparsemax_vjp, "VJP", "sparsemax", "G", False),
    (relumax_jvp, "JVP", "relumax_b", "V", False),
    (relumax_vjp, "VJP", "relumax_b", "G", False),
    (softmax_jvp_from_output, "JVP", "softmax", "V", True),
    (softmax_vjp_from_output, "VJP", "softmax", "G", True),
    (sparsemax_jvp_from_output, "JVP", "sparsemax", "V", True),
    (sparsemax_vjp_from_output, "VJP", "sparsemax", "G", True),
    (relumax_jvp_from_output, "JVP", "relumax_b", "V", True),
    (relumax_vjp_from_output, "VJP", "relumax_b", "G", True),
]:
    _doc(_fn, _what, _name, _v, _from)


# ---- Jacobian of one vector -------------------------------------------------------------


def _jacobian(name: str, z: ArrayLike, b: object, temperature: object, backend: str) -> np.ndarray:
    be = _backend(backend)
    z = as_float_array(z, "z", 1, finite=False)
    T = _temperature(temperature, z.dtype)
    bv = _b(b, z.dtype) if name == "relumax" else 1.0
    K = z.shape[0]
    p = np.empty((1, K), dtype=z.dtype)
    be.forward(name, z[None, :], bv, T, p)
    if np.isnan(p).any():
        return np.full((K, K), np.nan, dtype=z.dtype)
    if backend == "loop":  # entry by entry, from the formulas
        return np.array(simplex_loop.jacobian_from_output(name, p[0].tolist(), bv, T), z.dtype)
    columns = np.empty((K, K), dtype=z.dtype)  # row j = J e_j
    be.jvp_from_output(name, np.repeat(p, K, axis=0), np.eye(K, dtype=z.dtype), bv, T, columns)
    return np.ascontiguousarray(columns.T)


def softmax_jacobian(
    z: ArrayLike, *, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian (K, K) of ``softmax(z / T)`` for one vector z (K,): ``(diag(p) - p p^T) / T``.

    ``J[i, j] = d softmax(z / T)_i / d z_j``. For teaching and tests; batches use the products.
    """
    return _jacobian("softmax", z, None, temperature, backend)


def sparsemax_jacobian(
    z: ArrayLike, *, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian (K, K) of ``sparsemax(z / T)`` for one vector z (K,):
    ``(diag(s) - s s^T / |S|) / T`` (Martins & Astudillo 2016, eq. 12)."""
    return _jacobian("sparsemax", z, None, temperature, backend)


def relumax_jacobian(
    z: ArrayLike, b: float, *, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian (K, K) of ``relumax_b(z / T)`` for one vector z (K,):
    ``(diag(s) - p s^T - s e_m^T + |S| p e_m^T) / (D T)``, m the first index of
    max(z), D the normaliser. Rows and columns outside the support are zero."""
    return _jacobian("relumax", z, b, temperature, backend)


# ---- losses ------------------------------------------------------------------------------


def _loss(
    name: str | None,
    Z: ArrayLike,
    y: ArrayLike,
    b: object,
    eps: object,
    temperature: object,
    reduction: object,
    backend: str,
) -> tuple[Loss, np.ndarray]:
    be = _backend(backend)
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    Z = _rows(Z, "Z")
    labels = _labels(y, *Z.shape)
    T = _temperature(temperature, Z.dtype)
    if name is None:
        compute = lambda scale, grad: be.sparsemax_loss(Z, labels, T, scale, grad)  # noqa: E731
    else:
        bv = _b(b, Z.dtype) if name == "relumax" else 1.0
        ev = _positive(eps, "eps", Z.dtype)
        compute = lambda scale, grad: be.smoothed_cross_entropy(  # noqa: E731
            name, Z, labels, bv, ev, T, scale, grad
        )
    scale = {"mean": 1.0 / Z.shape[0], "sum": 1.0, "none": 1.0}[reduction]
    grad = np.empty_like(Z)
    losses = np.asarray(compute(scale, grad), dtype=np.float64)
    if reduction == "none":
        return losses, grad
    total = float(np.sum(losses))
    return (total / Z.shape[0] if reduction == "mean" else total), grad


def sparsemax_loss(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    temperature: float = 1.0,
    reduction: str = "mean",
    backend: str = "native",
) -> tuple[Loss, np.ndarray]:
    """Sparsemax loss (Martins & Astudillo 2016, eq. 18) and its gradient.

    Z (N, K) logits, y (N,) integer labels in [0, K). Per row, with z = Z_i / T:
    ``loss = -z_y + 1/2 sum_{j in S} (z_j^2 - tau(z)^2) + 1/2`` -- the Fenchel-Young
    loss of the squared norm (Blondel, Martins & Niculae 2020): >= 0, and 0 exactly
    when sparsemax(z) = e_y; convex in z, with gradient ``(sparsemax(z) - e_y) / T``.

    Returns ``(loss, grad)``: for ``reduction="mean"`` (default) the mean over rows
    and its gradient (N, K); ``"sum"`` the sum; ``"none"`` the per-row losses (N,)
    and per-row gradients. A label whose logit is -inf gives an infinite loss.
    """
    return _loss(None, Z, y, None, None, temperature, reduction, backend)


def smoothed_cross_entropy(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    mapping: str = "sparsemax",
    b: float | None = None,
    eps: float = 1e-3,
    temperature: float = 1.0,
    reduction: str = "mean",
    backend: str = "native",
) -> tuple[Loss, np.ndarray]:
    """Epsilon-smoothed cross-entropy of a (sparse) output and its gradient.

    Z (N, K) logits, y (N,) integer labels in [0, K), ``p = mapping(Z_i / T)``
    (``"sparsemax"``, ``"relumax"`` with its ``b``, or ``"softmax"``), eps > 0:
    ``loss = -log((p_y + eps) / (1 + K eps))``, finite even where p_y = 0, and
    ``grad = J(z)^T g / T`` with ``g = -e_y / (p_y + eps)``. Where the label is
    outside the support the gradient of sparsemax / relumax is 0 (the map is flat
    there); the sparsemax loss (:func:`sparsemax_loss`) has no such plateau.

    Returns ``(loss, grad)`` as :func:`sparsemax_loss` does.
    """
    if not isinstance(mapping, str) or mapping not in MAPPINGS:
        raise ValueError(f"mapping: expected one of {MAPPINGS}, got {mapping!r}")
    if mapping == "relumax" and b is None:
        raise ValueError("b: required for mapping='relumax'")
    return _loss(mapping, Z, y, b, eps, temperature, reduction, backend)
