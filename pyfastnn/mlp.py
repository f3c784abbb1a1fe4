"""Dense feed-forward networks (multi-layer perceptrons) in three backends."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from numpy.typing import ArrayLike

from . import _model_file, _safetensors, training
from ._checks import (
    as_float_array,
    base_array,
    check_backend,
    check_dtype,
    check_memory,
    check_positive_int,
    check_real,
)
from ._dropout import DropoutStream, check_dropout
from ._errors import NonFiniteResultError
from ._memory import aligned_zeros
from ._spec import ACTIVATIONS, ALPHA_OUTPUTS, MAX_PARAMS, OUTPUTS, NetSpec
from ._targets import Target, as_labels, make_target, predicted_labels, with_weights
from .backends import BACKENDS, NonFiniteError
from .optim import Optimizer
from .schedules import ScheduleLike
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
    "entmax15"    alpha-entmax at alpha = 1.5 (exact threshold) with its
                  Fenchel-Young loss "entmax15" (gradient p - e_y; labels)
    "entmax"      alpha-entmax for ``alpha`` > 1 (threshold by bisection)
                  with its Fenchel-Young loss "entmax"; alpha = 2 is
                  sparsemax with the sparsemax loss, alpha = 1.5 entmax15
    ============  =====================================================

    For "sigmoid" and "identity", ``y`` is real targets (N, K) (or (N,) when
    K == 1), or integer labels (N,) one-hot encoded when K > 1. The batch loss is
    the mean over samples plus ``l2 * sum ||W||^2 + l1 * sum |W|`` (biases are
    not penalised). With sample weights (``fit(sample_weight=, class_weight=)``,
    ``loss(..., sample_weight=)``) the mean becomes the weighted mean
    ``sum_i w_i loss_i / sum_i w_i``.

    Parameters
    ----------
    layer_sizes : sequence of int
        (D, H1, ..., K), at least two entries, each >= 1.
    activation : str
        One of "identity", "relu", "scaled_relu" (c * relu), "leaky_relu",
        "tanh", "sigmoid", "softplus", "gelu" (exact, erf form).
    output : str
        "softmax", "sigmoid", "identity", "sparsemax", "relumax", "entmax15" or
        "entmax".
    dtype : "float32" (the default of every model, ``pyfastnn train`` and the
        estimators) or "float64" (what gradient checks use).
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
    alpha : float, optional
        alpha > 1 of an "entmax" output (default 1.5); not accepted by other outputs.

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
        alpha: float | None = None,
    ) -> None:
        if init not in _INITIALISERS:
            raise ValueError(f"init: expected one of {sorted(_INITIALISERS)}, got {init!r}")
        self._init = init
        self._spec = _make_spec(
            layer_sizes, activation, output, activation_param, loss, relumax_b, eps, dtype, alpha
        )
        self.backend = backend
        # (backend, its eval_rows(spec)): computed once per backend the model uses
        self._eval_rows: tuple[str, tuple[int, int | None]] | None = None
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
    def alpha(self) -> float:
        """alpha of an "entmax" output (1.5 for "entmax15")."""
        return self._spec.alpha

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
    def n_params(self) -> int:
        """Number of parameters: sum over layers of sizes[l] * sizes[l+1] + sizes[l+1]."""
        return self._spec.n_params

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

    def summary(self) -> str:
        """A table of the layers: for each, its shape, weight and bias shapes, the
        function after it (the hidden activation, or the output map) and its
        parameter count; then the output/loss pair, the total parameter count
        with its size in memory, the dtype and the backend. Example::

            MLP: 64 -> 100 -> 10
            layer  maps       weights    biases  then                    params
            0      64 -> 100  (64, 100)  (100,)  relu                     6,500
            1      100 -> 10  (100, 10)  (10,)   softmax (output)         1,010
            output softmax, loss cross_entropy
            total  7,510 parameters (29.3 KiB of float32), backend native
        """
        spec = self._spec
        head = ("layer", "maps", "weights", "biases", "function", "params")
        rows = []
        for layer, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
            last = layer == spec.n_layers - 1
            rows.append(
                (
                    str(layer),
                    f"{n_in} -> {n_out}",
                    f"({n_in}, {n_out})",
                    f"({n_out},)",
                    f"output {_output_text(spec)}" if last else _activation_text(spec),
                    f"{n_in * n_out + n_out:,}",
                )
            )
        widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

        def line(cells: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(cells[:-1], widths)]
            return "  ".join([*left, cells[-1].rjust(widths[-1])]).rstrip()

        nbytes = spec.n_params * spec.dtype.itemsize
        return "\n".join(
            [
                f"{type(self).__name__}: " + " -> ".join(str(s) for s in spec.sizes),
                line(head),
                *(line(r) for r in rows),
                f"loss   {spec.loss}",
                f"total  {spec.n_params:,} parameters ({_size_text(nbytes)} of "
                f"{spec.dtype.name}), backend {self.backend}",
            ]
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
        "softmax" and "sigmoid" outputs, raw values for "identity" (the same
        values as :meth:`predict_proba`)."""
        return self._evaluate("forward", X, None)

    def loss(
        self,
        X: ArrayLike,
        y: ArrayLike,
        l1: float = 0.0,
        l2: float = 0.0,
        *,
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """Mean loss over the batch X (N, D), y (N,) labels or (N, K) targets,
        plus ``l2 * sum W^2 + l1 * sum |W|``; with ``sample_weight`` (N,) (finite,
        >= 0, not all 0) the weighted mean ``sum_i w_i loss_i / sum_i w_i``."""
        loss, _, _ = self._loss_and_grads(
            X, y, l1, l2, want_grad=False, want_input_grad=False, sample_weight=sample_weight
        )
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
        sample_weight: ArrayLike | None = None,
    ) -> tuple[float, Gradients]:
        """The loss and its gradient with respect to every weight and bias.

        Shapes: X (N, D); y (N,) labels or (N, K) targets. Returns
        ``(loss, Gradients)``. The gradient is written into a fresh flat array,
        or into ``out`` (a C-contiguous vector shaped and typed like ``params``)
        so that a training loop allocates nothing per step.

        ``dropout`` in [0, 1) applies inverted dropout to every hidden layer's
        activations, with the masks of ``dropout_stream`` = (seed, epoch, step)
        (the same masks in every backend; see ``pyfastnn/_dropout.py``).
        ``sample_weight`` (N,) makes the loss the weighted mean (see :meth:`loss`).
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
            X,
            y,
            l1,
            l2,
            want_grad=True,
            want_input_grad=False,
            out=out,
            dropout=stream,
            sample_weight=sample_weight,
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
        lr_schedule: ScheduleLike = None,
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
        sample_weight: ArrayLike | None = None,
        class_weight: str | dict | None = None,
        callbacks: Iterable[training.Callback] = (),
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
        resume: str | os.PathLike[str] | None = None,
        clip_norm: float | None = None,
    ) -> History:
        """Train in place on X (N, D), y (N,) labels or (N, K) targets; return the
        :class:`~pyfastnn.History`. See :func:`pyfastnn.training.fit` for the options
        (learning-rate schedules, callbacks, checkpoints and ``resume``)."""
        return training.fit(
            self,
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            lr=lr,
            lr_schedule=lr_schedule,
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
            sample_weight=sample_weight,
            class_weight=class_weight,
            callbacks=callbacks,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
            clip_norm=clip_norm,
        )

    def decision_function(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Logits (N, K) for inputs X (N, D): the last layer's ``Z = H @ W + b``,
        before the output map (scores of a perceptron, log-odds of a sigmoid
        output, what softmax / sparsemax / relumax turn into probabilities).

        ``batch_size`` evaluates the rows in chunks of that many (bounding the
        memory of the hidden activations); the result is the same, to the bit,
        as one call over all rows (native and loop backends; vector: to
        rounding). The native backend widens a chunk to the few rows its kernels
        need to compute every row alone (at most 1025, for tiny layers) and
        cuts chunks at 2048 rows.
        """
        return self._evaluate("logits", X, batch_size)

    def predict_proba(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Outputs (N, K) for X (N, D); probabilities for every output but "identity".
        ``batch_size``: as in :meth:`decision_function`."""
        return self._evaluate("forward", X, batch_size)

    def predict(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Class labels (N,): the argmax of the outputs, or for a single sigmoid
        output whether it exceeds 0.5; for an "identity" output trained on real
        targets, the outputs (N, K). ``batch_size``: as in :meth:`decision_function`."""
        out = self._evaluate("forward", X, batch_size)
        if self.output == "identity" and not self._spec.labels_only:
            return out
        return predicted_labels(self.output, out)

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy of :meth:`predict` for integer class labels y (N,) of a classifier
        (any model but an "identity" output with the squared error).

        For real targets (N, K) (or (N,) when K == 1), and for a regression model
        ("identity" output, squared error; integer labels one-hot encoded when
        K > 1): the coefficient of determination R^2 of the outputs, as
        scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``: per
        output k, ``1 - sum_i (y_ik - out_ik)^2 / sum_i (y_ik - mean_i y_ik)^2``
        (1.0 for a constant target predicted exactly, 0.0 for a constant target
        missed), averaged over the K outputs. 1 is a perfect fit, 0 the fit of
        the targets' mean; it can be negative. A sigmoid output on real targets
        in [0, 1] is scored by the R^2 of its probabilities. Needs N >= 2.
        """
        y_arr = base_array(y, "y")
        regression = self.output == "identity" and not self._spec.labels_only
        labels = y_arr.ndim == 1 and y_arr.dtype.kind in "iu" and not regression
        X = self._input(X)
        if self._spec.labels_only or labels:
            labels = as_labels(y_arr, X.shape[0], max(self.n_outputs, 2))
            return float(np.mean(self.predict(X) == labels))
        target = make_target(y_arr, False, X.shape[0], self.n_outputs, np.dtype(np.float64))
        truth = target.dense(self.n_outputs, np.dtype(np.float64))
        if not np.isfinite(truth).all():
            raise ValueError("y: contains NaN or infinity")
        if X.shape[0] < 2:
            raise ValueError(f"X: R^2 needs at least 2 samples, got {X.shape[0]}")
        return r2_score(truth, self.forward(X))

    def __reduce__(self) -> tuple[Callable[..., MLP], tuple[bytes, dict[str, str]]]:
        """Pickling and ``copy.deepcopy`` go through the model file format: the
        bytes of the .npz file :meth:`save` writes (the description as JSON and
        the parameters, nothing else), with the backend and init scheme beside
        them. A copy (``copy.copy`` too) shares nothing with the original. A
        subclass of your own comes back as the class of its model file kind
        (MLP, LogisticRegression, Perceptron) unless it defines ``__reduce__``."""
        meta = self._description()
        return _unpickle, (_model_file.to_bytes(meta, self._params), self._pickle_state())

    def _pickle_state(self) -> dict[str, str]:
        return {"backend": self._backend, "init": self._init}

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
            **({"alpha": spec.alpha} if spec.output in ALPHA_OUTPUTS else {}),
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

    def _evaluate(self, what: str, X: ArrayLike, batch_size: int | None) -> np.ndarray:
        """The backend's ``what`` ("forward" or "logits") (N, K) at X (N, D), in
        chunks of ``batch_size`` rows (None: as many as the backend takes at once).

        Chunks keep to the backend's ``eval_rows`` range (a chunk of fewer rows is
        widened, a larger one cut), and a short last chunk is evaluated with the
        rows before it: every row then comes out of the same kernels whatever the
        chunking, so any ``batch_size`` gives the bits of ``batch_size=None``
        (for the native and loop backends; vector: to rounding, see its eval_rows).
        """
        X = self._input(X)
        n = X.shape[0]
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
        if self._eval_rows is None or self._eval_rows[0] != self._backend:
            self._eval_rows = (self._backend, BACKENDS[self._backend].eval_rows(self._spec))
        fewest, most = self._eval_rows[1]
        step = max(n if batch_size is None else batch_size, fewest)
        if most is not None:
            step = min(step, most)
        if step >= n:
            return self._evaluate_rows(what, X)
        out = np.empty((n, self.n_outputs), dtype=self._spec.dtype)
        for start in range(0, n, step):
            stop = min(start + step, n)
            first = min(start, stop - fewest)  # >= 0: n > step >= fewest
            out[start:stop] = self._evaluate_rows(what, X[first:stop])[start - first :]
        return out

    def _evaluate_rows(self, what: str, X: np.ndarray) -> np.ndarray:
        function = getattr(BACKENDS[self._backend], what)
        try:
            out = function(self._spec, self._params, X)
        except NonFiniteError:
            self._raise_non_finite("outputs", X, None)
        if not np.isfinite(out).all():
            self._raise_non_finite("outputs", X, None)
        return out

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
        sample_weight: ArrayLike | None = None,
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
        if sample_weight is not None:
            target = with_weights(target, sample_weight, None, self.n_outputs, self._spec.dtype)
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


def r2_score(truth: np.ndarray, predicted: np.ndarray) -> float:
    """R^2 of ``predicted`` against ``truth`` (both (N, K)), in float64, averaged
    uniformly over the K outputs (scikit-learn's ``r2_score`` with its default
    ``force_finite=True``: a constant output column scores 1.0 when predicted
    exactly, else 0.0)."""
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    residual = np.sum((truth - predicted) ** 2, axis=0)
    total = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
    scores = np.where(residual == 0, 1.0, 0.0)
    varying = total != 0
    scores[varying] = 1.0 - residual[varying] / total[varying]
    return float(np.mean(scores))


# bytes of a model file and the pickle state -> the model; set by pyfastnn.model_io,
# which reads model files of every kind (and imports this module)
_file_loader: Callable[[bytes, str], MLP] | None = None


def set_file_loader(loader: Callable[[bytes, str], MLP]) -> None:
    """Register ``loader(data, backend)``, which builds a model from the bytes of
    its .npz model file (pyfastnn.model_io does, when imported)."""
    global _file_loader
    _file_loader = loader


def _unpickle(data: bytes, state: dict[str, Any]) -> MLP:
    """The model of a pickle (see :meth:`MLP.__reduce__`): its model file's bytes
    and ``{"backend", "init"}``."""
    if _file_loader is None:  # pyfastnn/__init__ imports model_io: never in practice
        raise RuntimeError("pyfastnn.model_io is not imported: cannot read a model file")
    if not isinstance(data, bytes) or not isinstance(state, dict):
        raise TypeError("data: expected the bytes of a model file and a state dict")
    model = _file_loader(data, check_backend(state.get("backend", "native")))
    init = state.get("init", model._init)
    if init not in _INITIALISERS:
        raise ValueError(f"init: expected one of {sorted(_INITIALISERS)}, got {init!r}")
    model._init = init
    return model


def _activation_text(spec: NetSpec) -> str:
    """The hidden activation with its parameter, e.g. "scaled_relu (c=5)"."""
    name = {"scaled_relu": "c", "leaky_relu": "alpha"}.get(spec.activation)
    if name is None:
        return spec.activation
    return f"{spec.activation} ({name}={spec.activation_param:g})"


def _output_text(spec: NetSpec) -> str:
    if spec.output == "relumax":
        return f"relumax (b={spec.relumax_b:g})"
    if spec.output == "entmax":
        return f"entmax (alpha={spec.alpha:g})"
    return spec.output


def _size_text(nbytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


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
    alpha: float | None = None,
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
    if alpha is None:
        alpha = 1.5
    elif output not in ALPHA_OUTPUTS:
        raise ValueError(f"alpha: only the 'entmax' output takes alpha, not {output!r}")
    else:
        alpha = check_real(alpha, "alpha")
        if not alpha > 1:
            raise ValueError(f"alpha: expected alpha > 1 (alpha = 1 is softmax), got {alpha}")
    return NetSpec(
        tuple(int(s) for s in layer_sizes),
        activation,
        float(param),
        output,
        loss,
        dt,
        relumax_b,
        eps,
        float(alpha),
    )
