"""Names of activations and output/loss pairs, and the network description.

The integer codes match the enums in csrc/nn/activations.hpp and csrc/nn/losses.hpp.
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> (code, default parameter or None when the activation has none)
ACTIVATIONS: dict[str, tuple[int, float | None]] = {
    "identity": (0, None),
    "relu": (1, None),
    "scaled_relu": (2, 5.0),  # c * relu(z); the seed reports use c = 5
    "leaky_relu": (3, 0.01),  # z if z > 0 else alpha * z
    "tanh": (4, None),
    "sigmoid": (5, None),
    "softplus": (6, None),
    "gelu": (7, None),  # exact: z * Phi(z), Phi the standard normal CDF (erf form)
}

# output name -> (code, losses it can be trained with; the first is the default)
OUTPUTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "softmax": (0, ("cross_entropy",)),
    "sigmoid": (1, ("binary_cross_entropy",)),
    "identity": (2, ("squared_error", "perceptron")),
    "sparsemax": (3, ("sparsemax", "eps_cross_entropy")),
    "relumax": (4, ("eps_cross_entropy", "sparsemax")),
}

# loss name -> code of csrc/nn/losses.hpp's Loss (the three classic losses are the
# "natural" loss of their output)
LOSSES: dict[str, int] = {
    "cross_entropy": 0,
    "binary_cross_entropy": 0,
    "squared_error": 0,
    "sparsemax": 1,
    "eps_cross_entropy": 2,
    "perceptron": 3,  # multiclass perceptron on identity outputs (scores)
}

# outputs trained on integer class labels only
LABEL_OUTPUTS = ("softmax", "sparsemax", "relumax")
# losses that take integer class labels only, whatever the output
LABEL_LOSSES = ("perceptron",)


@dataclass(frozen=True)
class NetSpec:
    """Shape and functions of a dense network.

    ``sizes`` = (D, H1, ..., K): layer l maps sizes[l] -> sizes[l + 1]; every
    hidden layer uses ``activation`` (with ``activation_param`` where it takes
    one) and the last layer feeds ``output``, trained with ``loss``;
    ``relumax_b`` is b of a relumax output, ``eps`` the smoothing of
    eps_cross_entropy.
    """

    sizes: tuple[int, ...]
    activation: str
    activation_param: float
    output: str
    loss: str
    relumax_b: float = 1.0
    eps: float = 1e-3

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    @property
    def labels_only(self) -> bool:
        """Whether targets are integer class labels (a classifier)."""
        return self.output in LABEL_OUTPUTS or self.loss in LABEL_LOSSES
