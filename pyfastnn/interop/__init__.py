"""Models that travel: ONNX export, PyTorch and scikit-learn weights in and out.

Each module imports its optional library (onnx, torch, scikit-learn) itself,
so ``import pyfastnn`` needs none of them; the model methods
(:meth:`pyfastnn.MLP.to_onnx`, ``to_torch``, ``from_torch``, ``from_sklearn``)
import the module they need when called. The modules work on a model's
description (:class:`pyfastnn._spec.NetSpec`) and its weight/bias arrays and
import no model class.
"""
