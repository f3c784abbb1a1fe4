"""Bad input to the MLP constructor and its hyper-parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _bad_input_helpers import BACKENDS, named

from pyfastnn import MLP

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "sizes, exc",
    [
        (5, TypeError),
        ("3,4", TypeError),
        (b"\x03\x04", TypeError),
        (None, TypeError),
        ({3, 4}, TypeError),
        (3.5, TypeError),
        ([], ValueError),
        ([3], ValueError),
        ((7,), ValueError),
        ([3, 0], ValueError),
        ([0, 3], ValueError),
        ([3, -2], ValueError),
        ([3, 4, 0, 2], ValueError),
        ([3, 2.0], TypeError),
        ([3, 2.5], TypeError),
        ([3, "2"], TypeError),
        ([3, None], TypeError),
        ([3, True], TypeError),
        ([False, 3], TypeError),
        ([3, np.float64(2)], TypeError),
    ],
)
def test_layer_sizes_invalid(backend, sizes, exc):
    with pytest.raises(exc, match=named("layer_sizes")):
        MLP(sizes, backend=backend)


@pytest.mark.parametrize("sizes", [(3, 2), [np.int64(3), np.int32(2)], range(3, 1, -1)])
def test_layer_sizes_valid_sequences(sizes):
    model = MLP(sizes)
    assert model.layer_sizes == (3, 2)
    assert all(type(s) is int for s in model.layer_sizes)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["relu6", "", "RELU", None, 1, "softmax"])
def test_unknown_activation(backend, activation):
    expected = ValueError if isinstance(activation, str) else TypeError
    with pytest.raises(expected, match=named("activation")):
        MLP([3, 2], activation=activation, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["linear", "", "Softmax", None, 0, "relu"])
def test_unknown_output(backend, output):
    expected = ValueError if isinstance(output, str) else TypeError
    with pytest.raises(expected, match=named("output")):
        MLP([3, 2], output=output, backend=backend)


@pytest.mark.parametrize("arg", ["activation", "output"])
def test_unhashable_activation_or_output(arg):
    with pytest.raises((TypeError, ValueError), match=named(arg)):
        MLP([3, 2], **{arg: ["relu"]})


@pytest.mark.parametrize("backend", ["gpu", "", "Native", None, 1, ["native"]])
def test_unknown_backend(backend):
    with pytest.raises(ValueError, match=named("backend")):
        MLP([3, 2], backend=backend)


@pytest.mark.parametrize("backend", ["gpu", None, "NATIVE"])
def test_backend_setter_rejects_and_keeps_old_value(backend):
    model = MLP([3, 2], backend="vector")
    with pytest.raises(ValueError, match=named("backend")):
        model.backend = backend
    assert model.backend == "vector"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "dtype", ["float16", "int32", "int64", "bool", "complex128", "bogus", np.complex64, int, "U3"]
)
def test_unknown_dtype(backend, dtype):
    with pytest.raises(TypeError, match=named("dtype")):
        MLP([3, 2], dtype=dtype, backend=backend)


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", np.float32, np.dtype("float64"), "f4", "<f8"]
)
def test_valid_dtype_spellings(dtype):
    assert MLP([3, 2], dtype=dtype).dtype == np.dtype(dtype)


def test_dtype_none_rejected():
    with pytest.raises(TypeError, match=named("dtype")):
        MLP([3, 2], dtype=None)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "sigmoid", "softplus", "gelu"])
@pytest.mark.parametrize("param", [0.0, 1.0, 5.0])
def test_activation_param_for_activation_without_one(backend, activation, param):
    with pytest.raises(ValueError, match=named("activation_param")):
        MLP([3, 4, 2], activation=activation, activation_param=param, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "c, exc",
    [
        (0.0, ValueError),
        (0, ValueError),
        (-1.0, ValueError),
        (-1e-300, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (float("-inf"), ValueError),
        ("5", TypeError),
        (True, TypeError),
        ([5.0], TypeError),
    ],
)
def test_scaled_relu_bad_c(backend, c, exc):
    with pytest.raises(exc, match=named("activation_param")):
        MLP([3, 4, 2], activation="scaled_relu", activation_param=c, backend=backend)


@pytest.mark.parametrize(
    "alpha, exc",
    [(float("nan"), ValueError), (float("inf"), ValueError), ("0.1", TypeError), (1j, TypeError)],
)
def test_leaky_relu_bad_alpha(alpha, exc):
    with pytest.raises(exc, match=named("activation_param")):
        MLP([3, 4, 2], activation="leaky_relu", activation_param=alpha)


def test_activation_params_accepted():
    assert (
        MLP([3, 4, 2], activation="scaled_relu", activation_param=np.float32(2)).activation_param
        == 2.0
    )
    assert MLP([3, 4, 2], activation="scaled_relu", activation_param=3).activation_param == 3.0
    assert MLP([3, 4, 2], activation="scaled_relu").activation_param == 5.0
    assert MLP([3, 4, 2], activation="leaky_relu").activation_param == 0.01


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [-1, -(2**70), 1.5, "3", None, True, np.float64(2.0), [1]])
def test_bad_seed(backend, seed):
    with pytest.raises((TypeError, ValueError), match=named("seed")):
        MLP([3, 2], seed=seed, backend=backend)
    model = MLP([3, 2], backend=backend)
    before = model.params.copy()
    with pytest.raises((TypeError, ValueError), match=named("seed")):
        model.reset_parameters(seed)
    assert np.array_equal(model.params, before)


def test_negative_seed_is_a_value_error():
    with pytest.raises(ValueError, match=named("seed")):
        MLP([3, 2], seed=-1)


def test_valid_seeds():
    a = MLP([3, 2], seed=np.int64(5))
    b = MLP([3, 2], seed=5)
    c = MLP([3, 2], seed=2**70)
    assert np.array_equal(a.params, b.params)
    assert c.params.shape == a.params.shape


def test_layer_sizes_too_large_named():
    try:
        MLP([2**62, 2])
    except MemoryError:
        return
    except ValueError as err:
        assert re.match(named("layer_sizes"), str(err)), str(err)
        return
    raise AssertionError("no error")
