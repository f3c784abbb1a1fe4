"""scikit-learn estimators backed by pyfastnn models (needs scikit-learn).

>>> from pyfastnn.estimators import MLPClassifier   # instead of sklearn.neural_network
>>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0).fit(X, y)

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's parameter names,
defaults and meanings and set its fitted attributes (drop-ins for
``sklearn.neural_network``); ``LogisticRegressionClassifier`` and
``PerceptronClassifier`` take pyfastnn's training names (``optimizer``, ``lr``,
``epochs``, ``l2``). All follow scikit-learn's conventions (``get_params`` /
``set_params``, learned attributes ending in ``_``, labels of any type through
``classes_``), so they work in ``Pipeline``, ``GridSearchCV`` and
``cross_val_score``.
"""

from ._base import PyfastnnClassifier
from ._classifiers import LogisticRegressionClassifier, PerceptronClassifier
from ._mlp import MLPClassifier, MLPRegressor

__all__ = [
    "LogisticRegressionClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "PerceptronClassifier",
    "PyfastnnClassifier",
]
