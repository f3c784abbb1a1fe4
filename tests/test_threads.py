"""Threads: concurrent calls from Python threads, native thread count, GIL release,
workspace reuse.

(a) several Python threads calling the native code at once get exactly the
    results of sequential calls (same model, different models, matmul);
(b) 1, 2 and 3 native threads give the same results, to the last bit;
(c) the GIL is released during long native calls;
(d) repeated calls at one batch size do not grow the process's memory.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, matmul


@pytest.fixture
def restore_threads():
    before = pyfastnn.get_num_threads()
    yield
    pyfastnn.set_num_threads(before)


def rel_diff(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b))) / scale


def make_model(sizes, dtype, seed=0, output="softmax", activation="relu") -> MLP:
    model = MLP(list(sizes), dtype=dtype, seed=seed, output=output, activation=activation)
    rng = np.random.default_rng(seed + 100)
    model.biases = [rng.normal(scale=0.2, size=b.shape) for b in model.biases]
    return model


def batches(rng, n_batches, n, d, k, dtype):
    return [
        (rng.normal(size=(n, d)).astype(dtype), rng.integers(0, k, size=n))
        for _ in range(n_batches)
    ]


def lag(model: MLP, X, y):
    loss, grads = model.loss_and_grad(X, y, l2=1e-3)
    return loss, grads.flat


def run_concurrently(fn, items, n_threads=2):
    """fn(item) for every item, from ``n_threads`` threads started together."""
    barrier = threading.Barrier(n_threads)
    chunks = [items[i::n_threads] for i in range(n_threads)]
    results: list[dict] = [{} for _ in range(n_threads)]

    def worker(t: int) -> None:
        barrier.wait()
        for idx, item in chunks[t]:
            results[t][idx] = fn(item)

    with ThreadPoolExecutor(n_threads) as pool:
        for f in [pool.submit(worker, t) for t in range(n_threads)]:
            f.result()
    merged = {}
    for r in results:
        merged.update(r)
    return [merged[i] for i in range(len(items))]


# ============================================================================
# (a) concurrent Python threads
# ============================================================================


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_threads", [2, 4])
def test_same_model_concurrent_loss_and_grad(dtype, n_threads):
    rng = np.random.default_rng(1)
    data = batches(rng, 120, 48, 40, 10, dtype)
    reference = make_model((40, 64, 10), dtype)
    expected = [lag(reference, X, y) for X, y in data]
    # a fresh model: the native handle is created lazily by the racing threads
    model = make_model((40, 64, 10), dtype)
    got = run_concurrently(lambda d: lag(model, *d), list(enumerate(data)), n_threads)
    for (l_exp, g_exp), (l_got, g_got) in zip(expected, got):
        assert l_got == l_exp
        assert np.array_equal(g_got, g_exp)
    # losses really differ between batches (the check above is not vacuous)
    assert len({loss for loss, _ in expected}) == len(expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_model_concurrent_mixed_batch_sizes_and_methods(dtype):
    """Different batch sizes make the workspaces grow while another thread uses them."""
    rng = np.random.default_rng(2)
    sizes = [3, 200, 17, 64, 1, 150, 90, 5] * 8
    data = [(rng.normal(size=(n, 30)).astype(dtype), rng.integers(0, 7, size=n)) for n in sizes]

    def all_outputs(model, d):
        X, y = d
        loss, flat = lag(model, X, y)
        return loss, flat, model.forward(X), model.input_grad(X, y)

    reference = make_model((30, 50, 40, 7), dtype)
    expected = [all_outputs(reference, d) for d in data]
    model = make_model((30, 50, 40, 7), dtype)
    got = run_concurrently(lambda d: all_outputs(model, d), list(enumerate(data)), 3)
    for exp, res in zip(expected, got):
        assert res[0] == exp[0]
        for u, v in zip(res[1:], exp[1:]):
            assert np.array_equal(u, v)


def test_two_models_concurrently():
    rng = np.random.default_rng(3)
    models = [
        make_model((40, 64, 10), "float64", seed=1),
        make_model((40, 32, 32, 10), "float32", seed=2),
    ]
    data = batches(rng, 80, 64, 40, 10, "float64")
    items = [(i % 2, X, y) for i, (X, y) in enumerate(data)]
    expected = [lag(models[m], X, y) for m, X, y in items]
    got = run_concurrently(lambda it: lag(models[it[0]], it[1], it[2]), list(enumerate(items)), 2)
    for (l_exp, g_exp), (l_got, g_got) in zip(expected, got):
        assert l_got == l_exp
        assert np.array_equal(g_got, g_exp)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_concurrently(dtype):
    rng = np.random.default_rng(4)
    shapes = [
        (130, 70, 90),
        (5, 300, 7),
        (64, 64, 64),
        (200, 33, 150),
        (1, 500, 1),
        (97, 128, 61),
    ] * 6
    ops = []
    for i, (m, k, n) in enumerate(shapes):
        a = rng.normal(size=(m, k)).astype(dtype)
        b = rng.normal(size=(k, n)).astype(dtype)
        if i % 3 == 1:
            a = np.ascontiguousarray(a.T).T  # transposed operand path
        ops.append((a, b))
    expected = [matmul(a, b) for a, b in ops]
    got = run_concurrently(lambda ab: matmul(*ab), list(enumerate(ops)), 2)
    tol = 1e-4 if dtype == "float32" else 1e-12
    for (a, b), e, g in zip(ops, expected, got):
        assert np.array_equal(g, e)
        assert rel_diff(g, a.astype(np.float64) @ b.astype(np.float64)) < tol


def test_matmul_concurrently_into_separate_outs():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(150, 120))
    bs = [rng.normal(size=(120, 80)) for _ in range(40)]
    outs = [np.empty((150, 80)) for _ in bs]
    run_concurrently(lambda i: matmul(a, bs[i], out=outs[i]), list(enumerate(range(len(bs)))), 2)
    for b, o in zip(bs, outs):
        assert np.array_equal(o, matmul(a, b))


# ============================================================================
# (b) OpenMP thread count does not change the results
# ============================================================================


# Shapes reaching every native product path with enough work to run on
# several threads: row vector(s) @ matrix (x @ X and x @ X^T, with column
# tails that move with the split), matrix @ column vector, outer product, the
# blocked GEMM split by rows (large M) and by columns (a batch of 64).
PRODUCT_SHAPES = [
    (1, 2100, 1000, False, False),
    (3, 700, 1000, False, False),
    (2, 999, 1001, True, False),
    (1, 1000, 2100, False, True),
    (2100, 1000, 1, False, False),
    (2100, 1000, 1, True, True),
    (2100, 1, 1000, True, False),
    (300, 500, 400, False, False),
    (300, 500, 400, True, True),
    (64, 784, 256, False, False),
    (784, 64, 256, True, False),
    (64, 256, 784, False, True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matmul_same_bits_on_any_thread_count(restore_threads, isa, dtype):
    """Threads split rows or columns of C, or give each thread one KC block of
    the sum (64x784x256: two blocks) whose partial sums are added in block
    order, as on one thread; every kernel sums a column in an order that does
    not depend on where a thread's range starts: the product is the same to
    the last bit on 1, 2 or 3 threads."""
    rng = np.random.default_rng(6)
    for m, k, n, ta, tb in PRODUCT_SHAPES:
        a = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
        b = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
        a, b = (a.T if ta else a), (b.T if tb else b)
        results = []
        for threads in (1, 2, 3):
            pyfastnn.set_num_threads(threads)
            results.append(matmul(a, b))
        exact = a.astype(np.float64) @ b.astype(np.float64)
        assert rel_diff(results[0], exact) <= (1e-12 if dtype == "float64" else 1e-4)
        for other in results[1:]:
            assert np.array_equal(other, results[0]), (m, k, n, ta, tb)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-3)])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_loss_and_grad_same_bits_on_any_thread_count(restore_threads, dtype, tol, output):
    rng = np.random.default_rng(7)
    model = make_model((784, 256, 26), dtype, output=output)
    X = rng.normal(size=(2500, 784)).astype(dtype)  # several loss chunks
    y = rng.integers(0, 26, size=2500)

    def everything():
        loss, grads = model.loss_and_grad(X, y, l1=1e-4, l2=1e-3)
        return loss, grads.flat, model.input_grad(X, y), model.forward(X)

    pyfastnn.set_num_threads(1)
    one = everything()
    pyfastnn.set_num_threads(2)
    two = everything()
    assert two[0] == one[0]
    for u, v in zip(two[1:], one[1:]):
        assert np.array_equal(u, v)
    # the vector backend agrees too (so the comparison is not vacuous)
    model.backend = "vector"
    ref = everything()
    assert abs(ref[0] - one[0]) <= tol * abs(one[0])
    assert rel_diff(one[1], ref[1]) <= tol


FIT_CASES = {
    "sgd batch 64": ([784, 256, 26], "float32", 700, dict(batch_size=64, lr=1e-2)),
    "adam elastic net": (
        [784, 256, 26],
        "float32",
        700,
        dict(batch_size=64, optimizer="adam", lr=1e-3, l1=1e-5, l2=1e-4),
    ),
    "momentum large batch": (
        [600, 300, 10],
        "float64",
        1200,
        dict(batch_size=500, optimizer=pyfastnn.SGD(lr=1e-2, momentum=0.9)),
    ),
    "dropout partial batch": ([64, 100, 10], "float32", 1000, dict(batch_size=37, dropout=0.2)),
    "deep tanh adam": (
        [300, 300, 300, 40],
        "float32",
        600,
        dict(batch_size=128, optimizer="adam", lr=1e-3),
    ),
    "batch 1 column split": (
        [2100, 1000, 3],
        "float64",
        12,
        dict(batch_size=1, optimizer="adam", lr=1e-3, l1=1e-5),
    ),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_same_bits_on_any_thread_count(restore_threads, case):
    """The weights and the loss history of a native fit do not depend on the
    thread count (the training loop may change it from step to step)."""
    sizes, dtype, n, options = FIT_CASES[case]
    rng = np.random.default_rng(8)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=n)
    runs = []
    for threads in (1, 2, 3):
        pyfastnn.set_num_threads(threads)
        activation = "tanh" if len(sizes) > 3 else "relu"
        model = MLP(sizes, activation, dtype=dtype, seed=0)
        history = model.fit(X, y, epochs=2, seed=3, **options)
        runs.append((model.params.copy(), [e.train_loss for e in history.epochs]))
    for params, losses in runs[1:]:
        assert np.array_equal(params, runs[0][0])
        assert losses == runs[0][1]
    assert not np.array_equal(runs[0][0], MLP(sizes, "relu", dtype=dtype, seed=0).params)


# ============================================================================
# (c) the GIL is released during native calls
# ============================================================================


class Spinner:
    """A Python thread that counts as fast as it can (it needs the GIL to count)."""

    def __init__(self) -> None:
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        stop = self._stop
        while not stop.is_set():
            self.count += 1

    def __enter__(self) -> Spinner:
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def rate_alone(self, seconds: float = 0.25) -> float:
        """Counts per second while the main thread only sleeps (GIL free)."""
        c0, t0 = self.count, time.perf_counter()
        time.sleep(seconds)
        return (self.count - c0) / (time.perf_counter() - t0)

    def progress_during(self, fn) -> tuple[float, float]:
        """(counts per second, duration) while ``fn()`` runs in the main thread."""
        c0, t0 = self.count, time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), self.count
        return (c1 - c0) / (t1 - t0), t1 - t0


def _repeat_for(fn, seconds: float):
    """A callable that repeats ``fn`` until ``seconds`` have passed (at least once)."""

    def run():
        end = time.perf_counter() + seconds
        fn()
        while time.perf_counter() < end:
            fn()

    return run


def _gil_ratio(work, rounds: int = 3) -> tuple[float, float]:
    """Best of ``rounds``: spinner rate during ``work`` / spinner rate alone."""
    best, duration = 0.0, 0.0
    with Spinner() as spin:
        for _ in range(rounds):
            alone = spin.rate_alone()
            during, duration = spin.progress_during(work)
            best = max(best, during / alone)
            if best > 0.3:
                break
    return best, duration


def test_spinner_detects_a_call_holding_the_gil():
    """Control: a long C call that keeps the GIL starves the spinner."""
    ratio, duration = _gil_ratio(lambda: sum(range(30_000_000)), rounds=1)
    assert duration > 0.2
    assert ratio < 0.05, ratio


def test_gil_released_during_long_matmul(restore_threads):
    pyfastnn.set_num_threads(1)  # leave the second core to the spinner
    rng = np.random.default_rng(8)
    n = 2000
    a = rng.normal(size=(n, n))
    b = rng.normal(size=(n, n))
    t0 = time.perf_counter()
    matmul(a[:800, :800], b[:800, :800])
    small = time.perf_counter() - t0
    # one call of >= ~0.4 s: 2000^3, or repeated calls if the kernel is very fast
    work = (
        _repeat_for(lambda: matmul(a, b), 0.4)
        if small * (n / 800) ** 3 < 0.4
        else (lambda: matmul(a, b))
    )
    ratio, duration = _gil_ratio(work)
    assert duration >= 0.3
    assert ratio > 0.2, (
        f"spinner ran at {ratio:.3f} of its free rate during a {duration:.2f} s matmul"
    )


def test_gil_released_during_loss_and_grad(restore_threads):
    pyfastnn.set_num_threads(1)
    rng = np.random.default_rng(9)
    model = make_model((784, 512, 26), "float64")
    X = rng.normal(size=(512, 784))
    y = rng.integers(0, 26, size=512)
    model.loss_and_grad(X, y)  # warm the workspaces
    ratio, duration = _gil_ratio(_repeat_for(lambda: model.loss_and_grad(X, y), 0.5))
    assert duration >= 0.5
    assert ratio > 0.2, f"spinner ran at {ratio:.3f} of its free rate during loss_and_grad"


# ============================================================================
# (d) workspaces are reused: no memory growth over repeated calls
# ============================================================================


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_repeated_calls_do_not_grow_memory(restore_threads, dtype):
    pyfastnn.set_num_threads(1)  # keep it quick on a busy machine; memory is what counts
    rng = np.random.default_rng(10)
    model = make_model((400, 256, 26), dtype)
    X = rng.normal(size=(256, 400)).astype(dtype)
    y = rng.integers(0, 26, size=256)
    X_small = X[:100].copy()
    y_small = y[:100]
    for _ in range(5):  # warm-up: workspaces sized, allocator settled
        model.loss_and_grad(X, y)
        model.loss_and_grad(X_small, y_small)
        model.forward(X)
        model.input_grad(X, y)
    before = rss_bytes()
    for i in range(200):
        model.loss_and_grad(X, y)
        if i % 10 == 0:
            model.loss_and_grad(X_small, y_small)  # smaller batch: reuse, no reallocation
            model.forward(X)
            model.input_grad(X, y)
    grown = rss_bytes() - before
    # a leaked workspace per call would be >= 200 * ~1.5 MB; allow 40 MB of allocator noise
    assert grown < 40 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB over 200 calls"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_repeated_matmul_into_out_does_not_grow_memory(restore_threads):
    pyfastnn.set_num_threads(1)
    rng = np.random.default_rng(11)
    a = rng.normal(size=(200, 300))
    b = rng.normal(size=(300, 250))
    out = np.empty((200, 250))
    for _ in range(5):
        matmul(a, b, out=out)
    before = rss_bytes()
    for _ in range(200):
        matmul(a, b, out=out)
    grown = rss_bytes() - before
    assert grown < 20 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB over 200 matmuls"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_buffers_split_among_threads_start_on_cache_lines(dtype):
    """Parameters and optimiser state start on 64-byte lines (pyfastnn/_memory.py),
    so a split of a weight row whose width is a multiple of a line shares no line."""
    from pyfastnn._memory import aligned_zeros

    for n in (0, 1, 7, 1000, 200_000):
        a = aligned_zeros(n, dtype)
        assert a.shape == (n,) and a.dtype == np.dtype(dtype)
        assert not a.any()
        assert n == 0 or a.ctypes.data % 64 == 0
    model = MLP([784, 256, 26], dtype=dtype, seed=0)
    assert model.params.ctypes.data % 64 == 0
    for name, state in pyfastnn.Adam(lr=1e-3).init_state(model.params.size, dtype).items():
        assert state.ctypes.data % 64 == 0, name
        assert state.size == model.params.size
