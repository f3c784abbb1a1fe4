"""Bad input to the simplex-map API: a TypeError / ValueError whose message starts
with the argument's name -- never a crash -- in the public functions and in direct
calls into the native module."""

from __future__ import annotations

import re

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

Z = np.random.default_rng(0).standard_normal((4, 5))
y = np.array([0, 1, 2, 4])


def named(name: str) -> str:
    return "^" + re.escape(name) + ":"


@pytest.mark.parametrize("backend", ["loop", "vector", "native"])
@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda be: pyfastnn.sparsemax(Z[0, 0], backend=be), ValueError, "Z"),  # 0-D
        (lambda be: pyfastnn.sparsemax(np.zeros((3, 0)), backend=be), ValueError, "Z"),
        (lambda be: pyfastnn.sparsemax(np.zeros((0, 3)), backend=be), ValueError, "Z"),
        (lambda be: pyfastnn.softmax(Z.astype(complex), backend=be), TypeError, "Z"),
        (lambda be: pyfastnn.softmax([["a", "b"]], backend=be), TypeError, "Z"),
        (lambda be: pyfastnn.softmax(None, backend=be), TypeError, "Z"),
        (lambda be: pyfastnn.relumax(Z, 0.0, backend=be), ValueError, "b"),
        (lambda be: pyfastnn.relumax(Z, -1, backend=be), ValueError, "b"),
        (lambda be: pyfastnn.relumax(Z, float("nan"), backend=be), ValueError, "b"),
        (lambda be: pyfastnn.relumax(Z, float("inf"), backend=be), ValueError, "b"),
        (lambda be: pyfastnn.relumax(Z, "1", backend=be), TypeError, "b"),
        (lambda be: pyfastnn.relumax(Z.astype(np.float32), 1e39, backend=be), ValueError, "b"),
        (lambda be: pyfastnn.relumax(Z.astype(np.float32), 1e-60, backend=be), ValueError, "b"),
        (lambda be: pyfastnn.sparsemax(Z, temperature=0, backend=be), ValueError, "temperature"),
        (lambda be: pyfastnn.sparsemax(Z, temperature=-2, backend=be), ValueError, "temperature"),
        (lambda be: pyfastnn.softmax(Z, temperature=None, backend=be), TypeError, "temperature"),
        (
            lambda be: pyfastnn.softmax(Z.astype(np.float32), temperature=1e-45, backend=be),
            ValueError,
            "temperature",
        ),
        (lambda be: pyfastnn.sparsemax_jvp(Z, Z[:3], backend=be), ValueError, "V"),
        (lambda be: pyfastnn.sparsemax_vjp(Z, Z.astype(complex), backend=be), TypeError, "G"),
        (lambda be: pyfastnn.relumax_vjp(Z, Z, b=0, backend=be), ValueError, "b"),
        (lambda be: pyfastnn.softmax_vjp_from_output(Z, Z.T, backend=be), ValueError, "G"),
        (lambda be: pyfastnn.relumax_jvp_from_output(Z[0], Z, 1, backend=be), ValueError, "V"),
        (lambda be: pyfastnn.relumax_jacobian(Z[0, 0], 1.0, backend=be), ValueError, "z"),
        (lambda be: pyfastnn.sparsemax_loss(Z, y[:3], backend=be), ValueError, "y"),
        (lambda be: pyfastnn.sparsemax_loss(Z, y + 1, backend=be), ValueError, "y"),
        (lambda be: pyfastnn.sparsemax_loss(Z, -y, backend=be), ValueError, "y"),
        (lambda be: pyfastnn.sparsemax_loss(Z, y * 1.0, backend=be), TypeError, "y"),
        (lambda be: pyfastnn.sparsemax_loss(Z, y > 1, backend=be), TypeError, "y"),
        (lambda be: pyfastnn.sparsemax_loss(Z, "abcd", backend=be), TypeError, "y"),
        (
            lambda be: pyfastnn.sparsemax_loss(Z, y, reduction="avg", backend=be),
            ValueError,
            "reduction",
        ),
        (lambda be: pyfastnn.smoothed_cross_entropy(Z, y, eps=0, backend=be), ValueError, "eps"),
        (lambda be: pyfastnn.smoothed_cross_entropy(Z, y, eps=[1], backend=be), TypeError, "eps"),
        (
            lambda be: pyfastnn.smoothed_cross_entropy(Z, y, mapping="x", backend=be),
            ValueError,
            "mapping",
        ),
        (
            lambda be: pyfastnn.smoothed_cross_entropy(Z, y, mapping="relumax", backend=be),
            ValueError,
            "b",
        ),
        (
            lambda be: pyfastnn.sparsemax(Z, out=np.empty((4, 5), np.float32), backend=be),
            TypeError,
            "out",
        ),
        (lambda be: pyfastnn.sparsemax(Z, out=np.empty((5, 4)), backend=be), ValueError, "out"),
        (
            lambda be: pyfastnn.sparsemax(Z, out=np.empty((4, 10))[:, ::2], backend=be),
            ValueError,
            "out",
        ),
        (lambda be: pyfastnn.sparsemax(Z, out=[[0.0] * 5] * 4, backend=be), TypeError, "out"),
    ],
)
def test_public_api_names_the_argument(call, exc, name: str, backend: str) -> None:
    with pytest.raises(exc, match=named(name)):
        call(backend)


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match=named("backend")):
        pyfastnn.sparsemax(Z, backend="gpu")
    with pytest.raises(ValueError, match=named("backend")):
        pyfastnn.relumax_jacobian(Z[0], 1.0, backend=None)


def test_read_only_input_is_fine() -> None:
    R = Z.copy()
    R.flags.writeable = False
    np.testing.assert_allclose(pyfastnn.sparsemax(R), pyfastnn.sparsemax(Z))


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: _native.sparsemax_forward(Z, np.empty((4, 5), np.float32)), TypeError, "out"),
        (lambda: _native.sparsemax_forward(Z.astype(np.int64), Z.copy()), TypeError, "Z"),
        (lambda: _native.sparsemax_forward(Z, np.empty((4, 6))), ValueError, "out"),
        (lambda: _native.sparsemax_forward(Z, Z), ValueError, "out"),
        (lambda: _native.sparsemax_forward(Z.T, np.empty((5, 4))), ValueError, "Z"),
        (
            lambda: _native.sparsemax_forward(Z, np.empty_like(Z), 0.0),
            ValueError,
            "inv_temperature",
        ),
        (lambda: _native.relumax_forward(Z, np.empty_like(Z), -1.0), ValueError, "b"),
        (lambda: _native.sparsemax_threshold(Z, np.empty(3)), ValueError, "tau"),
        (
            lambda: _native.relumax_vjp_from_output(Z, Z[:2], np.empty_like(Z), 1.0),
            ValueError,
            "G",
        ),
        (lambda: _native.softmax_jvp_from_output(Z, Z, Z[1:]), ValueError, "out"),
        (
            lambda: _native.simplex_loss(5, Z, y, 1, 1, np.empty(4), None, 1.0),
            ValueError,
            "mapping",
        ),
        (
            lambda: _native.simplex_loss(1, Z, y + 1, 1, 1, np.empty(4), None, 1.0),
            ValueError,
            "y",
        ),
        (
            lambda: _native.simplex_loss(1, Z, y.astype(np.int32), 1, 1, np.empty(4), None, 1.0),
            TypeError,
            "y",
        ),
        (lambda: _native.simplex_loss(1, Z, y, 1, 0, np.empty(4), None, 1.0), ValueError, "eps"),
        (lambda: _native.simplex_loss(-1, Z, y, 1, 1, np.empty(4), Z, 1.0), ValueError, "dZ"),
        (
            lambda: _native.simplex_loss(-1, Z, y, 1, 1, np.empty(4), None, np.nan),
            ValueError,
            "scale",
        ),
    ],
)
def test_native_module_checks(call, exc, name: str) -> None:
    with pytest.raises(exc, match=named(name)):
        call()


def test_partial_overlap_is_rejected_exact_aliasing_allowed() -> None:
    buf = np.random.default_rng(1).random(40)
    P = buf[:20].reshape(4, 5)
    G = buf[10:30].reshape(4, 5)
    with pytest.raises(ValueError, match=named("out")):
        _native.sparsemax_vjp_from_output(P, P.copy(), G, 1.0)
    # exact aliasing of out with P is supported by the kernels
    Q = pyfastnn.sparsemax(Z)
    expected = pyfastnn.sparsemax_vjp_from_output(Q, Z)
    _native.sparsemax_vjp_from_output(Q, Z, Q, 1.0)
    np.testing.assert_allclose(Q, expected)
