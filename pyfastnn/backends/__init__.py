"""The three implementations behind every operation: loop, vector, native.

Each backend module offers the same functions for a dense network:

- ``forward(net, X) -> out``  (N, K) outputs after the output map
- ``loss_and_grad(net, X, target, l1, l2, want_grad, want_input_grad, out=None,
  dropout=None)`` -> ``(loss, dparams, dX)``; ``dparams`` is a flat vector in the
  layout of ``net.params`` (written into ``out`` when given; None when not
  wanted), ``dX`` is (N, D) (or None); ``dropout`` a
  :class:`pyfastnn._dropout.DropoutStream` masking the hidden activations

``net`` is an :class:`pyfastnn.MLP`; ``target`` a :class:`pyfastnn._targets.Target`.

A backend raises :class:`NonFiniteError` when a pre-activation ``Z_l`` is NaN
or infinite (a non-finite value in X or in a parameter always shows up there,
even when tanh or relu would hide it from the outputs); the model then finds
and names the culprit.
"""


class NonFiniteError(ArithmeticError):
    """A pre-activation was NaN or infinite (internal; the model re-raises)."""
