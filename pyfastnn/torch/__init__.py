"""PyTorch autograd functions and modules over pyfastnn's native sparse maps.

A drop-in for the entmax package (deep-spin/entmax): the same names and signatures
-- ``sparsemax(X, dim=-1)``, ``entmax15(X, dim=-1)``, ``entmax_bisect(X, alpha=1.5,
dim=-1)`` (alpha a float or a tensor, which may require grad), the modules
``Sparsemax`` / ``Entmax15`` / ``EntmaxBisect``, the losses ``sparsemax_loss`` /
``entmax15_loss`` / ``entmax_bisect_loss`` and ``SparsemaxLoss`` / ``Entmax15Loss``
/ ``EntmaxBisectLoss`` (``reduction``, ``ignore_index``), entmax's bisection
sparsemax names (``sparsemax_bisect``, ``SparsemaxBisect``, ``sparsemax_bisect_loss``,
``SparsemaxBisectLoss``: here the exact sparsemax) -- plus ``relumax`` and
``softmax`` forms. The entmax package's ``k`` and ``n_iter`` arguments are accepted
and ignored (the thresholds here are exact, or found to rounding).

Tensors: CPU, float32 or float64, any number of dimensions and any layout. A
tensor that is contiguous with ``dim`` last is passed to the kernels without a
copy (other layouts are copied once); the kernels release the GIL. Other devices
raise ``ValueError``, other dtypes ``TypeError``.

Pure Python over :mod:`pyfastnn._native` (no extension is compiled against torch);
torch is imported here only, an optional extra (``pip install pyfastnn[torch]``).

``torch.compile``: the functions are ``torch.autograd.Function`` s whose forward and
backward call NumPy views of the tensors, so dynamo cannot trace into them: a
compiled model runs them eagerly with a graph break around each call
(``fullgraph=True`` raises); the rest of the model is compiled as usual.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as err:  # pragma: no cover - exercised without torch installed
    raise ImportError(
        "pyfastnn.torch needs PyTorch: pip install 'pyfastnn[torch]' (torch==2.13.0)"
    ) from err

from .. import _native

__all__ = [
    "Entmax15",
    "Entmax15Loss",
    "EntmaxBisect",
    "EntmaxBisectLoss",
    "Relumax",
    "Softmax",
    "Sparsemax",
    "SparsemaxBisect",
    "SparsemaxBisectLoss",
    "SparsemaxLoss",
    "entmax15",
    "entmax15_loss",
    "entmax_bisect",
    "entmax_bisect_loss",
    "relumax",
    "softmax",
    "sparsemax",
    "sparsemax_bisect",
    "sparsemax_bisect_loss",
    "sparsemax_loss",
]

_DTYPES = (torch.float32, torch.float64)
_NP_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


# ---- tensors as rows ---------------------------------------------------------------------


def _check(X: Any, name: str) -> torch.Tensor:
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(X).__name__}")
    if X.device.type != "cpu":
        raise ValueError(
            f"{name}: expected a CPU tensor, got device {X.device} "
            "(pyfastnn's kernels run on the CPU; move it with .cpu())"
        )
    if X.dtype not in _DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {X.dtype}")
    if X.dim() == 0 or X.numel() == 0:
        raise ValueError(
            f"{name}: expected a non-empty tensor of >= 1 dimension, got {tuple(X.shape)}"
        )
    return X


def _dim(dim: Any, ndim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim: expected an integer, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim: {dim} is out of range for a {ndim}-D tensor")
    return int(dim) % ndim


def _rows(X: torch.Tensor, dim: int) -> torch.Tensor:
    """X with ``dim`` moved last, as a C-contiguous (N, K) tensor (a view when it can be)."""
    moved = X if dim == X.dim() - 1 else X.movedim(dim, -1)
    return moved.detach().contiguous().view(-1, X.shape[dim])


def _back(R: torch.Tensor, X: torch.Tensor, dim: int) -> torch.Tensor:
    """Rows (N, K) -> X's shape (a view)."""
    if dim == X.dim() - 1:
        return R.view(X.shape)
    return R.view(X.movedim(dim, -1).shape).movedim(-1, dim)


def _np(T: torch.Tensor) -> np.ndarray:
    return T.numpy()


def _empty_rows(like: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor of like's shape and dtype, in NumPy's memory: NumPy asks
    the kernel for huge pages on large arrays, so writing a fresh 40 MB result costs
    ~12 ms of page faults instead of ~46 ms with torch.empty_like (measured here)."""
    return torch.from_numpy(np.empty(tuple(like.shape), dtype=_NP_DTYPES[like.dtype]))


def _forward_rows(kind: str, Z: torch.Tensor, param: float) -> torch.Tensor:
    P = _empty_rows(Z)
    z, p = _np(Z), _np(P)
    if kind == "sparsemax":
        _native.sparsemax_forward(z, p)
    elif kind == "entmax15":
        _native.entmax15_forward(z, p)
    elif kind == "entmax_bisect":
        _native.entmax_bisect_forward(z, p, param)
    elif kind == "relumax":
        _native.relumax_forward(z, p, param)
    else:
        _native.softmax_forward(z, p)
    return P


def _vjp_rows(kind: str, P: torch.Tensor, G: torch.Tensor, param: float) -> torch.Tensor:
    out = _empty_rows(P)
    p, g, o = _np(P), _np(G), _np(out)
    if kind in ("entmax15", "entmax_bisect"):
        _native.entmax_product_from_output(p, g, o, param)
    elif kind == "relumax":
        _native.relumax_vjp_from_output(p, g, o, param)
    else:
        getattr(_native, f"{kind}_vjp_from_output")(p, g, o)
    return out


class _MapFunction(torch.autograd.Function):
    """p = map(X) along dim, for a scalar parameter (relumax's b, entmax's alpha)."""

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, dim: int, kind: str, param: float) -> torch.Tensor:
        P = _back(_forward_rows(kind, _rows(X, dim), param), X, dim)
        ctx.dim, ctx.kind, ctx.param = dim, kind, param
        ctx.save_for_backward(P)
        return P

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor) -> tuple:
        (P,) = ctx.saved_tensors
        P2, G2 = _rows(P, ctx.dim), _rows(G.to(P.dtype), ctx.dim)
        return _back(_vjp_rows(ctx.kind, P2, G2, ctx.param), P, ctx.dim), None, None, None


def _alpha_value(alpha: Any, dtype: torch.dtype) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(
            f"alpha: expected a real number > 1 or a tensor, got {type(alpha).__name__}"
        )
    v = float(alpha)
    one = torch.tensor(1.0, dtype=dtype)
    if not (np.isfinite(v) and torch.tensor(v, dtype=dtype) > one):
        raise ValueError(f"alpha: expected a finite number > 1 (in {dtype}), got {v}")
    return v


class _EntmaxBisectFunction(torch.autograd.Function):
    """alpha-entmax with alpha a tensor broadcastable to X with size 1 along dim (one
    alpha per vector, or one for all); gradients for X and alpha.

    d p / d alpha (Peters, Niculae & Martins 2019, appendix; with u = alpha - 1,
    s = p^(2 - alpha) on the support and s^ = s / sum s):
        (p - s^) / u^2 - (p log p - s^ sum_j p_j log p_j) / u.
    """

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, alpha: torch.Tensor, dim: int) -> torch.Tensor:
        a = alpha.detach().to(X.dtype)
        if a.numel() == 1:
            P = _back(_forward_rows("entmax_bisect", _rows(X, dim), float(a)), X, dim)
        else:
            full = torch.broadcast_to(a, X.shape)
            P2 = _empty_rows(_rows(X, dim))
            Z2, A2 = _rows(X, dim), _rows(full, dim)[:, 0]
            for value in torch.unique(A2).tolist():  # one native call per distinct alpha
                rows = (A2 == value).nonzero().view(-1)
                P2[rows] = _forward_rows("entmax_bisect", Z2[rows].contiguous(), value)
            P = _back(P2, X, dim)
        ctx.dim = dim
        ctx.save_for_backward(P, a)
        return P

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor) -> tuple:
        P, a = ctx.saved_tensors
        dim = ctx.dim
        support = P > 0
        s = torch.where(support, P.clamp_min(torch.finfo(P.dtype).tiny) ** (2 - a), 0)
        s_sum = s.sum(dim, keepdim=True)
        dX = None
        if ctx.needs_input_grad[0]:
            Gs = torch.where(support, G * s, 0)
            dX = Gs - s * Gs.sum(dim, keepdim=True) / s_sum
        d_alpha = None
        if ctx.needs_input_grad[1]:
            u = a - 1
            plogp = torch.where(support, P * torch.log(P.clamp_min(torch.finfo(P.dtype).tiny)), 0)
            s_hat = s / s_sum
            dp = (P - s_hat) / u**2 - (plogp - s_hat * plogp.sum(dim, keepdim=True)) / u
            d_alpha = (torch.where(support, G * dp, 0)).sum(dim, keepdim=True)
            d_alpha = _sum_to(d_alpha, a.shape)
        return dX, d_alpha, None


def _sum_to(T: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Reduce a broadcast gradient to ``shape``."""
    if T.shape == shape:
        return T
    if len(shape) == 0:
        return T.sum()
    return T.sum_to_size(shape)


# ---- maps ----------------------------------------------------------------------------------


def sparsemax(X: torch.Tensor, dim: int = -1, k: Any = None) -> torch.Tensor:
    """sparsemax along ``dim`` (Martins & Astudillo 2016): the Euclidean projection onto
    the simplex, exact threshold without sorting. ``k`` (entmax's sort budget) is ignored."""
    X = _check(X, "X")
    return _MapFunction.apply(X, _dim(dim, X.dim()), "sparsemax", 1.0)


def entmax15(X: torch.Tensor, dim: int = -1, k: Any = None) -> torch.Tensor:
    """1.5-entmax along ``dim`` (Peters, Niculae & Martins 2019): ``[X/2 - tau]_+^2``
    with the exact threshold. ``k`` is ignored."""
    X = _check(X, "X")
    return _MapFunction.apply(X, _dim(dim, X.dim()), "entmax15", 1.5)


def entmax_bisect(
    X: torch.Tensor,
    alpha: float | torch.Tensor = 1.5,
    dim: int = -1,
    n_iter: Any = None,
    ensure_sum_one: bool = True,
) -> torch.Tensor:
    """alpha-entmax along ``dim``, alpha > 1: ``[(alpha - 1) X - tau]_+^(1 / (alpha - 1))``.

    ``alpha`` is a float, or a tensor broadcastable to X with size 1 along ``dim`` (one
    alpha per vector); a tensor that requires grad gets its gradient. The threshold is
    found to rounding and the result sums to 1 (``n_iter`` and ``ensure_sum_one`` are
    accepted for compatibility and have no effect).
    """
    X = _check(X, "X")
    d = _dim(dim, X.dim())
    if isinstance(alpha, torch.Tensor):
        if alpha.device.type != "cpu":
            raise ValueError(f"alpha: expected a CPU tensor, got device {alpha.device}")
        a = alpha.detach().to(X.dtype)
        if not bool(torch.isfinite(a).all()) or not bool((a > 1).all()):
            raise ValueError("alpha: expected finite values > 1")
        if a.numel() != 1:
            try:
                shape = torch.broadcast_shapes(a.shape, X.shape)
            except RuntimeError as err:
                raise ValueError(f"alpha: shape {tuple(a.shape)} does not broadcast to X") from err
            if shape != X.shape or (a.dim() > X.dim() - d and a.shape[d - X.dim()] != 1):
                raise ValueError(
                    f"alpha: expected size 1 along dim and a shape broadcastable to X, "
                    f"got {tuple(a.shape)}"
                )
        if alpha.requires_grad or a.numel() != 1:
            return _EntmaxBisectFunction.apply(X, alpha, d)
        alpha = float(a)
    return _MapFunction.apply(X, d, "entmax_bisect", _alpha_value(alpha, X.dtype))


def sparsemax_bisect(
    X: torch.Tensor, dim: int = -1, n_iter: Any = None, ensure_sum_one: bool = True
) -> torch.Tensor:
    """entmax's sparsemax by bisection: here the exact :func:`sparsemax` (alpha = 2)."""
    return sparsemax(X, dim)


def relumax(X: torch.Tensor, b: float, dim: int = -1) -> torch.Tensor:
    """relumax_b along ``dim``: ``relu(X - max X + b) / sum``, b > 0."""
    X = _check(X, "X")
    if isinstance(b, bool) or not isinstance(b, numbers.Real) or not (0 < float(b) < np.inf):
        raise ValueError(f"b: expected a finite number > 0, got {b!r}")
    return _MapFunction.apply(X, _dim(dim, X.dim()), "relumax", float(b))


def softmax(X: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax along ``dim`` through pyfastnn's native kernel."""
    X = _check(X, "X")
    return _MapFunction.apply(X, _dim(dim, X.dim()), "softmax", 1.0)


class Sparsemax(nn.Module):
    """Module form of :func:`sparsemax`."""

    def __init__(self, dim: int = -1, k: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return sparsemax(X, self.dim)


class SparsemaxBisect(Sparsemax):
    """Module form of :func:`sparsemax_bisect` (the exact sparsemax)."""

    def __init__(self, dim: int = -1, n_iter: Any = None) -> None:
        super().__init__(dim)


class Entmax15(nn.Module):
    """Module form of :func:`entmax15`."""

    def __init__(self, dim: int = -1, k: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return entmax15(X, self.dim)


class EntmaxBisect(nn.Module):
    """Module form of :func:`entmax_bisect`; ``alpha`` may be an ``nn.Parameter``."""

    def __init__(self, alpha: float | torch.Tensor = 1.5, dim: int = -1, n_iter: Any = None):
        super().__init__()
        self.alpha = alpha
        self.dim = dim

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return entmax_bisect(X, self.alpha, self.dim)


class Relumax(nn.Module):
    """Module form of :func:`relumax`."""

    def __init__(self, b: float, dim: int = -1) -> None:
        super().__init__()
        self.b, self.dim = b, dim

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return relumax(X, self.b, self.dim)


class Softmax(nn.Module):
    """Module form of :func:`softmax`."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return softmax(X, self.dim)


# ---- Fenchel-Young losses --------------------------------------------------------------------


def _targets(target: Any, X: torch.Tensor, ignore_index: int | None) -> tuple[np.ndarray, Any]:
    """(labels (N,) int64 with ignored ones set to 0, mask of ignored (N,) or None)."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target: expected a torch.Tensor, got {type(target).__name__}")
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise TypeError(f"target: expected integer class labels, got {target.dtype}")
    if tuple(target.shape) != tuple(X.shape[:-1]):
        raise ValueError(
            f"target: expected shape {tuple(X.shape[:-1])} (X's without the last), "
            f"got {tuple(target.shape)}"
        )
    y = target.detach().cpu().reshape(-1).to(torch.int64)
    ignored = None
    if ignore_index is not None:
        hit = y == ignore_index
        if bool(hit.any()):
            ignored = hit
            y = torch.where(hit, 0, y)
    K = X.shape[-1]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= K):
        raise ValueError(f"target: labels must lie in [0, {K}) or equal ignore_index")
    return y.contiguous().numpy(), ignored


class _LossFunction(torch.autograd.Function):
    """Per-vector Fenchel-Young loss (N,) of X (..., K) and its gradient p - e_y."""

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, target: Any, kind: str, alpha: float,
                ignore_index: Any) -> torch.Tensor:  # fmt: skip
        Z = _rows(X, X.dim() - 1)
        y, ignored = _targets(target, X, ignore_index)
        losses = torch.empty(Z.shape[0], dtype=Z.dtype)
        grad = _empty_rows(Z)
        z, lr, g = _np(Z), _np(losses), _np(grad)
        if kind == "sparsemax":
            _native.simplex_loss(_native.SPARSEMAX_LOSS, z, y, 1.0, 1.0, lr, g, 1.0, 1.0)
        elif kind == "entmax15":
            _native.entmax15_loss(z, y, lr, g, 1.0, 1.0)
        else:
            _native.entmax_bisect_loss(z, y, alpha, lr, g, 1.0, 1.0)
        if ignored is not None:
            losses[ignored] = 0
            grad[ignored] = 0
        ctx.save_for_backward(grad)
        return losses.view(X.shape[:-1])

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor) -> tuple:
        (grad,) = ctx.saved_tensors
        dX = grad * G.reshape(-1, 1).to(grad.dtype)
        return dX.view(*G.shape, grad.shape[-1]), None, None, None, None


def _loss(kind: str, X: Any, target: Any, alpha: float, ignore_index: Any = None):
    X = _check(X, "X")
    return _LossFunction.apply(X, target, kind, alpha, ignore_index)


def sparsemax_loss(X: torch.Tensor, target: torch.Tensor, k: Any = None) -> torch.Tensor:
    """Sparsemax loss per vector: X (..., K), target (...) -> (...); gradient sparsemax(X) - e_y."""
    return _loss("sparsemax", X, target, 2.0)


def sparsemax_bisect_loss(
    X: torch.Tensor, target: torch.Tensor, n_iter: Any = None
) -> torch.Tensor:
    """entmax's bisection sparsemax loss: here the exact :func:`sparsemax_loss`."""
    return _loss("sparsemax", X, target, 2.0)


def entmax15_loss(X: torch.Tensor, target: torch.Tensor, k: Any = None) -> torch.Tensor:
    """entmax15 (Fenchel-Young) loss per vector: X (..., K), target (...) -> (...)."""
    return _loss("entmax15", X, target, 1.5)


def entmax_bisect_loss(
    X: torch.Tensor, target: torch.Tensor, alpha: float = 1.5, n_iter: Any = None
) -> torch.Tensor:
    """alpha-entmax (Fenchel-Young) loss per vector, float alpha > 1: X (..., K),
    target (...) -> (...)."""
    X = _check(X, "X")
    return _loss("entmax_bisect", X, target, _alpha_value(alpha, X.dtype))


_REDUCTIONS = ("elementwise_mean", "mean", "sum", "none")


class _GenericLoss(nn.Module):
    """Per-vector losses reduced as the entmax package does: ``"elementwise_mean"``
    (alias ``"mean"``: over the targets not equal to ``ignore_index``), ``"sum"``,
    ``"none"``. Targets equal to ``ignore_index`` get loss 0 and no gradient."""

    kind = "sparsemax"

    def __init__(self, ignore_index: int = -100, reduction: str = "elementwise_mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.alpha = 2.0 if self.kind == "sparsemax" else 1.5

    def forward(self, X: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        X = _check(X, "X")
        loss = _LossFunction.apply(X, target, self.kind, self.alpha, self.ignore_index)
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        kept = int((target != self.ignore_index).sum())
        return loss.sum() / max(kept, 1)


class SparsemaxLoss(_GenericLoss):
    """Module form of :func:`sparsemax_loss` with reduction and ignore_index."""

    kind = "sparsemax"

    def __init__(self, k: Any = None, ignore_index: int = -100,
                 reduction: str = "elementwise_mean") -> None:  # fmt: skip
        super().__init__(ignore_index, reduction)


class SparsemaxBisectLoss(_GenericLoss):
    """Module form of :func:`sparsemax_bisect_loss` (the exact sparsemax loss)."""

    kind = "sparsemax"

    def __init__(self, n_iter: Any = None, ignore_index: int = -100,
                 reduction: str = "elementwise_mean") -> None:  # fmt: skip
        super().__init__(ignore_index, reduction)


class Entmax15Loss(_GenericLoss):
    """Module form of :func:`entmax15_loss` with reduction and ignore_index."""

    kind = "entmax15"

    def __init__(self, k: Any = None, ignore_index: int = -100,
                 reduction: str = "elementwise_mean") -> None:  # fmt: skip
        super().__init__(ignore_index, reduction)


class EntmaxBisectLoss(_GenericLoss):
    """Module form of :func:`entmax_bisect_loss` (float alpha > 1) with reduction and
    ignore_index."""

    kind = "entmax_bisect"

    def __init__(self, alpha: float = 1.5, n_iter: Any = None, ignore_index: int = -100,
                 reduction: str = "elementwise_mean") -> None:  # fmt: skip
        super().__init__(ignore_index, reduction)
        self.alpha = _alpha_value(alpha, torch.float64)
