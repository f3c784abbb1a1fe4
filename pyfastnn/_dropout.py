"""Inverted dropout masks shared by the three backends.

For hidden layer ``layer`` at a given (seed, epoch, step), unit j of batch row
r is kept when ``u[r * width + j] >= rate``, u the counter-based uniform
stream ``stream_key(seed, epoch, step, layer)`` of :mod:`pyfastnn._random`;
kept units are scaled by ``1 / (1 - rate)``. csrc/nn/dropout.cpp draws the same
masks, so the backends train to the same weights.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._checks import check_real
from ._random import stream_key, uniform


@dataclass(frozen=True)
class DropoutStream:
    """Dropout ``rate`` in [0, 1) and the stream coordinates of one training step."""

    rate: float
    seed: int = 0
    epoch: int = 0
    step: int = 0

    def mask(self, layer: int, n: int, width: int, dtype: np.dtype) -> np.ndarray:
        """Mask (n, width): ``1 / (1 - rate)`` for kept units, 0 for dropped ones."""
        u = uniform(stream_key(self.seed, self.epoch, self.step, layer), n * width)
        scale = np.dtype(dtype).type(1.0 / (1.0 - self.rate))
        return np.where(u.reshape(n, width) >= self.rate, scale, np.dtype(dtype).type(0))


def check_dropout(rate: object, stream: object, n_layers: int) -> DropoutStream | None:
    """Validate ``dropout`` (a rate in [0, 1), and a hidden layer to act on) and
    ``dropout_stream`` (seed, epoch, step); None when dropout is off."""
    rate = check_real(rate, "dropout", minimum=0.0)
    if rate >= 1.0:
        raise ValueError(f"dropout: expected a rate in [0, 1), got {rate}")
    if (
        not isinstance(stream, tuple)
        or len(stream) != 3
        or any(
            isinstance(c, bool) or not isinstance(c, numbers.Integral) or not 0 <= c < 2**64
            for c in stream
        )
    ):
        raise ValueError(
            f"dropout_stream: expected (seed, epoch, step), non-negative integers, got {stream!r}"
        )
    if rate == 0.0:
        return None
    if n_layers < 2:
        raise ValueError("dropout: the network has no hidden layer to drop units from")
    return DropoutStream(rate, *(int(c) for c in stream))
