"""Bad input to pyfastnn.gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
from _bad_input_helpers import named

from pyfastnn import MLP, _native, gradcheck

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_gradcheck_rejects_float32_model():
    model = MLP([3, 2], dtype="float32")
    with pytest.raises(ValueError, match=named("model")):
        gradcheck(model, np.ones((2, 3)), [0, 1])


@pytest.mark.parametrize(
    "model", [None, "MLP", 3, {"layer_sizes": [3, 2]}, _native.Network64([3, 2], 1, 0.0, 0), MLP]
)
def test_gradcheck_rejects_non_mlp(model):
    with pytest.raises(TypeError, match=named("model")):
        gradcheck(model, np.ones((2, 3)), [0, 1])


def test_gradcheck_bad_X_and_y_named():
    model = MLP([3, 2], dtype="float64")
    with pytest.raises(ValueError, match=named("X")):
        gradcheck(model, np.ones((2, 4)), [0, 1])
    with pytest.raises(ValueError, match=named("y")):
        gradcheck(model, np.ones((2, 3)), [0, 2])
    assert gradcheck(model, np.ones((2, 3)) * 0.3, [0, 1], max_entries=5).passed
