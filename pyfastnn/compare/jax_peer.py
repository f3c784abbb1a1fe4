"""JAX (XLA on the CPU) as a training peer: the same SGD epoch of a ReLU /
softmax-cross-entropy MLP from the same weights, written as a jitted step per
minibatch (``jax step``) and as a whole epoch in one jitted ``lax.scan``
(``jax scan``). XLA runs on its own thread pool (all CPUs; JAX has no
run-time setting for it). Imported only when JAX is installed.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .problems import MLPProblem


def _loss(params: list[tuple[Any, Any]], xb: Any, yb: Any) -> Any:
    import jax
    import jax.numpy as jnp

    h = xb
    for W, b in params[:-1]:
        h = jax.nn.relu(h @ W + b)
    W, b = params[-1]
    logp = jax.nn.log_softmax(h @ W + b)
    return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))


def epoch_runner(p: MLPProblem, batch: int, whole_epoch: bool) -> Callable[[], None]:
    """One shuffled SGD epoch per call (the parameters carry over between calls)."""
    import jax
    import jax.numpy as jnp

    lr = p.lr
    X, y = jnp.asarray(p.X), jnp.asarray(p.y.astype(np.int32))
    n, d = p.X.shape
    full = n // batch * batch
    state = {"params": [(jnp.asarray(W), jnp.asarray(b)) for W, b in p.weights()]}
    rng = np.random.default_rng(0)

    def step(params: Any, xy: tuple[Any, Any]) -> tuple[Any, None]:
        grads = jax.grad(_loss)(params, *xy)
        return jax.tree_util.tree_map(lambda w, g: w - lr * g, params, grads), None

    jit_step = jax.jit(step)

    @jax.jit
    def scan_epoch(params: Any, order: Any) -> Any:
        xs = X[order[:full]].reshape(-1, batch, d)
        ys = y[order[:full]].reshape(-1, batch)
        params, _ = jax.lax.scan(step, params, (xs, ys))
        return params

    def run() -> None:
        order = jnp.asarray(rng.permutation(n).astype(np.int32))
        params = state["params"]
        if whole_epoch:
            params = scan_epoch(params, order)
            lo = full
        else:
            lo = 0
        for start in range(lo, n, batch):
            idx = order[start : start + batch]
            params, _ = jit_step(params, (X[idx], y[idx]))
        jax.block_until_ready(params)
        state["params"] = params

    return run
