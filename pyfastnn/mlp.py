"""Dense feed-forward networks (multi-layer perceptrons) in three backends."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
from numpy.typing import ArrayLike

from . import _model_file, _safetensors, training
from ._checks import (
    as_float_array,
    base_array,
    check_backend,
    check_dtype,
    check_memory,
    check_real,
)
from ._dropout import DropoutStream, check_dropout
from ._errors import NonFiniteResultError
from ._memory import aligned_zeros
from ._spec import ACTIVATIONS, MAX_PARAMS, OUTPUTS, NetSpec
from ._targets import Target, as_labels, make_target, predicted_labels
from .backends import BACKENDS, NonFiniteError
from .optim import Optimizer
from .training import History

if TYPE_CHECKING:
    import onnx
    import torch

__all__ = ["MLP", "Gradients", "NonFiniteResultError"]


class Gradients:
    """Gradients of the loss, shaped like the parameters.

    ``flat`` holds all of them in the layout of ``MLP.params``; ``weights``
    ((n_l, n_{l+1}) each) and ``biases`` ((n_{l+1},) each) are views into it.
    Unpacks as ``dW, db = grads``.
    """

    __slots__ = ("flat", "_model", "_views")

    def __init__(self, flat: np.ndarray, model: MLP) -> None:
        self.flat = flat
        self._model = model
        self._views: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def _split(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if self._views is None:
            self._views = self._model.spec.split(self.flat)
        return self._views

    @property
    def weights(self) -> list[np.ndarray]:
        return self._split()[0]

    @property
    def biases(self) -> list[np.ndarray]:
        return self._split()[1]

    def __iter__(self):
        return iter(self._split())

    def __repr__(self) -> str:
        return f"Gradients({self.flat.size} values in {len(self.weights)} layers)"


class MLP:
    """A dense network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Layer l computes ``Z = H @ W[l] + b[l]`` with ``W[l]`` of shape
    (sizes[l], sizes[l+1]); hidden layers apply ``activation``; the last layer
    feeds ``output``, which fixes the loss:

    ============  =====================================================
    output        per-sample loss (``loss=``; the first is the default)
    ============  =====================================================
    "softmax"     "cross_entropy" ``-log p_y`` (y: integer labels (N,))
    "sigmoid"     "binary_cross_entropy", mean over the K outputs, from logits
    "identity"    "squared_error" ``sum_k (z_k - y_k)^2`` (regression), or
                  "perceptron" ``z_p - z_y``, p the first argmax (labels;
                  gradient e_p - e_y on a mistake, 0 otherwise)
    "sparsemax"   "sparsemax" (Martins & Astudillo 2016; gradient
                  sparsemax(z) - e_y) or "eps_cross_entropy"
                  ``-log((p_y + eps) / (1 + K eps))`` (integer labels)
    "relumax"     relumax_b(z)_i = relu(z_i - max z + b) / sum_j relu(...),
                  with "eps_cross_entropy" or "sparsemax" (on the logits)
    ============  =====================================================

    For "sigmoid" and "identity", ``y`` is real targets (N, K) (or (N,) when
    K == 1), or integer labels (N,) one-hot encoded when K > 1. The batch loss is
    the mean over samples plus ``l2 * sum ||W||^2 + l1 * sum |W|`` (biases are
    not penalised).

    Parameters
    ----------
    layer_sizes : sequence of int
        (D, H1, ..., K), at least two entries, each >= 1.
    activation : str
        One of "identity", "relu", "scaled_relu" (c * relu), "leaky_relu",
        "tanh", "sigmoid", "softplus", "gelu" (exact, erf form).
    output : str
        "softmax", "sigmoid", "identity", "sparsemax" or "relumax".
    dtype : "float32" or "float64"
    backend : "native" (C++), "vector" (NumPy) or "loop" (per-sample Python).
    seed : int
        Seed of the weight initialisation (biases start at zero).
    activation_param : float, optional
        c for "scaled_relu" (default 5.0, as in the seed reports), alpha for
        "leaky_relu" (default 0.01); not accepted by other activations.
    init : str
        Weight initialisation: "glorot_uniform" (default; Glorot & Bengio 2010,
        U(-a, a) with a = sqrt(6 / (n_in + n_out))), "glorot_normal"
        (std sqrt(2 / (n_in + n_out))), "he_uniform" (a = sqrt(6 / n_in)) or
        "he_normal" (std sqrt(2 / n_in); He et al. 2015) or "zeros" (for
        linear models).
    loss : str, optional
        The loss for the output (see the table); None picks its default.
    relumax_b : float
        b > 0 of a "relumax" output (default 1.0).
    eps : float
        eps > 0 of "eps_cross_entropy" (default 1e-3).

    All parameters live in one flat vector ``params``; ``weights`` and
    ``biases`` are views into it, so writing into them changes the network.
    The model is its description ``spec`` (a :class:`pyfastnn._spec.NetSpec`),
    ``params`` and the ``backend`` name; the backends are functions of those.
    """

    _FILE_KIND = "mlp"  # the "model" field of its model file

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        output: str = "softmax",
        dtype: str | np.dtype = "float32",
        backend: str = "native",
        seed: int = 0,
        activation_param: float | None = None,
        init: str = "glorot_uniform",
        loss: str | None = None,
        relumax_b: float = 1.0,
        eps: float = 1e-3,
    ) -> None:
        if init not in _INITIALISERS:
            raise ValueError(f"init: expected one of {sorted(_INITIALISERS)}, got {init!r}")
        self._init = init
        self._spec = _make_spec(
            layer_sizes, activation, output, activation_param, loss, relumax_b, eps, dtype
        )
        self.backend = backend
        self._params = aligned_zeros(self._spec.n_params, self._spec.dtype)
        self._weights, self._biases = self._spec.split(self._params)
        self.reset_parameters(seed)

    # ---- description -------------------------------------------------------

    @property
    def spec(self) -> NetSpec:
        """The network's description: sizes, activation, output/loss, dtype."""
        return self._spec

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return self._spec.sizes

    @property
    def activation(self) -> str:
        return self._spec.activation

    @property
    def activation_param(self) -> float:
        return self._spec.activation_param

    @property
    def output(self) -> str:
        return self._spec.output

    @property
    def loss_name(self) -> str:
        """The loss the network is trained with (see the class docstring)."""
        return self._spec.loss

    @property
    def relumax_b(self) -> float:
        return self._spec.relumax_b

    @property
    def eps(self) -> float:
        return self._spec.eps

    @property
    def dtype(self) -> np.dtype:
        return self._spec.dtype

    @property
    def labels_only(self) -> bool:
        """Whether the model is a classifier trained on integer labels."""
        return self._spec.labels_only

    @property
    def n_layers(self) -> int:
        return self._spec.n_layers

    @property
    def n_inputs(self) -> int:
        return self._spec.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self._spec.sizes[-1]

    @property
    def backend(self) -> str:
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._backend = check_backend(value)

    def __repr__(self) -> str:
        return (
            f"MLP(layer_sizes={list(self.layer_sizes)}, activation={self.activation!r}, "
            f"output={self.output!r}, dtype={self._spec.dtype.name!r}, backend={self.backend!r})"
        )

    # ---- parameters --------------------------------------------------------

    def split_params(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views (weights, biases) into a flat vector laid out like ``params``.

        The layout is W_0 (row-major), b_0, W_1, b_1, ...
        """
        return self._spec.split(flat)

    @property
    def params(self) -> np.ndarray:
        """All parameters in one flat vector: W_0 (row-major), b_0, W_1, b_1, ...

        Assigning copies the values in (shape and dtype checked, finite values
        only); the array object itself never changes, so views stay valid.
        """
        return self._params

    @params.setter
    def params(self, values: ArrayLike) -> None:
        arr = as_float_array(values, "params", 1, dtype=self._spec.dtype)
        if arr.shape != self._params.shape:
            raise ValueError(f"params: expected shape {self._params.shape}, got {arr.shape}")
        self._params[...] = arr

    @property
    def weights(self) -> list[np.ndarray]:
        """Weight matrices, (sizes[l], sizes[l+1]) each; views into ``params``."""
        return list(self._weights)

    @weights.setter
    def weights(self, values: Sequence[object]) -> None:
        self._assign("weights", self._weights, values)

    @property
    def biases(self) -> list[np.ndarray]:
        """Bias vectors, (sizes[l+1],) each; views into ``params``."""
        return list(self._biases)

    @biases.setter
    def biases(self, values: Sequence[object]) -> None:
        self._assign("biases", self._biases, values)

    def _assign(self, name: str, targets: list[np.ndarray], values: Sequence[object]) -> None:
        if isinstance(values, np.ndarray) or not isinstance(values, Sequence):
            raise TypeError(f"{name}: expected a list of {len(targets)} arrays")
        if len(values) != len(targets):
            raise ValueError(f"{name}: expected {len(targets)} arrays, got {len(values)}")
        checked = []
        for i, (target, value) in enumerate(zip(targets, values)):
            arr = as_float_array(value, f"{name}[{i}]", target.ndim, dtype=self._spec.dtype)
            if arr.shape != target.shape:
                raise ValueError(f"{name}[{i}]: expected shape {target.shape}, got {arr.shape}")
            checked.append(arr)
        for target, arr in zip(targets, checked):  # all valid: now write
            target[...] = arr

    def reset_parameters(self, seed: int = 0) -> None:
        """Draw new weights with the model's ``init`` scheme; zero the biases.

        The draw is made in float64 from ``numpy.random.default_rng(seed)`` and
        then rounded to the model's dtype, so float32 and float64 networks with
        the same seed start from the same values.
        """
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed: expected a non-negative integer, got {seed!r}")
        if seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed}")
        rng = np.random.default_rng(int(seed))
        draw = _INITIALISERS[self._init]
        for W, b in zip(self._weights, self._biases):
            W[...] = draw(rng, W.shape[0], W.shape[1])
            b[...] = 0

    # ---- computation -------------------------------------------------------

    def forward(self, X: ArrayLike) -> np.ndarray:
        """Network outputs (N, K) for inputs X (N, D): probabilities for
        "softmax" and "sigmoid" outputs, raw values for "identity"."""
        X = self._input(X)
        try:
            out = BACKENDS[self._backend].forward(self._spec, self._params, X)
        except NonFiniteError:
            self._raise_non_finite("outputs", X, None)
        if not np.isfinite(out).all():
            self._raise_non_finite("outputs", X, None)
        return out

    def loss(self, X: ArrayLike, y: ArrayLike, l1: float = 0.0, l2: float = 0.0) -> float:
        """Mean loss over the batch X (N, D), y (N,) labels or (N, K) targets,
        plus ``l2 * sum W^2 + l1 * sum |W|``."""
        loss, _, _ = self._loss_and_grads(X, y, l1, l2, want_grad=False, want_input_grad=False)
        return loss

    def loss_and_grad(
        self,
        X: ArrayLike,
        y: ArrayLike,
        l1: float = 0.0,
        l2: float = 0.0,
        out: np.ndarray | None = None,
        *,
        dropout: float = 0.0,
        dropout_stream: tuple[int, int, int] = (0, 0, 0),
    ) -> tuple[float, Gradients]:
        """The loss and its gradient with respect to every weight and bias.

        Shapes: X (N, D); y (N,) labels or (N, K) targets. Returns
        ``(loss, Gradients)``. The gradient is written into a fresh flat array,
        or into ``out`` (a C-contiguous vector shaped and typed like ``params``)
        so that a training loop allocates nothing per step.

        ``dropout`` in [0, 1) applies inverted dropout to every hidden layer's
        activations, with the masks of ``dropout_stream`` = (seed, epoch, step)
        (the same masks in every backend; see ``pyfastnn/_dropout.py``).
        """
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError(f"out: expected a numpy array, got {type(out).__name__}")
            if out.dtype != self._spec.dtype or out.shape != self.params.shape:
                raise ValueError(
                    f"out: expected a {self._spec.dtype.name} array of shape {self.params.shape}, "
                    f"got {out.dtype} {out.shape}"
                )
            if not out.flags.c_contiguous or not out.flags.writeable or not out.flags.aligned:
                raise ValueError("out: expected a writable, aligned, C-contiguous array")
        stream = check_dropout(dropout, dropout_stream, self.n_layers)
        loss, dparams, _ = self._loss_and_grads(
            X, y, l1, l2, want_grad=True, want_input_grad=False, out=out, dropout=stream
        )
        assert dparams is not None
        return loss, Gradients(dparams, self)

    def input_grad(self, X: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Gradient (N, D) of the batch loss (mean over samples) with respect to X."""
        _, _, dX = self._loss_and_grads(X, y, 0.0, 0.0, want_grad=False, want_input_grad=True)
        assert dX is not None
        return dX

    # ---- training and prediction ------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: str | Optimizer = "sgd",
        lr: float | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        dropout: float = 0.0,
        X_val: ArrayLike | None = None,
        y_val: ArrayLike | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        shuffle: bool = True,
        seed: int = 0,
        train_metrics: bool = True,
        progress: bool = False,
        clip_norm: float | None = None,
    ) -> History:
        """Train in place on X (N, D), y (N,) labels or (N, K) targets; return the
        :class:`~pyfastnn.History`. See :func:`pyfastnn.training.fit` for the options."""
        return training.fit(
            self,
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            lr=lr,
            l1=l1,
            l2=l2,
            dropout=dropout,
            X_val=X_val,
            y_val=y_val,
            patience=patience,
            restore_best=restore_best,
            shuffle=shuffle,
            seed=seed,
            train_metrics=train_metrics,
            progress=progress,
            clip_norm=clip_norm,
        )

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Outputs (N, K); probabilities for every output but "identity"."""
        return self.forward(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels (N,): the argmax of the outputs, or for a single sigmoid
        output whether it exceeds 0.5; for an "identity" output trained on real
        targets, the outputs."""
        out = self.forward(X)
        if self.output == "identity" and not self._spec.labels_only:
            return out
        return predicted_labels(self.output, out)

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy of :meth:`predict` for integer labels (N,) of a classifier;
        minus the mean loss (no penalty) for real targets and for an "identity"
        output without the perceptron loss (regression: ``-MSE``, labels one-hot)."""
        y_arr = base_array(y, "y")
        regression = self.output == "identity" and not self._spec.labels_only
        if y_arr.ndim == 1 and y_arr.dtype.kind in "iu" and not regression:
            X = self._input(X)
            labels = as_labels(y_arr, X.shape[0], max(self.n_outputs, 2))
            return float(np.mean(self.predict(X) == labels))
        return -self.loss(X, y)

    def save(self, path: str | Path) -> None:
        """Write the model to one .npz file (no pickle), or a safetensors file when
        ``path`` ends in ".safetensors"; read either with pyfastnn.load."""
        meta = self._description()
        if str(path).endswith(_safetensors.SUFFIX):
            _safetensors.write(path, meta, self._weights, self._biases)
            return
        _model_file.write(path, meta, self._params)

    def _description(self) -> dict[str, object]:
        """The JSON description stored in model files (the model kind and spec)."""
        spec = self._spec
        return {
            "model": self._FILE_KIND,
            "layer_sizes": list(spec.sizes),
            "activation": spec.activation,
            "activation_param": spec.activation_param,
            "output": spec.output,
            "loss": spec.loss,
            "relumax_b": spec.relumax_b,
            "eps": spec.eps,
            "dtype": spec.dtype.name,
        }

    # ---- other libraries (pyfastnn.interop) ----------------------------------

    def to_onnx(self, path: str | Path | None = None) -> onnx.ModelProto:
        """The forward pass as an ONNX model (input "X" (N, D), output "output"
        (N, K), the model's dtype; standard operators, see
        :mod:`pyfastnn.interop.onnx_export`); written to ``path`` when given.
        Needs the ``onnx`` extra."""
        from .interop import onnx_export

        return onnx_export.export(
            self._spec, self._weights, self._biases, path, self._description()
        )

    def to_torch(self) -> torch.nn.Sequential:
        """A ``torch.nn.Sequential`` of Linear layers, activations and the output
        map computing :meth:`forward` (parameters copied; see
        :mod:`pyfastnn.interop.torch_io`). Needs torch."""
        from .interop import torch_io

        return torch_io.to_torch(self._spec, self._weights, self._biases)

    @classmethod
    def from_torch(
        cls,
        module: torch.nn.Sequential,
        output: str | None = None,
        loss: str | None = None,
        backend: str = "native",
    ) -> MLP:
        """A model of this class with the layers of an ``nn.Sequential`` of Linear and
        supported activation modules; ``output`` names the output map when the
        module ends in its last Linear (see
        :func:`pyfastnn.interop.torch_io.from_torch`). Needs torch."""
        from .interop import torch_io

        options, weights, biases = torch_io.from_torch(module, output)
        return _built(cls, "module", options, weights, biases, backend, loss)

    def to_sklearn(self, classes: ArrayLike | None = None) -> object:
        """A fitted scikit-learn ``MLPClassifier`` (softmax, or one sigmoid
        output; ``classes_`` = ``classes``, default 0 .. K-1) or
        ``MLPRegressor`` (identity output) computing the same function
        (see :func:`pyfastnn.interop.sklearn_io.to_sklearn`)."""
        from .interop import sklearn_io

        return sklearn_io.to_sklearn(self._spec, self._weights, self._biases, classes)

    @classmethod
    def from_sklearn(cls, estimator: object, backend: str = "native") -> MLP:
        """A model of this class with the weights of a fitted scikit-learn
        ``MLPClassifier`` or ``MLPRegressor`` (``coefs_``, ``intercepts_``,
        ``activation``, ``out_activation_``; see
        :func:`pyfastnn.interop.sklearn_io.from_sklearn`)."""
        from .interop import sklearn_io

        options, weights, biases = sklearn_io.from_sklearn(estimator)
        return _built(cls, "estimator", options, weights, biases, backend)

    # ---- helpers -----------------------------------------------------------

    def _input(self, X: ArrayLike) -> np.ndarray:
        X = as_float_array(X, "X", 2, dtype=self._spec.dtype, finite=False)
        if X.shape[1] != self.n_inputs:
            raise ValueError(f"X: expected {self.n_inputs} columns, got shape {X.shape}")
        return X

    def _loss_and_grads(
        self,
        X: ArrayLike,
        y: ArrayLike,
        l1: float,
        l2: float,
        want_grad: bool,
        want_input_grad: bool,
        out: np.ndarray | None = None,
        dropout: DropoutStream | None = None,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        X = self._input(X)
        l1 = check_real(l1, "l1", minimum=0.0)
        l2 = check_real(l2, "l2", minimum=0.0)
        target = make_target(
            y,
            self._spec.labels_only,
            X.shape[0],
            self.n_outputs,
            self._spec.dtype,
            check_range=self._backend != "native",  # the native module checks labels itself
        )
        into = out
        if out is not None and any(
            np.may_share_memory(out, a) for a in (self._params, X, target.values) if a is not None
        ):
            out = None  # out overlaps what the loss reads: compute apart, then copy in
        try:
            loss, dparams, dX = BACKENDS[self._backend].loss_and_grad(
                self._spec,
                self._params,
                X,
                target,
                l1,
                l2,
                want_grad,
                want_input_grad,
                out,
                dropout,
            )
        except NonFiniteError:
            loss = math.nan
        if not math.isfinite(loss):
            self._raise_non_finite("loss", X, target)
        if into is not None and dparams is not None and dparams is not into:
            into[...] = dparams
            dparams = into
        return float(loss), dparams, dX  # a Python float from every backend

    def _raise_non_finite(self, what: str, X: np.ndarray, target: Target | None) -> NoReturn:
        """Name the argument that made a result NaN or infinite, and raise."""
        suspects: list[tuple[str, np.ndarray]] = [("X", X)]
        suspects += [(f"weights[{i}]", W) for i, W in enumerate(self._weights)]
        suspects += [(f"biases[{i}]", b) for i, b in enumerate(self._biases)]
        if target is not None and target.values is not None:
            suspects.append(("y", target.values))
        for name, arr in suspects:
            if not np.isfinite(arr).all():
                raise NonFiniteResultError(f"{name}: contains NaN or infinity", name)
        raise NonFiniteResultError(
            f"the {what} overflowed to NaN or infinity in {self._spec.dtype.name}: the magnitudes "
            "of X, y or the parameters are too large",
            None,
        )


def _built(
    cls: type[MLP],
    source: str,
    options: dict,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    backend: str,
    loss: str | None = None,
) -> MLP:
    """A ``cls`` with the described shape and functions and these parameters;
    a subclass (LogisticRegression, Perceptron) must fit its one layer and output."""
    if cls is MLP:
        model = MLP(**options, loss=loss, backend=backend)
    else:
        sizes = options["layer_sizes"]
        if len(sizes) != 2:
            raise ValueError(f"{source}: a {cls.__name__} has one layer, got sizes {sizes}")
        model = cls(sizes[0], sizes[1], dtype=options["dtype"], backend=backend)  # type: ignore[call-arg]
        if options["output"] != model.output:
            raise ValueError(
                f"{source}: a {cls.__name__} has {model.output!r} outputs, "
                f"got {options['output']!r}"
            )
    model.weights = weights
    model.biases = biases
    return model


def _uniform(rng: np.random.Generator, limit: float, shape: tuple[int, int]) -> np.ndarray:
    return rng.uniform(-limit, limit, size=shape)


# init name -> draw(rng, n_in, n_out) of an (n_in, n_out) float64 weight matrix
_INITIALISERS = {
    "glorot_uniform": lambda rng, i, o: _uniform(rng, math.sqrt(6.0 / (i + o)), (i, o)),
    "glorot_normal": lambda rng, i, o: rng.normal(0.0, math.sqrt(2.0 / (i + o)), size=(i, o)),
    "he_uniform": lambda rng, i, o: _uniform(rng, math.sqrt(6.0 / i), (i, o)),
    "he_normal": lambda rng, i, o: rng.normal(0.0, math.sqrt(2.0 / i), size=(i, o)),
    "zeros": lambda rng, i, o: np.zeros((i, o)),  # linear models (perceptron)
}


def _make_spec(
    layer_sizes: Sequence[int],
    activation: str,
    output: str,
    activation_param: float | None,
    loss: str | None,
    relumax_b: float,
    eps: float,
    dtype: str | np.dtype,
) -> NetSpec:
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"layer_sizes: expected a sequence of integers, got {layer_sizes!r}")
    if len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes: expected at least 2 sizes (inputs, outputs), got {layer_sizes!r}"
        )
    for s in layer_sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"layer_sizes: expected integers, got {s!r}")
        if s < 1:
            raise ValueError(f"layer_sizes: every size must be >= 1, got {list(layer_sizes)}")
    n_params = sum(int(a) * int(b) + int(b) for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    if n_params > MAX_PARAMS:
        raise ValueError(
            f"layer_sizes: {list(layer_sizes)} would need {n_params} parameters "
            f"(more than {MAX_PARAMS})"
        )
    dt = check_dtype(dtype)
    # the parameters, a gradient like them, and the float64 draw of the largest W
    largest = max(int(a) * int(b) for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    check_memory(
        2 * n_params * dt.itemsize + 8 * largest,
        "layer_sizes",
        f"{n_params} parameters (with a gradient and the initial draw)",
    )
    if not isinstance(activation, str):
        raise TypeError(f"activation: expected a string, got {type(activation).__name__}")
    if not isinstance(output, str):
        raise TypeError(f"output: expected a string, got {type(output).__name__}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output: expected one of {sorted(OUTPUTS)}, got {output!r}")
    default = ACTIVATIONS[activation][1]
    if activation_param is None:
        param = default if default is not None else 0.0
    elif default is None:
        raise ValueError(f"activation_param: {activation!r} takes no parameter")
    else:
        param = check_real(activation_param, "activation_param")
        if activation == "scaled_relu" and param <= 0:
            raise ValueError(f"activation_param: the scale c must be > 0, got {param}")
    allowed = OUTPUTS[output][1]
    if loss is None:
        loss = allowed[0]
    elif not isinstance(loss, str) or loss not in allowed:
        raise ValueError(f"loss: output {output!r} is trained with one of {allowed}, got {loss!r}")
    relumax_b = check_real(relumax_b, "relumax_b")
    if relumax_b <= 0:
        raise ValueError(f"relumax_b: expected b > 0, got {relumax_b}")
    if relumax_b < np.finfo(dt).tiny or relumax_b > np.finfo(dt).max:
        # subnormal b: 1 / sum(relu(...)) >= 1 / (K b) overflows
        raise ValueError(f"relumax_b: {relumax_b} is outside the normal range of {dt}")
    eps = check_real(eps, "eps")
    if eps <= 0:
        raise ValueError(f"eps: expected eps > 0, got {eps}")
    return NetSpec(
        tuple(int(s) for s in layer_sizes),
        activation,
        float(param),
        output,
        loss,
        dt,
        relumax_b,
        eps,
    )
