"""Sweeps: grids, parallel runs (process pool and dask), error rows, tables."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json

import numpy as np
import pytest

from pyfastnn._datasource import features
from pyfastnn.data import Splits
from pyfastnn.sweep import (
    DEFAULTS,
    SweepResult,
    cpu_count,
    grid,
    limit_threads,
    run_config,
    run_sweep,
)


def blob_splits(seed: int = 0) -> Splits:
    """Three Gaussian blobs in 16-D (4x4 "images"), split 60/20/20."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(3, 16))
    y = rng.integers(0, 3, size=300)
    X = (centers[y] + rng.normal(size=(300, 16))).astype(np.float32)
    return Splits(X[:180], y[:180], X[180:240], y[180:240], X[240:], y[240:], image_shape=(4, 4))


class InlineExecutor(cf.Executor):
    """Runs tasks at submit time, in this process (for tests of the plumbing)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:
            future.set_exception(err)
        return future


def test_grid_takes_lists_as_axes() -> None:
    configs = grid(width=[8, 16], depth=[1, 2, 3], lr=0.1, hidden=None)
    assert len(configs) == 6
    assert configs[0] == {"width": 8, "depth": 1, "lr": 0.1, "hidden": None}
    assert {(c["width"], c["depth"]) for c in configs} == {
        (w, d) for w in (8, 16) for d in (1, 2, 3)
    }
    assert grid(hidden=(64, 64)) == [{"hidden": (64, 64)}]  # a tuple is one value
    with pytest.raises(ValueError, match="unknown keys"):
        grid(widht=[1, 2])
    with pytest.raises(ValueError, match="empty"):
        grid(lr=[])


def test_run_config_reports_accuracies_and_depth() -> None:
    row = run_config(
        {"width": 8, "depth": 2, "epochs": 3, "optimizer": "sgd", "lr": 0.1}, blob_splits()
    )
    assert row["error"] is None
    assert row["val_accuracy"] > 0.8 and row["test_accuracy"] > 0.8
    assert row["epochs_run"] == 3 and 1 <= row["best_epoch"] <= 3
    assert row["train_seconds"] > 0
    assert set(DEFAULTS) <= set(row)


def test_a_diverging_config_becomes_an_error_row() -> None:
    configs = grid(optimizer="sgd", lr=[0.1, 1e30], width=4, epochs=2, dtype="float32")
    result = run_sweep(configs, blob_splits(), executor=InlineExecutor())
    ok, bad = result.rows
    assert ok["error"] is None and ok["val_accuracy"] is not None
    assert "FloatingPointError" in bad["error"] and bad["val_accuracy"] is None
    assert result.best is ok
    assert "error" in result.to_markdown()


def test_pooled_features_of_any_splits_object() -> None:
    from types import SimpleNamespace

    X = np.arange(2 * 16, dtype=np.float64).reshape(2, 16)  # two 4x4 images
    y = np.array([0, 1])
    plain = SimpleNamespace(X_train=X, y_train=y, X_val=X, y_val=y, X_test=None, y_test=None)
    pooled = features(plain, "avgpool")
    assert pooled.X_train.shape == (2, 4) and pooled.X_test is None
    assert pooled.X_val[0, 0] == np.mean([0, 1, 4, 5])
    assert features(plain, "maxpool").X_train[0, 3] == 15
    assert features(plain, "raw").X_train is X
    row = run_config({"features": "maxpool", "width": 4, "epochs": 1}, blob_splits())
    assert row["error"] is None
    not_images = SimpleNamespace(
        **{**vars(plain), "X_train": np.ones((2, 5)), "X_val": np.ones((2, 5))}
    )
    row = run_config({"features": "maxpool", "epochs": 1}, not_images)
    assert "image_shape" in row["error"]


def test_process_pool_sweep_writes_tables(tmp_path) -> None:
    configs = grid(width=[4, 16], depth=[1, 2], epochs=2)
    result = run_sweep(configs, blob_splits(), max_workers=2)
    assert [(r["width"], r["depth"]) for r in result.rows] == [(4, 1), (4, 2), (16, 1), (16, 2)]
    assert not result.errors
    assert result.workers * result.threads_per_worker <= cpu_count()  # no oversubscription
    assert result.best["val_accuracy"] == max(r["val_accuracy"] for r in result.rows)
    assert result.varying() == ["width", "depth"]

    result.to_csv(tmp_path / "s.csv")
    result.to_json(tmp_path / "s.json")
    with open(tmp_path / "s.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4 and float(table[0]["val_accuracy"]) == pytest.approx(
        result.rows[0]["val_accuracy"], rel=1e-3
    )
    saved = json.loads((tmp_path / "s.json").read_text())
    assert len(saved["rows"]) == 4 and saved["best"]["width"] == result.best["width"]
    md = result.to_markdown().splitlines()
    assert len(md) == 2 + 4 and md[0].startswith("| width | depth | val_accuracy")


def test_named_dataset_and_unknown_config_key() -> None:
    pytest.importorskip("sklearn")  # pyfastnn.data's digits come from scikit-learn
    result = run_sweep([{"model": "logreg", "epochs": 2}], "digits", executor=InlineExecutor())
    assert result.rows[0]["error"] is None and result.rows[0]["val_accuracy"] > 0.5
    with pytest.raises(ValueError, match="unknown keys"):
        run_sweep([{"nope": 1}], "digits")


def test_limit_threads_sets_native_count() -> None:
    import pyfastnn

    before = pyfastnn.get_num_threads()
    try:
        limit_threads(1)
        assert pyfastnn.get_num_threads() == 1
    finally:
        pyfastnn.set_num_threads(before)


def test_empty_result_has_no_best() -> None:
    assert SweepResult().best is None


def test_dask_cluster_runs_the_same_sweep() -> None:
    distributed = pytest.importorskip("distributed")
    configs = grid(width=[4, 8], epochs=2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = run_sweep(configs, blob_splits(), executor=client.get_executor())
    assert [r["width"] for r in result.rows] == [4, 8]
    assert not result.errors and result.threads_per_worker == 1
