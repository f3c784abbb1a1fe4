"""The native whole-epoch loop: same weights as the Python loops, errors, memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, _native
from pyfastnn.backends import native


def blobs(n: int, d: int, k: int, seed: int = 0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return (centers[y] + rng.normal(size=(n, d))).astype(dtype), y


CASES = [
    # (layer sizes, activation, output, loss, fit options)
    ([5, 8, 3], "relu", "softmax", None, {"optimizer": "sgd", "lr": 0.1}),
    ([5, 8, 6, 3], "tanh", "softmax", None, {"optimizer": "adam", "l2": 1e-3}),
    ([5, 7, 3], "gelu", "sparsemax", None, {"optimizer": pyfastnn.SGD(0.05, momentum=0.9)}),
    ([5, 7, 3], "leaky_relu", "relumax", "eps_cross_entropy", {"dropout": 0.3, "l1": 1e-3}),
    ([5, 6, 3], "sigmoid", "sigmoid", None, {"optimizer": "adam", "dropout": 0.2}),
    ([5, 3], "identity", "identity", "perceptron", {"lr": 1.0}),
]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 8, 64])
@pytest.mark.parametrize(("sizes", "act", "output", "loss", "opts"), CASES)
def test_native_epoch_matches_the_vector_loop(sizes, act, output, loss, opts, batch_size, shuffle):
    X, y = blobs(45, 5, 3)
    models = {
        b: MLP(sizes, act, output, dtype="float64", backend=b, loss=loss, seed=1)
        for b in ("native", "vector")
    }
    hist = {
        b: m.fit(X, y, epochs=2, batch_size=batch_size, shuffle=shuffle, seed=5, **opts)
        for b, m in models.items()
    }
    np.testing.assert_allclose(
        models["native"].params, models["vector"].params, rtol=1e-10, atol=1e-12
    )
    for a, b in zip(hist["native"].epochs, hist["vector"].epochs):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-10, abs=1e-12)


def test_native_epoch_with_real_targets() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    Y = rng.standard_normal((30, 2))
    models = [
        MLP([4, 5, 2], "tanh", "identity", dtype="float64", backend=b) for b in ("native", "vector")
    ]
    for m in models:
        m.fit(X, Y, epochs=3, batch_size=7, lr=0.01, seed=2)
    np.testing.assert_allclose(models[0].params, models[1].params, rtol=1e-10, atol=1e-12)


def test_float32_native_epoch_stays_close_to_float64() -> None:
    X, y = blobs(64, 5, 3)
    a = MLP([5, 8, 3], dtype="float32", seed=1)
    b = MLP([5, 8, 3], dtype="float64", seed=1)
    for m in (a, b):
        m.fit(X, y, epochs=2, batch_size=8, lr=0.05, seed=1)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-4, atol=1e-5)


def test_native_divergence_names_the_epoch() -> None:
    X, y = blobs(40, 3, 2)
    X *= 1e3
    model = MLP([3, 16, 2], "relu", "identity", dtype="float32")
    with pytest.raises(FloatingPointError, match="epoch 1.*smaller learning rate"):
        model.fit(X, np.eye(2)[y], epochs=5, lr=1e6)


def test_nan_in_X_is_named_before_training() -> None:
    X, y = blobs(20, 3, 2)
    X[7, 1] = np.nan
    model = MLP([3, 4, 2], dtype="float64")
    before = model.params.copy()
    with pytest.raises(ValueError, match="X"):
        model.fit(X, y, epochs=1)
    np.testing.assert_array_equal(model.params, before)


def test_fit_does_not_copy_X() -> None:
    """A C-contiguous X in the model's dtype is used in place (no array of X's size)."""
    X, y = blobs(4000, 500, 10, dtype=np.float32)  # 8 MB
    model = MLP([500, 32, 10], dtype="float32")
    model.fit(X[:64], y[:64], epochs=1)  # warm up the workspaces
    tracemalloc.start()
    try:
        model.fit(X, y, epochs=2, batch_size=64, X_val=X[:500], y_val=y[:500])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 4, f"fit allocated {peak} bytes for an X of {X.nbytes}"


# ---- the binding itself (private, but it must never crash) ----------------------------------


_EPOCH_FIELDS = ("batch_size", "l1", "l2", "dropout", "seed", "epoch", "steps_before")
_OPTIMIZER_FIELDS = ("optimizer", "lr", "momentum", "beta1", "beta2", "eps")
_STATE_FIELDS = ("velocity", "m", "v")


def _call(net, params, **overrides):
    """net.train_epoch with defaults; the epoch's, the optimiser's and the state's
    fields may be overridden by name (optimizer: "sgd" or "adam")."""
    X, y = blobs(10, 3, 2)
    args = dict(
        params=params,
        grad=np.empty_like(params),
        X=X,
        y=y,
        order=None,
        batch_size=4,
        l1=0.0,
        l2=0.0,
        dropout=0.0,
        seed=0,
        epoch=1,
        steps_before=0,
        optimizer="sgd",
        lr=0.1,
    )
    args.update(overrides)
    epoch = _native.EpochSpec(*(args.pop(k) for k in _EPOCH_FIELDS))
    kind = args.pop("optimizer")
    optimizer = _native.OptimizerSpec(
        kind, **{k: args.pop(k) for k in _OPTIMIZER_FIELDS[1:] if k in args}
    )
    state = {k: args.pop(k) for k in _STATE_FIELDS if k in args}
    return net.train_epoch(**args, epoch=epoch, optimizer=optimizer, state=state)


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"order": np.array([0, 1, 2], dtype=np.int64)}, ValueError, "order"),
        ({"order": np.full(10, 10, dtype=np.int64)}, ValueError, "order"),
        ({"order": np.arange(10, dtype=np.int32)}, TypeError, "order"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"optimizer": "nesterov"}, ValueError, "optimizer"),
        ({"optimizer": "adam"}, ValueError, "m"),
        ({"optimizer": "adam", "m": [0.0] * 26, "v": np.zeros(26)}, TypeError, "m"),
        ({"momentum": 0.9}, ValueError, "velocity"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"l2": -1.0}, ValueError, "l1, l2"),
        ({"steps_before": -1}, ValueError, "steps_before"),
        ({"y": np.full(10, 5, dtype=np.int64)}, ValueError, "y"),
        ({"X": np.ones((10, 4))}, ValueError, "X"),
        ({"grad": np.empty(3)}, ValueError, "grad"),
    ],
)
def test_train_epoch_binding_rejects_bad_arguments(overrides, error, match) -> None:
    net = _native.Network64([3, 4, 2], 1, 0.0, 0)
    params = np.zeros(net.num_params)
    with pytest.raises(error, match=match):
        _call(net, params, **overrides)


def test_train_epoch_binding_rejects_aliased_buffers() -> None:
    net = _native.Network64([3, 4, 2], 1, 0.0, 0)
    params = np.zeros(net.num_params)
    with pytest.raises(ValueError, match="overlap"):
        _call(net, params, grad=params)
    with pytest.raises(ValueError, match="overlap"):
        _call(net, params, momentum=0.9, velocity=params)


def test_train_epoch_reports_the_failed_minibatch() -> None:
    net = _native.Network64([3, 4, 2], 1, 0.0, 0)
    params = np.zeros(net.num_params)
    X, y = blobs(10, 3, 2)
    X[9, 0] = np.inf  # in the third minibatch of 4 (storage order)
    loss_sum, batches, failed = _call(net, params, X=X, y=y)
    assert (batches, failed) == (2, 2)
    assert np.isfinite(loss_sum)


def test_a_failed_minibatch_ends_the_epoch_alike_on_any_thread_count() -> None:
    """On two threads a step gathers the next minibatch beside its small
    layers; a minibatch whose X is not finite still ends the epoch there, after
    the same steps, with the same weights, as on one thread."""
    rng = np.random.default_rng(5)
    n, batch = 640, 64
    X = rng.normal(size=(n, 784)).astype(np.float32)
    y = rng.integers(0, 26, size=n)
    order = rng.permutation(n)
    X[order[5 * batch + 3], 10] = np.nan  # in minibatch 5, gathered beside step 4
    before = pyfastnn.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            pyfastnn.set_num_threads(threads)
            model = MLP([784, 256, 26], "relu", dtype="float32", seed=0)
            net, params = native.network(model.spec), model.params
            result = _call(net, params, X=X, y=y, order=order, batch_size=batch, lr=0.01)
            runs.append((result, params.copy()))
    finally:
        pyfastnn.set_num_threads(before)
    (loss_sum, batches, failed), stepped = runs[0]
    assert (batches, failed) == (5, 5) and np.isfinite(loss_sum)
    assert runs[1][0] == runs[0][0]
    assert np.array_equal(runs[1][1], stepped)
    assert not np.array_equal(stepped, MLP([784, 256, 26], "relu", dtype="float32", seed=0).params)


def test_small_step_epochs_leave_the_thread_setting_alone() -> None:
    """Batch-1 epochs run on one thread internally; the user's setting stays."""
    X, y = blobs(20, 3, 2)
    before = pyfastnn.get_num_threads()
    try:
        pyfastnn.set_num_threads(2)
        results = []
        for threads in (1, 2):
            pyfastnn.set_num_threads(threads)
            model = MLP([3, 5, 2], dtype="float64", seed=0)
            model.fit(X, y, epochs=2, batch_size=1, seed=1)
            assert pyfastnn.get_num_threads() == threads
            results.append(model.params.copy())
        np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-14)
    finally:
        pyfastnn.set_num_threads(before)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("bad_row", [0, 6, 9])
def test_batch_one_epoch_stops_after_the_last_good_step(optimizer, bad_row) -> None:
    """Batch-1 epochs take each weight step in the next forward pass; a failed
    step must still leave every earlier step taken, in every layer."""
    X, y = blobs(10, 3, 2)
    X[bad_row, 1] = np.inf
    rng = np.random.default_rng(3)
    net = _native.Network64([3, 5, 4, 2], 1, 0.0, 0)
    start = rng.normal(size=net.num_params)

    def run(X_run, y_run):
        params = start.copy()
        state = (
            {"m": np.zeros_like(params), "v": np.zeros_like(params)} if optimizer == "adam" else {}
        )
        out = _call(
            net,
            params,
            X=X_run,
            y=y_run,
            batch_size=1,
            optimizer=optimizer,
            lr=0.05,
            l2=1e-3,
            **state,
        )
        return out, params, state

    (loss_sum, batches, failed), params, state = run(X, y)
    assert (batches, failed) == (bad_row, bad_row)
    if bad_row == 0:
        np.testing.assert_array_equal(params, start)
        return
    (clean_loss, clean_batches, clean_failed), clean, clean_state = run(X[:bad_row], y[:bad_row])
    assert (clean_batches, clean_failed) == (bad_row, -1)
    assert loss_sum == clean_loss
    np.testing.assert_array_equal(params, clean)
    for key in state:
        np.testing.assert_array_equal(state[key], clean_state[key])


def fitted_params(sizes, X, y, threads=None, backend="native", **fit_options) -> np.ndarray:
    """Parameters of a float64 MLP (seed 0) after fit, on `threads` threads."""
    before = pyfastnn.get_num_threads()
    try:
        if threads is not None:
            pyfastnn.set_num_threads(threads)
        model = MLP(sizes, dtype="float64", seed=0, backend=backend)
        model.fit(X, y, seed=1, **fit_options)
        return model.params
    finally:
        pyfastnn.set_num_threads(before)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_batch_one_wide_layer_splits_columns_over_threads(optimizer) -> None:
    """Above ~2M parameters (2100-1000-3) a batch-1 step runs on several
    threads, each stepping its own columns: the result must not depend on the
    split, to the last bit."""
    X, y = blobs(5, 2100, 3)
    opts = dict(epochs=1, batch_size=1, optimizer=optimizer, lr=1e-3, l1=1e-5)
    one, two = (fitted_params([2100, 1000, 3], X, y, threads=t, **opts) for t in (1, 2))
    assert one.size >= 2**21
    assert np.array_equal(one, two)
    reference = fitted_params([2100, 1000, 3], X, y, backend="vector", **opts)
    np.testing.assert_allclose(one, reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "opts",
    [
        {"optimizer": "adam", "l1": 1e-4, "l2": 1e-3},
        {"optimizer": pyfastnn.SGD(0.02, momentum=0.9), "dropout": 0.2},
    ],
)
@pytest.mark.parametrize("batch_size", [64, 700])
@pytest.mark.parametrize("sizes", [[300, 300, 40], [64, 100, 10]])
def test_blocked_fused_steps_match_the_vector_loop_on_any_thread_count(
    isa, opts, batch_size, sizes
) -> None:
    """Batches large enough for the blocked GEMM: each finished block of dW
    steps its block of W (several row blocks for 300 inputs, split over
    threads). At batch 64 each block of dW is computed in a scratch block and
    never stored; at 700 the batch spans two KC blocks, so dW is accumulated in
    place first, and with 64 inputs (one row block) on two threads each thread
    sums one KC block and the step follows the reduction (gemm_split_k)."""
    X, y = blobs(700 if batch_size > 64 else 200, sizes[0], sizes[-1])
    opts = dict(epochs=2, batch_size=batch_size, **opts)
    reference = fitted_params(sizes, X, y, backend="vector", **opts)
    for threads in (1, 2):
        params = fitted_params(sizes, X, y, threads=threads, **opts)
        np.testing.assert_allclose(params, reference, rtol=1e-10, atol=1e-12)
