"""MLP forward, loss_and_grad, one training epoch and predict: loop vs vector vs
native vs PyTorch (and scikit-learn's MLPClassifier for the epoch and predict).

Run: ``pytest bench/bench_mlp.py --benchmark-group-by=group``. Each group is one
workload; its rows are the backends, timed in the same process. Peers are
skipped when not installed. The epoch and predict contenders come from
``pyfastnn.compare`` (the same code ``pyfastnn compare`` times and checks):
all start from the same weights; an epoch is plain SGD (lr 0.01) over the rows
in order, batch 64, plus the training-accuracy pass ``fit`` reports (PyTorch
does it too; scikit-learn's ``partial_fit`` has none).
"""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn.compare import contenders, peers
from pyfastnn.compare.problems import make_mlp

SIZES = (784, 256, 26)  # the seed reports' EMNIST-letters network
# loop only where one call finishes in well under a second
BATCHES = {"native": (1, 64, 256), "vector": (1, 64, 256), "loop": (1, 64)}


def make_problem(batch: int, dtype: str = "float32"):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(batch, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=batch)
    return X, y


@pytest.mark.parametrize("backend", ["native", "vector", "loop"])
@pytest.mark.parametrize("batch", [1, 64, 256])
def test_loss_and_grad(benchmark, backend: str, batch: int) -> None:
    if batch not in BATCHES[backend]:
        pytest.skip(f"{backend} too slow at batch {batch}")
    benchmark.group = f"loss_and_grad 784-256-26 relu softmax float32 batch {batch}"
    model = pyfastnn.MLP(SIZES, "relu", "softmax", backend=backend)
    X, y = make_problem(batch)
    loss, _ = benchmark(model.loss_and_grad, X, y)
    assert np.isfinite(loss)


@pytest.mark.parametrize("batch", [1, 64, 256])
def test_loss_and_grad_torch(benchmark, batch: int) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(pyfastnn.get_num_threads())
    benchmark.group = f"loss_and_grad 784-256-26 relu softmax float32 batch {batch}"
    net = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(SIZES[1], SIZES[2])
    )
    X, y = make_problem(batch)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        for p in net.parameters():
            p.grad = None
        loss = loss_fn(net(Xt), yt)
        loss.backward()
        return loss.item()

    assert np.isfinite(benchmark(step))


@pytest.mark.parametrize("threads", [1, 2])
def test_loss_and_grad_threads(benchmark, threads: int) -> None:
    benchmark.group = "loss_and_grad 784-256-26 batch 256: native threads"
    model = pyfastnn.MLP(SIZES, "relu", "softmax")
    X, y = make_problem(256)
    before = pyfastnn.get_num_threads()
    pyfastnn.set_num_threads(threads)
    try:
        benchmark(model.loss_and_grad, X, y)
    finally:
        pyfastnn.set_num_threads(before)


@pytest.mark.parametrize("backend", ["native", "vector", "loop", "torch"])
@pytest.mark.parametrize("batch", [1, 256])
def test_forward(benchmark, backend: str, batch: int) -> None:
    if backend == "loop" and batch > 64:
        pytest.skip("loop too slow")
    benchmark.group = f"forward 784-256-26 float32 batch {batch}"
    if backend == "torch":
        peer_threads(backend)
        problem = make_mlp(SIZES, batch, "float32")
        out = benchmark(peers.build("torch", "forward", problem).run)
    else:
        model = pyfastnn.MLP(SIZES, "relu", "softmax", backend=backend)
        X, _ = make_problem(batch)
        out = benchmark(model.forward, X)
    assert tuple(out.shape) == (batch, SIZES[-1])


# ---- whole-model workloads, shared with ``pyfastnn compare`` ---------------------------------

PEERS = ["torch", "sklearn"]


def peer_threads(peer: str) -> None:
    """Skip unless ``peer`` is installed; give PyTorch pyfastnn's thread count."""
    pytest.importorskip({"sklearn": "sklearn"}.get(peer, peer))
    if peer == "torch":
        import torch

        torch.set_num_threads(pyfastnn.get_num_threads())


def contender(task: str, backend: str, rows: int) -> contenders.Contender:
    problem = make_mlp(SIZES, rows, "float32", batch_size=64)
    if backend in PEERS:
        peer_threads(backend)
        return peers.build(backend, task, problem)
    return contenders.own(task, backend, problem)


def run(benchmark, fn, heavy: bool) -> None:
    """Slow contenders get 3 rounds instead of pytest-benchmark's calibration."""
    if heavy:
        benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    else:
        benchmark(fn)


@pytest.mark.parametrize("backend", ["native", "vector", "loop", *PEERS])
@pytest.mark.parametrize("rows", [1024, 10_000])
def test_epoch(benchmark, backend: str, rows: int) -> None:
    if backend == "loop" and rows > 1024:
        pytest.skip("loop too slow")
    benchmark.group = f"epoch (fit, epochs=1, batch 64) 784-256-26 float32 rows {rows}"
    run(benchmark, contender("epoch", backend, rows).run, heavy=backend == "loop")


@pytest.mark.parametrize("backend", ["native", "vector", "loop", *PEERS])
@pytest.mark.parametrize("rows", [1000, 10_000])
def test_predict(benchmark, backend: str, rows: int) -> None:
    if backend == "loop" and rows > 1000:
        pytest.skip("loop too slow")
    benchmark.group = f"predict 784-256-26 float32 rows {rows}"
    benchmark.extra_info["rows"] = rows  # throughput = rows / time
    c = contender("predict", backend, rows)
    run(benchmark, c.run, heavy=backend == "loop")
    assert np.asarray(c.run()).shape == (rows,)
