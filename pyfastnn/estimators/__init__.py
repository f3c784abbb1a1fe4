"""scikit-learn estimators backed by pyfastnn models (needs scikit-learn).

>>> from pyfastnn.estimators import MLPClassifier
>>> clf = MLPClassifier(hidden_layer_sizes=(64,), epochs=20, random_state=0).fit(X, y)

Each follows scikit-learn's conventions (``get_params``/``set_params``, learned
attributes ending in ``_``, labels of any type through ``classes_``), so it
works in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.
"""

from ._base import PyfastnnClassifier
from ._classifiers import LogisticRegressionClassifier, MLPClassifier, PerceptronClassifier

__all__ = [
    "LogisticRegressionClassifier",
    "MLPClassifier",
    "PerceptronClassifier",
    "PyfastnnClassifier",
]
