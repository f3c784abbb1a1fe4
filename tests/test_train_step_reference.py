"""The fused training step equals its unfused reference (Network.reference_step).

train_epoch takes each step fused: on minibatches of two rows or more the
optimiser step runs inside the weight gradient product (dense_step.hpp); on
minibatches of one row the weight step is deferred to the next forward product
(deferred_update.hpp). reference_step takes the same step as plain calls:
loss_and_grad into the whole gradient, then one update of every parameter.

They agree to rounding, not to the bit: the weight steps of the fused paths
run in the optimiser kernels compiled per ISA (nn/kernels/optim_*.cpp), where
the compiler may contract the update rules into fused multiply-adds, while the
reference's update is baseline code without them; the deferred path also
forms its gradient h dz + penalty in one fused multiply-add. A single fused
step is often bit-equal; a few differ by an ulp, and such differences compound
over the steps of an epoch.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyfastnn import _native

OPTIMIZERS = {  # name: (kind, momentum, state arrays)
    "sgd": ("sgd", 0.0, ()),
    "momentum": ("sgd", 0.9, ("velocity",)),
    "adam": ("adam", 0.0, ("m", "v")),
}
# (rtol, atol) after two epochs of 40 rows at lr 0.05 (parameters ~0.3)
TOLERANCE = {np.float64: (1e-12, 1e-14), np.float32: (1e-4, 1e-5)}


def train_both(dtype, sizes, activation, batch_size, optimizer, l1, l2, dropout, epochs=2):
    rng = np.random.default_rng(1)
    n = 40
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n).astype(np.int64)
    net = (_native.Network32 if dtype == np.float32 else _native.Network64)(
        sizes, activation, 0.0, 0
    )
    P = net.num_params
    p0 = (rng.standard_normal(P) * 0.3).astype(dtype)
    kind, momentum, names = OPTIMIZERS[optimizer]
    opt = _native.OptimizerSpec(kind, lr=0.05, momentum=momentum)
    fused = {"params": p0.copy(), **{s: np.zeros(P, dtype) for s in names}}
    ref = {"params": p0.copy(), **{s: np.zeros(P, dtype) for s in names}}
    grad = np.zeros(P, dtype)
    steps = 0
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(n).astype(np.int64)
        spec = _native.EpochSpec(batch_size, l1, l2, dropout, seed=7, epoch=epoch,
                                 steps_before=steps)  # fmt: skip
        loss_sum, batches, failed = net.train_epoch(
            fused["params"], grad, X, y, order, spec, opt, fused
        )
        assert failed == -1
        ref_sum = 0.0
        for b, lo in enumerate(range(0, n, batch_size)):
            rows = order[lo : lo + batch_size]
            ref_sum += net.reference_step(
                ref["params"], grad, X[rows], y[rows], l1=l1, l2=l2, dropout=dropout, seed=7,
                epoch=epoch, step=b, t=steps + b + 1, optimizer=opt, state=ref,
            )  # fmt: skip
        assert batches == b + 1
        rtol, _ = TOLERANCE[dtype]
        assert loss_sum == pytest.approx(ref_sum, rel=100 * rtol)
        steps += batches
    return fused, ref


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 8, 64], ids=["deferred", "fused", "one-batch"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize(
    ("l1", "l2", "dropout"), [(0.0, 0.0, 0.0), (1e-3, 1e-2, 0.25)], ids=["plain", "l1-l2-dropout"]
)
@pytest.mark.parametrize(
    ("sizes", "activation"), [([6, 9, 7, 3], 1), ([6, 9, 3], 4)], ids=["relu", "tanh"]
)
def test_fused_step_equals_the_reference(
    dtype, batch_size, optimizer, l1, l2, dropout, sizes, activation
):
    fused, ref = train_both(dtype, sizes, activation, batch_size, optimizer, l1, l2, dropout)
    rtol, atol = TOLERANCE[dtype]
    for name in fused:
        np.testing.assert_allclose(fused[name], ref[name], rtol=rtol, atol=atol, err_msg=name)


def test_reference_step_checks_its_arguments():
    net = _native.Network64([3, 4, 2], 1, 0.0, 0)
    P = net.num_params
    X = np.zeros((5, 3))
    y = np.zeros(5, np.int64)
    sgd = _native.OptimizerSpec("sgd", lr=0.1)
    args = dict(params=np.zeros(P), grad=np.zeros(P), X=X, y=y, l1=0.0, l2=0.0, dropout=0.0,
                seed=0, epoch=0, step=0, t=1, optimizer=sgd, state={})  # fmt: skip
    with pytest.raises(ValueError, match="m: required"):
        net.reference_step(**{**args, "optimizer": _native.OptimizerSpec("adam", lr=0.1)})
    with pytest.raises(ValueError, match="t: expected"):
        net.reference_step(**{**args, "t": 0})
    with pytest.raises(TypeError, match="m: expected a numpy array"):
        net.reference_step(**{**args, "optimizer": _native.OptimizerSpec("adam", lr=0.1),
                                "state": {"m": [0.0] * P, "v": np.zeros(P)}})  # fmt: skip
    with pytest.raises(ValueError, match="overlap"):
        params = np.zeros(P)
        net.reference_step(**{**args, "params": params, "grad": params})
    with pytest.raises(ValueError, match="grad"):
        net.reference_step(**{**args, "grad": np.zeros(P + 1)})
