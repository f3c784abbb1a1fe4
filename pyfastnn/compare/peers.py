"""Other libraries doing the same work: PyTorch (CPU), scikit-learn, entmax, JAX.

Each builder returns a :class:`Contender` computing what our backends compute,
starting from the same data and weights, so the correctness check applies to
peers too. A peer that is not installed is reported, never an error.
"""

from __future__ import annotations

import importlib.util
import warnings
from importlib import metadata
from typing import Any, Callable

import numpy as np

from .contenders import Contender, Problem
from .problems import MapProblem, MatmulProblem, MLPProblem

PEERS = ("torch", "sklearn", "entmax", "jax")
# the maps the entmax package has (none of them with a forward-mode derivative)
ENTMAX_MAPS = ("sparsemax", "entmax15", "entmax_bisect")
_DISTRIBUTIONS = {"torch": "torch", "sklearn": "scikit-learn", "entmax": "entmax", "jax": "jax"}
# what a peer needs importable besides itself
_NEEDS = {
    "torch": ("torch",),
    "sklearn": ("sklearn",),
    "entmax": ("entmax", "torch"),
    "jax": ("jax",),  # training epochs only (compare/jax_peer.py, --suite train)
}


class NotApplicable(Exception):
    """The peer has no counterpart of this task (e.g. entmax's sparsemax JVP)."""


def installed(peer: str) -> bool:
    """Whether the peer can be imported (checked without importing it)."""
    return all(importlib.util.find_spec(mod) is not None for mod in _NEEDS[peer])


def version(peer: str) -> str | None:
    try:
        return metadata.version(_DISTRIBUTIONS[peer])
    except metadata.PackageNotFoundError:
        return None


def applies(peer: str, task: str, problem: Problem) -> bool:
    """Whether ``peer`` has a row in this workload (installed or not)."""
    if isinstance(problem, MLPProblem):
        if problem.model != "MLP" or len(problem.sizes) < 3:
            return False
        return peer == "torch" or (peer == "sklearn" and task in ("epoch", "predict"))
    if isinstance(problem, MatmulProblem):
        return peer == "torch"
    if problem.name == "softmax":
        return peer == "torch"
    return peer == "entmax" and problem.name in ENTMAX_MAPS


def build(peer: str, task: str, problem: Problem) -> Contender:
    """The peer's contender; raises NotApplicable when it has no such operation."""
    if peer == "torch":
        if isinstance(problem, MatmulProblem):
            return _torch_matmul(problem)
        if isinstance(problem, MLPProblem):
            return _TORCH_MLP[task](problem)
        return _torch_map(problem)
    if peer == "sklearn":
        assert isinstance(problem, MLPProblem)
        return _sklearn(task, problem)
    assert isinstance(problem, MapProblem)
    return _entmax(problem)


# ---- PyTorch -------------------------------------------------------------------------------


def _tensor(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _torch_matmul(p: MatmulProblem) -> Contender:
    import torch

    A, B = torch.from_numpy(p.A), torch.from_numpy(p.B)  # transposed views stay views
    C = torch.empty((p.A.shape[0], p.B.shape[1]), dtype=A.dtype)

    def run() -> Any:
        return torch.mm(A, B, out=C)

    return Contender("torch", run, lambda: run().numpy().copy(), "torch")


def torch_net(p: MLPProblem) -> Any:
    """nn.Sequential of Linear + ReLU layers holding the problem's initial weights."""
    import torch

    layers: list[Any] = []
    pairs = p.weights()
    for i, (W, b) in enumerate(pairs):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=_tensor(W).dtype)
        with torch.no_grad():
            lin.weight.copy_(_tensor(W.T))
            lin.bias.copy_(_tensor(b))
        layers.append(lin)
        if i < len(pairs) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _flat(pairs: list[tuple[Any, Any]]) -> np.ndarray:
    """(W as (out, in), b) per layer -> pyfastnn's flat layout W_0 (in, out), b_0, ..."""
    parts = []
    for W, b in pairs:
        parts += [np.asarray(W).T.ravel(), np.asarray(b).ravel()]
    return np.concatenate(parts)


def _linear_pairs(net: Any, grads: bool = False) -> list[tuple[Any, Any]]:
    lins = [m for m in net if hasattr(m, "weight")]
    if grads:
        return [(m.weight.grad.numpy(), m.bias.grad.numpy()) for m in lins]
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in lins]


def _torch_forward(p: MLPProblem) -> Contender:
    import torch

    net, X = torch_net(p), _tensor(p.X)

    def run() -> Any:
        with torch.no_grad():
            return torch.softmax(net(X), dim=1)

    return Contender("torch", run, lambda: run().numpy(), "torch")


def _torch_loss_and_grad(p: MLPProblem) -> Contender:
    import torch

    net, X, y = torch_net(p), _tensor(p.X), _tensor(p.y)

    def run() -> None:
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(X), y).backward()

    def result() -> np.ndarray:
        run()
        return _flat(_linear_pairs(net, grads=True))

    return Contender("torch", run, result, "torch")


def _torch_epoch_runner(p: MLPProblem) -> tuple[Any, Callable[[], None]]:
    """One SGD epoch over the rows in order, then the training-accuracy pass
    (as ``pyfastnn.fit`` does)."""
    import torch

    net, X, y = torch_net(p), _tensor(p.X), _tensor(p.y)
    opt = torch.optim.SGD(net.parameters(), lr=p.lr)
    n, bs = p.X.shape[0], p.batch_size

    def run() -> None:
        for lo in range(0, n, bs):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(X[lo : lo + bs]), y[lo : lo + bs]).backward()
            opt.step()
        with torch.no_grad():
            (net(X).argmax(dim=1) == y).float().mean().item()

    return net, run


def _torch_epoch(p: MLPProblem) -> Contender:
    _, run = _torch_epoch_runner(p)

    def result() -> np.ndarray:
        net, fresh = _torch_epoch_runner(p)
        fresh()
        return _flat(_linear_pairs(net))

    return Contender("torch", run, result, "torch")


def _torch_predict(p: MLPProblem) -> Contender:
    import torch

    net, X = torch_net(p), _tensor(p.X)

    def run() -> np.ndarray:
        with torch.no_grad():
            return net(X).argmax(dim=1).numpy()

    def result() -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(net(X), dim=1).numpy()

    return Contender("torch", run, result, "torch")


_TORCH_MLP: dict[str, Callable[[MLPProblem], Contender]] = {
    "forward": _torch_forward,
    "loss_and_grad": _torch_loss_and_grad,
    "epoch": _torch_epoch,
    "predict": _torch_predict,
}


def _torch_map(p: MapProblem) -> Contender:
    import torch

    Z, V = _tensor(p.Z), _tensor(p.V)
    if p.op == "forward":

        def run() -> Any:
            with torch.no_grad():
                return torch.softmax(Z, dim=-1)

    elif p.op == "jvp":
        with warnings.catch_warnings():  # torch.func's first call imports deprecated parts
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.func.jvp(torch.exp, (Z[:1, :1],), (V[:1, :1],))

        def run() -> Any:
            return torch.func.jvp(lambda z: torch.softmax(z, dim=-1), (Z,), (V,))[1]

    else:
        Zg = Z.clone().requires_grad_()

        def run() -> Any:
            Zg.grad = None
            torch.softmax(Zg, dim=-1).backward(V)
            return Zg.grad

    return Contender("torch", run, lambda: run().numpy().copy(), "torch")


# ---- entmax ----------------------------------------------------------------------------------


def _entmax(p: MapProblem) -> Contender:
    import torch

    with warnings.catch_warnings():  # entmax uses the deprecated torch.jit.script
        warnings.simplefilter("ignore", DeprecationWarning)
        import entmax

    if p.op == "jvp":
        raise NotApplicable(f"entmax's {p.name} has no forward-mode derivative (JVP)")
    if p.name == "entmax_bisect":
        alpha = p.alpha
        fn = lambda X: entmax.entmax_bisect(X, alpha, dim=-1)  # noqa: E731
    else:
        fn = getattr(entmax, p.name)
        fn = lambda X, f=fn: f(X, dim=-1)  # noqa: E731
    Z, V = _tensor(p.Z), _tensor(p.V)
    if p.op == "forward":

        def run() -> Any:
            with torch.no_grad():
                return fn(Z)

    else:
        Zg = Z.clone().requires_grad_()

        def run() -> Any:
            Zg.grad = None
            fn(Zg).backward(V)
            return Zg.grad

    return Contender("entmax", run, lambda: run().numpy().copy(), "torch")


# ---- scikit-learn ----------------------------------------------------------------------------


def sklearn_classifier(p: MLPProblem) -> Any:
    """MLPClassifier set up for plain SGD in row order, holding the problem's weights."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=p.sizes[1:-1],
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=p.batch_size,
        learning_rate="constant",
        learning_rate_init=p.lr,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=False,
        max_iter=1,
    )
    classes = np.arange(p.sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(p.X[: p.batch_size], p.y[: p.batch_size], classes=classes)  # allocate
    pairs = p.weights()
    clf.coefs_ = [W.copy() for W, _ in pairs]
    clf.intercepts_ = [b.copy() for _, b in pairs]
    return clf


def _sklearn(task: str, p: MLPProblem) -> Contender:
    clf = sklearn_classifier(p)
    if task == "predict":
        return Contender(
            "sklearn", lambda: clf.predict(p.X), lambda: clf.predict_proba(p.X), "blas"
        )
    if task != "epoch":
        raise NotApplicable(f"scikit-learn has no separate {task}")

    def epoch(model: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(p.X, p.y)  # one pass over the rows in minibatches

    def result() -> np.ndarray:
        fresh = sklearn_classifier(p)
        epoch(fresh)
        return _flat([(W.T, b) for W, b in zip(fresh.coefs_, fresh.intercepts_)])

    return Contender("sklearn", lambda: epoch(clf), result, "blas")
