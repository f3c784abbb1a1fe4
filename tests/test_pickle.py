"""Models pickle and deep-copy through the model file format (MLP.__reduce__)."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import pickletools

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, LogisticRegression, Perceptron, model_io
from pyfastnn.mlp import _unpickle


def data(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def models() -> list[MLP]:
    return [
        MLP([3, 5, 2], "scaled_relu", "sparsemax", activation_param=2.5, loss="eps_cross_entropy",
            eps=0.01, dtype="float64", backend="vector", seed=1, init="he_normal"),
        MLP([3, 4, 4, 3], "leaky_relu", "relumax", activation_param=0.2, relumax_b=0.5,
            dtype="float32", backend="native", seed=2),
        MLP([3, 2], "gelu", "identity", dtype="float64", backend="loop", seed=3),
        MLP([3, 1], "tanh", "sigmoid", dtype="float32", seed=4),
        LogisticRegression(3, 4, backend="vector"),
        Perceptron(3, 3, dtype="float32"),
    ]  # fmt: skip


def assert_same_model(a: MLP, b: MLP, init: bool = True) -> None:
    """Same class, description, backend, parameters (and init scheme, which the
    model file does not hold) and the same outputs to the bit."""
    assert type(a) is type(b) and repr(a) == repr(b)
    assert a.spec == b.spec and a.backend == b.backend
    assert a._init == b._init or not init
    assert a.params.dtype == b.params.dtype
    np.testing.assert_array_equal(a.params, b.params)
    X = data(6, a.n_inputs, seed=7)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


@pytest.mark.parametrize("index", range(len(models())))
def test_pickle_round_trip_keeps_the_model(index: int) -> None:
    model = models()[index]
    model.params = data(1, model.n_params, seed=index)[0]
    for protocol in (2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        clone = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert_same_model(model, clone)
        # the clone's weights are views into its own flat, aligned parameters
        assert clone.params.ctypes.data % 64 == 0
        clone.weights[0][0, 0] = 123.0
        assert clone.params[0] == 123.0 and model.params[0] != 123.0


def test_pickle_holds_the_model_file_and_nothing_else() -> None:
    model = models()[0]
    blob = pickle.dumps(model, protocol=3)  # protocol 3 names every global with GLOBAL
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(blob)]
    assert [arg for name, arg in ops if name == "GLOBAL"] == ["pyfastnn.mlp _unpickle"]
    assert "BUILD" not in {name for name, _ in ops}  # no instance __dict__ restored
    assert b"numpy" not in pickle.dumps(model)  # no array pickled: parameters are in the file
    func, (file_bytes, state) = model.__reduce__()
    assert func is _unpickle and state == {"backend": "vector", "init": "he_normal"}
    assert_same_model(model_io.from_bytes(file_bytes, backend="vector"), model, init=False)


def test_file_bytes_are_the_saved_file(tmp_path) -> None:
    model = models()[1]
    model.save(tmp_path / "m.npz")
    loaded = pyfastnn.load(tmp_path / "m.npz")
    assert model_io.to_bytes(model) == model_io.to_bytes(loaded)
    assert_same_model(model_io.from_bytes(model_io.to_bytes(model)), loaded, init=False)


@pytest.mark.parametrize("index", range(len(models())))
def test_deepcopy_is_independent(index: int) -> None:
    model = models()[index]
    clone = copy.deepcopy(model)
    assert_same_model(model, clone)
    before = model.params.copy()
    clone.params = clone.params + 1
    np.testing.assert_array_equal(model.params, before)
    assert copy.copy(model).params is not model.params


@pytest.mark.parametrize("backend", ["vector", "native"])
def test_copy_trains_like_the_original(backend: str) -> None:
    X, y = data(60, 3), np.random.default_rng(1).integers(0, 3, size=60)
    model = MLP([3, 6, 3], "tanh", dtype="float64", backend=backend, seed=5)
    model.fit(X, y, epochs=2, batch_size=8, lr=0.1)
    clone = pickle.loads(pickle.dumps(model))
    for m in (model, clone):
        m.fit(X, y, epochs=3, batch_size=8, optimizer="adam", lr=0.01, seed=3)
    np.testing.assert_array_equal(clone.params, model.params)


def test_hostile_pickle_payloads_raise_value_or_type_errors() -> None:
    state = {"backend": "native", "init": "glorot_uniform"}
    good = model_io.to_bytes(models()[0])
    with pytest.raises(ValueError, match="not a valid pyfastnn model file"):
        _unpickle(b"not a zip", state)
    with pytest.raises(ValueError):
        _unpickle(good[: len(good) // 2], state)
    with pytest.raises(TypeError, match="data"):
        _unpickle("text", state)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend"):
        _unpickle(good, {"backend": "gpu"})
    with pytest.raises(ValueError, match="init"):
        _unpickle(good, {"backend": "native", "init": "ones"})


def _predict_in_child(model: MLP, X: np.ndarray) -> tuple[str, np.ndarray]:
    return repr(model), model.predict_proba(X)


def test_models_cross_spawned_processes() -> None:
    X = data(5, 3)
    sent = models()[:2]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        results = pool.starmap(_predict_in_child, [(m, X) for m in sent])
    for model, (text, proba) in zip(sent, results):
        assert text == repr(model)
        np.testing.assert_array_equal(proba, model.predict_proba(X))


def test_joblib_parallel_and_dump(tmp_path) -> None:
    joblib = pytest.importorskip("joblib")
    X = data(5, 3)
    model = models()[1]
    joblib.dump(model, tmp_path / "m.joblib")
    assert_same_model(joblib.load(tmp_path / "m.joblib"), model)
    out = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(_predict_in_child)(model, X) for _ in range(2)
    )
    for _, proba in out:
        np.testing.assert_array_equal(proba, model.predict_proba(X))


def test_fitted_estimators_pickle_and_deepcopy() -> None:
    pytest.importorskip("sklearn")
    from pyfastnn import estimators

    X, y = data(40, 3), np.random.default_rng(2).integers(0, 3, size=40)
    names = ["MLPClassifier", "LogisticRegressionClassifier", "PerceptronClassifier"]
    names += ["MLPRegressor"]  # when the estimators have it
    for name in names:
        cls = getattr(estimators, name, None)
        if cls is None:
            continue
        est = cls(random_state=0)
        short = {k: 3 for k in ("epochs", "max_iter") if k in est.get_params()}
        if "hidden_layer_sizes" in est.get_params():
            short["hidden_layer_sizes"] = (8,)
        est.set_params(**short).fit(X, X @ [1.0, -2.0, 0.5] if "Regressor" in name else y)
        for clone in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
            assert clone.model_ is not est.model_
            assert_same_model(clone.model_, est.model_)
            np.testing.assert_array_equal(clone.predict(X), est.predict(X))


def test_damaged_pickled_model_files_raise_value_errors_only() -> None:
    """Every byte of a model file, with bits flipped (flag bits included: zipfile
    raises NotImplementedError or RuntimeError for some): the reader refuses with a
    ValueError or reads a valid model, never anything else (the bytes inside a
    pickle get the checks of pyfastnn.load)."""
    good = model_io.to_bytes(MLP([2, 3], dtype="float64", seed=1))
    state = {"backend": "native", "init": "glorot_uniform"}
    refused = 0
    for position in range(len(good)):
        for bits in (0xFF, 0x01, 0x20):
            damaged = bytearray(good)
            damaged[position] ^= bits
            try:
                model = _unpickle(bytes(damaged), state)
            except ValueError:
                refused += 1
            else:
                assert model.layer_sizes == (2, 3) and np.isfinite(model.params).all()
    assert refused > len(good)
