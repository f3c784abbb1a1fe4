"""ONNX export: every model kind x activation x output x dtype, run by
onnxruntime on the same inputs as the model (float32 to 1e-5, float64 to
1e-10) and checked by the ONNX checker. Skipped without the onnx extra."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _interop_helpers import DTYPES, MODEL_CASES, case_id, inputs, make_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def _run(model_proto, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(
        model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (out,) = session.run(["output"], {"X": X})
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MODEL_CASES, ids=case_id)
def test_onnxruntime_matches_forward(tmp_path, case, dtype):
    model = make_model(*case, dtype)
    path = tmp_path / "m.onnx"
    proto = model.to_onnx(path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    X = inputs(64, model.n_inputs, dtype)
    out = _run(loaded, X)
    assert out.dtype == np.dtype(dtype) and out.shape == (64, model.n_outputs)
    expected = model.forward(X)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    assert proto.graph.node[-1].output == ["output"]
    meta = {p.key: p.value for p in loaded.metadata_props}
    assert json.loads(meta["pyfastnn"])["output"] == model.output


def test_only_standard_operators():
    """Every node is in the default ONNX domain."""
    for case in MODEL_CASES:
        for node in make_model(*case, "float64").to_onnx().graph.node:
            assert node.domain in ("", "ai.onnx"), (case, node.op_type)


def test_gelu_erf_in_double_is_accurate():
    """The double erf (polynomials) against math.erf on a dense grid, sign included."""
    from onnx import TensorProto, helper

    from pyfastnn.interop import onnx_export

    g = onnx_export._Graph(np.dtype("float64"))
    node_out = onnx_export._erf(g, "X")
    g.nodes.append(helper.make_node("Identity", [node_out], ["output"]))
    graph = helper.make_graph(
        g.nodes,
        "erf",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["N"])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE, ["N"])],
        g.initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", onnx_export.OPSET)])
    proto.ir_version = 9
    x = np.concatenate([np.linspace(-8, 8, 40001), [0.0, 3.0, -3.0, 6.0, 1e-300, 40.0]])
    got = _run(proto, x)
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(got - expected)) < 1e-13


def test_sparsemax_ties_and_sparsity():
    """Rows with ties and with one dominant logit give the same probabilities."""
    import pyfastnn

    model = pyfastnn.MLP([3, 4], "relu", "sparsemax", dtype="float64")
    model.weights[0][...] = 0.0
    model.biases[0][...] = 0.0
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [5.0, -2.0, 0.5]])
    model.weights[0][:, 0] = [1.0, 0.0, 0.0]
    model.weights[0][:, 1] = [1.0, 0.0, 0.0]
    model.weights[0][:, 2] = [0.0, 1.0, 0.3]
    out = _run(model.to_onnx(), X)
    np.testing.assert_allclose(out, model.forward(X), atol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    assert np.any(out == 0.0)
