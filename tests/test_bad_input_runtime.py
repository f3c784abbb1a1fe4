"""Bad input to the thread count and the kernel choice."""

from __future__ import annotations

import numpy as np
import pytest
from _bad_input_helpers import named

import pyfastnn

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize(
    "n, exc",
    [
        (0, ValueError),
        (-1, ValueError),
        (-(2**70), ValueError),
        (1.5, TypeError),
        (2.0, TypeError),
        ("2", TypeError),
        (None, TypeError),
        (True, TypeError),
        (np.float64(2), TypeError),
    ],
)
def test_set_num_threads_bad(restore_runtime, n, exc):
    pyfastnn.set_num_threads(2)
    with pytest.raises(exc, match=named("n")):
        pyfastnn.set_num_threads(n)
    assert pyfastnn.get_num_threads() == 2


def test_set_num_threads_accepts_numpy_int(restore_runtime):
    pyfastnn.set_num_threads(np.int64(1))
    assert pyfastnn.get_num_threads() == 1


def test_set_num_threads_too_large(restore_runtime):
    pyfastnn.set_num_threads(2)
    with pytest.raises((ValueError, OverflowError), match=named("n")):
        pyfastnn.set_num_threads(2**40)
    assert pyfastnn.get_num_threads() == 2


@pytest.mark.parametrize(
    "isa, exc",
    [
        ("bogus", ValueError),
        ("", ValueError),
        ("AVX2_FMA", ValueError),
        (None, TypeError),
        (3, TypeError),
    ],
)
def test_set_kernel_bad(restore_runtime, isa, exc):
    before = pyfastnn.kernel_info()["isa"]
    with pytest.raises(exc, match=named("isa")):
        pyfastnn.set_kernel(isa)
    assert pyfastnn.kernel_info()["isa"] == before
