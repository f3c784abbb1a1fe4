"""pyfastnn beside process- and thread-level parallelism (issue 13, item 6).

Concurrent native calls share the thread count instead of each taking all of
it: with n threads allowed and two Python threads fitting at once, at most n
threads run native parallel work at any moment (``most_threads_at_once``, a
high-water mark the pool keeps). joblib's process workers (scikit-learn's
``n_jobs``) get a share of the cores through OMP_NUM_THREADS, which the module
reads at import. Results never depend on any of this.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import pyfastnn


@pytest.fixture
def two_threads():
    before = pyfastnn.get_num_threads()
    pyfastnn.set_num_threads(2)
    yield
    pyfastnn.set_num_threads(before)


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((1024, 64), dtype=np.float32), rng.integers(0, 5, 1024)


def _fit(seed: int) -> np.ndarray:
    X, y = _data(seed)
    model = pyfastnn.MLP([64, 256, 5], dtype="float32", seed=seed)
    model.fit(X, y, epochs=3, batch_size=128, seed=seed)
    return model.params.copy()


def test_two_fits_on_two_python_threads_keep_to_the_thread_count(two_threads):
    want = [_fit(0), _fit(1)]
    got: list[np.ndarray | None] = [None, None]

    def run(i: int) -> None:
        got[i] = _fit(i)

    pyfastnn.reset_thread_high_water()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert pyfastnn.thread_pool_stats()["most_threads_at_once"] <= 2
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w, g)


def test_one_fit_uses_the_pool(two_threads):
    # the high-water mark is not vacuous: one call alone does use 2 threads
    if pyfastnn.thread_pool_stats()["cpus"] < 2:
        pytest.skip("one CPU")
    pyfastnn.reset_thread_high_water()
    A = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    for _ in range(20):
        pyfastnn.matmul(A, A)
    assert pyfastnn.thread_pool_stats()["most_threads_at_once"] == 2


def test_joblib_process_workers_get_a_share_of_the_cores():
    joblib = pytest.importorskip("joblib")

    def threads_in_worker() -> int:
        import pyfastnn as pf

        return pf.get_num_threads()

    cpus = pyfastnn.thread_pool_stats()["cpus"]
    counts = joblib.Parallel(n_jobs=2)(joblib.delayed(threads_in_worker)() for _ in range(2))
    assert all(1 <= c <= max(1, cpus // 2) for c in counts), counts


def test_grid_search_with_n_jobs_gives_the_same_scores():
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV

    from pyfastnn.estimators import LogisticRegressionClassifier

    X, y = _data(3)
    X, y = X[:300].astype(np.float64), y[:300]
    grid = {"l2": [0.0, 1e-3]}

    def search(n_jobs: int) -> np.ndarray:
        est = LogisticRegressionClassifier(epochs=3, random_state=0, dtype="float64")
        return GridSearchCV(est, grid, cv=2, n_jobs=n_jobs).fit(X, y).cv_results_["mean_test_score"]

    np.testing.assert_array_equal(search(1), search(2))


def test_dask_threads_keep_to_the_thread_count(two_threads):
    dask = pytest.importorskip("dask")
    want = [_fit(4), _fit(5)]
    pyfastnn.reset_thread_high_water()
    tasks = [dask.delayed(_fit)(s) for s in (4, 5)]
    got = dask.compute(*tasks, scheduler="threads", num_workers=2)
    assert pyfastnn.thread_pool_stats()["most_threads_at_once"] <= 2
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w, g)
