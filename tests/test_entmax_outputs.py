"""MLP outputs "entmax15" and "entmax" (alpha-entmax) with their Fenchel-Young losses."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP
from pyfastnn.gradcheck import gradcheck

# (output, alpha) of the models tested; alpha None for entmax15
CASES = [("entmax15", None), ("entmax", 1.25), ("entmax", 1.5), ("entmax", 2.0), ("entmax", 3.0)]
BACKENDS = ("loop", "vector", "native")


def make(output: str, alpha: float | None, dtype: str = "float64", **kw) -> MLP:
    model = MLP([5, 6, 4], "tanh", output, dtype=dtype, seed=1, alpha=alpha, **kw)
    rng = np.random.default_rng(7)
    model.weights = [3 * W for W in model.weights]  # a sparse output: some p_k = 0
    model.biases = [rng.normal(scale=0.3, size=b.shape) for b in model.biases]
    return model


def data(rng: np.random.Generator, n: int = 12, dtype: str = "float64"):
    return rng.normal(size=(n, 5)).astype(dtype), rng.integers(0, 4, size=n)


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-30)


def fenchel_young(Z: np.ndarray, y: np.ndarray, alpha: float, P: np.ndarray) -> np.ndarray:
    """Per-row <p, z> + (1 - sum p^alpha) / (alpha (alpha - 1)) - z_y from the formula."""
    tsallis = (1 - np.sum(P**alpha, axis=1)) / (alpha * (alpha - 1))
    return np.sum(P * Z, axis=1) + tsallis - Z[np.arange(len(y)), y]


def logits(model: MLP, X: np.ndarray) -> np.ndarray:
    H = X
    for layer, (W, b) in enumerate(zip(model.weights, model.biases)):
        H = H @ W + b
        if layer < model.n_layers - 1:
            H = np.tanh(H)
    return H


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("output", "alpha"), CASES)
def test_gradcheck(output: str, alpha: float | None, backend: str, rng) -> None:
    model = make(output, alpha, backend=backend)
    X, y = data(rng, 6)
    result = gradcheck(model, X, y, l2=0.01, max_entries=40, tol=1e-6)
    assert result, result


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 2e-4)])
@pytest.mark.parametrize(("output", "alpha"), CASES)
def test_backends_agree(output: str, alpha: float | None, dtype: str, tol: float, rng) -> None:
    model = make(output, alpha, dtype)
    X, y = data(rng, 12, dtype)
    got = {}
    for backend in BACKENDS:
        model.backend = backend
        loss, grads = model.loss_and_grad(X, y, l2=0.01)
        got[backend] = (model.forward(X), np.array(loss), grads.flat, model.input_grad(X, y))
    assert np.mean(got["native"][0] == 0) > 0.1  # sparse outputs
    for backend in ("vector", "native"):
        for a, b in zip(got[backend], got["loop"]):
            assert rel_err(a, b) <= tol, backend


@pytest.mark.parametrize(("output", "alpha"), CASES)
def test_loss_is_the_fenchel_young_loss(output: str, alpha: float | None, rng) -> None:
    model = make(output, alpha)
    X, y = data(rng)
    P = model.forward(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    a = 1.5 if alpha is None else alpha
    expected = float(np.mean(fenchel_young(logits(model, X), y, a, P)))
    assert model.loss(X, y) == pytest.approx(expected, rel=1e-10)
    # the output map itself is pyfastnn.simplex's
    Z = logits(model, X)
    ref = pyfastnn.entmax15(Z) if alpha is None else pyfastnn.entmax_bisect(Z, alpha)
    np.testing.assert_allclose(P, ref, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_two_is_the_sparsemax_model(backend: str, rng) -> None:
    X, y = data(rng)
    entmax = make("entmax", 2.0, backend=backend)
    sparsemax = make("sparsemax", None, backend=backend)
    assert np.array_equal(entmax.params, sparsemax.params)
    assert rel_err(entmax.forward(X), sparsemax.forward(X)) <= 1e-10
    l_e, g_e = entmax.loss_and_grad(X, y)
    l_s, g_s = sparsemax.loss_and_grad(X, y)
    assert l_e == pytest.approx(l_s, rel=1e-10)
    assert rel_err(g_e.flat, g_s.flat) <= 1e-10


@pytest.mark.parametrize("backend", BACKENDS)
def test_alpha_one_and_a_half_is_the_entmax15_model(backend: str, rng) -> None:
    X, y = data(rng)
    bisect = make("entmax", 1.5, backend=backend)
    exact = make("entmax15", None, backend=backend)
    assert rel_err(bisect.forward(X), exact.forward(X)) <= 1e-10
    l_b, g_b = bisect.loss_and_grad(X, y)
    l_x, g_x = exact.loss_and_grad(X, y)
    assert l_b == pytest.approx(l_x, rel=1e-10)
    assert rel_err(g_b.flat, g_x.flat) <= 1e-10


@pytest.mark.parametrize(("output", "alpha"), [("entmax15", None), ("entmax", 1.3)])
def test_a_small_model_learns_a_toy_task(output: str, alpha: float | None, rng) -> None:
    centres = rng.normal(scale=3.0, size=(4, 5))
    y = rng.integers(0, 4, size=400)
    X = centres[y] + rng.normal(size=(400, 5))
    model = MLP([5, 16, 4], "relu", output, alpha=alpha, seed=0)
    before = model.loss(X, y)
    history = model.fit(X, y, epochs=15, batch_size=16, optimizer="adam", lr=0.01)
    assert model.loss(X, y) < 0.2 * before
    assert history.epochs[-1].train_accuracy > 0.95
    assert np.mean(model.predict_proba(X) == 0) > 0.3  # confident, sparse outputs


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize(("output", "alpha"), [("entmax15", None), ("entmax", 1.7)])
def test_native_epoch_equals_the_loop_epoch(
    output: str, alpha: float | None, shuffle: bool, rng
) -> None:
    model = make(output, alpha)
    X, y = data(rng, 21)
    start = model.params.copy()
    result = {}
    for backend in ("loop", "native"):
        model.backend = backend
        model.params = start
        model.fit(X, y, epochs=2, batch_size=5, lr=0.05, optimizer="adam", shuffle=shuffle)
        result[backend] = model.params.copy()
    assert rel_err(result["native"], result["loop"]) <= 1e-10


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize(("output", "alpha"), [("entmax15", None), ("entmax", 1.75)])
def test_model_files_keep_alpha(tmp_path, suffix: str, output: str, alpha, rng) -> None:
    model = make(output, alpha)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = pyfastnn.load(path)
    assert (loaded.output, loaded.loss_name) == (model.output, model.loss_name)
    assert loaded.alpha == (1.5 if alpha is None else alpha)
    X, _ = data(rng)
    np.testing.assert_array_equal(loaded.forward(X), model.forward(X))


def test_a_model_file_without_alpha_is_refused(tmp_path) -> None:
    from pyfastnn import _model_file

    model = make("entmax", 1.75)
    meta = model._description()
    assert meta["alpha"] == 1.75
    del meta["alpha"]
    path = tmp_path / "m.npz"
    _model_file.write(path, meta, model.params)
    with pytest.raises(ValueError, match="alpha"):
        pyfastnn.load(path)
    meta["alpha"] = 0.5
    _model_file.write(path, meta, model.params)
    with pytest.raises(ValueError, match="alpha"):
        pyfastnn.load(path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"output": "entmax", "alpha": 1.0}, ValueError, "alpha: expected alpha > 1"),
        ({"output": "entmax", "alpha": 0.5}, ValueError, "alpha: expected alpha > 1"),
        ({"output": "entmax", "alpha": float("nan")}, ValueError, "alpha"),
        ({"output": "entmax", "alpha": float("inf")}, ValueError, "alpha"),
        ({"output": "entmax", "alpha": "2"}, TypeError, "alpha"),
        ({"output": "entmax15", "alpha": 1.5}, ValueError, "alpha: only the 'entmax' output"),
        ({"output": "softmax", "alpha": 2.0}, ValueError, "alpha: only the 'entmax' output"),
        ({"output": "entmax", "loss": "sparsemax"}, ValueError, "loss: output 'entmax'"),
        ({"output": "entmax15", "loss": "cross_entropy"}, ValueError, "loss: output 'entmax15'"),
    ],
)
def test_bad_alpha_and_loss(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        MLP([3, 2], **kwargs)


def test_entmax_needs_labels(rng) -> None:
    model = MLP([3, 2], "identity", "entmax15")
    with pytest.raises(TypeError, match="y: expected integer class labels"):
        model.loss(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))


# ---- other libraries ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("output", "alpha"), CASES)
def test_onnx_export(output: str, alpha, dtype: str, rng) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = make(output, alpha, dtype)
    X = rng.normal(size=(64, 5)).astype(dtype)
    proto = model.to_onnx()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(["output"], {"X": X})
    expected = model.forward(X)
    assert np.mean(expected == 0) > 0.1
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(out, expected, atol=tol)
    assert all(node.domain in ("", "ai.onnx") for node in proto.graph.node)


@pytest.mark.parametrize(("output", "alpha"), [("entmax15", None), ("entmax", 1.3)])
def test_torch_round_trip(output: str, alpha, rng) -> None:
    torch = pytest.importorskip("torch")
    model = make(output, alpha)
    X, y = data(rng)
    module = model.to_torch()
    out = module(torch.from_numpy(X))
    np.testing.assert_allclose(out.detach().numpy(), model.forward(X), atol=1e-12)
    back = MLP.from_torch(module)
    assert (back.output, back.alpha) == (model.output, model.alpha)
    np.testing.assert_allclose(back.forward(X), model.forward(X), atol=1e-15)
    # autograd flows through the map to the first layer
    out[np.arange(len(y)), y].sum().backward()
    assert module[0].weight.grad is not None and module[0].weight.grad.abs().sum() > 0


def test_sklearn_export_is_refused() -> None:
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match="entmax15"):
        MLP([3, 2], output="entmax15").to_sklearn()
