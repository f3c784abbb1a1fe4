"""Errors the public API raises beyond ValueError and TypeError."""

from __future__ import annotations


class NonFiniteResultError(ValueError):
    """A result came out NaN or infinite; ``culprit`` names the argument that
    holds a non-finite value ("X", "y", "weights[l]", "biases[l]"), or is None
    when every input was finite and the computation overflowed."""

    def __init__(self, message: str, culprit: str | None) -> None:
        super().__init__(message)
        self.culprit = culprit
