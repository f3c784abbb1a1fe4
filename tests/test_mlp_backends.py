"""The three backends compute the same network, and the gradients are right."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ACTIVATIONS, OUTPUTS, make_targets

import pyfastnn
from pyfastnn import MLP

TOL = {"float64": 1e-10, "float32": 1e-4}


def randomised(model: MLP, rng: np.random.Generator) -> MLP:
    """Non-zero biases so every term of the gradient is exercised."""
    model.biases = [rng.normal(scale=0.3, size=b.shape) for b in model.biases]
    return model


def assert_close(actual: np.ndarray, expected: np.ndarray, rel: float, what: str) -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    err = float(np.max(np.abs(actual - expected))) / scale
    assert err <= rel, f"{what}: relative difference {err:.3g} > {rel:g}"


def evaluate(model: MLP, backend: str, X, y, l1: float, l2: float) -> dict[str, np.ndarray]:
    model.backend = backend
    loss, grads = model.loss_and_grad(X, y, l1=l1, l2=l2)
    return {
        "forward": model.forward(X),
        "loss": np.array(loss),
        "loss_only": np.array(model.loss(X, y, l1=l1, l2=l2)),
        "grad": grads.flat,
        "input_grad": model.input_grad(X, y),
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [1, 10])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backends_agree(activation: str, output: str, batch: int, dtype: str, rng) -> None:
    model = randomised(MLP([6, 5, 4, 3], activation, output, dtype=dtype, seed=3), rng)
    X = rng.normal(size=(batch, 6)).astype(dtype)
    y = make_targets(output, batch, 3, rng, dtype)
    ref = evaluate(model, "loop", X, y, l1=0.01, l2=0.02)
    for backend in ("vector", "native"):
        got = evaluate(model, backend, X, y, l1=0.01, l2=0.02)
        for key in ref:
            assert got[key].dtype == ref[key].dtype or key.startswith("loss")
            assert_close(got[key], ref[key], TOL[dtype], f"{backend} {key}")


@pytest.mark.parametrize(
    ("activation", "param"),
    [
        ("leaky_relu", -0.5),
        ("leaky_relu", 0.0),
        ("leaky_relu", 1.5),
        ("scaled_relu", 0.5),
        ("scaled_relu", 1.0),
        ("scaled_relu", 5.0),
    ],
)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_relu_family_parameters_agree(activation, param, dropout, rng) -> None:
    """The native backward pass reads a relu-family derivative off the
    activations when their sign is that of Z (alpha >= 0, c >= 1) and off Z
    otherwise; every parameter gives the vector backend's gradient, with and
    without dropout."""
    model = MLP([6, 7, 5, 3], activation, activation_param=param, dtype="float64", seed=4)
    model = randomised(model, rng)
    X = rng.normal(size=(12, 6))
    y = rng.integers(0, 3, size=12)
    grads = {}
    for backend in ("vector", "native"):
        model.backend = backend
        loss, g = model.loss_and_grad(X, y, dropout=dropout, dropout_stream=(1, 2, 3))
        grads[backend] = (loss, g.flat.copy())
    assert_close(grads["native"][1], grads["vector"][1], 1e-10, "grad")
    assert abs(grads["native"][0] - grads["vector"][0]) <= 1e-10 * abs(grads["vector"][0])


@pytest.mark.parametrize("output", OUTPUTS)
def test_native_kernels_agree(output: str, isa: str, rng) -> None:
    """The portable and AVX2 micro-kernels give the vector backend's answer."""
    model = randomised(MLP([37, 33, 19, 7], "tanh", output, dtype="float64"), rng)
    X = rng.normal(size=(45, 37))
    y = make_targets(output, 45, 7, rng, "float64")
    ref = evaluate(model, "vector", X, y, l1=0.0, l2=0.01)
    got = evaluate(model, "native", X, y, l1=0.0, l2=0.01)
    for key in ref:
        assert_close(got[key], ref[key], 1e-10, f"{isa} {key}")


@pytest.mark.parametrize(
    "kwargs",
    [
        # The seeds' two-layer nets.
        dict(activation="scaled_relu", activation_param=5.0, output="identity"),
        dict(activation="tanh", output="sigmoid"),
    ],
    ids=["5relu-mse", "tanh-sigmoid-bce"],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_seed_two_layer_nets(kwargs: dict, dtype: str, rng) -> None:
    model = MLP([8, 6, 4], dtype=dtype, **kwargs)
    X = rng.normal(size=(10, 8)).astype(dtype)
    y = rng.uniform(size=(10, 4)).astype(dtype)
    ref = evaluate(model, "loop", X, y, 0.0, 0.0)
    for backend in ("vector", "native"):
        got = evaluate(model, backend, X, y, 0.0, 0.0)
        for key in ref:
            assert_close(got[key], ref[key], TOL[dtype], f"{backend} {key}")


def away_from_kinks(model: MLP, X: np.ndarray, margin: float = 1e-3) -> bool:
    """True when no hidden pre-activation lies within `margin` of 0."""
    H = X
    for W, b in zip(model.weights[:-1], model.biases[:-1]):
        Z = H @ W + b
        if np.min(np.abs(Z)) < margin:
            return False
        H = np.maximum(Z, 0)  # only the sign pattern matters for this check
    return True


@pytest.mark.parametrize("backend", ["native", "vector", "loop"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation, output, backend, rng) -> None:
    for seed in range(20):  # pick an initialisation whose points avoid the relu kink
        model = randomised(MLP([5, 4, 3, 3], activation, output, dtype="float64", seed=seed), rng)
        X = rng.normal(size=(4, 5))
        if away_from_kinks(model, X):
            break
    model.backend = backend
    y = make_targets(output, 4, 3, rng, "float64")
    # Step 1e-7: eps-cross-entropy of a sparse output is strongly curved where
    # p_y is near 0 (its truncation error at 1e-6 reaches ~1e-6; roundoff at
    # 1e-7 stays ~1e-9).
    result = pyfastnn.gradcheck(model, X, y, l2=0.05, max_entries=None, eps=1e-7)
    assert result.passed, result.errors
    assert set(result.errors) == {
        "weights[0]",
        "weights[1]",
        "weights[2]",
        "biases[0]",
        "biases[1]",
        "biases[2]",
        "X",
    }


def test_gradcheck_detects_a_wrong_gradient(rng, monkeypatch) -> None:
    """gradcheck must fail when the analytic gradient is wrong."""
    model = MLP([4, 3, 2], "tanh", "softmax", dtype="float64")
    X = rng.normal(size=(5, 4))
    y = rng.integers(0, 2, size=5)
    original = MLP.loss_and_grad

    def broken(self, *args, **kwargs):
        loss, grads = original(self, *args, **kwargs)
        grads.flat[0] += 1e-3
        return loss, grads

    monkeypatch.setattr(MLP, "loss_and_grad", broken)
    assert not pyfastnn.gradcheck(model, X, y).passed


def test_l1_gradient_is_sign(rng) -> None:
    model = MLP([3, 2], "identity", "identity", dtype="float64")
    X = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    _, g0 = model.loss_and_grad(X, y)
    _, g1 = model.loss_and_grad(X, y, l1=0.5)
    for backend in ("native", "vector", "loop"):
        model.backend = backend
        _, g1 = model.loss_and_grad(X, y, l1=0.5)
        np.testing.assert_allclose(g1.weights[0] - g0.weights[0], 0.5 * np.sign(model.weights[0]))
        np.testing.assert_allclose(g1.biases[0], g0.biases[0])  # biases are not penalised


def test_penalty_value(rng) -> None:
    model = MLP([3, 4, 2], "relu", "softmax", dtype="float64")
    X = rng.normal(size=(5, 3))
    y = rng.integers(0, 2, size=5)
    base = model.loss(X, y)
    expected = sum(0.3 * np.sum(W**2) + 0.2 * np.sum(np.abs(W)) for W in model.weights)
    assert model.loss(X, y, l1=0.2, l2=0.3) == pytest.approx(base + expected, rel=1e-12)


@pytest.mark.parametrize("backend", ["native", "vector", "loop"])
def test_outputs_are_probabilities(backend, rng) -> None:
    model = MLP([5, 7, 4], "gelu", "softmax", backend=backend, dtype="float64")
    P = model.forward(rng.normal(size=(6, 5)) * 10)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    model = MLP([5, 7, 4], "gelu", "sigmoid", backend=backend, dtype="float64")
    S = model.forward(rng.normal(size=(6, 5)) * 10)
    assert np.all((S >= 0) & (S <= 1))


@pytest.mark.parametrize("K", [1, 3, 16, 26, 33])
def test_float32_softmax_is_accurate_on_every_kernel(isa, K, rng) -> None:
    """Softmax outputs and the cross-entropy in float32 (AVX-512 takes a
    vectorised exp) stay within rounding of a float64 softmax of the same
    logits, over logit gaps from 0 to beyond exp's range."""
    scale = np.array([1e-3, 1.0, 10.0, 60.0, 200.0], dtype=np.float32)
    X = (rng.normal(size=(40, K)) * np.repeat(scale, 8)[:, None]).astype(np.float32)
    model = MLP([K, K], "identity", "softmax", dtype="float32", backend="native")
    model.weights = [np.eye(K, dtype=np.float32)]  # logits = X exactly
    model.biases = [np.zeros(K, dtype=np.float32)]
    Z = X.astype(np.float64)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    expected = E / E.sum(axis=1, keepdims=True)
    P = model.forward(X).astype(np.float64)
    tiny = np.finfo(np.float32).tiny
    err = np.abs(P - expected)
    # rounding of z - max(z) in float32 (relative |z - m| eps in exp), of the
    # exps, their sum and the division; below the normal range, an absolute tiny
    eps = np.finfo(np.float32).eps
    rtol = (K + 4) * eps + np.abs(Z - Z.max(axis=1, keepdims=True)) * eps
    assert np.all(err <= rtol * expected + tiny), np.max(err / (rtol * expected + tiny))
    y = rng.integers(0, K, size=40)
    lse = Z.max(axis=1) + np.log(E.sum(axis=1))
    ce = np.mean(lse - Z[np.arange(40), y])
    assert model.loss(X, y) == pytest.approx(ce, rel=1e-6, abs=1e-6)


def test_softmax_cross_entropy_by_hand(rng) -> None:
    """Loss equals -mean log p_y computed from forward()."""
    model = MLP([4, 3], "identity", "softmax", dtype="float64")
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6)
    P = model.forward(X)
    assert model.loss(X, y) == pytest.approx(-np.mean(np.log(P[np.arange(6), y])), rel=1e-12)


def test_bce_is_stable_for_large_logits() -> None:
    """BCE from logits: no overflow to inf where sigmoid saturates."""
    model = MLP([1, 1], "identity", "sigmoid", dtype="float64")
    model.weights = [np.array([[1.0]])]
    X = np.array([[800.0], [-800.0]])
    y = np.array([[0.0], [1.0]])
    for backend in ("native", "vector", "loop"):
        model.backend = backend
        assert model.loss(X, y) == pytest.approx(800.0, rel=1e-12)


@pytest.mark.parametrize("backend", ["native", "vector", "loop"])
def test_labels_one_hot_for_mse_and_bce(backend, rng) -> None:
    for output in ("identity", "sigmoid"):
        model = MLP([3, 4], "relu", output, dtype="float64", backend=backend)
        X = rng.normal(size=(5, 3))
        labels = rng.integers(0, 4, size=5)
        onehot = np.eye(4)[labels]
        assert model.loss(X, labels) == pytest.approx(model.loss(X, onehot), rel=1e-12)


def test_initialisation_is_seeded_and_glorot() -> None:
    a = MLP([50, 40, 10], seed=7, dtype="float64")
    b = MLP([50, 40, 10], seed=7, dtype="float64")
    c = MLP([50, 40, 10], seed=8, dtype="float64")
    f = MLP([50, 40, 10], seed=7, dtype="float32")
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    np.testing.assert_array_equal(f.params, a.params.astype(np.float32))
    limit = np.sqrt(6 / (50 + 40))
    W = a.weights[0]
    assert np.all(np.abs(W) <= limit) and np.abs(W).max() > 0.9 * limit
    assert abs(W.mean()) < 0.05 * limit
    assert np.all(a.biases[0] == 0)


def test_parameters_are_settable_and_views(rng) -> None:
    model = MLP([3, 2, 2], "tanh", "softmax", dtype="float64")
    Ws = [rng.normal(size=(3, 2)), rng.normal(size=(2, 2))]
    bs = [rng.normal(size=2), rng.normal(size=2)]
    model.weights = Ws
    model.biases = bs
    X = rng.normal(size=(4, 3))
    Z = np.tanh(X @ Ws[0] + bs[0]) @ Ws[1] + bs[1]
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    for backend in ("native", "vector", "loop"):
        model.backend = backend
        np.testing.assert_allclose(model.forward(X), P, rtol=1e-12)
    model.weights[1][0, 0] += 1.0  # views write through
    assert model.params[3 * 2 + 2] == pytest.approx(Ws[1][0, 0] + 1.0)


def test_deep_and_wide_networks_agree(rng) -> None:
    model = randomised(
        MLP([20, 64, 3, 17, 31, 9, 11, 5], "leaky_relu", "softmax", dtype="float64"), rng
    )
    X = rng.normal(size=(33, 20))
    y = rng.integers(0, 5, size=33)
    ref = evaluate(model, "vector", X, y, 0.0, 0.001)
    got = evaluate(model, "native", X, y, 0.0, 0.001)
    for key in ref:
        assert_close(got[key], ref[key], 1e-10, key)


@pytest.mark.parametrize("backend", ["native", "vector", "loop"])
def test_gradient_into_out_buffer(backend, rng) -> None:
    model = MLP([5, 4, 3], "relu", "softmax", dtype="float64", backend=backend)
    X = rng.normal(size=(6, 5))
    y = rng.integers(0, 3, size=6)
    _, fresh = model.loss_and_grad(X, y, l2=0.1)
    buffer = np.full_like(model.params, np.nan)
    _, grads = model.loss_and_grad(X, y, l2=0.1, out=buffer)
    assert grads.flat is buffer
    np.testing.assert_array_equal(buffer, fresh.flat)
    dW, db = grads
    np.testing.assert_array_equal(dW[1], fresh.weights[1])
    with pytest.raises(ValueError, match="out"):
        model.loss_and_grad(X, y, out=np.empty(3))


@pytest.mark.parametrize(
    "init, std",
    [
        ("glorot_uniform", np.sqrt(6 / 700) / np.sqrt(3)),
        ("glorot_normal", np.sqrt(2 / 700)),
        ("he_uniform", np.sqrt(6 / 400) / np.sqrt(3)),
        ("he_normal", np.sqrt(2 / 400)),
    ],
)
def test_initialisers_have_their_scale(init: str, std: float) -> None:
    W = MLP([400, 300], init=init, dtype="float64").weights[0]
    assert W.std() == pytest.approx(std, rel=0.02)
    assert abs(W.mean()) < 0.01 * std * 10


def test_unknown_init_is_rejected() -> None:
    with pytest.raises(ValueError, match="init"):
        MLP([3, 2], init="ones")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "output, loss",
    [
        ("sparsemax", "sparsemax"),
        ("sparsemax", "eps_cross_entropy"),
        ("relumax", "eps_cross_entropy"),
        ("relumax", "sparsemax"),
    ],
)
def test_sparse_outputs_every_loss(output: str, loss: str, dtype: str, rng) -> None:
    model = randomised(
        MLP([6, 5, 4], "tanh", output, loss=loss, relumax_b=0.6, eps=0.01, dtype=dtype), rng
    )
    X = rng.normal(size=(9, 6)).astype(dtype)
    y = rng.integers(0, 4, size=9)
    ref = evaluate(model, "loop", X, y, l1=0.0, l2=0.01)
    for backend in ("vector", "native"):
        got = evaluate(model, backend, X, y, l1=0.0, l2=0.01)
        for key in ref:
            assert_close(got[key], ref[key], TOL[dtype], f"{backend} {key}")
    if dtype == "float64":
        assert pyfastnn.gradcheck(model, X, y, l2=0.01, max_entries=None).passed


def test_sparse_output_probabilities_are_sparse(rng) -> None:
    """Outputs lie on the simplex and, with large logits, have exact zeros."""
    for output in ("sparsemax", "relumax"):
        model = MLP([4, 8, 6], "relu", output, relumax_b=0.5, dtype="float64")
        P = model.forward(rng.normal(size=(20, 4)) * 5)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
        assert np.all(P >= 0) and np.any(P == 0)


def test_sparsemax_loss_gradient_is_p_minus_onehot(rng) -> None:
    """For a 1-layer identity net, dL/db = mean over samples of sparsemax(z) - e_y."""
    model = MLP([3, 5], "identity", "sparsemax", dtype="float64")
    X = rng.normal(size=(6, 3)) * 3
    y = rng.integers(0, 5, size=6)
    _, grads = model.loss_and_grad(X, y)
    P = model.forward(X)
    np.testing.assert_allclose(grads.biases[0], (P - np.eye(5)[y]).mean(axis=0), atol=1e-14)


def test_bad_loss_for_output() -> None:
    with pytest.raises(ValueError, match="loss"):
        MLP([3, 2], output="softmax", loss="sparsemax")
    with pytest.raises(ValueError, match="relumax_b"):
        MLP([3, 2], output="relumax", relumax_b=0.0)
    with pytest.raises(ValueError, match="eps"):
        MLP([3, 2], output="relumax", eps=-1.0)
