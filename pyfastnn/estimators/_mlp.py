"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by pyfastnn's kernels.

The parameters, their defaults and meanings, the fitted attributes and the
stopping rules are scikit-learn's (``sklearn/neural_network/_multilayer_perceptron.py``),
so code written for ``sklearn.neural_network`` runs with only the import
changed. Each epoch is one ``train_epoch`` of the model's backend (one C++ call
for "native"); the estimator keeps what scikit-learn keeps between epochs and
between ``partial_fit`` calls: the optimiser state, the step count, the
current learning rate, the samples seen ``t_`` and the no-improvement count.

How scikit-learn's objective maps onto pyfastnn's (loss = mean per-sample loss
+ ``l2 * sum W^2 + l1 * sum |W|``):

- scikit-learn's gradient, per minibatch of n rows, is that of
  ``G + alpha / (2 n) * sum W^2`` with G the log-loss (classifier) or
  ``0.5 * mean over rows of sum over outputs (y - p)^2`` (regressor; the loss it
  reports, ``loss_curve_``, averages over the K outputs instead of summing).
  pyfastnn's losses are g times G, g = 1 for the log-loss and g = 2 for the
  squared error, so pyfastnn trains on g times scikit-learn's objective:
  ``l2 = g * alpha / (2 n)`` (n the batch size, times the mean sample weight
  with ``sample_weight``), SGD's learning rate divided by g and Adam's epsilon
  multiplied by g. The updates are then scikit-learn's (checked in float64 by
  tests/test_estimators_sklearn_names.py), and ``loss_curve_`` is converted to
  scikit-learn's scale (:meth:`_BaseMLP._sklearn_loss`).
- Adam: pyfastnn adds epsilon to sqrt(v_hat) where scikit-learn adds it to
  sqrt(v) (a relative difference of about epsilon / sqrt(v)); SGD's momentum
  is PyTorch's form, the same updates as scikit-learn's while the learning
  rate is constant (with "invscaling" the velocity is not rescaled when the
  rate changes).
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._checks import all_finite, as_float_array, check_positive_int, check_real
from .._dropout import check_dropout
from .._memory import aligned_zeros
from .._targets import Target
from ..backends import BACKENDS, EpochPlan
from ..mlp import MLP
from ..optim import SGD, Adam
from ..training import EpochRecord, History
from ._base import _SEED_LIMIT, ModelPickling, _check_classes, _validate

SOLVERS = ("adam", "sgd")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
# scikit-learn's activation names that pyfastnn spells differently
_ACTIVATIONS = {"logistic": "sigmoid"}
# pyfastnn output -> scikit-learn's out_activation_
_OUT_ACTIVATIONS = {"sigmoid": "logistic"}
# outputs that are not a probability map over classes
_NOT_CLASS_OUTPUTS = ("sigmoid", "identity")
# scikit-learn's "adaptive" schedule stops once the rate is this small
_MIN_ADAPTIVE_LR = 1e-6
# scikit-learn's batch_size="auto": min(AUTO_BATCH, n_samples)
AUTO_BATCH = 200


class _BaseMLP(ModelPickling, BaseEstimator):
    """What MLPClassifier and MLPRegressor share; not used directly."""

    # ---- what subclasses provide --------------------------------------------

    def _prepare_targets(
        self, y: np.ndarray, incremental: bool, first: bool, classes: np.ndarray | None
    ) -> tuple[np.ndarray, int, str]:
        """(targets for pyfastnn: labels (N,) int64 or values (N, K), outputs K,
        pyfastnn output name)."""
        raise NotImplementedError

    def _grad_scale(self) -> float:
        """g: pyfastnn's gradient over scikit-learn's (see the module docstring)."""
        return 1.0

    def _sklearn_loss(self, loss: float, penalty: float) -> float:
        """scikit-learn's reported loss from pyfastnn's epoch loss and scikit-learn's
        penalty ``alpha / (2 n) * sum W^2`` (the classifier's are the same)."""
        return loss

    def _val_score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        raise NotImplementedError

    # ---- hyper-parameters ---------------------------------------------------

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
            raise TypeError(
                f"hidden_layer_sizes: expected an integer or a sequence of integers, got {sizes!r}"
            )
        return tuple(check_positive_int(h, "hidden_layer_sizes") for h in sizes)

    def _check_params(self) -> None:
        """Validate the hyper-parameters (in fit, as scikit-learn does); clear
        ValueError/TypeError naming the parameter."""
        if self.solver == "lbfgs":
            raise ValueError(
                "solver: 'lbfgs' (full-batch L-BFGS) is not offered by pyfastnn; "
                "use solver='adam' (the default) or 'sgd'"
            )
        if self.solver not in SOLVERS:
            raise ValueError(f"solver: expected one of {SOLVERS}, got {self.solver!r}")
        if self.learning_rate not in LEARNING_RATES:
            raise ValueError(
                f"learning_rate: expected one of {LEARNING_RATES}, got {self.learning_rate!r}"
            )
        if not isinstance(self.batch_size, str) or self.batch_size != "auto":
            check_positive_int(self.batch_size, "batch_size")
        check_real(self.alpha, "alpha", minimum=0.0)
        if check_real(self.learning_rate_init, "learning_rate_init") <= 0:
            raise ValueError(
                f"learning_rate_init: expected a value > 0, got {self.learning_rate_init}"
            )
        check_real(self.power_t, "power_t", minimum=0.0)
        check_positive_int(self.max_iter, "max_iter")
        check_real(self.tol, "tol", minimum=0.0)
        if not 0.0 <= check_real(self.momentum, "momentum") < 1.0:
            raise ValueError(f"momentum: expected a value in [0, 1), got {self.momentum}")
        if not 0.0 <= check_real(self.validation_fraction, "validation_fraction") < 1.0:
            raise ValueError(
                f"validation_fraction: expected a value in [0, 1), got {self.validation_fraction}"
            )
        for name in ("beta_1", "beta_2"):
            if not 0.0 <= check_real(getattr(self, name), name) < 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1), got {getattr(self, name)}")
        if check_real(self.epsilon, "epsilon") <= 0:
            raise ValueError(f"epsilon: expected a value > 0, got {self.epsilon}")
        if self.n_iter_no_change != np.inf:
            check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        check_real(self.l1, "l1", minimum=0.0)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")

    # ---- training -----------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _BaseMLP:
        """Train on X (N, D) and y (N,) (labels, or real targets (N,) / (N, K) for
        the regressor) for up to ``max_iter`` epochs; return self.

        ``sample_weight`` (N,): each row's weight in the minibatch loss (a
        weighted mean). Starts from new weights unless ``warm_start``.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        incremental: bool,
        classes: np.ndarray | None = None,
    ) -> _BaseMLP:
        self._check_params()
        hidden = self._hidden_sizes()
        check_dropout(self.dropout, (0, 0, 0), len(hidden) + 1)
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = self._validate_xy(X, y, reset=first)
        targets, n_out, output = self._prepare_targets(y, incremental, first, classes)
        weights = _check_sample_weight(sample_weight, X.shape[0])
        if incremental and not first:  # partial_fit: the shuffling continues from t_
            random_state, seed = None, self._seed
        else:  # seeds the weights, the shuffling and the early-stopping split
            random_state = check_random_state(self.random_state)
            seed = self._seed = int(random_state.randint(_SEED_LIMIT))
        if first:
            self._initialize(X.shape[1], hidden, n_out, output, seed)
        elif self.model_.n_outputs != n_out:
            raise ValueError(
                f"y: {n_out} outputs, but the model was fitted with {self.model_.n_outputs}"
            )
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        kind = (self.solver, float(self.momentum) > 0)
        if not incremental or self._opt_state is None or self._opt_kind != kind:
            self._opt_kind = kind
            self._opt_state = self._new_optimizer(1.0).init_state(
                self.model_.params.size, self.model_.dtype
            )
            self._steps = 0
            self._lr = float(self.learning_rate_init)
        X = as_float_array(X, "X", 2, dtype=self.model_.dtype)
        if self.early_stopping:
            X, X_val, targets, y_val, weights, w_val = self._split(
                X, y, targets, weights, random_state
            )
        else:
            X_val = y_val = w_val = None
        self._train(X, targets, weights, X_val, y_val, w_val, seed, incremental)
        return self

    def _validate_xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = _validate(self, X, y, reset=reset, multi_output=True, y_numeric=self._numeric_y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    _numeric_y = False

    def _initialize(
        self, n_features: int, hidden: tuple[int, ...], n_out: int, output: str, seed: int
    ) -> None:
        """New weights and scikit-learn's bookkeeping (a first fit, or not warm_start)."""
        options: dict[str, Any] = {}
        if output == "entmax":
            options["alpha"] = self.entmax_alpha
        self.model_ = MLP(
            [n_features, *hidden, n_out],
            activation=_ACTIVATIONS.get(self.activation, self.activation),
            output=output,
            dtype=self.dtype,
            backend=self.backend,
            seed=seed,
            **options,
        )
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_out
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = _OUT_ACTIVATIONS.get(output, output)
        self.loss_curve_: list[float] = []
        self.history_ = History()
        self._no_improvement_count = 0
        self._best_params = self.model_.params.copy()
        self._opt_state: dict[str, np.ndarray] | None = None
        self._epochs = 0  # epochs run since the weights were drawn (dropout masks)
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _new_optimizer(self, lr: float) -> SGD | Adam:
        """The solver as a pyfastnn optimiser at scikit-learn learning rate ``lr``."""
        g = self._grad_scale()
        if self.solver == "adam":
            return Adam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=float(self.epsilon) * g)
        return SGD(
            lr=lr / g,
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum) and self.momentum > 0,
        )

    def _split(
        self,
        X: np.ndarray,
        y: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        random_state: np.random.RandomState | None,
    ) -> tuple[Any, ...]:
        """scikit-learn's early-stopping split: ``validation_fraction`` of the rows
        held out (stratified for a classifier); returns the train and validation
        parts of X, the targets and the weights."""
        stratify = y if isinstance(self, ClassifierMixin) else None
        parts = [X, targets, y] + ([] if weights is None else [weights])
        split = train_test_split(
            *parts,
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_train, X_val, t_train, _, _, y_val = split[:6]
        w_train, w_val = (None, None) if weights is None else split[6:8]
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return X_train, X_val, t_train, y_val, w_train, w_val

    def _train(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray | None,
        X_val: np.ndarray | None,
        y_val: np.ndarray | None,
        w_val: np.ndarray | None,
        seed: int,
        incremental: bool,
    ) -> None:
        """scikit-learn's ``_fit_stochastic`` epoch loop over pyfastnn epochs."""
        model = self.model_
        spec, params = model.spec, model.params
        backend = BACKENDS[model.backend]
        n = X.shape[0]
        batch = self._batch_rows(n)
        g = self._grad_scale()
        mean_w = 1.0 if weights is None else float(np.mean(weights))
        if mean_w <= 0:  # all rows of the training part weigh 0 (after a split)
            raise ValueError("sample_weight: the weights of the training rows are all zero")
        penalty = 0.5 * float(self.alpha) / (batch * mean_w)  # scikit-learn's, per sum W^2
        sum_sq = _sum_squares(model.weights)
        target = _make_target(targets, spec.dtype, weights)
        grad = aligned_zeros(params.size, spec.dtype)
        last_finite = params.copy()
        rng = np.random.default_rng([seed, self.t_])
        early = bool(self.early_stopping)
        if early and self.validation_scores_ is None:  # turned on for a warm start
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        self.n_iter_ = 0
        try:
            for _ in range(int(self.max_iter)):
                start_time = time.perf_counter()
                order = rng.permutation(n) if self.shuffle else None
                plan = EpochPlan(
                    batch_size=batch,
                    l1=g * float(self.l1),
                    l2=g * penalty,
                    dropout=float(self.dropout),
                    seed=seed,
                    epoch=self._epochs + 1,
                    steps_before=self._steps,
                )
                loss_sum, batches, failed = backend.train_epoch(
                    spec, params, grad, X, target, order, plan,
                    self._new_optimizer(self._lr), self._opt_state,
                )  # fmt: skip
                mean_loss = float(loss_sum) / max(batches, 1)
                if failed >= 0 or not math.isfinite(mean_loss) or not all_finite(params):
                    _diverged(params, last_finite)
                # the penalty's mean over the minibatches, taken before each step: its
                # value at the epoch's start, moved linearly towards that at its end
                start, sum_sq = sum_sq, _sum_squares(model.weights)
                mean_sq = start + (sum_sq - start) * (batches - 1) / (2 * batches)
                loss = self._sklearn_loss(mean_loss, penalty * mean_sq)
                last_finite[...] = params
                self._steps += batches
                self._epochs += 1
                self.n_iter_ += 1
                self.t_ += n
                self.loss_ = loss
                self.loss_curve_.append(loss)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
                best = self._update_no_improvement_count(early, X_val, y_val, w_val)
                self._record(loss, time.perf_counter() - start_time, early, best)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    self._lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._trigger_stopping(early):
                        self.history_.stopped_early = True
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,  # the caller of fit
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if early:
            params[...] = self._best_params

    def _record(self, loss: float, seconds: float, early: bool, best: bool) -> None:
        """The epoch in ``history_`` (pyfastnn's :class:`~pyfastnn.History`, for
        ``pyfastnn.plots.learning_curves``); the classifier's validation accuracy."""
        history = self.history_
        record = EpochRecord(len(history.epochs) + 1, loss, seconds)
        if early and isinstance(self, ClassifierMixin):
            assert self.validation_scores_ is not None
            record.val_accuracy = self.validation_scores_[-1]
        if best:
            history.best_epoch = record.epoch
        history.epochs.append(record)

    def _batch_rows(self, n: int) -> int:
        if isinstance(self.batch_size, str):
            return min(AUTO_BATCH, n)
        if self.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=5,
            )
        return int(min(self.batch_size, n))

    def _update_no_improvement_count(
        self,
        early: bool,
        X_val: np.ndarray | None,
        y_val: np.ndarray | None,
        w_val: np.ndarray | None,
    ) -> bool:
        """scikit-learn's rule: count epochs that improve by less than ``tol``
        (validation score with early stopping, else training loss); whether this
        epoch's weights are the new best ones (kept with early stopping)."""
        if early:
            assert X_val is not None and y_val is not None and self.validation_scores_ is not None
            score = self._val_score(X_val, y_val, w_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            best = self.best_validation_score_
            assert best is not None
            self._no_improvement_count = (
                self._no_improvement_count + 1 if score < best + self.tol else 0
            )
            if score > best:
                self.best_validation_score_ = score
                self._best_params[...] = self.model_.params
                return True
            return False
        loss = self.loss_curve_[-1]
        assert self.best_loss_ is not None
        self._no_improvement_count = (
            self._no_improvement_count + 1 if loss > self.best_loss_ - self.tol else 0
        )
        self.best_loss_ = min(self.best_loss_, loss)
        return False

    def _trigger_stopping(self, early: bool) -> bool:
        """Stop, or (SGD with learning_rate="adaptive") divide the rate by 5."""
        what = "Validation score" if early else "Training loss"
        msg = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._lr <= _MIN_ADAPTIVE_LR:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._lr /= 5.0
        if self.verbose:
            print(msg + f" Setting learning rate to {self._lr:f}")
        return False

    # ---- prediction ---------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs (N, K) as float64."""
        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return np.asarray(self.model_.forward(X), dtype=np.float64)

    # ---- the weights in scikit-learn's layout ----------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices (n_in, n_out) per layer (views into ``model_``)."""
        return self._fitted_model().weights

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors (n_out,) per layer (views into ``model_``)."""
        return self._fitted_model().biases

    def _fitted_model(self) -> MLP:
        model = self.__dict__.get("model_")
        if model is None:  # AttributeError: hasattr(est, "coefs_") is False before fit
            raise AttributeError(f"{type(self).__name__} is not fitted yet: no coefs_")
        return model


def _sum_squares(weights: list[np.ndarray]) -> float:
    """sum W^2 over the weight matrices (float64)."""
    return float(sum(np.dot(W.ravel(), W.ravel()) for W in weights))


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """``sample_weight`` as float64 (N,), finite, >= 0, not all 0; None stays None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"sample_weight: expected shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight: expected finite values >= 0")
    if n and not np.any(w > 0):
        raise ValueError("sample_weight: the weights are all zero")
    return w


def _make_target(targets: np.ndarray, dtype: np.dtype, weights: np.ndarray | None) -> Target:
    """The backend's Target: labels (N,) int64 or values (N, K) in ``dtype``."""
    if targets.dtype == np.int64:
        target = Target(labels=np.ascontiguousarray(targets))
    else:
        target = Target(values=np.ascontiguousarray(targets, dtype=dtype))
    if weights is not None:
        target = replace(target, weights=np.ascontiguousarray(weights, dtype=dtype))
    return target


def _diverged(params: np.ndarray, last_finite: np.ndarray) -> None:
    """A loss or a parameter became NaN or infinite: keep finite weights, raise."""
    params[...] = last_finite
    raise ValueError(
        "Solver produced non-finite parameter weights. The input data may contain large "
        "values and need to be preprocessed (or lower learning_rate_init); the model keeps "
        "the weights of the end of the previous epoch."
    )


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Widths of the hidden layers.
    activation : str, default="relu"
        scikit-learn's "identity", "logistic", "tanh", "relu", or pyfastnn's
        "gelu", "leaky_relu", "scaled_relu", "softplus", "sigmoid".
    solver : {"adam", "sgd"}, default="adam"
        "adam" is :class:`pyfastnn.optim.Adam` (beta_1, beta_2, epsilon); "sgd" is
        :class:`pyfastnn.optim.SGD` with ``momentum`` and Nesterov's momentum when
        ``nesterovs_momentum``. "lbfgs" raises ValueError (not offered).
    alpha : float, default=1e-4
        L2 penalty: scikit-learn adds ``alpha / (2 n) * sum W^2`` to the loss
        of a minibatch of n rows.
    batch_size : int or "auto", default="auto"
        Rows per minibatch; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of solver="sgd": "invscaling" sets the rate to
        ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch;
        "adaptive" divides it by 5 whenever ``n_iter_no_change`` epochs in a
        row do not improve by ``tol``, and stops once it is <= 1e-6.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs (passes over the data) of ``fit``.
    shuffle : bool, default=True
    random_state : int, RandomState or None
        Seeds the weights, the shuffling and the early-stopping split.
    tol : float, default=1e-4
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        ``fit`` continues from the current weights.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for the
        classifier), stop when the validation score (accuracy / R^2) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the
        weights of the best epoch.
    validation_fraction : float, default=0.1
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        Accepted for scikit-learn compatibility; used by "lbfgs" only.
    dropout : float, default=0.0
        pyfastnn: inverted dropout on the hidden activations during training.
    l1 : float, default=0.0
        pyfastnn: ``l1 * sum |W|`` added to the loss (on ``loss_curve_``'s scale).
    backend : {"native", "vector", "loop"}, default="native"
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network; inputs are converted to it.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    loss_ : float
        Training loss of the last epoch (scikit-learn's scale, penalty included).
    best_loss_ : float or None
        Smallest training loss (None with early_stopping).
    loss_curve_ : list of float
        Training loss per epoch, over all fits (a warm start or partial_fit appends).
    validation_scores_ : list of float or None
        Validation score per epoch with early_stopping, else None.
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray (n_in, n_out)
    intercepts_ : list of ndarray (n_out,)
        Views into ``model_``'s parameters (in ``dtype``).
    n_features_in_ : int
    feature_names_in_ : ndarray, when X had string column names
    n_iter_ : int
        Epochs run by the last ``fit`` (1 after ``partial_fit``).
    n_layers_ : int
        Layers, input and output included.
    n_outputs_ : int
    out_activation_ : str
    model_ : pyfastnn.MLP
        The trained network.
    history_ : pyfastnn.History
        The epochs of ``loss_curve_`` as pyfastnn records them (loss, seconds,
        the classifier's validation accuracy with early_stopping), for
        ``pyfastnn.plots.learning_curves``.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by pyfastnn.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameter
    names, defaults and meanings, the same fitted attributes, ``fit``,
    ``partial_fit(X, y, sample_weight=None, classes=None)``, ``predict``,
    ``predict_proba``, ``predict_log_proba`` and ``score``. Two classes train one
    logistic output (as scikit-learn), more a softmax; ``output`` picks a sparse
    probability map instead.
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        l1: float = 0.0,
        output: str = "softmax",
        entmax_alpha: float = 1.5,
        backend: str = "native",
        dtype: str = "float32",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.l1 = l1
        self.output = output
        self.entmax_alpha = entmax_alpha
        self.backend = backend
        self.dtype = dtype

    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over X (N, D), y (N,), continuing from the current weights
        and optimiser state. ``classes`` (every label there will ever be) is
        required on the first call."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={np.unique(classes)!r}` is not the same as on last call to "
                f"partial_fit, was: {self.classes_!r}"
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _prepare_targets(
        self, y: np.ndarray, incremental: bool, first: bool, classes: np.ndarray | None
    ) -> tuple[np.ndarray, int, str]:
        if y.ndim != 1:
            raise ValueError(
                f"y: expected class labels of shape (n_samples,), got {y.shape} "
                "(multilabel targets are not supported)"
            )
        if first:  # later calls check that the labels are among classes_
            check_classification_targets(y)
        if isinstance(self.output, str) and self.output in _NOT_CLASS_OUTPUTS:
            raise ValueError(
                f"output: expected a probability map over classes ('softmax', 'sparsemax', "
                f"'relumax', ...), got {self.output!r}"
            )
        present = np.unique(y)
        if first:
            self.classes_ = _check_classes(
                present if classes is None else classes, type(self).__name__
            )
        if not first or classes is not None:
            if self.warm_start and not incremental and not first:
                if set(present) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {present}"
                    )
            elif len(np.setdiff1d(present, self.classes_)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {present}."
                )
        index = np.searchsorted(self.classes_, y).astype(np.int64)
        if len(self.classes_) == 2 and self.output == "softmax":
            return index.astype(np.float64).reshape(-1, 1), 1, "sigmoid"
        return index, len(self.classes_), self.output

    def _val_score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        pred = self._labels(self.model_.forward(X))
        return float(accuracy_score(y, pred, sample_weight=sample_weight))

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if out.shape[1] == 1:  # one logistic output: class 1 above 0.5
            return self.classes_[(out[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(out, axis=1)]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (N,), taken from ``classes_``."""
        return self._labels(self._outputs(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, K) in the order of ``classes_`` (float64)."""
        out = self._outputs(X)
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """The logits before the output map, float64: (N,) for two classes (one
        logistic output: the log-odds of ``classes_[1]``, as scikit-learn's
        linear classifiers give), else (N, K) in the order of ``classes_``.
        scikit-learn's own MLPClassifier has no such method; pyfastnn's models
        all have one."""
        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        logits = np.asarray(self.model_.decision_function(X), dtype=np.float64)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Natural log of :meth:`predict_proba` (N, K)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by pyfastnn.

    Identity outputs trained with the squared error (scikit-learn's
    ``0.5 * mean((y - p)^2)`` on ``loss_curve_``); ``score`` is R^2. ``y`` of shape
    (N,) gives ``predict`` (N,), ``y`` (N, K) gives (N, K). ``loss`` accepts
    "squared_error" only.
    """

    _numeric_y = True

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        l1: float = 0.0,
        backend: str = "native",
        dtype: str = "float32",
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.l1 = l1
        self.backend = backend
        self.dtype = dtype

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over X (N, D), y (N,) or (N, K), continuing from the current
        weights and optimiser state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_params(self) -> None:
        if self.loss != "squared_error":
            raise ValueError(f"loss: pyfastnn offers 'squared_error' only, got {self.loss!r}")
        super()._check_params()

    def _prepare_targets(
        self, y: np.ndarray, incremental: bool, first: bool, classes: np.ndarray | None
    ) -> tuple[np.ndarray, int, str]:
        values = y.reshape(-1, 1) if y.ndim == 1 else y
        return np.asarray(values, dtype=np.float64), values.shape[1], "identity"

    def _grad_scale(self) -> float:
        # pyfastnn: sum over the K outputs of (p - y)^2; scikit-learn: half of it
        return 2.0

    def _sklearn_loss(self, loss: float, penalty: float) -> float:
        # pyfastnn's = 2 K * (scikit-learn's data term) + 2 * penalty
        k = self.model_.n_outputs
        return (loss - 2.0 * penalty) / (2.0 * k) + penalty

    def _val_score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        pred = self._shaped(self.model_.forward(X))
        if not np.all(np.isfinite(pred)):
            return float("nan")
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def _shaped(self, out: np.ndarray) -> np.ndarray:
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (N,) for a single output, else (N, K) (float64)."""
        return self._shaped(self._outputs(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


for _cls in (MLPClassifier, MLPRegressor):
    _cls.__doc__ = (_cls.__doc__ or "") + _PARAMS_DOC + _ATTRS_DOC
