"""Every backend module implements the Backend protocol, over (spec, params) only."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pyfastnn import MLP
from pyfastnn._targets import Target
from pyfastnn.backends import BACKENDS, EpochPlan
from pyfastnn.backends.protocol import Backend
from pyfastnn.optim import SGD

METHODS = ("forward", "loss_and_grad", "train_epoch")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_backend_has_the_protocol_signatures(name: str) -> None:
    module = BACKENDS[name]
    for method in METHODS:
        expected = list(inspect.signature(getattr(Backend, method)).parameters)[1:]  # no self
        assert list(inspect.signature(getattr(module, method)).parameters) == expected


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_backend_works_on_spec_and_params_alone(name: str) -> None:
    """The backends agree when called directly with a spec and a flat vector."""
    spec = MLP([3, 4, 2], "tanh", dtype="float64", seed=1).spec
    rng = np.random.default_rng(0)
    params = rng.normal(size=spec.n_params)
    X = rng.normal(size=(5, 3))
    target = Target(labels=np.array([0, 1, 1, 0, 1], dtype=np.int64))
    reference = BACKENDS["vector"]
    backend = BACKENDS[name]
    np.testing.assert_allclose(
        backend.forward(spec, params, X), reference.forward(spec, params, X), rtol=1e-12
    )
    got = backend.loss_and_grad(spec, params, X, target, 0.0, 1e-3, True, True)
    want = reference.loss_and_grad(spec, params, X, target, 0.0, 1e-3, True, True)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    trained = {}
    for b, mod in (("it", backend), ("reference", reference)):
        p = params.copy()
        plan = EpochPlan(batch_size=2, l2=1e-3, seed=3, epoch=1)
        result = mod.train_epoch(
            spec, p, np.empty_like(p), X, target, None, plan, SGD(0.1), {"velocity": p[:0]}
        )
        assert result[1:] == (3, -1)
        trained[b] = p
    np.testing.assert_allclose(trained["it"], trained["reference"], rtol=1e-10, atol=1e-14)
