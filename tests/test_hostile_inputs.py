"""Inputs that used to give silently wrong results or errors of the wrong kind:
overlapping ``out``, array subclasses, misaligned arrays, huge finite values,
subnormal parameters, unchecked labels, unrepresentable numbers, huge sizes."""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import MLP, _native, simplex
from pyfastnn._checks import physical_memory
from pyfastnn.gradcheck import gradcheck

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix

BACKENDS = ["loop", "vector", "native"]


def problem(dtype: str = "float64", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(6, 3)).astype(dtype), np.array([0, 1, 2, 0, 1, 2])


def misaligned(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` one byte off its natural alignment."""
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned and out.flags.c_contiguous
    return out


# ---- out= overlapping what the loss reads ---------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_and_grad_out_overlapping_params(backend: str) -> None:
    X, y = problem()
    model = MLP([3, 4, 3], dtype="float64", backend=backend, seed=1)
    loss, g = model.loss_and_grad(X, y)
    expected, before = g.flat.copy(), model.params.copy()
    same = MLP([3, 4, 3], dtype="float64", backend=backend, seed=1)
    loss2, g2 = same.loss_and_grad(X, y, out=same.params)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    assert g2.flat is same.params
    np.testing.assert_allclose(same.params, expected, rtol=1e-12, atol=1e-15)
    assert not np.array_equal(expected, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_and_grad_out_overlapping_X(backend: str) -> None:
    model = MLP([3, 2], dtype="float64", backend=backend, seed=2)
    P = model.params.size  # 8
    rng = np.random.default_rng(3)
    store = rng.normal(size=(4 * P,))
    X = store[: 3 * 8].reshape(8, 3)
    y = np.array([0, 1] * 4)
    loss, g = model.loss_and_grad(X.copy(), y)
    out = store[:P]  # the first P values of X
    loss2, g2 = model.loss_and_grad(X, y, out=out)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(out, g.flat, rtol=1e-12, atol=1e-15)


# ---- array subclasses and misaligned arrays ------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_arrays_with_masked_entries_are_refused(backend: str) -> None:
    Z = np.ma.masked_array([[1.0, 2.0, 3.0]], mask=[[0, 0, 1]])
    with pytest.raises(ValueError, match="Z: a masked array"):
        simplex.softmax(Z, backend=backend)
    model = MLP([3, 3], backend=backend)
    X, y = problem("float32")
    with pytest.raises(ValueError, match="X: a masked array"):
        model.forward(np.ma.masked_array(X, mask=X > 1))
    with pytest.raises(ValueError, match="y: a masked array"):
        model.loss(X, np.ma.masked_array(y, mask=y == 1))
    # nothing masked: the data are used, the result is a plain array
    P = simplex.softmax(np.ma.masked_array([[1.0, 2.0, 3.0]]), backend=backend)
    assert type(P) is np.ndarray
    np.testing.assert_allclose(P, simplex.softmax(np.array([[1.0, 2.0, 3.0]]), backend="vector"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_matrix_inputs_give_plain_results(backend: str) -> None:
    X, y = problem()
    model = MLP([3, 4, 3], dtype="float64", backend=backend, seed=4)
    for fn in (model.forward, lambda A: model.input_grad(A, y)):
        expected, got = fn(X), fn(np.matrix(X))
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, expected)
    got = simplex.sparsemax(np.matrix(X), backend=backend)
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, simplex.sparsemax(X, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_misaligned_arrays_give_the_aligned_results(backend: str, dtype: str) -> None:
    X, y = problem(dtype, seed=5)
    model = MLP([3, 4, 3], dtype=dtype, backend=backend, seed=5)
    np.testing.assert_array_equal(model.forward(misaligned(X)), model.forward(X))
    loss, g = model.loss_and_grad(X, y)
    loss_m, g_m = model.loss_and_grad(misaligned(X), misaligned(y))
    assert loss_m == loss
    np.testing.assert_array_equal(g_m.flat, g.flat)
    Z = X * 3
    out = misaligned(np.zeros_like(Z))
    simplex.sparsemax(misaligned(Z), out=out, backend=backend)
    np.testing.assert_array_equal(out, simplex.sparsemax(Z, backend=backend))
    grad_out = misaligned(np.zeros_like(model.params))
    with pytest.raises(ValueError, match="out: expected a writable, aligned"):
        model.loss_and_grad(X, y, out=grad_out)


# ---- huge finite values, subnormal parameters -------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("T", [1.0, 0.5])
def test_sparsemax_reference_on_huge_finite_inputs(dtype: str, T: float) -> None:
    for row in ([1e38, 0.0, -1.0], [3e38, -3e38, -1.0], [1e38, 1e38 - 1e32, -3e38]):
        Z = np.array([row], dtype=dtype)
        expected = simplex.sparsemax(Z, temperature=T, backend="loop")
        assert np.all(np.isfinite(expected)) and expected.sum() == pytest.approx(1.0)
        for backend in ("vector", "native"):
            np.testing.assert_allclose(
                simplex.sparsemax(Z, temperature=T, backend=backend), expected, atol=1e-6
            )
        for label in range(3):
            ref = simplex.sparsemax_loss(Z, [label], temperature=T, backend="loop")
            vec = simplex.sparsemax_loss(Z, [label], temperature=T, backend="vector")
            assert ref[0] >= 0 and np.isfinite(ref[0])
            assert vec[0] == pytest.approx(ref[0], rel=1e-6)
            np.testing.assert_allclose(vec[1], ref[1], atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_subnormal_relumax_b_is_refused(backend: str, dtype: str) -> None:
    tiny = np.finfo(dtype).tiny
    Z = np.array([[1.0, 2.0, 3.0]], dtype=dtype)
    with pytest.raises(ValueError, match="b: .* smallest normal"):
        simplex.relumax(Z, b=tiny / 4, backend=backend)
    with pytest.raises(ValueError, match="relumax_b"):
        MLP([3, 3], output="relumax", relumax_b=tiny / 4, dtype=dtype, backend=backend)
    P = simplex.relumax(Z, b=tiny, backend=backend)  # the smallest normal b works
    np.testing.assert_array_equal(P, [[0, 0, 1]])


# ---- score checks its labels ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_score_checks_labels(backend: str) -> None:
    X, y = problem()
    model = MLP([3, 3], dtype="float64", backend=backend)
    assert model.score(X, y) == pytest.approx(np.mean(model.predict(X) == y))
    with pytest.raises(ValueError, match="y: has 1 labels but X has 6 rows"):
        model.score(X, np.array([1]))
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 3\)"):
        model.score(X, np.array([0, 1, 5, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 3\)"):
        model.score(X, np.array([0, 1, -1, 0, 1, 2]))
    binary = MLP([3, 1], output="sigmoid", dtype="float64", backend=backend)
    assert 0 <= binary.score(X, y % 2) <= 1
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 2\)"):
        binary.score(X, y)


# ---- numbers no float holds, zero steps, sizes no machine holds --------------------------------


def test_integers_beyond_the_float_range() -> None:
    X, y = problem()
    model = MLP([3, 3], dtype="float64")
    for call, name in (
        (lambda: model.loss(X, y, l2=10**400), "l2"),
        (lambda: model.loss(X, y, l1=-(10**400)), "l1"),
        (lambda: model.fit(X, y, lr=10**400, epochs=1), "lr"),
        (lambda: simplex.softmax(X, temperature=10**400), "temperature"),
        (lambda: simplex.relumax(X, b=10**400), "b"),
        (lambda: MLP([3, 3], output="relumax", relumax_b=10**400), "relumax_b"),
        (
            lambda: MLP([3, 3], activation="leaky_relu", activation_param=10**400),
            "activation_param",
        ),
    ):
        with pytest.raises(ValueError, match=f"^{name}: .*finite"):
            call()


def test_gradcheck_arguments() -> None:
    X, y = problem()
    model = MLP([3, 3], dtype="float64")
    for kwargs, err, name in (
        ({"eps": 0}, ValueError, "eps"),
        ({"eps": -1e-6}, ValueError, "eps"),
        ({"eps": float("nan")}, ValueError, "eps"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_entries": 0}, ValueError, "max_entries"),
        ({"max_entries": 2.5}, TypeError, "max_entries"),
        ({"seed": -1}, ValueError, "seed"),
    ):
        with pytest.raises(err, match=f"^{name}:"):
            gradcheck(model, X, y, **kwargs)
    assert gradcheck(model, X, y, max_entries=3)


@pytest.mark.skipif(physical_memory() is None, reason="memory size unknown")
def test_sizes_beyond_the_machine_are_refused_before_allocating() -> None:
    with pytest.raises(ValueError, match="layer_sizes: .* GiB, more than"):
        MLP([64, 1_000_000_000, 10])
    with pytest.raises(ValueError, match="layer_sizes: .* GiB, more than"):
        MLP([784, 2**31])  # labels holding 2**31 - 1 ask for 2**31 classes


# ---- fit: arguments checked before training, divergence leaves a finite model -------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_checks_validation_data_before_training(backend: str) -> None:
    X, y = problem()
    model = MLP([3, 4, 3], dtype="float64", backend=backend)
    before = model.params.copy()
    for kwargs, err, match in (
        ({"X_val": np.ones((2, 7)), "y_val": [0, 1]}, ValueError, "X_val: expected 3 columns"),
        ({"X_val": np.ones((2, 3)), "y_val": [0, 9]}, ValueError, r"y_val: labels must lie"),
        ({"X_val": np.ones((2, 3)), "y_val": [0, 1, 2]}, ValueError, "y_val: has 3 labels"),
        ({"X_val": np.ones((2, 3)), "y_val": [0.5, 1.0]}, TypeError, "y_val: expected integer"),
        ({"X_val": np.full((2, 3), np.nan), "y_val": [0, 1]}, ValueError, "X_val: contains NaN"),
        ({"X_val": np.ones((2, 3))}, ValueError, "X_val, y_val: give both"),
    ):
        with pytest.raises(err, match=match):
            model.fit(X, y, epochs=1, **kwargs)
        np.testing.assert_array_equal(model.params, before)
    with pytest.raises(TypeError, match="^X: "):
        model.fit(None, y)
    regression = MLP([3, 2], output="identity", dtype="float64", backend=backend)
    with pytest.raises(ValueError, match=r"y_val: expected targets of shape \(2, 2\)"):
        regression.fit(X, np.ones((6, 2)), X_val=np.ones((2, 3)), y_val=np.ones((2, 3)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_with_a_batch_larger_than_any_int64(backend: str) -> None:
    X, y = problem()
    a = MLP([3, 4, 3], dtype="float64", backend=backend, seed=6)
    b = MLP([3, 4, 3], dtype="float64", backend=backend, seed=6)
    a.fit(X, y, epochs=2, batch_size=2**63)
    b.fit(X, y, epochs=2, batch_size=len(X))
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_says_what_happened_and_leaves_finite_parameters(backend: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(16, 3))
    Y = rng.normal(size=(16, 2))
    # the loss of the first minibatch overflows (the native epoch, whose update is
    # fused with the backward pass, has stepped already: it is put back)
    model = MLP([3, 2], output="identity", dtype="float64", backend=backend, seed=7)
    before = model.params.copy()
    kept = "last finite step" if backend != "native" else "restored to its initial parameters"
    with pytest.raises(FloatingPointError, match=f"minibatch 0 was not finite.*{kept}"):
        model.fit(X * 1e200, Y, epochs=2, batch_size=4)
    np.testing.assert_array_equal(model.params, before)
    # the first step overflows the parameters: they are put back
    model = MLP([3, 2], output="identity", dtype="float64", backend=backend, seed=7)
    with pytest.raises(
        FloatingPointError, match="made the parameters NaN or infinite.*initial parameters"
    ):
        model.fit(X * 1e100, Y, epochs=2, batch_size=4, lr=1e300)
    np.testing.assert_array_equal(model.params, before)
    # growing by a factor each epoch (one step per epoch) until something overflows
    model = MLP([3, 2], output="identity", backend=backend, seed=7)
    with pytest.raises(FloatingPointError, match=r"epoch (\d+)") as err:
        model.fit(X * 30, Y, epochs=100, batch_size=16, lr=1.0, shuffle=False)
    epoch = int(err.value.args[0].split("epoch ")[1].split(" ")[0])
    assert epoch > 2
    assert np.all(np.isfinite(model.params))
    if "end of epoch" in str(err.value):
        again = MLP([3, 2], output="identity", backend=backend, seed=7)
        again.fit(X * 30, Y, epochs=epoch - 1, batch_size=16, lr=1.0, shuffle=False)
        np.testing.assert_array_equal(model.params, again.params)


# ---- the raw native module refuses what the Python layer never passes it --------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_refuses_misaligned_memory(dtype: str) -> None:
    net = (_native.Network32 if dtype == "float32" else _native.Network64)([3, 4, 2], 1, 0.0, 0)
    params = np.zeros(net.num_params, dtype)
    X, y = np.ones((2, 3), dtype), np.array([0, 1])
    out = np.empty((2, 2), dtype)
    for args, name in (
        ((misaligned(params), X, out), "params"),
        ((params, misaligned(X), out), "X"),
        ((params, X, misaligned(out)), "out"),
    ):
        with pytest.raises(ValueError, match=f"{name}: expected an aligned array"):
            net.forward(*args)
    with pytest.raises(ValueError, match="y: expected an aligned array"):
        net.loss_and_grad(params, X, misaligned(y), 0.0, 0.0, None, None)
    with pytest.raises(ValueError, match="x: expected an aligned array"):
        _native.all_finite(misaligned(X))
    with pytest.raises(ValueError, match="Z: expected an aligned array"):
        _native.softmax_forward(misaligned(X), np.empty_like(X), 1.0)
    with pytest.raises(ValueError, match="A: expected an aligned array"):
        _native.matmul(misaligned(X), X.T.copy(), False, False, np.empty((2, 2), dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_loss_and_grad_refuses_overlapping_outputs(dtype: str) -> None:
    net = (_native.Network32 if dtype == "float32" else _native.Network64)([3, 4, 2], 1, 0.0, 0)
    P = net.num_params
    params = np.random.default_rng(0).normal(size=P).astype(dtype)
    X, y = np.ones((2, 3), dtype), np.array([0, 1])
    with pytest.raises(ValueError, match="dparams: must not overlap"):
        net.loss_and_grad(params, X, y, 0.0, 0.0, params, None)
    store = np.ones(P + 3, dtype)  # X is the last 6 values of dparams and 3 more
    with pytest.raises(ValueError, match="dparams: must not overlap"):
        net.loss_and_grad(params, store[P - 3 :].reshape(2, 3), y, 0.0, 0.0, store[:P], None)
    with pytest.raises(ValueError, match="dX: must not overlap"):
        net.loss_and_grad(params, X, y, 0.0, 0.0, None, X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_refuses_subnormal_relumax_b(dtype: str) -> None:
    Z = np.ones((2, 3), dtype)
    tiny = float(np.finfo(dtype).tiny)
    with pytest.raises(ValueError, match="b: expected a finite number >="):
        _native.relumax_forward(Z, np.empty_like(Z), tiny / 4, 1.0)
    _native.relumax_forward(Z, np.empty_like(Z), tiny, 1.0)
