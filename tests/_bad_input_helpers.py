"""Helpers of the bad-input tests (tests/test_bad_input_*.py).

Bad input to the public API gets a clear TypeError/ValueError naming the argument,
or correct handling -- never a crash. Every error message of the package starts
with the argument's name followed by a colon ("X: ...", "weights[0]: ..."), so the
checks anchor on that (`named`).
"""

from __future__ import annotations

import re

import numpy as np

from pyfastnn import MLP

BACKENDS = ["loop", "vector", "native"]
METHODS = ["forward", "loss", "loss_and_grad", "input_grad"]


def named(name: str) -> str:
    """Regex: the message starts with ``name:``."""
    return "^" + re.escape(name) + ":"


def run(model: MLP, method: str, X: object, y: object = None) -> tuple:
    """Call ``method``; return everything it computed as a tuple of arrays/floats."""
    if method == "forward":
        return (model.forward(X),)
    if method == "loss":
        return (model.loss(X, y),)
    if method == "loss_and_grad":
        loss, grads = model.loss_and_grad(X, y)
        return (loss, grads.flat)
    if method == "input_grad":
        return (model.input_grad(X, y),)
    raise AssertionError(method)


def assert_same(a: tuple, b: tuple) -> None:
    assert len(a) == len(b)
    for u, v in zip(a, b):
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype, (u.dtype, v.dtype)
        assert u.shape == v.shape, (u.shape, v.shape)
        assert np.array_equal(u, v), f"max difference {np.max(np.abs(u - v))}"


def make_model(backend: str, sizes=(3, 4, 2), dtype="float32", **kw) -> MLP:
    model = MLP(list(sizes), dtype=dtype, backend=backend, seed=1, **kw)
    rng = np.random.default_rng(7)
    model.biases = [rng.normal(scale=0.3, size=b.shape) for b in model.biases]
    return model
