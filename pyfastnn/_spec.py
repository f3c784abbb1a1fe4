"""Names of activations and output/loss pairs, and the network description.

The integer codes are the extension's own (``_native.ACTIVATIONS``,
``_native.OUTPUTS``, ``_native.LOSSES``: the enums of csrc/nn/activations.hpp
and csrc/nn/losses.hpp); this module adds what only Python knows about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _native

# activations that take a parameter -> its default
_ACTIVATION_DEFAULTS = {
    "scaled_relu": 5.0,  # c * relu(z); the seed reports use c = 5
    "leaky_relu": 0.01,  # z if z > 0 else alpha * z
}
# name -> (code, default parameter or None when the activation has none);
# "gelu" is exact: z * Phi(z), Phi the standard normal CDF (erf form)
ACTIVATIONS: dict[str, tuple[int, float | None]] = {
    name: (code, _ACTIVATION_DEFAULTS.get(name)) for name, code in _native.ACTIVATIONS.items()
}

# output -> the losses it can be trained with; the first is the default
_OUTPUT_LOSSES: dict[str, tuple[str, ...]] = {
    "softmax": ("cross_entropy",),
    "sigmoid": ("binary_cross_entropy",),
    "identity": ("squared_error", "perceptron"),
    "sparsemax": ("sparsemax", "eps_cross_entropy"),
    "relumax": ("eps_cross_entropy", "sparsemax"),
    # alpha-entmax outputs with their Fenchel-Young losses (entmax: any alpha > 1)
    "entmax15": ("entmax15",),
    "entmax": ("entmax",),
}
# output name -> (code, losses it can be trained with; the first is the default)
OUTPUTS: dict[str, tuple[int, tuple[str, ...]]] = {
    name: (code, _OUTPUT_LOSSES[name]) for name, code in _native.OUTPUTS.items()
}

# the losses csrc/nn/losses.hpp calls "natural": each classic output's own, and the
# Fenchel-Young loss of an entmax output
_NATURAL_LOSSES = ("cross_entropy", "binary_cross_entropy", "squared_error", "entmax15", "entmax")
# loss name -> code of csrc/nn/losses.hpp's Loss; "perceptron" is the multiclass
# perceptron on identity outputs (scores)
LOSSES: dict[str, int] = {
    **{name: _native.LOSSES["natural"] for name in _NATURAL_LOSSES},
    **{name: code for name, code in _native.LOSSES.items() if name != "natural"},
}

# a bound on the parameter count (the native module checks it too)
MAX_PARAMS: int = _native.MAX_PARAMS

# outputs trained on integer class labels only
LABEL_OUTPUTS = ("softmax", "sparsemax", "relumax", "entmax15", "entmax")
# outputs whose map takes alpha (NetSpec.alpha)
ALPHA_OUTPUTS = ("entmax",)
# losses that take integer class labels only, whatever the output
LABEL_LOSSES = ("perceptron",)


@dataclass(frozen=True)
class NetSpec:
    """Shape, functions and dtype of a dense network.

    ``sizes`` = (D, H1, ..., K): layer l maps sizes[l] -> sizes[l + 1]; every
    hidden layer uses ``activation`` (with ``activation_param`` where it takes
    one) and the last layer feeds ``output``, trained with ``loss``;
    ``relumax_b`` is b of a relumax output, ``eps`` the smoothing of
    eps_cross_entropy, ``alpha`` > 1 that of an "entmax" output (alpha-entmax;
    "entmax15" is alpha = 1.5 with its exact threshold). Parameters live in one
    flat vector of ``dtype`` laid out W_0 (row-major), b_0, W_1, b_1, ...
    (:meth:`split`).
    """

    sizes: tuple[int, ...]
    activation: str
    activation_param: float
    output: str
    loss: str
    dtype: np.dtype
    relumax_b: float = 1.0
    eps: float = 1e-3
    alpha: float = 1.5

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def simplex_map(self) -> tuple[str, float] | None:
        """The output as a map of :mod:`pyfastnn.simplex` and the parameter its
        backends take as ``b`` (relumax's b, entmax_bisect's alpha); None for the
        sigmoid and identity outputs."""
        if self.output == "entmax":
            return "entmax_bisect", self.alpha
        if self.output in ("softmax", "sparsemax", "relumax", "entmax15"):
            return self.output, self.relumax_b
        return None

    @property
    def labels_only(self) -> bool:
        """Whether targets are integer class labels (a classifier)."""
        return self.output in LABEL_OUTPUTS or self.loss in LABEL_LOSSES

    def split(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views (weights (sizes[l], sizes[l+1]) each, biases (sizes[l+1],) each)
        into a flat vector (n_params,) laid out W_0, b_0, W_1, b_1, ..."""
        weights, biases = [], []
        offset = 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights.append(flat[offset : offset + n_in * n_out].reshape(n_in, n_out))
            offset += n_in * n_out
            biases.append(flat[offset : offset + n_out])
            offset += n_out
        return weights, biases
