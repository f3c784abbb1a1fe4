"""pyfastnn.estimators.MLPClassifier / MLPRegressor as drop-ins for scikit-learn's.

Same parameter names and defaults, the same fitted attributes (types and
shapes), the same objective (loss scale, alpha's L2 scaling, the solvers'
steps: checked against scikit-learn's own steps from identical weights in
float64), and a script written for scikit-learn running unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from pyfastnn.estimators import MLPClassifier, MLPRegressor  # noqa: E402

PAIRS = [(MLPClassifier, sk_nn.MLPClassifier), (MLPRegressor, sk_nn.MLPRegressor)]
EXTRAS = {"dropout", "l1", "output", "entmax_alpha", "backend", "dtype"}

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def blobs(n: int = 240, k: int = 3, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


def regression(n: int = 200, k: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    W = rng.normal(size=(4, k))
    Y = np.tanh(X @ W) + 0.1 * X[:, :1] ** 2
    return X, (Y[:, 0] if k == 1 else Y)


# ---- parameters ----------------------------------------------------------------


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_sklearn_parameter_names_and_defaults(ours, theirs) -> None:
    mine, ref = ours().get_params(), theirs().get_params()
    assert set(ref) <= set(mine)
    assert set(mine) - set(ref) <= EXTRAS
    for name, value in ref.items():
        assert mine[name] == value, name


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_set_params_and_clone_round_trip(ours, theirs) -> None:
    changed = {
        "hidden_layer_sizes": (7, 3),
        "activation": "tanh",
        "solver": "sgd",
        "alpha": 0.5,
        "batch_size": 17,
        "learning_rate": "invscaling",
        "learning_rate_init": 0.2,
        "power_t": 0.25,
        "max_iter": 3,
        "shuffle": False,
        "random_state": 5,
        "tol": 0.01,
        "warm_start": True,
        "momentum": 0.5,
        "nesterovs_momentum": False,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "beta_1": 0.8,
        "beta_2": 0.99,
        "epsilon": 1e-6,
        "n_iter_no_change": 4,
        "dropout": 0.1,
        "l1": 0.01,
        "dtype": "float64",
    }
    est = ours().set_params(**changed)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    for name, value in changed.items():
        assert copy.get_params()[name] == value
    # the same settings mean the same to scikit-learn's estimator
    theirs().set_params(**{k: v for k, v in changed.items() if k not in EXTRAS})


def test_lbfgs_and_old_names_are_refused_clearly() -> None:
    X, y = blobs()
    with pytest.raises(ValueError, match="solver: 'lbfgs'.*not offered"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(TypeError, match="epochs"):
        MLPClassifier(epochs=3)  # renamed max_iter (scikit-learn's name)
    with pytest.raises(ValueError, match="momentum"):
        MLPClassifier(solver="sgd", momentum=1.5).fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="poisson").fit(*regression())


# ---- fitted attributes ------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (int, np.integer)):
        return "int"
    return type(value).__name__


def _same_attributes(mine, ref, names) -> None:
    for name in names:
        a, b = getattr(mine, name), getattr(ref, name)
        assert _kind(a) == _kind(b), name
        if isinstance(b, list):
            assert len(a) == len(b) or name in ("loss_curve_", "validation_scores_"), name
            for x, y in zip(a, b):
                assert np.shape(x) == np.shape(y), name
        elif isinstance(b, np.ndarray):
            assert a.shape == b.shape and a.dtype.kind == b.dtype.kind, name
        elif not isinstance(b, float):
            assert a == b, name


ATTRS = [
    "coefs_",
    "intercepts_",
    "loss_curve_",
    "best_loss_",
    "loss_",
    "validation_scores_",
    "best_validation_score_",
    "n_iter_",
    "t_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_features_in_",
]


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_classifier_attributes_match_sklearns(k, early_stopping) -> None:
    X, y = blobs(k=k, seed=k)
    labels = np.array(["a", "b", "c", "d"])[y]
    options = dict(hidden_layer_sizes=(6, 5), max_iter=4, random_state=0, tol=0.0)
    options["early_stopping"] = early_stopping
    mine = MLPClassifier(**options).fit(X, labels)
    ref = sk_nn.MLPClassifier(**options).fit(X, labels)
    _same_attributes(mine, ref, [*ATTRS, "classes_"])
    assert mine.n_iter_ == ref.n_iter_ == 4 and mine.t_ == ref.t_
    for method in ("predict", "predict_proba", "predict_log_proba"):
        a, b = getattr(mine, method)(X), getattr(ref, method)(X)
        assert a.shape == b.shape and a.dtype.kind == b.dtype.kind, method
    np.testing.assert_allclose(mine.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2])
def test_regressor_attributes_and_r2(k) -> None:
    X, y = regression(k=k)
    options = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, learning_rate_init=0.01)
    mine = MLPRegressor(**options).fit(X, y)
    ref = sk_nn.MLPRegressor(**options).fit(X, y)
    _same_attributes(mine, ref, ATTRS)
    pred = mine.predict(X)
    assert pred.shape == ref.predict(X).shape == y.shape
    assert mine.score(X, y) == pytest.approx(r2_score(y, pred), rel=1e-12)


# ---- the objective: scikit-learn's steps from the same weights ---------------------


def _copy_weights(src, dst) -> None:
    for W, V in zip(dst.coefs_ + dst.intercepts_, src.coefs_ + src.intercepts_):
        W[...] = V


SOLVERS = [
    dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.05),
    dict(solver="sgd", momentum=0.0, learning_rate="invscaling", learning_rate_init=0.05),
    # a tiny epsilon: pyfastnn adds it to sqrt(v_hat), scikit-learn to sqrt(v)
    dict(solver="adam", learning_rate_init=0.01, epsilon=1e-14),
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: "-".join(map(str, s.values())))
@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression1", "regression2"], ids=str)
def test_steps_equal_sklearns_from_the_same_weights(solver, problem) -> None:
    """Full-batch epochs from identical weights in float64: pyfastnn's updates
    are scikit-learn's (alpha's scaling, the loss scale, momentum, schedules)."""
    if problem.startswith("regression"):
        X, y = regression(n=60, k=int(problem[-1]))
        ours, theirs = MLPRegressor, sk_nn.MLPRegressor
    else:
        X, y = blobs(n=60, k=2 if problem == "binary" else 3)
        ours, theirs = MLPClassifier, sk_nn.MLPClassifier
    options = dict(
        hidden_layer_sizes=(5,),
        activation="tanh",
        alpha=0.3,
        batch_size=60,
        shuffle=False,
        random_state=0,
        **solver,
    )
    ref = theirs(max_iter=1, **options).fit(X, y)
    mine = ours(max_iter=1, dtype="float64", **options).fit(X, y)
    _copy_weights(ref, mine)
    ref.set_params(warm_start=True, max_iter=3).fit(X, y)
    mine.set_params(warm_start=True, max_iter=3).fit(X, y)
    rtol = 1e-8 if solver["solver"] == "adam" else 1e-10
    for W, V in zip(mine.coefs_ + mine.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(W, V, rtol=rtol, atol=rtol * 1e-2)
    # the first entry is of each side's own initial weights
    np.testing.assert_allclose(mine.loss_curve_[1:], ref.loss_curve_[1:], rtol=rtol)


@pytest.mark.parametrize("ours", [MLPClassifier, MLPRegressor])
def test_backends_train_to_the_same_weights(ours) -> None:
    X, y = blobs(n=50, k=3) if ours is MLPClassifier else regression(n=50, k=2)
    options = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=16, dtype="float64")
    options.update(random_state=0, early_stopping=True, validation_fraction=0.2, dropout=0.2)
    fits = [ours(backend=b, **options).fit(X, y) for b in ("native", "vector", "loop")]
    for other in fits[1:]:
        np.testing.assert_allclose(other.model_.params, fits[0].model_.params, atol=1e-10)
        np.testing.assert_allclose(other.loss_curve_, fits[0].loss_curve_, rtol=1e-10)
        assert other.validation_scores_ == pytest.approx(fits[0].validation_scores_, abs=1e-10)


# ---- behaviour -------------------------------------------------------------------


def sklearn_script(MLPClassifier) -> dict[str, object]:  # noqa: N803 (the class, as imported)
    """A script written for scikit-learn's MLPClassifier (only the class is passed)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=25, random_state=0)
    clf.fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    accuracy = clf.score(X_test, y_test)
    online = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    for _ in range(10):  # ten passes over five chunks
        for part in np.array_split(np.arange(len(X_train)), 5):
            online.partial_fit(X_train[part], y_train[part], classes=np.unique(y_train))
    early = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, random_state=0)
    early.fit(X_train, y_train)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", clf)])
    grid = {"mlp__learning_rate_init": [1e-3, 1e-2], "mlp__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train[:600], y_train[:600])
    return {
        "proba": proba,
        "accuracy": accuracy,
        "online": online.score(X_test, y_test),
        "early": early.score(X_test, y_test),
        "early_n_iter": early.n_iter_,
        "early_scores": early.validation_scores_,
        "best_params": search.best_params_,
        "search_score": search.score(X_test, y_test),
    }


def test_a_sklearn_script_runs_with_only_the_import_changed() -> None:
    mine, ref = sklearn_script(MLPClassifier), sklearn_script(sk_nn.MLPClassifier)
    assert mine["proba"].shape == ref["proba"].shape
    assert set(mine["best_params"]) == {"mlp__learning_rate_init", "mlp__alpha"}
    # digits: scikit-learn reaches ~0.96-0.97 with these settings; loose bounds
    assert mine["accuracy"] > ref["accuracy"] - 0.03
    assert mine["online"] > ref["online"] - 0.05 and mine["search_score"] > 0.85
    assert mine["early"] > ref["early"] - 0.03
    assert len(mine["early_scores"]) == mine["early_n_iter"] < 200


def test_loss_curve_decreases_on_an_easy_problem() -> None:
    X, y = blobs(n=300, k=3, seed=1)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0, tol=0.0)
    curve = np.array(clf.set_params(learning_rate_init=0.01).fit(X, y).loss_curve_)
    assert len(curve) == 40 and curve[-1] < 0.2 * curve[0]
    assert np.all(np.diff(curve[:10]) < 0)  # full-ish batches: down every early epoch
    assert clf.best_loss_ == pytest.approx(curve.min()) and clf.loss_ == curve[-1]


def test_tol_stops_training_as_sklearn() -> None:
    X, y = blobs(n=300, k=3, seed=2)
    options = dict(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0)
    clf = MLPClassifier(tol=0.5, n_iter_no_change=3, **options).fit(X, y)
    # no epoch can improve the loss by 0.5 after the first few: stop after 1 + 3 + 1
    curve = clf.loss_curve_
    assert clf.n_iter_ == len(curve) < 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPClassifier(tol=0.5, n_iter_no_change=3, **options).fit(X, y)  # converged: no warning


def test_early_stopping_sets_validation_scores_and_keeps_the_best() -> None:
    X, y = blobs(n=400, k=4, seed=3)
    clf = MLPClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, n_iter_no_change=3, random_state=0
    ).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ and clf.best_loss_ is None
    assert clf.best_validation_score_ == max(scores)
    assert all(0.0 <= s <= 1.0 for s in scores)
    best = int(np.argmax(scores)) + 1  # the first epoch reaching the best score
    assert clf.history_.best_epoch == best and clf.history_.stopped_early
    assert best < clf.n_iter_  # n_iter_no_change=3 epochs past it
    # the weights kept are those of that epoch: a run that ends there has them
    short = clone(clf).set_params(max_iter=best).fit(X, y)
    np.testing.assert_array_equal(short.model_.params, clf.model_.params)
    reg = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, random_state=0)
    reg.fit(*regression(n=300))
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X, y)


def test_partial_fit_needs_classes_first_and_keeps_optimiser_state() -> None:
    X, y = blobs(n=200, k=3, seed=4)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    a = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, shuffle=False)
    for _ in range(3):
        a.partial_fit(X, y, classes=[0, 1, 2])
    b = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, shuffle=False, max_iter=3)
    b.fit(X, y)
    # three partial_fit epochs are one fit of three epochs (the Adam state carries over)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)
    assert a.t_ == b.t_ == 600 and a.n_iter_ == 1 and b.n_iter_ == 3


def test_warm_start_continues_and_checks_classes() -> None:
    X, y = blobs(n=200, k=3, seed=5)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = [W.copy() for W in clf.coefs_]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 4 and clf.t_ == 800
    assert not np.array_equal(first[0], clf.coefs_[0])
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X[y < 2], y[y < 2])


def test_learning_rate_adaptive_divides_by_five_as_sklearn() -> None:
    X, y = blobs(n=200, k=3, seed=6)
    options = dict(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.1,
        tol=10.0,  # never improves by 10: divide every n_iter_no_change + 1 epochs
        n_iter_no_change=1,
        max_iter=50,
        random_state=0,
    )
    mine = MLPClassifier(**options).fit(X, y)
    ref = sk_nn.MLPClassifier(**options).fit(X, y)
    # the first epoch improves on best_loss_ = inf; then a division every 2 epochs
    # until the rate is <= 1e-6 (after 8): the 9th trigger stops at epoch 19
    assert mine.n_iter_ == ref.n_iter_ == 19
    assert mine._lr == pytest.approx(ref._optimizer.learning_rate) == 0.1 / 5**8


def test_sample_weight_of_ones_changes_nothing_and_zero_weights_drop_rows() -> None:
    X, y = blobs(n=120, k=3, seed=7)
    options = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, dtype="float64")
    a = MLPClassifier(**options, batch_size=120).fit(X, y)
    b = MLPClassifier(**options, batch_size=120).fit(X, y, sample_weight=np.ones(120))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    w = np.ones(120)
    w[:10] = 0.0
    c = MLPClassifier(**options, batch_size=120).fit(X, y, sample_weight=w)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


def test_uniform_weights_scale_the_penalty_like_sklearn() -> None:
    """scikit-learn divides alpha's penalty by the batch's summed weight."""
    X, y = regression(n=40)
    options = dict(
        hidden_layer_sizes=(4,), alpha=1.0, batch_size=40, shuffle=False, max_iter=1,
        solver="sgd", momentum=0.0, learning_rate_init=0.1, random_state=0,
    )  # fmt: skip
    ref = sk_nn.MLPRegressor(**options).fit(X, y)
    mine = MLPRegressor(**options, dtype="float64").fit(X, y)
    _copy_weights(ref, mine)
    ref.set_params(warm_start=True).fit(X, y, sample_weight=np.full(40, 3.0))
    mine.set_params(warm_start=True).fit(X, y, sample_weight=np.full(40, 3.0))
    np.testing.assert_allclose(mine.coefs_[0], ref.coefs_[0], rtol=1e-10)


def test_binary_uses_one_logistic_output_and_sparse_maps_stay_available() -> None:
    X, y = blobs(k=2, seed=8)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.01)
    clf.fit(X, y)
    assert clf.out_activation_ == "logistic" and clf.coefs_[-1].shape == (8, 1)
    sparse = MLPClassifier(hidden_layer_sizes=(8,), output="sparsemax", max_iter=30)
    sparse.set_params(learning_rate_init=0.01).fit(X, y)
    assert sparse.out_activation_ == "sparsemax" and sparse.coefs_[-1].shape == (8, 2)
    assert sparse.score(X, y) > 0.9 and clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="output"):
        MLPClassifier(output="identity").fit(X, y)


def test_pickle_mid_training_continues_identically() -> None:
    """The network travels as its model file; the optimiser state and counters
    travel with the estimator, so partial_fit goes on as if never pickled."""
    import pickle

    X, y = regression(n=80, k=2)
    reg = MLPRegressor(hidden_layer_sizes=(6,), random_state=0, shuffle=False, dtype="float64")
    for _ in range(3):
        reg.partial_fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    assert copy.model_ is not reg.model_ and copy.t_ == reg.t_ == 240
    reg.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
    assert copy.loss_curve_ == reg.loss_curve_


def test_classifier_decision_function_gives_the_logits() -> None:
    for k in (2, 3):
        X, y = blobs(n=90, k=k, seed=3)
        clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
        z = clf.decision_function(X)
        p = clf.predict_proba(X)
        if k == 2:  # one logistic output: p(classes_[1]) = sigmoid(z)
            assert z.shape == (90,)
            np.testing.assert_allclose(1 / (1 + np.exp(-z)), p[:, 1], rtol=1e-5)
        else:  # softmax of the logits
            assert z.shape == (90, 3)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), p, rtol=1e-4)
