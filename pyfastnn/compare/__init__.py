"""``pyfastnn compare``: the same workloads in loop, vector, native and installed
peers (PyTorch, scikit-learn, entmax), checked for agreement, then timed.

Modules, one concern each: ``timing`` (block timing), ``problems`` (inputs and
costs), ``contenders`` (our backends), ``peers`` (other libraries),
``workloads`` (what each mode runs), ``check`` (agreement), ``runner``
(orchestration), ``report`` (markdown and JSON), ``plot`` (PNG), ``cli``.
"""
