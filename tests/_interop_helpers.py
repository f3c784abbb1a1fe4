"""Models of every kind, activation, output and dtype for the interop tests,
and a NumPy forward written from the formulas (csrc/nn/activations.hpp)."""

from __future__ import annotations

import math

import numpy as np
from conftest import ACTIVATIONS, OUTPUTS  # the suite's lists of every activation and output

import pyfastnn

DTYPES = ["float32", "float64"]
# (kind, activation, output): every MLP combination plus the two linear models
MODEL_CASES = [("mlp", a, o) for a in ACTIVATIONS for o in OUTPUTS] + [
    ("logistic_regression", "identity", "softmax"),
    ("perceptron", "identity", "identity"),
]


def case_id(case: tuple[str, str, str]) -> str:
    return "-".join(case)


def make_model(kind: str, activation: str, output: str, dtype: str, seed: int = 3):
    """A model with random (not initial) parameters, biases included."""
    rng = np.random.default_rng(seed)
    if kind == "logistic_regression":
        model = pyfastnn.LogisticRegression(5, 4, dtype=dtype)
    elif kind == "perceptron":
        model = pyfastnn.Perceptron(5, 4, dtype=dtype)
    else:
        param = {"scaled_relu": 2.5, "leaky_relu": 0.2}.get(activation)
        model = pyfastnn.MLP(
            [5, 7, 6, 4],
            activation,
            output,
            dtype=dtype,
            seed=seed,
            activation_param=param,
            relumax_b=0.7,
        )
    model.params = rng.normal(0.0, 0.8, size=model.params.size).astype(dtype)
    return model


def inputs(n_rows: int, n_cols: int, dtype: str, seed: int = 9) -> np.ndarray:
    """Inputs with a few exact zeros and large values (the kinks and the tails)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 2.0, size=(n_rows, n_cols))
    X[0, :] = 0.0
    X[1, 0] = 30.0
    X[2, 0] = -30.0
    return X.astype(dtype)


def _activation(name: str, param: float, Z: np.ndarray) -> np.ndarray:
    if name == "identity":
        return Z
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "scaled_relu":
        return param * np.maximum(Z, 0)
    if name == "leaky_relu":
        return np.where(Z < 0, param * Z, Z)
    if name == "tanh":
        return np.tanh(Z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if name == "softplus":
        return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))
    if name == "gelu":
        erf = np.vectorize(math.erf)
        return Z * 0.5 * (1 + erf(Z / math.sqrt(2)))
    raise AssertionError(name)


def _sparsemax(Z: np.ndarray) -> np.ndarray:
    out = np.empty_like(Z)
    for i, z in enumerate(Z):
        s = np.sort(z)[::-1]
        k = np.arange(1, z.size + 1)
        support = 1 + k * s > np.cumsum(s)
        k_z = k[support][-1]
        tau = (np.cumsum(s)[k_z - 1] - 1) / k_z
        out[i] = np.maximum(z - tau, 0)
    return out


def reference_forward(model, X: np.ndarray) -> np.ndarray:
    """The model's outputs (N, K) in float64 from its weights and the formulas."""
    H = X.astype(np.float64)
    n = model.n_layers
    for layer, (W, b) in enumerate(zip(model.weights, model.biases)):
        H = H @ W.astype(np.float64) + b.astype(np.float64)
        if layer < n - 1:
            H = _activation(model.activation, model.activation_param, H)
    if model.output == "softmax":
        E = np.exp(H - H.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    if model.output == "sigmoid":
        return 1 / (1 + np.exp(-H))
    if model.output == "sparsemax":
        return _sparsemax(H)
    if model.output == "relumax":
        R = np.maximum(H - H.max(axis=1, keepdims=True) + model.relumax_b, 0)
        return R / R.sum(axis=1, keepdims=True)
    return H
