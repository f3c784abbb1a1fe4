"""Property-based tests of the public API (hypothesis, bounded and derandomized):
random shapes, dtypes, memory layouts and special values, checked against the
reference backends and mathematical properties, on every ISA; and hostile
objects, model files and IDX bytes, which may only ever raise ValueError or
TypeError."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pyfastnn
from pyfastnn import MLP, simplex
from pyfastnn._spec import ACTIVATIONS, OUTPUTS
from pyfastnn.data.idx import parse_idx

# Bounded and reproducible: the whole module takes a few seconds per ISA.
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DTYPES = [np.float32, np.float64]
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}
LAYOUTS = ["C", "F", "strided", "misaligned", "list", "int"]


def with_layout(a: np.ndarray, layout: str) -> object:
    """The values of ``a`` in another memory layout (or container)."""
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":
        wide = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
        wide[:, ::2] = a
        return wide[:, ::2]
    if layout == "misaligned":
        buf = np.zeros(a.nbytes + 1, np.uint8)
        out = buf[1:].view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    if layout == "list":
        return a.tolist()
    return a


def special_values(dtype: type) -> st.SearchStrategy[float]:
    info = np.finfo(dtype)
    return st.one_of(
        st.floats(-8, 8, width=32),
        st.sampled_from(
            [0.0, -0.0, 1.0, float(info.tiny), -float(info.tiny), 1e30, -1e30, float(info.max) / 4]
        ),
    )


@st.composite
def batches(draw, max_rows: int = 5, max_cols: int = 9):
    dtype = draw(st.sampled_from(DTYPES))
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols)))
    Z = draw(hnp.arrays(dtype, shape, elements=special_values(dtype)))
    return Z, draw(st.sampled_from(LAYOUTS[:-1]))


# ---- the maps --------------------------------------------------------------------------


@PROPERTY
@given(
    case=batches(),
    name=st.sampled_from(["softmax", "sparsemax", "relumax"]),
    T=st.sampled_from([1.0, 0.5, 3.0]),
)
def test_maps_agree_with_the_reference(isa: str, case, name: str, T: float) -> None:
    Z, layout = case
    kwargs = {"temperature": T, **({"b": 0.7} if name == "relumax" else {})}
    fn = getattr(simplex, name)
    ref = fn(Z.astype(np.float64), backend="loop", **kwargs)
    assert np.all(ref >= 0) and np.allclose(ref.sum(axis=1), 1.0)
    for backend in ("vector", "native"):
        got = fn(with_layout(Z, layout), backend=backend, **kwargs)
        dtype = np.float64 if layout == "list" else Z.dtype  # lists hold Python floats
        assert type(got) is np.ndarray and got.dtype == dtype and got.shape == Z.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=TOL[Z.dtype] * 10)
    if name == "sparsemax":
        tau = simplex.sparsemax_threshold(Z, temperature=T, backend="native")
        with np.errstate(over="ignore"):
            again = np.maximum(Z.astype(np.float64) / T - tau[:, None].astype(np.float64), 0)
        np.testing.assert_allclose(again, ref, atol=TOL[Z.dtype] * 10 * max(1, abs(Z).max() / T))


@PROPERTY
@given(
    case=batches(),
    name=st.sampled_from(["softmax", "sparsemax", "relumax"]),
    vjp=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_products_agree_with_the_reference(isa: str, case, name: str, vjp: bool, seed: int):
    Z, layout = case
    assume(np.abs(Z).max() < 1e6)  # the products scale with the inputs
    V = np.random.default_rng(seed).normal(size=Z.shape).astype(Z.dtype)
    fn = getattr(simplex, f"{name}_{'vjp' if vjp else 'jvp'}")
    kwargs = {"b": 0.7} if name == "relumax" else {}
    ref = fn(Z.astype(np.float64), V.astype(np.float64), backend="loop", **kwargs)
    for backend in ("vector", "native"):
        got = fn(with_layout(Z, layout), with_layout(V, layout), backend=backend, **kwargs)
        np.testing.assert_allclose(got, ref, rtol=0, atol=TOL[Z.dtype] * 100)
    # the rows of J sum to zero: J 1 = 0 (JVP of a constant direction)
    ones = np.ones_like(Z)
    jvp = getattr(simplex, f"{name}_jvp")(Z, ones, backend="native", **kwargs)
    np.testing.assert_allclose(jvp, 0, atol=TOL[Z.dtype] * 100)


# ---- networks --------------------------------------------------------------------------


@st.composite
def networks(draw):
    output = draw(st.sampled_from(sorted(OUTPUTS)))
    loss = draw(st.sampled_from(OUTPUTS[output][1]))
    k_min = 2 if output in ("softmax", "sparsemax", "relumax") or loss == "perceptron" else 1
    sizes = [draw(st.integers(1, 5))]
    sizes += draw(st.lists(st.integers(1, 6), max_size=2))
    sizes.append(draw(st.integers(k_min, 5)))
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    return sizes, activation, output, loss


@PROPERTY
@given(
    net=networks(),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(LAYOUTS),
    l2=st.sampled_from([0.0, 0.01]),
)
def test_networks_agree_across_backends(
    isa: str, net, n: int, seed: int, layout: str, l2: float
) -> None:
    sizes, activation, output, loss = net
    models = {
        b: MLP(sizes, activation, output, dtype="float64", backend=b, seed=seed, loss=loss)
        for b in ("loop", "vector", "native")
    }
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, sizes[0]))
    if layout == "int":
        X = np.rint(X).astype(np.int32)
    if models["loop"].labels_only:
        y = rng.integers(0, sizes[-1], size=n)
    else:
        y = rng.uniform(0.1, 0.9, size=(n, sizes[-1]))
    Xl = with_layout(X, layout) if layout != "int" else X
    ref_loss, ref_grad = models["loop"].loss_and_grad(X, y, l2=l2)
    ref_dX = models["loop"].input_grad(X, y)
    ref_out = models["loop"].forward(X)
    for backend in ("vector", "native"):
        m = models[backend]
        got_loss, got_grad = m.loss_and_grad(Xl, y, l2=l2)
        assert got_loss == pytest.approx(ref_loss, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(got_grad.flat, ref_grad.flat, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(m.input_grad(Xl, y), ref_dX, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(m.forward(Xl), ref_out, rtol=1e-9, atol=1e-12)


@PROPERTY
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 40),
    n=st.integers(1, 40),
    dtype=st.sampled_from(DTYPES),
    ta=st.booleans(),
    tb=st.booleans(),
    layout=st.sampled_from(["C", "misaligned", "strided"]),
    seed=st.integers(0, 2**16),
)
def test_matmul_against_numpy(isa: str, m, k, n, dtype, ta, tb, layout, seed) -> None:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
    B = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
    a = with_layout(A, layout)
    b = with_layout(B, layout)
    a = a.T if ta else a
    b = b.T if tb else b
    got = pyfastnn.matmul(a, b)
    expected = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    np.testing.assert_allclose(
        got, expected, rtol=TOL[np.dtype(dtype)] * 10 * k, atol=TOL[np.dtype(dtype)] * 10 * k
    )


# ---- hostile objects, files and bytes: only ValueError or TypeError ---------------------------

HOSTILE = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.integers(-(2**70), 2**70),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=2)), max_size=4),
    st.lists(st.lists(st.floats(), max_size=3), max_size=3),
    hnp.arrays(
        st.sampled_from(
            [
                np.float16,
                np.float32,
                np.float64,
                np.int8,
                np.uint64,
                np.bool_,
                np.complex64,
                np.object_,
                "U3",
                "M8[s]",
            ]
        ),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    ),
)


def only_value_or_type_errors(call) -> object:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except (ValueError, TypeError):
        return None


@PROPERTY
@given(x=HOSTILE, y=HOSTILE, backend=st.sampled_from(["loop", "vector", "native"]))
def test_hostile_objects_raise_value_or_type_errors(x, y, backend: str) -> None:
    model = MLP([3, 2], dtype="float64", backend=backend)
    for call in (
        lambda: model.forward(x),
        lambda: model.loss_and_grad(x, y),
        lambda: model.score(x, y),
        lambda: model.fit(x, y, epochs=1),
        lambda: simplex.sparsemax(x, backend=backend),
        lambda: simplex.sparsemax_loss(x, y, backend=backend),
        lambda: simplex.relumax(x, b=y, backend=backend),
        lambda: pyfastnn.matmul(x, y, backend=backend),
        lambda: model.fit(np.ones((2, 3)), [0, 1], lr=x, epochs=1),
        lambda: MLP([3, 2], output="relumax", relumax_b=x),
        lambda: setattr(model, "params", x),
    ):
        only_value_or_type_errors(call)
    assert np.all(np.isfinite(model.params))


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> tuple[bytes, np.ndarray]:
    model = MLP([3, 4, 2], dtype="float64", seed=1)
    path = tmp_path_factory.mktemp("model") / "m.npz"
    model.save(path)
    return path.read_bytes(), model.params.copy()


@PROPERTY
@given(data=st.data())
def test_damaged_model_files(saved_model, tmp_path_factory, data) -> None:
    raw, params = saved_model
    blob = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    path: Path = tmp_path_factory.mktemp("damaged") / "m.npz"
    path.write_bytes(bytes(blob))
    model = only_value_or_type_errors(lambda: pyfastnn.load(path))
    if model is not None:  # a byte nobody reads changed, e.g. a timestamp: same model
        assert model.params.shape == params.shape and np.all(np.isfinite(model.params))


@PROPERTY
@given(
    head=st.binary(min_size=0, max_size=4),
    dims=st.lists(st.integers(0, 2**32 - 1), max_size=4),
    body=st.binary(max_size=64),
)
def test_idx_bytes(head: bytes, dims: list[int], body: bytes) -> None:
    data = head + b"".join(d.to_bytes(4, "big") for d in dims) + body
    for blob in (data, b"\x00\x00\x08" + bytes([len(dims)]) + data[4:]):
        arr = only_value_or_type_errors(lambda blob=blob: parse_idx(blob))
        if arr is not None:
            assert arr.nbytes <= len(blob)
