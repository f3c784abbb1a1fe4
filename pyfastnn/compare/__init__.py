"""``pyfastnn compare``: the same workloads in loop, vector, native and installed
peers (PyTorch, scikit-learn, entmax), checked for agreement, then timed.

Modules, one concern each: ``timing`` (block timing), ``problems`` (inputs and
costs), ``contenders`` (our backends), ``peers`` (other libraries),
``workloads`` (what each mode runs), ``check`` (agreement), ``runner``
(orchestration), ``report`` (markdown and JSON), ``plot`` (PNG), ``cli``; the
ratio suites (``--suite core|train``): ``suites`` (what each times),
``suite_runner`` (ratios of medians and medians of per-round ratios),
``memory`` (peak RSS of a fit in a fresh process).
"""
