"""The three implementations behind every operation: loop, vector, native.

Each backend module implements :class:`~pyfastnn.backends.protocol.Backend`
(``forward``, ``loss_and_grad``, ``train_epoch``) over a network description
and a flat parameter vector; the simplex maps have their own three modules
(``simplex_loop``, ``simplex_vector``, ``simplex_native``).
"""

from __future__ import annotations

from . import loop, native, vector
from .protocol import Backend, EpochPlan, EpochResult, NonFiniteError

BACKENDS: dict[str, Backend] = {"loop": loop, "vector": vector, "native": native}

__all__ = ["BACKENDS", "Backend", "EpochPlan", "EpochResult", "NonFiniteError"]
