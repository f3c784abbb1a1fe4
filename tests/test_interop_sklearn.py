"""scikit-learn in and out: fitted MLPClassifier/MLPRegressor weights into
pyfastnn, pyfastnn models and estimators out as scikit-learn estimators and
``coefs_``; predictions equal both ways."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _interop_helpers import DTYPES, inputs, make_model

import pyfastnn

sk_nn = pytest.importorskip("sklearn.neural_network")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

SK_ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
OURS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def _data(n_classes: int, dtype: str = "float64"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(dtype)
    y = (X[:, 0] + X[:, 1] * (n_classes - 1) > 0).astype(int) + (X[:, 2] > 1) * (n_classes > 2)
    return X, y


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", SK_ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_from_sklearn_classifier(activation, n_classes, dtype):
    X, y = _data(n_classes, dtype)
    sk = _fit(
        sk_nn.MLPClassifier(
            hidden_layer_sizes=(6, 5), activation=activation, max_iter=30, random_state=0
        ),
        X,
        y,
    )
    model = pyfastnn.MLP.from_sklearn(sk)
    assert model.activation == OURS[activation] and model.dtype == np.dtype(dtype)
    assert model.output == ("sigmoid" if n_classes == 2 else "softmax")
    tol = 1e-5 if dtype == "float32" else 1e-12
    proba = sk.predict_proba(X)
    ours = model.forward(X)
    if n_classes == 2:  # one logistic output: P(class 1)
        ours = np.column_stack([1 - ours[:, 0], ours[:, 0]])
    np.testing.assert_allclose(ours, proba, rtol=tol, atol=tol)
    np.testing.assert_array_equal(sk.classes_[model.predict(X)], sk.predict(X))
    back = model.to_sklearn(classes=sk.classes_)
    np.testing.assert_allclose(back.predict_proba(X), proba, rtol=tol, atol=tol)
    np.testing.assert_array_equal(back.predict(X), sk.predict(X))


def test_from_sklearn_regressor():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    Y = np.column_stack([X[:, 0] * 2, np.tanh(X[:, 1])])
    sk = _fit(
        sk_nn.MLPRegressor(hidden_layer_sizes=(7,), activation="tanh", max_iter=50, random_state=0),
        X,
        Y,
    )
    model = pyfastnn.MLP.from_sklearn(sk)
    assert (model.output, model.loss_name) == ("identity", "squared_error")
    np.testing.assert_allclose(model.forward(X), sk.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.to_sklearn().predict(X), sk.predict(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["identity", "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_to_sklearn_round_trip(activation, output, dtype):
    model = make_model("mlp", activation, output, dtype)
    if output == "sigmoid":  # scikit-learn's classifiers have one logistic output
        model = pyfastnn.MLP([5, 7, 1], activation, "sigmoid", dtype=dtype, seed=4)
        model.biases = [np.full(7, 0.1), np.full(1, -0.2)]
    sk = model.to_sklearn()
    X = inputs(20, model.n_inputs, dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    if output == "identity":
        np.testing.assert_allclose(sk.predict(X), model.forward(X), rtol=tol, atol=tol)
    elif output == "softmax":
        np.testing.assert_allclose(sk.predict_proba(X), model.forward(X), rtol=tol, atol=tol)
        np.testing.assert_array_equal(sk.predict(X), model.predict(X))
    else:
        np.testing.assert_allclose(sk.predict_proba(X)[:, 1], model.forward(X)[:, 0], rtol=tol)
        np.testing.assert_array_equal(sk.predict(X), model.predict(X))
    back = pyfastnn.MLP.from_sklearn(sk)
    assert np.array_equal(back.params, model.params)
    assert (back.activation, back.output) == (model.activation, model.output)


def test_linear_models_to_sklearn():
    lr = make_model("logistic_regression", "identity", "softmax", "float64")
    X = inputs(10, 5, "float64")
    sk = lr.to_sklearn(classes=["a", "b", "c", "d"])
    np.testing.assert_allclose(sk.predict_proba(X), lr.forward(X), atol=1e-12)
    assert list(sk.predict(X)) == [["a", "b", "c", "d"][i] for i in lr.predict(X)]


@pytest.mark.parametrize(
    "model, message",
    [
        (lambda: pyfastnn.MLP([3, 4, 2], "gelu", "softmax"), "activation 'gelu'"),
        (lambda: pyfastnn.MLP([3, 4, 2], "relu", "sparsemax"), "output 'sparsemax'"),
        (lambda: pyfastnn.MLP([3, 4, 3], "relu", "sigmoid"), "output 'sigmoid'"),
        (lambda: pyfastnn.Perceptron(3, 3), "perceptron"),
    ],
)
def test_to_sklearn_unsupported(model, message):
    with pytest.raises(ValueError, match=message):
        model().to_sklearn()


def test_to_sklearn_bad_classes():
    with pytest.raises(ValueError, match="classes"):
        pyfastnn.MLP([3, 4, 3], "relu", "softmax").to_sklearn(classes=[0, 1])


def test_from_sklearn_bad_input():
    with pytest.raises(TypeError, match="estimator"):
        pyfastnn.MLP.from_sklearn(object())
    with pytest.raises(ValueError, match="not fitted"):
        pyfastnn.MLP.from_sklearn(sk_nn.MLPClassifier())


def test_estimators_coefs_are_read_by_sklearn_code():
    """pyfastnn's estimators expose coefs_/intercepts_ (and coef_/intercept_ for
    the linear ones) in scikit-learn's layouts; sklearn's forward pass over them
    gives the estimator's probabilities."""
    from pyfastnn.estimators import LogisticRegressionClassifier, MLPClassifier

    X, y = _data(3)
    est = MLPClassifier((6,), activation="tanh", max_iter=3, dtype="float64", random_state=0)
    est.fit(X, y)
    assert [W.shape for W in est.coefs_] == [(4, 6), (6, 3)]
    assert [b.shape for b in est.intercepts_] == [(6,), (3,)]
    sk = sk_nn.MLPClassifier(hidden_layer_sizes=(6,), activation="tanh")
    sk.coefs_, sk.intercepts_ = est.coefs_, est.intercepts_
    sk.n_layers_, sk.n_outputs_, sk.out_activation_ = 3, 3, "softmax"
    sk.n_features_in_ = 4
    sk.classes_ = est.classes_
    np.testing.assert_allclose(sk.predict_proba(X), est.predict_proba(X), atol=1e-12)

    lin = LogisticRegressionClassifier(epochs=3, dtype="float64", random_state=0).fit(X, y)
    assert lin.coef_.shape == (3, 4) and lin.intercept_.shape == (3,)
    scores = X @ lin.coef_.T + lin.intercept_  # sklearn's decision_function layout
    np.testing.assert_array_equal(lin.classes_[np.argmax(scores, axis=1)], lin.predict(X))
    with pytest.raises(AttributeError):
        MLPClassifier().coefs_  # noqa: B018  (not fitted)


def test_logistic_regression_from_sklearn_without_hidden_layers():
    X, y = _data(3)
    sk = _fit(sk_nn.MLPClassifier(hidden_layer_sizes=(), max_iter=30, random_state=0), X, y)
    model = pyfastnn.LogisticRegression.from_sklearn(sk)
    assert type(model) is pyfastnn.LogisticRegression
    np.testing.assert_allclose(model.predict_proba(X), sk.predict_proba(X), atol=1e-12)
    with pytest.raises(ValueError, match="one layer"):
        sk2 = _fit(sk_nn.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0), X, y)
        pyfastnn.LogisticRegression.from_sklearn(sk2)
