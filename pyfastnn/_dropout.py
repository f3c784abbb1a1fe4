"""Inverted dropout masks shared by the three backends.

For hidden layer ``layer`` at a given (seed, epoch, step), unit j of batch row
r is kept when ``u[r * width + j] >= rate``, u the counter-based uniform
stream ``stream_key(seed, epoch, step, layer)`` of :mod:`pyfastnn._random`;
kept units are scaled by ``1 / (1 - rate)``. csrc/nn/dropout.cpp draws the same
masks, so the backends train to the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
