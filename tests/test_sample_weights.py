"""Sample and class weights: the loss becomes sum_i w_i loss_i / sum_i w_i.

Checked against each other (loop, vector, native), against finite differences
(float64), against the rows repeated (integer weights) and against
scikit-learn's class_weight="balanced"; the native epoch against the loop one.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import MLP
from pyfastnn._spec import LOSSES, OUTPUTS
from pyfastnn._targets import Target, make_target, with_weights
from pyfastnn.backends import BACKENDS

# every output/loss pair the MLP has
PAIRS = [(output, loss) for output, (_, losses) in OUTPUTS.items() for loss in losses]
BACKEND_NAMES = ("loop", "vector", "native")


def test_every_pair_is_listed() -> None:
    assert {loss for _, loss in PAIRS} == set(LOSSES)
    assert len(PAIRS) >= 10


def problem(output: str, loss: str, rng: np.random.Generator, n: int = 9, dtype: str = "float64"):
    """A small model of the pair (non-zero biases), X (n, 5), targets and weights
    (one of them 0)."""
    model = MLP([5, 4, 3], "tanh", output, dtype=dtype, loss=loss, seed=2)
    model.biases = [rng.normal(scale=0.3, size=b.shape) for b in model.biases]
    X = rng.normal(size=(n, 5)).astype(dtype)
    if model.labels_only:
        y = rng.integers(0, 3, size=n)
    else:
        y = rng.uniform(0.05, 0.95, size=(n, 3)).astype(dtype)
    w = rng.uniform(0.1, 3.0, size=n)
    w[1] = 0.0
    return model, X, y, w


def evaluate(model: MLP, backend: str, X, y, w) -> dict[str, np.ndarray]:
    model.backend = backend
    loss, grads = model.loss_and_grad(X, y, l1=0.01, l2=0.02, sample_weight=w)
    return {
        "loss": np.array(loss),
        "loss_only": np.array(model.loss(X, y, l1=0.01, l2=0.02, sample_weight=w)),
        "grad": grads.flat.astype(np.float64),
    }


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-30)


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_backends_agree_with_weights(output: str, loss: str, dtype: str, tol: float, rng) -> None:
    model, X, y, w = problem(output, loss, rng, dtype=dtype)
    ref = evaluate(model, "loop", X, y, w)
    unweighted = model.loss(X, y, l1=0.01, l2=0.02)
    assert abs(float(ref["loss"]) - unweighted) > 10 * tol  # the weights matter here
    for backend in ("vector", "native"):
        got = evaluate(model, backend, X, y, w)
        for key, value in ref.items():
            assert rel_err(got[key], value) <= tol, (backend, key)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_weighted_gradient_matches_finite_differences(
    output: str, loss: str, backend: str, rng
) -> None:
    model, X, y, w = problem(output, loss, rng, n=6)
    if loss == "perceptron":  # piecewise linear: move the scores off ties
        X = X * 3.0
    model.backend = backend
    _, grads = model.loss_and_grad(X, y, l2=0.01, sample_weight=w)
    params = model.params.copy()
    h = 1e-6
    idx = rng.choice(params.size, size=min(params.size, 12), replace=False)
    for j in idx:
        model.params = params + h * (np.arange(params.size) == j)
        up = model.loss(X, y, l2=0.01, sample_weight=w)
        model.params = params - h * (np.arange(params.size) == j)
        down = model.loss(X, y, l2=0.01, sample_weight=w)
        numeric = (up - down) / (2 * h)
        assert abs(numeric - grads.flat[j]) <= 1e-6 * max(1.0, abs(numeric)), j
    model.params = params


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_integer_weights_equal_repeated_rows(output: str, loss: str, backend: str, rng) -> None:
    model, X, y, _ = problem(output, loss, rng, n=8)
    model.backend = backend
    counts = rng.integers(0, 4, size=8)
    counts[:2] = (0, 3)
    loss_w, grads_w = model.loss_and_grad(X, y, l2=0.01, sample_weight=counts)
    Xr, yr = np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0)
    loss_r, grads_r = model.loss_and_grad(Xr, yr, l2=0.01)
    assert loss_w == pytest.approx(loss_r, rel=1e-12, abs=1e-14)
    assert rel_err(grads_w.flat, grads_r.flat) <= 1e-12
    assert model.loss(X, y, sample_weight=counts) == pytest.approx(model.loss(Xr, yr), rel=1e-12)


@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_equal_weights_are_bit_identical_to_none(output: str, loss: str, rng) -> None:
    model, X, y, _ = problem(output, loss, rng)
    base_loss, base_grads = model.loss_and_grad(X, y, l2=0.01)
    for w in (np.ones(X.shape[0]), np.full(X.shape[0], 2.5)):
        loss_w, grads_w = model.loss_and_grad(X, y, l2=0.01, sample_weight=w)
        assert loss_w == base_loss
        assert np.array_equal(grads_w.flat, base_grads.flat)


# the pairs whose native loss applies the weight row by row (not through a row of losses)
ROW_PAIRS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")]
ROW_PAIRS += [("identity", "squared_error"), ("identity", "perceptron")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("output", "loss"), ROW_PAIRS)
def test_native_weights_of_one_give_the_unweighted_bits(
    output: str, loss: str, dtype: str, rng
) -> None:
    """The kernel's weighted path itself (weights passed, not dropped) with w = 1."""
    model, X, y, _ = problem(output, loss, rng, n=40, dtype=dtype)
    target = make_target(y, model.labels_only, X.shape[0], 3, model.dtype)
    ones = Target(target.labels, target.values, np.ones(X.shape[0], dtype=dtype))
    native = BACKENDS["native"]
    plain = native.loss_and_grad(model.spec, model.params, X, target, 0.0, 0.01, True, True)
    weighted = native.loss_and_grad(model.spec, model.params, X, ones, 0.0, 0.01, True, True)
    assert plain[0] == weighted[0]
    assert np.array_equal(plain[1], weighted[1]) and np.array_equal(plain[2], weighted[2])


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_batch_of_zero_weights_has_loss_and_gradient_zero(backend: str, rng) -> None:
    model, X, y, _ = problem("softmax", "cross_entropy", rng)
    target = make_target(y, True, X.shape[0], 3, model.dtype)
    zero = Target(labels=target.labels, weights=np.zeros(X.shape[0]))
    loss, grad, dX = BACKENDS[backend].loss_and_grad(
        model.spec, model.params, X, zero, 0.0, 0.0, True, True
    )
    assert loss == 0.0 and not grad.any() and not dX.any()
    # with a penalty, only the penalty remains
    loss, grad, _ = BACKENDS[backend].loss_and_grad(
        model.spec, model.params, X, zero, 0.0, 0.5, True, False
    )
    weights, _ = model.spec.split(grad)
    assert loss == pytest.approx(0.5 * sum(float(np.sum(W * W)) for W in model.weights))
    assert all(np.allclose(g, W) for g, W in zip(weights, model.weights))  # 2 * 0.5 * W


def test_native_loss_of_many_rows_with_weights(rng) -> None:
    """The loss without gradient runs in chunks of rows; the weights follow them."""
    model = MLP([3, 4, 2], "tanh", "softmax", dtype="float64", seed=1)
    X = rng.normal(size=(5000, 3))
    y = rng.integers(0, 2, size=5000)
    w = rng.uniform(0, 2, size=5000)
    w[:2100] = 0.0  # a whole chunk of zero weights
    losses = {}
    for backend in ("vector", "native"):
        model.backend = backend
        losses[backend] = model.loss(X, y, sample_weight=w)
    assert losses["native"] == pytest.approx(losses["vector"], rel=1e-12)
    assert losses["vector"] == pytest.approx(model.loss(X[2100:], y[2100:], sample_weight=w[2100:]))


# ---- class weights -------------------------------------------------------------------


def test_balanced_matches_scikit_learn(rng) -> None:
    utils = pytest.importorskip("sklearn.utils")
    y = rng.choice(4, size=50, p=[0.5, 0.3, 0.2, 0.0])  # class 3 absent
    target = with_weights(Target(labels=y), None, "balanced", 4, np.dtype(np.float64))
    classes = np.unique(y)
    expected = utils.compute_class_weight("balanced", classes=classes, y=y)
    per_row = expected[np.searchsorted(classes, y)]
    np.testing.assert_allclose(target.weights, per_row, rtol=1e-15)


def test_class_weight_times_sample_weight(rng) -> None:
    y = np.array([0, 1, 2, 1, 0])
    sw = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    target = with_weights(Target(labels=y), sw, {1: 4.0, 2: 0.0}, 3, np.dtype(np.float64))
    np.testing.assert_array_equal(target.weights, sw * np.array([1, 4, 0, 4, 1]))


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_class_weight_equals_repeating_the_class(backend: str, rng) -> None:
    model, X, y, _ = problem("softmax", "cross_entropy", rng, n=12)
    model.backend = backend
    model_r = MLP([5, 4, 3], "tanh", "softmax", dtype="float64", backend=backend)
    model_r.params = model.params
    h1 = model.fit(X, y, epochs=2, batch_size=100, lr=0.1, class_weight={2: 3})
    rows = np.repeat(np.arange(12), np.where(y == 2, 3, 1))
    h2 = model_r.fit(X[rows], y[rows], epochs=2, batch_size=100, lr=0.1)
    assert rel_err(model.params, model_r.params) <= 1e-12
    assert h1.epochs[-1].train_loss == pytest.approx(h2.epochs[-1].train_loss, rel=1e-12)


def test_class_weight_of_a_single_sigmoid_output(rng) -> None:
    y = np.array([0, 1, 1, 1])
    target = make_target(y, False, 4, 1, np.dtype(np.float64))
    weighted = with_weights(target, None, "balanced", 1, np.dtype(np.float64))
    np.testing.assert_allclose(weighted.weights, [2.0, 2 / 3, 2 / 3, 2 / 3])


# ---- the native epoch ----------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 4, 7])
@pytest.mark.parametrize(
    ("output", "loss"),
    [
        ("softmax", "cross_entropy"),
        ("sigmoid", "binary_cross_entropy"),
        ("identity", "squared_error"),
        ("sparsemax", "sparsemax"),
        ("entmax15", "entmax15"),
    ],
)
def test_native_epoch_with_weights_equals_the_loop_epoch(
    output: str, loss: str, batch_size: int, shuffle: bool, rng
) -> None:
    model, X, y, w = problem(output, loss, rng, n=23)
    w[5:9] = 0.0  # a minibatch of 4 with weights all 0
    start = model.params.copy()
    params, losses = {}, {}
    for backend in ("loop", "native"):
        model.backend = backend
        model.params = start
        h = model.fit(
            X,
            y,
            epochs=2,
            batch_size=batch_size,
            lr=0.05,
            optimizer="sgd",
            l2=0.001,
            sample_weight=w,
            shuffle=shuffle,
            seed=4,
        )
        params[backend] = model.params.copy()
        losses[backend] = [e.train_loss for e in h.epochs]
    assert rel_err(params["native"], params["loop"]) <= 1e-10
    np.testing.assert_allclose(losses["native"], losses["loop"], rtol=1e-10)
    model.params = start
    model.fit(X, y, epochs=2, batch_size=batch_size, lr=0.05, l2=0.001, shuffle=shuffle, seed=4)
    assert rel_err(model.params, params["native"]) > 1e-6  # the weights changed the training


def test_fit_with_weights_of_one_is_bit_identical(rng) -> None:
    model, X, y, _ = problem("softmax", "cross_entropy", rng, n=40, dtype="float32")
    start = model.params.copy()
    model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01)
    plain = model.params.copy()
    model.params = start
    model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01, sample_weight=np.ones(40))
    assert np.array_equal(model.params, plain)
    model.params = start
    model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01, class_weight={0: 1.0})
    assert np.array_equal(model.params, plain)


def test_weights_steer_a_classifier(rng) -> None:
    """Class 1 weighted up: more rows predicted as class 1 than without weights."""
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=300) > 0.6).astype(np.int64)  # overlapping classes
    counts = []
    for cw in (None, {1: 8.0}):
        model = MLP([2, 2], "identity", "softmax", dtype="float64", seed=0)
        model.fit(X, y, epochs=40, batch_size=32, lr=0.2, class_weight=cw)
        counts.append(int(np.sum(model.predict(X) == 1)))
    assert counts[1] > counts[0] + 20


# ---- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sample_weight": np.ones(5)}, ValueError, "sample_weight: expected shape"),
        ({"sample_weight": np.ones((6, 1))}, ValueError, "sample_weight: expected shape"),
        ({"sample_weight": -np.ones(6)}, ValueError, "sample_weight: .*>= 0"),
        ({"sample_weight": np.full(6, np.nan)}, ValueError, "sample_weight: contains NaN"),
        ({"sample_weight": [1, 1, np.inf, 1, 1, 1]}, ValueError, "sample_weight: contains NaN"),
        ({"sample_weight": np.zeros(6)}, ValueError, "sample_weight: the weights are all 0"),
        ({"sample_weight": "ones"}, TypeError, "sample_weight"),
        ({"sample_weight": np.array(["a"] * 6)}, TypeError, "sample_weight"),
        ({"class_weight": "balance"}, ValueError, "class_weight: expected None, 'balanced'"),
        ({"class_weight": 3}, TypeError, "class_weight"),
        ({"class_weight": {3: 1.0}}, ValueError, "class_weight: keys must be class labels"),
        ({"class_weight": {-1: 1.0}}, ValueError, "class_weight: keys must be class labels"),
        ({"class_weight": {"a": 1.0}}, ValueError, "class_weight: keys must be class labels"),
        ({"class_weight": {0: -1.0}}, ValueError, "class_weight: the weight of class 0"),
        ({"class_weight": {0: np.nan}}, ValueError, "class_weight: the weight of class 0"),
        ({"class_weight": {0: "x"}}, TypeError, "class_weight: the weight of class 0"),
        (
            {"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}},
            ValueError,
            "class_weight, sample_weight: the combined weights are all 0",
        ),
    ],
)
def test_bad_weights_name_the_argument(kwargs: dict, error: type, match: str, rng) -> None:
    model = MLP([2, 3], "identity", "softmax", dtype="float64")
    X = rng.normal(size=(6, 2))
    y = np.array([0, 1, 2, 0, 1, 2])
    before = model.params.copy()
    with pytest.raises(error, match=match):
        model.fit(X, y, epochs=1, **kwargs)
    assert np.array_equal(model.params, before)
    if "sample_weight" in kwargs:
        with pytest.raises(error, match=match):
            model.loss(X, y, sample_weight=kwargs["sample_weight"])
        with pytest.raises(error, match=match):
            model.loss_and_grad(X, y, sample_weight=kwargs["sample_weight"])


def test_class_weight_needs_labels(rng) -> None:
    model = MLP([2, 2], "identity", "identity", dtype="float64")
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    with pytest.raises(ValueError, match="class_weight: needs integer class labels"):
        model.fit(X, Y, class_weight="balanced")


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_native_binding_checks_the_weights(bad: float, rng) -> None:
    model, X, y, w = problem("softmax", "cross_entropy", rng)
    from pyfastnn.backends import native

    w[3] = bad
    net = native.network(model.spec)
    with pytest.raises(ValueError, match="sample_weight"):
        net.loss_and_grad(model.params, X, y, 0.0, 0.0, None, None, sample_weight=w)
    with pytest.raises(ValueError, match="sample_weight: expected"):
        net.loss_and_grad(model.params, X, y, 0.0, 0.0, None, None, sample_weight=w[:3])


@pytest.mark.parametrize("output", ["softmax", "sparsemax", "entmax15"])
def test_weighted_native_loss_is_the_same_on_any_thread_count(output: str, rng) -> None:
    import pyfastnn

    model = MLP([20, 64, 26], "relu", output, dtype="float32", seed=0)
    X = rng.normal(size=(3000, 20)).astype(np.float32)  # several loss chunks, parallel rows
    y = rng.integers(0, 26, size=3000)
    w = rng.uniform(0, 2, size=3000)
    before = pyfastnn.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            pyfastnn.set_num_threads(threads)
            loss, grads = model.loss_and_grad(X, y, sample_weight=w)
            results.append((loss, grads.flat.copy(), model.loss(X, y, sample_weight=w)))
    finally:
        pyfastnn.set_num_threads(before)
    assert results[0][0] == results[1][0] and results[0][2] == results[1][2]
    assert np.array_equal(results[0][1], results[1][1])
