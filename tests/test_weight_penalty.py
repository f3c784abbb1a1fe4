"""The elastic-net penalty's value l2 sum W^2 + l1 sum |W| in the native loss.

The native kernel sums in fixed lanes and fixed chunks (nn/dense.cpp,
nn/kernels/optim_template.hpp). With zero inputs, biases and targets the data
term of the loss is exactly 0, so the reported loss is the penalty alone:
compared with a correctly rounded float64 sum (math.fsum) to within the error
bound of that summation order, on every ISA, and bit for bit across ISAs and
thread counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ISAS

import pyfastnn
from pyfastnn import MLP

LANES = 32  # kPenaltyLanes: the number of independent accumulators
# Layer sizes whose weight counts are not multiples of the lanes (the
# vector tail) and, for the largest, above the parallel threshold (2^15)
# and spanning several chunks of 2^14 with a partial last one.
SIZES = [(3, 5, 2), (7, 9, 13), (1, 17, 1), (203, 197, 3)]
PENALTIES = [(0.3, 0.7), (0.0, 1e-4), (1e-4, 0.0)]


def penalty_only_loss(sizes, dtype: str, l1: float, l2: float, seed: int = 0):
    """The native loss of a model whose data term is exactly 0, and its weights."""
    rng = np.random.default_rng(seed)
    model = MLP(list(sizes), "tanh", "identity", dtype=dtype, backend="native", seed=seed)
    model.weights = [rng.normal(scale=2.0, size=W.shape) for W in model.weights]
    model.biases = [np.zeros_like(b) for b in model.biases]
    X = np.zeros((2, sizes[0]), dtype=dtype)
    Y = np.zeros((2, sizes[-1]), dtype=dtype)
    loss, _ = model.loss_and_grad(X, Y, l1=l1, l2=l2)
    return loss, model.weights


def reference(weights, l1: float, l2: float) -> tuple[float, float]:
    """The penalty in float64, correctly rounded, and a bound on the error of
    a sum in LANES lanes over fixed chunks (positive terms: relative error at
    most (terms per lane + lanes + chunks + 3) units of 2^-53)."""
    w = np.concatenate([W.astype(np.float64).ravel() for W in weights])
    value = math.fsum(l2 * float(s) for s in w * w) + math.fsum(l1 * abs(float(v)) for v in w)
    n_terms = max(W.size for W in weights)
    bound = (n_terms / LANES + LANES + n_terms / 2**14 + 3 + 2 * len(weights)) * 2.0**-53
    return value, bound * value


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("l1", "l2"), PENALTIES)
@pytest.mark.parametrize("sizes", SIZES)
def test_penalty_value_matches_float64_reference(isa, sizes, l1, l2, dtype):
    loss, weights = penalty_only_loss(sizes, dtype, l1, l2)
    # the native step rounds the coefficients to the model's dtype
    cast = np.dtype(dtype).type
    value, bound = reference(weights, float(cast(l1)), float(cast(l2)))
    assert value > 0
    assert abs(loss - value) <= bound, (loss, value, bound)


@pytest.fixture
def restore_kernel_and_threads():
    isa, threads = pyfastnn.kernel_info()["isa"], pyfastnn.get_num_threads()
    yield
    pyfastnn.set_kernel(isa)
    pyfastnn.set_num_threads(threads)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_penalty_same_bits_on_every_isa_and_thread_count(restore_kernel_and_threads, dtype):
    """The order of the additions is fixed (lanes, then chunks): 1 or 2 threads
    and every ISA's kernel give the same bits (a fused multiply-add, which
    random weights may not reveal, is caught by the next test)."""
    info = pyfastnn.kernel_info()
    supported = {
        "portable": True,
        "avx2": info["cpu_supports_avx2_fma"],
        "avx512": info["cpu_supports_avx512"],
    }
    losses = {}
    for isa in ISAS:
        if not supported[isa]:
            continue
        pyfastnn.set_kernel(isa)
        for threads in (1, 2):
            pyfastnn.set_num_threads(threads)
            losses[isa, threads] = penalty_only_loss((203, 197, 3), dtype, 0.3, 0.7)[0]
    first = next(iter(losses.values()))
    assert all(v == first for v in losses.values()), losses


def test_penalty_squares_round_before_they_are_added(restore_kernel_and_threads):
    """No ISA fuses w * w + acc into one rounding (an FMA). Lane 0 of the
    first layer's weights (w[0], w[32], w[64], w[96] = W[0..3, 0]) holds
    2^-13, 2^-27, 2^-27 and 1 - 2^-27: the lane reaches 2^-26 + 2^-53 exactly,
    then (1 - 2^-27)^2 = 1 - 2^-26 + 2^-54 rounds to 1 - 2^-26 (a tie, to
    even) and the sum 1 + 2^-53 to 1 (a tie, to even). An FMA would add the
    exact square, 1 + 2^-53 + 2^-54, and round it to 1 + 2^-52."""
    info = pyfastnn.kernel_info()
    supported = {
        "portable": True,
        "avx2": info["cpu_supports_avx2_fma"],
        "avx512": info["cpu_supports_avx512"],
    }
    model = MLP([4, 32, 1], "tanh", "identity", dtype="float64", backend="native")
    W0 = np.zeros((4, 32))
    W0[:, 0] = [2.0**-13, 2.0**-27, 2.0**-27, 1 - 2.0**-27]
    model.weights = [W0, np.zeros((32, 1))]
    model.biases = [np.zeros(32), np.zeros(1)]
    X, Y = np.zeros((1, 4)), np.zeros((1, 1))
    for isa in ISAS:
        if supported[isa]:
            pyfastnn.set_kernel(isa)
            loss, _ = model.loss_and_grad(X, Y, l2=1.0)
            assert loss == 1.0, (isa, loss - 1.0)
