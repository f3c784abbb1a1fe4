"""Probability maps onto the simplex -- softmax, sparsemax, relumax_b, entmax15,
alpha-entmax -- with exact Jacobian products and losses, in three backends.

Every function maps the vectors of an array ``Z`` along ``axis`` (default -1; any
dimension >= 1, so a 2-D ``Z`` (N, K) is N rows and a 1-D ``Z`` one vector) -- or
``z / T`` for a temperature ``T > 0`` -- and takes ``backend="loop" | "vector" |
"native"``:

- ``softmax(z)_i = exp(z_i) / sum_j exp(z_j)``
- ``sparsemax(z) = argmin_{p in simplex} |p - z|^2 = max(z - tau(z), 0)``, the
  Euclidean projection onto the probability simplex (Martins & Astudillo 2016,
  "From Softmax to Sparsemax", ICML)
- ``relumax_b(z)_i = relu(z_i - max(z) + b) / sum_j relu(z_j - max(z) + b)``, ``b > 0``
- ``alpha-entmax(z) = [(alpha - 1) z - tau]_+^(1 / (alpha - 1))``, ``alpha > 1``
  (Peters, Niculae & Martins 2019): ``entmax15`` (alpha = 1.5, exact threshold) and
  ``entmax_bisect`` (any alpha); alpha = 2 is sparsemax, alpha -> 1 softmax

Jacobians (``S = {i : p_i > 0}`` the support, ``s`` its indicator, ``m`` the first
index of ``max(p)``, ``D = sum_j relu(z_j - max z + b) = b / p_m``), all divided by T:

- softmax:   ``J = diag(p) - p p^T``
- sparsemax: ``J = diag(s) - s s^T / |S|``
- relumax_b: ``J = (diag(s) - p s^T - s e_m^T + |S| p e_m^T) / D`` -- the ``e_m``
  terms are the path through ``max(z)``; ``J 1 = 0``. Derivation: docs/SPARSE_MAPS.md.
- alpha-entmax: ``J = diag(s) - s s^T / sum(s)``, ``s = p^(2 - alpha)`` on the support

Conventions (the same in every backend):

- A row with a NaN, a +inf, or only -inf entries gives a row of NaN (outputs,
  products, gradients, loss). ``-inf`` entries are classes with probability 0.
- Products ignore the entries of ``V`` / ``G`` outside the support (they meet
  structural zeros of the Jacobian), so a NaN there does not reach the result.
- At a tie for the max, relumax's Jacobian is that of the branch where the
  first maximal entry is the largest (the derivative when that entry is nudged
  up). An entry exactly at a support boundary (``p_i = 0``) is outside the support.
- Inputs that are not C-contiguous float32/float64 along ``axis = -1`` are copied
  once (integers become float64); ``V``, ``G`` and ``P`` take the dtype of ``Z``
  (or ``P``). Results along another axis are views of C-contiguous arrays.
"""

from __future__ import annotations

import numbers
from types import ModuleType
from typing import Callable, Union

import numpy as np
from numpy.typing import ArrayLike

from ._checks import base_array, check_backend, check_real
from ._memory import result_empty
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
    "entmax15",
    "entmax15_jacobian",
    "entmax15_jvp",
    "entmax15_jvp_from_output",
    "entmax15_loss",
    "entmax15_vjp",
    "entmax15_vjp_from_output",
    "entmax_bisect",
    "entmax_bisect_jacobian",
    "entmax_bisect_jvp",
    "entmax_bisect_jvp_from_output",
    "entmax_bisect_loss",
    "entmax_bisect_vjp",
    "entmax_bisect_vjp_from_output",
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


def _float_array(X: ArrayLike, name: str, dtype: np.dtype | None) -> np.ndarray:
    """X as a plain float32/float64 ndarray of any dimension (not copied yet;
    subclasses viewed as ndarray, masked entries refused: ``base_array``)."""
    X = base_array(X, name)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected real numbers, got dtype {X.dtype}")
    return X


def _axis(axis: object, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis: expected an integer, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis: {axis} is out of range for the {ndim}-D array {name}")
    return int(axis) % ndim


class _Layout:
    """How an array of any dimension maps to the rows (N, K) the backends take:
    the axis moved to the end, the other dimensions flattened (a view, no copy,
    when the axis is already last and the array C-contiguous)."""

    def __init__(self, shape: tuple[int, ...], axis: int) -> None:
        self.shape = shape
        self.axis = axis
        moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
        self.moved = moved
        self.batch = moved[:-1]  # the shape of one value per row (labels, per-row losses)
        self.rows = (int(np.prod(moved[:-1], dtype=np.int64)), moved[-1])
        self.last = axis == len(shape) - 1

    def to_rows(self, X: np.ndarray, dtype: np.dtype) -> np.ndarray:
        moved = X if self.last else np.moveaxis(X, self.axis, -1)
        rows = np.ascontiguousarray(moved, dtype=dtype).reshape(self.rows)
        return rows if rows.flags.aligned else rows.copy()  # the kernels take aligned rows

    def back(self, R: np.ndarray) -> np.ndarray:
        """Rows (N, K) -> the array's shape (a view)."""
        R = R.reshape(self.moved)
        return R if self.last else np.moveaxis(R, -1, self.axis)


def _rows(
    X: ArrayLike, name: str, axis: object, dtype: np.dtype | None = None
) -> tuple[np.ndarray, _Layout]:
    """(rows, layout): X along ``axis`` as C-contiguous float32/float64 rows (N, K),
    N, K >= 1, with at most one copy; NaN and inf allowed."""
    X = _float_array(X, name, dtype)
    if X.ndim == 0:
        raise ValueError(f"{name}: expected an array of at least 1 dimension, got a scalar")
    layout = _Layout(X.shape, _axis(axis, X.ndim, name))
    if X.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {X.shape}")
    if dtype is None:
        if X.dtype in (np.dtype(np.float32), np.dtype(np.float64)):
            dtype = X.dtype
        else:
            dtype = np.dtype(np.float32 if X.dtype == np.float16 else np.float64)
    return layout.to_rows(X, dtype), layout


def _like(X: ArrayLike, name: str, ref: np.ndarray, layout: _Layout, ref_name: str) -> np.ndarray:
    """X of the shape of ref's original array, as rows in ref's layout and dtype."""
    arr = _float_array(X, name, ref.dtype)
    if arr.shape != layout.shape:
        raise ValueError(
            f"{name}: expected the shape of {ref_name} {layout.shape}, got {arr.shape}"
        )
    return layout.to_rows(arr, ref.dtype)


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


def _alpha(value: object, dtype: np.dtype) -> float:
    """alpha > 1, finite, and still > 1 in ``dtype``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"alpha: expected a real number > 1, got {type(value).__name__}")
    v = float(value)
    if not (np.isfinite(v) and v > 1):
        raise ValueError(f"alpha: expected a finite number > 1, got {v}")
    if not dtype.type(v) > 1:
        raise ValueError(f"alpha: {v} is not > 1 in {dtype} (rounds to 1)")
    return v


def _param(name: str, value: object, dtype: np.dtype) -> float:
    """The map's parameter the backends take as ``b``: b (relumax), alpha (entmax)."""
    if name == "relumax":
        return _b(value, dtype)
    if name == "entmax_bisect":
        return _alpha(value, dtype)
    return 1.5 if name == "entmax15" else 1.0


def _labels(y: ArrayLike, layout: _Layout) -> np.ndarray:
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"y: expected integer class labels, got {type(y).__name__}")
    arr = base_array(y, "y")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"y: expected integer class labels, got dtype {arr.dtype}")
    if arr.shape != layout.batch:
        raise ValueError(
            f"y: expected shape {layout.batch} (one label per vector of Z along axis), "
            f"got {arr.shape}"
        )
    k = layout.rows[1]
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"y: labels must lie in [0, {k}), got {arr.min()}..{arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int64).reshape(-1)


def _into(
    out: object,
    layout: _Layout,
    dtype: np.dtype,
    inputs: tuple[np.ndarray, ...],
    compute: Callable[[np.ndarray], None],
) -> np.ndarray:
    """Run ``compute(dest)`` on rows (N, K) into ``out`` (checked; the shape of the
    original array) or a new array; returns the result in the original shape."""
    if out is None:
        dest = result_empty(layout.rows, dtype)
        compute(dest)
        return layout.back(dest)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out: expected dtype {dtype}, got {out.dtype}")
    if out.shape != layout.shape:
        raise ValueError(f"out: expected shape {layout.shape}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: expected a writable C-contiguous array")
    if not layout.last or not out.flags.aligned or any(np.may_share_memory(out, a) for a in inputs):
        out[...] = _into(None, layout, dtype, inputs, compute)  # overlap, misaligned, other axis
    else:
        compute(out.reshape(layout.rows))
    return out


# ---- forward maps ------------------------------------------------------------------------

_AXIS_DOC = (
    "``axis`` (default -1) is the axis of Z the map acts along; Z may have any "
    "dimension >= 1 (a 1-D Z is one vector), and the result has Z's shape."
)


def _forward(
    name: str,
    Z: ArrayLike,
    b: object,
    temperature: object,
    out: object,
    backend: str,
    axis: object,
) -> np.ndarray:
    be = _backend(backend)
    Z, layout = _rows(Z, "Z", axis)
    T = _temperature(temperature, Z.dtype)
    bv = _param(name, b, Z.dtype)
    return _into(out, layout, Z.dtype, (Z,), lambda o: be.forward(name, Z, bv, T, o))


def softmax(
    Z: ArrayLike,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``softmax(Z / T)`` along ``axis``: Z (..., K) -> (..., K), every entry > 0 (up to
    underflow).

    Computed as ``exp(z - max z) / sum`` (no overflow). ``out``, if given, is a
    C-contiguous array of Z's shape and dtype, overwritten and returned.
    """
    return _forward("softmax", Z, None, temperature, out, backend, axis)


def sparsemax(
    Z: ArrayLike,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``sparsemax(Z / T)`` along ``axis``: Z (..., K) -> (..., K), the Euclidean
    projection of each vector onto the probability simplex (Martins & Astudillo 2016).

    Exact zeros outside the support. ``loop`` sorts each row in Python, ``vector``
    sorts with NumPy, ``native`` finds the threshold in expected O(K) without
    sorting (candidates above ``max(z) - T``, then Michelot's pruning as in
    Condat 2016, "Fast projection onto the simplex and the l1 ball").
    """
    return _forward("sparsemax", Z, None, temperature, out, backend, axis)


def relumax(
    Z: ArrayLike,
    b: float,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``relumax_b(Z / T)`` along ``axis``: Z (..., K) -> (..., K), b > 0 (in units of
    Z / T): ``relu(z - max z + b) / sum(relu(z - max z + b))``; the largest entry gets
    ``b / D``, entries below ``max z - b`` get exactly 0.
    """
    return _forward("relumax", Z, b, temperature, out, backend, axis)


def entmax15(
    Z: ArrayLike,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """``entmax15(Z / T)`` along ``axis``: Z (..., K) -> (..., K), alpha-entmax with
    alpha = 1.5 (Peters, Niculae & Martins 2019, "Sparse Sequence-to-Sequence Models"):
    ``p = [z / 2 - tau]_+^2`` with the exact threshold tau making ``sum p = 1``.

    Sparse like sparsemax, smoother (its Jacobian weights the support by ``sqrt(p)``).
    ``loop`` and ``vector`` sort each row (Peters et al.'s Algorithm 2); ``native``
    finds the support without sorting (Newton passes on the candidates above
    ``max z - 2T``, then the closed form; docs/SPARSE_MAPS.md).
    """
    return _forward("entmax15", Z, None, temperature, out, backend, axis)


def entmax_bisect(
    Z: ArrayLike,
    alpha: float = 1.5,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    out: np.ndarray | None = None,
    backend: str = "native",
) -> np.ndarray:
    """alpha-entmax of ``Z / T`` along ``axis``, any alpha > 1: Z (..., K) -> (..., K),
    ``p = [(alpha - 1) z - tau]_+^(1 / (alpha - 1))``, the maximiser of
    ``<p, z> + (1 - sum p^alpha) / (alpha (alpha - 1))`` on the simplex (Peters,
    Niculae & Martins 2019; Blondel, Martins & Niculae 2020).

    alpha = 2 is sparsemax, alpha = 1.5 entmax15, alpha -> 1 tends to softmax. tau is
    found to rounding (``loop`` / ``vector``: bisection; ``native``: Newton steps on
    the candidates, safeguarded by bisection) and p is then normalised to sum 1.
    alpha <= 1, NaN or inf raise ``ValueError``.
    """
    return _forward("entmax_bisect", Z, alpha, temperature, out, backend, axis)


def sparsemax_threshold(
    Z: ArrayLike, *, axis: int = -1, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """tau with ``sparsemax(Z / T) = max(Z / T - tau, 0)`` along ``axis``: Z (..., K) ->
    tau of Z's shape without the axis ((N,) for Z (N, K)).

    ``b = max(Z / T) - tau`` (always > 0) makes ``relumax_b(Z / T) = sparsemax(Z / T)``.
    """
    be = _backend(backend)
    Z, layout = _rows(Z, "Z", axis)
    T = _temperature(temperature, Z.dtype)
    tau = np.empty(Z.shape[0], dtype=Z.dtype)
    be.sparsemax_threshold(Z, T, tau)
    return tau.reshape(layout.batch)


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
    axis: object = -1,
) -> np.ndarray:
    be = _backend(backend)
    xname, vname = ("P" if from_output else "Z"), ("V" if jvp else "G")
    X, layout = _rows(X, xname, axis)
    V = _like(V, vname, X, layout, xname)
    T = _temperature(temperature, X.dtype)
    bv = _param(name, b, X.dtype)
    product = be.jvp_from_output if jvp else be.vjp_from_output

    def compute(dest: np.ndarray) -> None:
        if from_output:
            product(name, X, V, bv, T, dest)
        elif name in be.FUSED_FROM_INPUT:  # one call (dest overlaps neither X nor V)
            be.product_from_input(name, X, V, bv, T, dest)
        else:  # the forward result goes into dest, then the product overwrites it
            be.forward(name, X, bv, T, dest)
            product(name, dest, V, bv, T, dest)

    return _into(out, layout, X.dtype, (X, V), compute)


_PRODUCT_DOC = """{what} of ``{name}(Z / T)`` along ``axis``: {x}, {v} (..., K) -> (..., K).

{formula}{source}

``axis`` (default -1) is the axis the map acts along; the arrays may have any
dimension >= 1. ``out``, if given, is a C-contiguous array of the shape and dtype
of {x}, overwritten and returned (it may be {x} or {v} itself). See the module
docstring for the Jacobian and the conventions (NaN rows, entries outside the
support, ties).
"""


def _doc(fn: Callable, what: str, name: str, v: str, from_output: bool) -> Callable:
    formula = {
        "JVP": f"Each vector of the result is ``J(z / T) {v.lower()} / T``, the derivative "
        f"of ``{name}(Z / T)`` in the direction {v}.",
        "VJP": f"Each vector of the result is ``J(z / T)^T {v.lower()} / T``: the gradient "
        f"with respect to Z of ``sum(G * {name}(Z / T))`` (backpropagation).",
    }[what]
    param = {"relumax_b": " and the same b", "alpha-entmax": " and the same alpha"}
    source = (
        f" ``P`` is the forward result ``{name}(Z / T)`` (same T{param.get(name, '')}):"
        " the map is not recomputed."
        if from_output
        else ""
    )
    x = "P" if from_output else "Z"
    fn.__doc__ = _PRODUCT_DOC.format(what=what, name=name, x=x, v=v, formula=formula, source=source)
    return fn


def _make_product(name: str, jvp: bool, from_output: bool, param: str | None) -> Callable:
    """The public product function of map ``name`` (param: its parameter's name)."""
    if param is None:

        def fn(
            X: ArrayLike,
            V: ArrayLike,
            *,
            axis: int = -1,
            temperature: float = 1.0,
            out: np.ndarray | None = None,
            backend: str = "native",
        ) -> np.ndarray:
            return _product(name, X, V, None, temperature, out, backend, jvp, from_output, axis)

    elif param == "b":

        def fn(  # type: ignore[misc]
            X: ArrayLike,
            V: ArrayLike,
            b: float,
            *,
            axis: int = -1,
            temperature: float = 1.0,
            out: np.ndarray | None = None,
            backend: str = "native",
        ) -> np.ndarray:
            return _product(name, X, V, b, temperature, out, backend, jvp, from_output, axis)

    else:

        def fn(  # type: ignore[misc]
            X: ArrayLike,
            V: ArrayLike,
            alpha: float = 1.5,
            *,
            axis: int = -1,
            temperature: float = 1.0,
            out: np.ndarray | None = None,
            backend: str = "native",
        ) -> np.ndarray:
            return _product(name, X, V, alpha, temperature, out, backend, jvp, from_output, axis)

    return fn


_MAP_PARAMS = {
    "softmax": None,
    "sparsemax": None,
    "relumax": "b",
    "entmax15": None,
    "entmax_bisect": "alpha",
}
_DOC_NAMES = {"relumax": "relumax_b", "entmax_bisect": "alpha-entmax"}

softmax_jvp = _make_product("softmax", True, False, None)
softmax_vjp = _make_product("softmax", False, False, None)
sparsemax_jvp = _make_product("sparsemax", True, False, None)
sparsemax_vjp = _make_product("sparsemax", False, False, None)
relumax_jvp = _make_product("relumax", True, False, "b")
relumax_vjp = _make_product("relumax", False, False, "b")
entmax15_jvp = _make_product("entmax15", True, False, None)
entmax15_vjp = _make_product("entmax15", False, False, None)
entmax_bisect_jvp = _make_product("entmax_bisect", True, False, "alpha")
entmax_bisect_vjp = _make_product("entmax_bisect", False, False, "alpha")
softmax_jvp_from_output = _make_product("softmax", True, True, None)
softmax_vjp_from_output = _make_product("softmax", False, True, None)
sparsemax_jvp_from_output = _make_product("sparsemax", True, True, None)
sparsemax_vjp_from_output = _make_product("sparsemax", False, True, None)
relumax_jvp_from_output = _make_product("relumax", True, True, "b")
relumax_vjp_from_output = _make_product("relumax", False, True, "b")
entmax15_jvp_from_output = _make_product("entmax15", True, True, None)
entmax15_vjp_from_output = _make_product("entmax15", False, True, None)
entmax_bisect_jvp_from_output = _make_product("entmax_bisect", True, True, "alpha")
entmax_bisect_vjp_from_output = _make_product("entmax_bisect", False, True, "alpha")

for _name in _MAP_PARAMS:
    for _jvp in (True, False):
        for _from in (False, True):
            _fname = f"{_name}_{'jvp' if _jvp else 'vjp'}{'_from_output' if _from else ''}"
            _fn = globals()[_fname]
            _fn.__name__ = _fn.__qualname__ = _fname
            _fn.__module__ = __name__
            _doc(
                _fn,
                "JVP" if _jvp else "VJP",
                _DOC_NAMES.get(_name, _name),
                "V" if _jvp else "G",
                _from,
            )


# ---- Jacobian of one vector -------------------------------------------------------------


def _jacobian(
    name: str, z: ArrayLike, b: object, temperature: object, backend: str, axis: object
) -> np.ndarray:
    be = _backend(backend)
    Z, layout = _rows(z, "z", axis)
    T = _temperature(temperature, Z.dtype)
    bv = _param(name, b, Z.dtype)
    N, K = Z.shape
    P = np.empty((N, K), dtype=Z.dtype)
    be.forward(name, Z, bv, T, P)
    J = np.empty((N, K, K), dtype=Z.dtype)
    for i in range(N):
        p = P[i : i + 1]
        if np.isnan(p).any():
            J[i] = np.nan
        elif backend == "loop":  # entry by entry, from the formulas
            J[i] = simplex_loop.jacobian_from_output(name, p[0].tolist(), bv, T)
        else:
            columns = np.empty((K, K), dtype=Z.dtype)  # row j = J e_j
            be.jvp_from_output(
                name, np.repeat(p, K, axis=0), np.eye(K, dtype=Z.dtype), bv, T, columns
            )
            J[i] = columns.T
    return J.reshape(layout.batch + (K, K))


def softmax_jacobian(
    z: ArrayLike, *, axis: int = -1, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian of ``softmax(z / T)``: ``(diag(p) - p p^T) / T``.

    ``J[i, j] = d softmax(z / T)_i / d z_j``. For teaching and tests; batches use the
    products. z (K,) -> J (K, K); for z of more dimensions, the Jacobian of every vector
    along ``axis``: shape (z's shape without the axis) + (K, K).
    """
    return _jacobian("softmax", z, None, temperature, backend, axis)


def sparsemax_jacobian(
    z: ArrayLike, *, axis: int = -1, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian of ``sparsemax(z / T)``: ``(diag(s) - s s^T / |S|) / T`` (Martins &
    Astudillo 2016, eq. 12). Shapes as :func:`softmax_jacobian`."""
    return _jacobian("sparsemax", z, None, temperature, backend, axis)


def relumax_jacobian(
    z: ArrayLike,
    b: float,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    backend: str = "native",
) -> np.ndarray:
    """Jacobian of ``relumax_b(z / T)``: ``(diag(s) - p s^T - s e_m^T + |S| p e_m^T) /
    (D T)``, m the first index of max(z), D the normaliser. Rows and columns outside
    the support are zero. Shapes as :func:`softmax_jacobian`."""
    return _jacobian("relumax", z, b, temperature, backend, axis)


def entmax15_jacobian(
    z: ArrayLike, *, axis: int = -1, temperature: float = 1.0, backend: str = "native"
) -> np.ndarray:
    """Jacobian of ``entmax15(z / T)``: ``(diag(s) - s s^T / sum s) / T`` with
    ``s = sqrt(p)`` on the support (Peters et al. 2019). Shapes as
    :func:`softmax_jacobian`."""
    return _jacobian("entmax15", z, None, temperature, backend, axis)


def entmax_bisect_jacobian(
    z: ArrayLike,
    alpha: float = 1.5,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    backend: str = "native",
) -> np.ndarray:
    """Jacobian of alpha-entmax at ``z / T``: ``(diag(s) - s s^T / sum s) / T`` with
    ``s = p^(2 - alpha)`` on the support, 0 elsewhere. Shapes as
    :func:`softmax_jacobian`."""
    return _jacobian("entmax_bisect", z, alpha, temperature, backend, axis)


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
    axis: object,
) -> tuple[Loss, np.ndarray]:
    """name: None (sparsemax loss), "entmax15" / "entmax_bisect" (their Fenchel-Young
    losses, b = alpha) or a map of MAPPINGS (its eps-smoothed cross-entropy)."""
    be = _backend(backend)
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    Z, layout = _rows(Z, "Z", axis)
    labels = _labels(y, layout)
    T = _temperature(temperature, Z.dtype)
    if name is None:
        compute = lambda scale, grad: be.sparsemax_loss(Z, labels, T, scale, grad)  # noqa: E731
    elif name in ("entmax15", "entmax_bisect"):
        alpha = _param(name, b, Z.dtype)
        exact15 = name == "entmax15"
        compute = lambda scale, grad: be.entmax_loss(  # noqa: E731
            Z, labels, alpha, exact15, T, scale, grad
        )
    else:
        bv = _param(name, b, Z.dtype)
        ev = _positive(eps, "eps", Z.dtype)
        compute = lambda scale, grad: be.smoothed_cross_entropy(  # noqa: E731
            name, Z, labels, bv, ev, T, scale, grad
        )
    scale = {"mean": 1.0 / Z.shape[0], "sum": 1.0, "none": 1.0}[reduction]
    grad = result_empty(Z.shape, Z.dtype)
    losses = np.asarray(compute(scale, grad), dtype=np.float64)
    grad_out = layout.back(grad)
    if reduction == "none":
        return losses.reshape(layout.batch), grad_out
    total = float(np.sum(losses))
    return (total / Z.shape[0] if reduction == "mean" else total), grad_out


_LOSS_RETURNS = """Returns ``(loss, grad)``: for ``reduction="mean"`` (default) the mean over
    the vectors and its gradient (Z's shape); ``"sum"`` the sum; ``"none"`` the
    per-vector losses (the shape of y) and per-vector gradients. Z may have any
    dimension >= 1 with the classes along ``axis`` (default -1); y holds one label
    per vector, with Z's shape without that axis (a scalar for a 1-D Z)."""


def sparsemax_loss(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    reduction: str = "mean",
    backend: str = "native",
) -> tuple[Loss, np.ndarray]:
    """Sparsemax loss (Martins & Astudillo 2016, eq. 18) and its gradient.

    Z (N, K) logits, y (N,) integer labels in [0, K). Per row, with z = Z_i / T:
    ``loss = -z_y + 1/2 sum_{j in S} (z_j^2 - tau(z)^2) + 1/2`` -- the Fenchel-Young
    loss of the squared norm (Blondel, Martins & Niculae 2020): >= 0, and 0 exactly
    when sparsemax(z) = e_y; convex in z, with gradient ``(sparsemax(z) - e_y) / T``.
    A label whose logit is -inf gives an infinite loss.

    {returns}
    """
    return _loss(None, Z, y, None, None, temperature, reduction, backend, axis)


def entmax15_loss(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    reduction: str = "mean",
    backend: str = "native",
) -> tuple[Loss, np.ndarray]:
    """The entmax15 loss (Peters et al. 2019), the Fenchel-Young loss of the Tsallis
    1.5-entropy (Blondel, Martins & Niculae 2020), and its gradient.

    Per vector, with z = Z / T and p = entmax15(z):
    ``loss = <p, z> + (1 - sum p^1.5) / 0.75 - z_y``: >= 0, 0 exactly when p = e_y,
    convex in z, with gradient ``(p - e_y) / T``.

    {returns}
    """
    return _loss("entmax15", Z, y, 1.5, None, temperature, reduction, backend, axis)


def entmax_bisect_loss(
    Z: ArrayLike,
    y: ArrayLike,
    alpha: float = 1.5,
    *,
    axis: int = -1,
    temperature: float = 1.0,
    reduction: str = "mean",
    backend: str = "native",
) -> tuple[Loss, np.ndarray]:
    """The alpha-entmax loss, the Fenchel-Young loss of the Tsallis alpha-entropy
    (Blondel, Martins & Niculae 2020), alpha > 1, and its gradient.

    Per vector, with z = Z / T and p = alpha-entmax(z):
    ``loss = <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y``, gradient
    ``(p - e_y) / T``. alpha = 2 is the sparsemax loss; alpha -> 1 tends to the
    cross-entropy.

    {returns}
    """
    return _loss("entmax_bisect", Z, y, alpha, None, temperature, reduction, backend, axis)


def smoothed_cross_entropy(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    mapping: str = "sparsemax",
    b: float | None = None,
    eps: float = 1e-3,
    axis: int = -1,
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

    {returns}
    """
    if not isinstance(mapping, str) or mapping not in MAPPINGS:
        raise ValueError(f"mapping: expected one of {MAPPINGS}, got {mapping!r}")
    if mapping == "relumax" and b is None:
        raise ValueError("b: required for mapping='relumax'")
    return _loss(mapping, Z, y, b, eps, temperature, reduction, backend, axis)


for _fn in (sparsemax_loss, entmax15_loss, entmax_bisect_loss, smoothed_cross_entropy):
    _fn.__doc__ = (_fn.__doc__ or "").replace("{returns}", _LOSS_RETURNS)
