"""ONNX export of a dense network, built with the ``onnx`` package's helpers.

The graph computes the model's ``forward``: input ``X`` (N, D), output
``output`` (N, K), in the model's dtype (float or double), opset
:data:`OPSET`, standard operators only:

- dense layer: ``MatMul`` + ``Add`` (W (in, out), b (out,) as initializers);
- activations, as csrc/nn/activations.hpp computes them: relu ``Relu``;
  scaled_relu ``c * Relu(z)``; leaky_relu ``Where(z < 0, alpha * z, z)``;
  tanh ``Tanh``; sigmoid ``Sigmoid``; softplus ``Max(z, 0) + Log(1 + Exp(-|z|))``;
  gelu ``z * 0.5 * (1 + erf(z / sqrt 2))`` (exact form) where erf is the
  ``Erf`` operator in float, and in double (which onnxruntime's ``Erf`` does
  not implement) a polynomial of |z| on [0, 3] and [3, 6] (Chebyshev
  interpolants of ``math.erf``, error below 1e-13; erf(6) = 1 - 2e-17) with
  the sign put back by ``Where``;
- outputs: softmax ``Softmax(axis=-1)``, sigmoid ``Sigmoid``, identity
  ``Identity``; sparsemax (Martins & Astudillo 2016) by sorting each row with
  ``TopK``: z_(1) >= ... >= z_(K), ``CumSum`` S_k, support
  ``1 + k z_(k) > S_k``, tau = (sum of the support's z - 1) / its size,
  p = max(z - tau, 0); relumax_b ``r = Relu(z - ReduceMax(z) + b)``,
  ``r / ReduceSum(r)``; entmax15 by its exact sort-based threshold (``TopK``,
  ``CumSum`` of the sorted row and of its squares, ``GatherElements`` of the
  threshold at the support's size); alpha-entmax by bisection on the threshold,
  unrolled for the dtype's mantissa bits + 8 halvings (as the backends), then
  normalised.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .._spec import NetSpec

try:
    import onnx
    from onnx import TensorProto, checker, helper, numpy_helper
except ImportError as err:  # optional dependency
    raise ImportError('ONNX export needs the onnx package: pip install "pyfastnn[onnx]"') from err

OPSET = 18
_ELEM = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("float64"): TensorProto.DOUBLE}
# erf in double: [0, 3) and [3, 6], polynomials in t = (|x| - mid) / half
_ERF_PIECES = ((0.0, 3.0, 24), (3.0, 6.0, 20))


class _Graph:
    """Nodes and initializers with fresh names, in one dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value: Any, stem: str = "c", dtype: Any = None) -> str:
        name = self._name(stem)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs: Any) -> Any:
        names = [self._name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names


def export(
    spec: NetSpec,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    path: str | Path | None = None,
    description: dict[str, Any] | None = None,
) -> onnx.ModelProto:
    """The ONNX model of the network (checked by ``onnx.checker``); written to
    ``path`` when given. ``description`` is stored as JSON in the model's
    metadata (key "pyfastnn")."""
    g = _Graph(spec.dtype)
    H = "X"
    for layer, (W, b) in enumerate(zip(weights, biases)):
        Z = g.op("Add", g.op("MatMul", H, g.const(W, f"W{layer}")), g.const(b, f"b{layer}"))
        H = Z if layer == spec.n_layers - 1 else _activation(g, spec, Z)
    out = _output(g, spec, H)
    g.nodes.append(helper.make_node("Identity", [out], ["output"]))
    elem = _ELEM[spec.dtype]
    graph = helper.make_graph(
        g.nodes,
        "pyfastnn_forward",
        [helper.make_tensor_value_info("X", elem, ["N", spec.n_inputs])],
        [helper.make_tensor_value_info("output", elem, ["N", spec.n_outputs])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pyfastnn",
        doc_string=f"{spec.output} outputs of a {list(spec.sizes)} network ({spec.activation})",
    )
    model.ir_version = min(model.ir_version, 9)  # readable by onnxruntime releases of 2023 on
    if description is not None:
        helper.set_model_props(model, {"pyfastnn": json.dumps(description)})
    checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save_model(model, str(path))
    return model


def _activation(g: _Graph, spec: NetSpec, Z: str) -> str:
    name, param = spec.activation, spec.activation_param
    if name == "identity":
        return Z
    if name == "relu":
        return g.op("Relu", Z)
    if name == "scaled_relu":
        return g.op("Mul", g.const(param), g.op("Relu", Z))
    if name == "leaky_relu":
        negative = g.op("Less", Z, g.const(0.0))
        return g.op("Where", negative, g.op("Mul", g.const(param), Z), Z)
    if name == "tanh":
        return g.op("Tanh", Z)
    if name == "sigmoid":
        return g.op("Sigmoid", Z)
    if name == "softplus":  # relu(z) + log1p(exp(-|z|)), as the C++
        tail = g.op("Exp", g.op("Neg", g.op("Abs", Z)))
        return g.op(
            "Add", g.op("Max", Z, g.const(0.0)), g.op("Log", g.op("Add", g.const(1.0), tail))
        )
    if name == "gelu":  # z * 0.5 * (1 + erf(z / sqrt 2))
        erf = _erf(g, g.op("Mul", Z, g.const(1.0 / math.sqrt(2.0))))
        cdf = g.op("Mul", g.const(0.5), g.op("Add", g.const(1.0), erf))
        return g.op("Mul", Z, cdf)
    raise ValueError(f"activation: {name!r} has no ONNX form")  # pragma: no cover


def _erf(g: _Graph, x: str) -> str:
    if g.dtype == np.float32:
        return g.op("Erf", x)
    ax = g.op("Abs", x)
    pieces = []
    for (low, high, _), coefs in zip(_ERF_PIECES, _erf_coefficients()):
        mid, half = (low + high) / 2, (high - low) / 2
        t = g.op("Div", g.op("Sub", g.op("Min", ax, g.const(high)), g.const(mid)), g.const(half))
        acc = g.const(coefs[-1])
        for c in coefs[-2::-1]:  # Horner
            acc = g.op("Add", g.op("Mul", acc, t), g.const(c))
        pieces.append(acc)
    magnitude = g.op("Where", g.op("Less", ax, g.const(_ERF_PIECES[0][1])), *pieces)
    return g.op("Where", g.op("Less", x, g.const(0.0)), g.op("Neg", magnitude), magnitude)


@cache
def _erf_coefficients() -> tuple[tuple[float, ...], ...]:
    """Monomial coefficients in t of each piece's Chebyshev interpolant of erf."""
    from numpy.polynomial import Chebyshev, Polynomial

    erf = np.vectorize(math.erf)
    out = []
    for low, high, degree in _ERF_PIECES:
        mid, half = (low + high) / 2, (high - low) / 2
        cheb = Chebyshev.interpolate(lambda t, m=mid, h=half: erf(m + h * t), degree)
        out.append(tuple(float(c) for c in cheb.convert(kind=Polynomial).coef))
    return tuple(out)


def _output(g: _Graph, spec: NetSpec, Z: str) -> str:
    if spec.output == "softmax":
        return g.op("Softmax", Z, axis=-1)
    if spec.output == "sigmoid":
        return g.op("Sigmoid", Z)
    if spec.output == "identity":
        return Z
    axis = g.const([1], "axis", np.int64)
    if spec.output == "relumax":
        top = g.op("ReduceMax", Z, axis, keepdims=1)
        r = g.op("Relu", g.op("Add", g.op("Sub", Z, top), g.const(spec.relumax_b)))
        return g.op("Div", r, g.op("ReduceSum", r, axis, keepdims=1))
    if spec.output == "sparsemax":
        K = spec.n_outputs
        s, _ = g.op("TopK", Z, g.const([K], "k", np.int64), outputs=2, axis=-1, largest=1)
        cums = g.op("CumSum", s, g.const(1, "axis", np.int64))
        ks = g.const(np.arange(1, K + 1), "ranks")
        support = g.op("Cast", g.op("Greater", g.op("Add", g.const(1.0), g.op("Mul", ks, s)), cums),
                       to=_ELEM[spec.dtype])  # fmt: skip
        size = g.op("ReduceSum", support, axis, keepdims=1)
        total = g.op("ReduceSum", g.op("Mul", support, s), axis, keepdims=1)
        tau = g.op("Div", g.op("Sub", total, g.const(1.0)), size)
        return g.op("Relu", g.op("Sub", Z, tau))
    if spec.output == "entmax15":
        return _entmax15(g, spec, Z, axis)
    if spec.output == "entmax":
        return _entmax_bisect(g, spec, Z, axis)
    raise ValueError(f"output: {spec.output!r} has no ONNX form")  # pragma: no cover


def _entmax15(g: _Graph, spec: NetSpec, Z: str, axis: str) -> str:
    """entmax15 (Peters, Niculae & Martins 2019, the sort-based exact threshold):
    u = (z - max z) / 2 sorted, s_(1) >= ... >= s_(K); for each k the threshold of
    the top k, tau_k = mean_k - sqrt(max((1 - k (mean of squares_k - mean_k^2)) / k, 0));
    the support is the k with tau_k <= s_(k) (a prefix), tau = tau_(its size);
    p = max(u - tau, 0)^2."""
    K = spec.n_outputs
    U = g.op("Mul", g.op("Sub", Z, g.op("ReduceMax", Z, axis, keepdims=1)), g.const(0.5))
    s, _ = g.op("TopK", U, g.const([K], "k", np.int64), outputs=2, axis=-1, largest=1)
    ks = g.const(np.arange(1, K + 1), "ranks")
    cum_axis = g.const(1, "axis", np.int64)
    mean = g.op("Div", g.op("CumSum", s, cum_axis), ks)
    mean_sq = g.op("Div", g.op("CumSum", g.op("Mul", s, s), cum_axis), ks)
    spread = g.op("Mul", ks, g.op("Sub", mean_sq, g.op("Mul", mean, mean)))
    delta = g.op("Div", g.op("Sub", g.const(1.0), spread), ks)
    taus = g.op("Sub", mean, g.op("Sqrt", g.op("Relu", delta)))
    support = g.op("Cast", g.op("LessOrEqual", taus, s), to=TensorProto.INT64)
    last = g.op("Sub", g.op("ReduceSum", support, axis, keepdims=1), g.const([1], "one", np.int64))
    tau = g.op("GatherElements", taus, last, axis=1)
    r = g.op("Relu", g.op("Sub", U, tau))
    return g.op("Mul", r, r)


def _entmax_bisect(g: _Graph, spec: NetSpec, Z: str, axis: str) -> str:
    """alpha-entmax by bisection, as the backends compute it: y = (alpha - 1)(z - max z),
    tau in [-1, 0] (sum_k max(y_k - tau, 0)^(1/(alpha-1)) >= 1 at -1, < 1 at 0),
    halved a fixed number of times (the dtype's mantissa bits + 8, unrolled), then
    p = max(y - tau_lo, 0)^(1/(alpha-1)) normalised to sum 1."""
    alpha = spec.alpha
    Y = g.op("Mul", g.op("Sub", Z, g.op("ReduceMax", Z, axis, keepdims=1)), g.const(alpha - 1))
    power = g.const(1.0 / (alpha - 1))
    zero_col = g.op("Mul", g.op("ReduceMax", Y, axis, keepdims=1), g.const(0.0))  # (N, 1)
    lo = g.op("Sub", zero_col, g.const(1.0))
    hi = zero_col
    half, one = g.const(0.5), g.const(1.0)
    for _ in range(np.finfo(spec.dtype).nmant + 8):
        mid = g.op("Add", lo, g.op("Mul", g.op("Sub", hi, lo), half))
        P = g.op("Pow", g.op("Relu", g.op("Sub", Y, mid)), power)
        above = g.op("GreaterOrEqual", g.op("ReduceSum", P, axis, keepdims=1), one)
        lo, hi = g.op("Where", above, mid, lo), g.op("Where", above, hi, mid)
    P = g.op("Pow", g.op("Relu", g.op("Sub", Y, lo)), power)
    return g.op("Div", P, g.op("ReduceSum", P, axis, keepdims=1))
