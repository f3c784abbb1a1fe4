"""Weights in and out of PyTorch: ``nn.Sequential`` stacks of ``nn.Linear``
and activation modules.

pyfastnn's layer ``Z = H @ W + b`` with W (in, out) is ``nn.Linear(in, out)``
with ``weight = W.T`` (out, in) and ``bias = b``. The activations map to
``nn.Identity``, ``nn.ReLU``, :class:`ScaledReLU` (c * relu, no PyTorch
module has it), ``nn.LeakyReLU(alpha)``, ``nn.Tanh``, ``nn.Sigmoid``,
``nn.Softplus`` and ``nn.GELU()`` (exact erf form); the outputs to
``nn.Softmax(dim=-1)``, ``nn.Sigmoid``, nothing (identity), :class:`Sparsemax`
and :class:`Relumax` (plain PyTorch operations, so autograd trains through
them), and for the entmax outputs ``pyfastnn.torch.Entmax15`` and
``pyfastnn.torch.EntmaxBisect(alpha)`` (autograd functions over the native maps:
CPU tensors).

``nn.Softplus`` returns z itself where ``beta * z > threshold``; pyfastnn
computes ``log(1 + e^z)`` everywhere, which differs from z by ``e^-z``
(2e-9 at the default threshold 20: below float32 rounding). :func:`to_torch`
uses threshold 20 in float32 and 40 in float64 (e^-40 = 4e-18), so the
two agree to rounding in both dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._spec import NetSpec

try:
    import torch
    from torch import nn
except ImportError as err:  # optional dependency
    raise ImportError(
        "PyTorch conversion needs torch: pip install torch==2.13.0 (the CPU build)"
    ) from err

_TORCH_DTYPES = {np.dtype("float32"): torch.float32, np.dtype("float64"): torch.float64}
_SOFTPLUS_THRESHOLD = {np.dtype("float32"): 20.0, np.dtype("float64"): 40.0}
_MIN_SOFTPLUS_THRESHOLD = 20.0  # above it e^-z < 2.1e-9


class ScaledReLU(nn.Module):
    """``scale * relu(z)``, elementwise (pyfastnn's "scaled_relu")."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.relu(z)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class Sparsemax(nn.Module):
    """Sparsemax over the last axis (Martins & Astudillo 2016): the Euclidean
    projection of each row onto the probability simplex, by sorting."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        ordered, _ = torch.sort(z, dim=-1, descending=True)
        ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
        support = (1 + ranks * ordered > ordered.cumsum(dim=-1)).to(z.dtype)
        size = support.sum(dim=-1, keepdim=True)
        tau = ((ordered * support).sum(dim=-1, keepdim=True) - 1) / size
        return torch.clamp(z - tau, min=0)


class Relumax(nn.Module):
    """relumax_b over the last axis: ``r = relu(z - max z + b)``, ``r / sum r``."""

    def __init__(self, b: float = 1.0) -> None:
        super().__init__()
        self.b = float(b)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        r = torch.relu(z - z.max(dim=-1, keepdim=True).values + self.b)
        return r / r.sum(dim=-1, keepdim=True)

    def extra_repr(self) -> str:
        return f"b={self.b}"


def to_torch(spec: NetSpec, weights: list[np.ndarray], biases: list[np.ndarray]) -> nn.Sequential:
    """``nn.Sequential`` of Linear layers with the activation between them and
    the output map at the end, in the model's dtype; parameters are copies."""
    dtype = _TORCH_DTYPES[spec.dtype]
    layers: list[nn.Module] = []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(np.array(b)))
        layers.append(linear)
        if layer < spec.n_layers - 1:
            layers.append(_activation_module(spec))
    output = _output_module(spec)
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


def _activation_module(spec: NetSpec) -> nn.Module:
    name, param = spec.activation, spec.activation_param
    modules = {
        "identity": nn.Identity,
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
    }
    if name in modules:
        return modules[name]()
    if name == "scaled_relu":
        return ScaledReLU(param)
    if name == "leaky_relu":
        return nn.LeakyReLU(param)
    if name == "softplus":
        return nn.Softplus(beta=1.0, threshold=_SOFTPLUS_THRESHOLD[spec.dtype])
    raise ValueError(f"activation: {name!r} has no PyTorch module")  # pragma: no cover


def _output_module(spec: NetSpec) -> nn.Module | None:
    if spec.output == "softmax":
        return nn.Softmax(dim=-1)
    if spec.output == "sigmoid":
        return nn.Sigmoid()
    if spec.output == "sparsemax":
        return Sparsemax()
    if spec.output == "relumax":
        return Relumax(spec.relumax_b)
    if spec.output in ("entmax15", "entmax"):
        # the native maps with their exact gradients (CPU tensors; pyfastnn.torch)
        from .. import torch as pyfastnn_torch

        if spec.output == "entmax15":
            return pyfastnn_torch.Entmax15(dim=-1)
        return pyfastnn_torch.EntmaxBisect(alpha=spec.alpha, dim=-1)
    return None  # identity


# ---- from PyTorch ------------------------------------------------------------


def from_torch(
    module: Any, output: str | None = None
) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray]]:
    """(MLP keyword arguments, weights (in, out) each, biases (out,) each) of an
    ``nn.Sequential`` of Linear layers, one activation module (or none, or
    ``nn.Identity``) between consecutive Linear layers, the same activation
    throughout, and an optional output map after the last Linear.

    ``output`` names the output when the module ends in its last Linear (e.g.
    a classifier trained with ``CrossEntropyLoss`` on logits: "softmax");
    when the module ends in an output map, ``output`` must name that map or
    be None. ``nn.Dropout`` modules are skipped (they are the identity at
    inference). Errors name the offending module by its index.
    """
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module: expected a torch.nn.Sequential, got {type(module).__name__}")
    parts = [(i, m) for i, m in enumerate(module) if not isinstance(m, nn.Dropout)]
    linear_at = [k for k, (_, m) in enumerate(parts) if isinstance(m, nn.Linear)]
    if not linear_at:
        raise ValueError("module: has no nn.Linear layer")
    if linear_at[0] != 0:
        raise ValueError(f"module[{parts[0][0]}]: expected an nn.Linear first, got {parts[0][1]}")
    weights, biases, activations = [], [], []
    for k, start in enumerate(linear_at):
        index, linear = parts[start]
        W, b = _linear_arrays(index, linear)
        if weights and W.shape[0] != weights[-1].shape[1]:
            raise ValueError(
                f"module[{index}]: in_features {W.shape[0]} != out_features "
                f"{weights[-1].shape[1]} of the layer before"
            )
        weights.append(W)
        biases.append(b)
        if k + 1 < len(linear_at):
            between = parts[start + 1 : linear_at[k + 1]]
            if len(between) > 1:
                raise ValueError(
                    f"module[{between[1][0]}]: one activation between Linear layers, got "
                    f"{[type(m).__name__ for _, m in between]}"
                )
            activations.append(_activation_of(*between[0]) if between else ("identity", None))
    tail = parts[linear_at[-1] + 1 :]
    dtypes = {W.dtype for W in weights} | {b.dtype for b in biases}
    if len(dtypes) != 1:
        raise ValueError(f"module: parameters of mixed dtypes {sorted(d.name for d in dtypes)}")
    options = _options(activations, tail, output)
    options["layer_sizes"] = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    options["dtype"] = dtypes.pop().name
    return options, weights, biases


def _linear_arrays(index: int, linear: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    weight = linear.weight.detach().cpu()
    if weight.dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"module[{index}]: expected float32 or float64 weights, got {weight.dtype}"
        )
    W = weight.numpy().T.copy()
    if linear.bias is None:
        return W, np.zeros(W.shape[1], dtype=W.dtype)
    return W, linear.bias.detach().cpu().numpy().copy()


def _activation_of(index: int, m: nn.Module) -> tuple[str, float | None]:
    """(pyfastnn activation name, its parameter) of a hidden activation module."""
    simple = {nn.Identity: "identity", nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
    for kind, name in simple.items():
        if type(m) is kind:
            return name, None
    if isinstance(m, ScaledReLU):
        return "scaled_relu", m.scale
    if type(m) is nn.LeakyReLU:
        return "leaky_relu", float(m.negative_slope)
    if type(m) is nn.GELU:
        if m.approximate != "none":
            raise ValueError(f"module[{index}]: GELU(approximate={m.approximate!r}); only 'none'")
        return "gelu", None
    if type(m) is nn.Softplus:
        if m.beta != 1 or m.threshold < _MIN_SOFTPLUS_THRESHOLD:
            raise ValueError(
                f"module[{index}]: Softplus(beta={m.beta}, threshold={m.threshold}); "
                f"supported: beta=1, threshold >= {_MIN_SOFTPLUS_THRESHOLD:g}"
            )
        return "softplus", None
    raise ValueError(f"module[{index}]: unsupported activation module {m}")


def _options(
    activations: list[tuple[str, float | None]],
    tail: list[tuple[int, nn.Module]],
    output: str | None,
) -> dict[str, Any]:
    if len(set(activations)) > 1:
        raise ValueError(
            f"module: hidden layers use different activations {sorted(set(activations))}"
        )
    activation, param = activations[0] if activations else ("identity", None)
    options: dict[str, Any] = {"activation": activation, "activation_param": param}
    if len(tail) > 1:
        raise ValueError(f"module[{tail[1][0]}]: at most one output map after the last Linear")
    found, relumax_b, alpha = "identity", None, None
    if tail:
        index, m = tail[0]
        if type(m) is nn.Softmax and m.dim in (-1, 1):
            found = "softmax"
        elif type(m) is nn.Sigmoid:
            found = "sigmoid"
        elif isinstance(m, Sparsemax):
            found = "sparsemax"
        elif isinstance(m, Relumax):
            found, relumax_b = "relumax", m.b
        elif (entmax := _entmax_output(m)) is not None:
            found, alpha = entmax
        else:
            raise ValueError(
                f"module[{index}]: unsupported output map {m} (expected Softmax(dim=-1), "
                "Sigmoid, Sparsemax, Relumax, or pyfastnn.torch's Entmax15 or EntmaxBisect)"
            )
        if output is not None and output != found:
            raise ValueError(f"output: {output!r} given, but the module ends in {found!r}")
    options["output"] = output if output is not None else found
    if relumax_b is not None:
        options["relumax_b"] = relumax_b
    if alpha is not None and options["output"] == "entmax":
        options["alpha"] = alpha
    return options


def _entmax_output(m: nn.Module) -> tuple[str, float | None] | None:
    """("entmax15", None) or ("entmax", alpha) for pyfastnn.torch's Entmax15 and
    EntmaxBisect over the last axis (a float alpha); None for other modules."""
    from .. import torch as pyfastnn_torch

    if isinstance(m, pyfastnn_torch.Entmax15) and m.dim in (-1, 1):
        return "entmax15", None
    if isinstance(m, pyfastnn_torch.EntmaxBisect) and m.dim in (-1, 1):
        alpha = m.alpha
        if isinstance(alpha, torch.Tensor):
            if alpha.numel() != 1:
                raise ValueError("module: an EntmaxBisect output needs one alpha, not a tensor")
            alpha = float(alpha.detach())
        return "entmax", float(alpha)
    return None
