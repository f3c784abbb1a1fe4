"""``pyfastnn compare``: the runner's tiny mode in-process (no timing assertions)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pyfastnn
from pyfastnn.__main__ import main
from pyfastnn.compare import check as check_module
from pyfastnn.compare import plot, suites, workloads
from pyfastnn.compare.contenders import Contender, own
from pyfastnn.compare.report import format_seconds, group_markdown, markdown_table
from pyfastnn.compare.runner import Options, run_compare
from pyfastnn.compare.suite_runner import ratio_figures, run_suite
from pyfastnn.compare.timing import Timed, Timing, TimingPlan, time_blocks

ROOT = Path(__file__).resolve().parents[1]
ROW_KEYS = {
    "workload", "task", "bound", "backend", "median_s", "best_s", "calls", "speedup_vs_loop",
    "speedup_vs_vector", "gflops", "fraction_of_peak", "fraction_of_copy_floor",
    "max_abs_diff", "tolerance", "check",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny() -> dict:
    """One tiny run with everything (peers, sweeps), shared by the tests below."""
    threads = pyfastnn.get_num_threads()
    doc = run_compare(Options(mode="tiny", threads=1), quiet=True)
    assert pyfastnn.get_num_threads() == threads  # restored
    return doc


def test_json_structure(tiny: dict) -> None:
    doc = json.loads(json.dumps(tiny))  # JSON-serialisable as is
    assert set(doc) >= {"meta", "peak", "results", "skipped", "failures", "sweeps"}
    assert doc["meta"]["threads"]["native"] == 1 and doc["meta"]["dtype"] == "float32"
    assert doc["meta"]["cpu"] and doc["meta"]["date"]
    assert doc["peak"]["gflops"] > 0 and doc["peak"]["by"] in ("native", "NumPy")
    assert doc["failures"] == []
    names = [w.name for w in workloads.workloads("tiny", "float32")]
    assert list(dict.fromkeys(r["workload"] for r in doc["results"])) == names
    for row in doc["results"]:
        assert set(row) == ROW_KEYS
        assert row["median_s"] > 0 and row["calls"] >= 1
        assert row["check"] == ("reference" if row["backend"] == "copy floor" else "ok")
    for name in names:
        backends = {r["backend"] for r in doc["results"] if r["workload"] == name}
        assert {"vector", "native"} <= backends
    tasks = {r["task"] for r in doc["results"]}
    assert {"matmul", "forward", "loss_and_grad", "epoch", "predict"} <= tasks
    assert any(r["bound"] == "memory" for r in doc["results"])
    assert [s["key"] for s in doc["sweeps"]] == ["batch", "width", "depth", "classes", "threads"]
    for sweep in doc["sweeps"]:
        assert {"native", "vector"} <= set(sweep["series"])
        for times in sweep["series"].values():
            assert len(times) == len(sweep["xs"])
            assert any(t is not None and t > 0 for t in times)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9)


def test_speedups_match_times(tiny: dict) -> None:
    by_workload: dict[str, dict[str, dict]] = {}
    for row in tiny["results"]:
        by_workload.setdefault(row["workload"], {})[row["backend"]] = row
    peak = tiny["peak"]["gflops"]
    first = [r for r in tiny["results"] if r["workload"] == tiny["peak"]["workload"]]
    assert peak >= max(r["gflops"] for r in first if r["backend"] in ("native", "vector"))
    for rows in by_workload.values():
        vector, loop = rows["vector"]["median_s"], rows.get("loop", {}).get("median_s")
        floor = rows.get("copy floor", {}).get("median_s")
        for backend, row in rows.items():
            if backend == "copy floor":
                continue
            t = row["median_s"]
            assert _close(row["speedup_vs_vector"], vector / t)
            assert _close(row["speedup_vs_loop"], loop / t if loop else None)
            assert _close(row["fraction_of_copy_floor"], floor / t if floor else None)
            if row["bound"] == "compute":
                assert _close(row["fraction_of_peak"], row["gflops"] / peak)
            else:
                assert row["gflops"] is None and row["fraction_of_peak"] is None
    # the table prints the same numbers
    table = markdown_table(tiny)
    for row in tiny["results"]:
        assert format_seconds(row["median_s"]) in table
        if row["speedup_vs_vector"] is not None:
            assert f"{row['speedup_vs_vector']:.3g}x" in table


def _wrong(task: str, problem: object) -> Contender | None:
    """A contender that is fast and wrong: the vector result shifted by 0.01."""
    if task != "sparsemax_forward":
        return None
    good = own(task, "vector", problem)  # type: ignore[arg-type]
    return Contender("wrong", good.run, lambda: good.result() + 0.01, "blas")


def _broken(task: str, problem: object) -> Contender | None:
    def fail() -> np.ndarray:
        raise RuntimeError("boom")

    return Contender("broken", fail, fail, "none")


def test_check_catches_a_wrong_contender(capsys) -> None:
    options = Options(mode="tiny", threads=1, peers=False, sweeps=False, only="sparsemax forward")
    doc = run_compare(options, extra_peers=[_wrong, _broken])
    out = capsys.readouterr().out
    rows = {r["backend"]: r for r in doc["results"] if r["workload"].startswith("sparsemax")}
    assert rows["wrong"]["check"] == "FAIL"
    assert rows["wrong"]["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert rows["broken"]["check"] == "FAIL" and rows["broken"]["median_s"] is None
    assert rows["native"]["check"] == "ok" and rows["loop"]["check"] == "ok"
    assert {f["backend"] for f in doc["failures"]} == {"wrong", "broken"}
    assert "CORRECTNESS FAILURE" in out and "**FAIL**" in markdown_table(doc)


def test_cli_writes_json_markdown_and_png(tmp_path: Path, capsys) -> None:
    md = tmp_path / "docs" / "BENCH.md"
    md.parent.mkdir()
    args = ["compare", "--tiny", "--threads", "1", "--no-sweeps", "--only", "softmax"]
    assert main([*args, "--out", str(tmp_path / "out"), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "| workload | backend | median |" in out
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert doc["meta"]["command"].startswith("pyfastnn compare --tiny")
    assert {r["workload"] for r in doc["results"]} >= {"softmax jvp (8, 10)"}
    text = md.read_text()
    assert doc["meta"]["command"] in text and doc["meta"]["cpu"] in text
    assert "| softmax jvp (8, 10) | native |" in text
    if plot._pyplot() is not None:
        assert (tmp_path / "out" / "compare.png").stat().st_size > 0
        assert "](../out/compare.png)" in text


def test_cli_exit_status_on_disagreement(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(check_module.TOLERANCE, "float32", -1.0)  # nothing can pass
    args = ["compare", "--tiny", "--threads", "1", "--no-sweeps", "--no-plot", "--no-peers"]
    assert main([*args, "--only", "relumax", "--out", str(tmp_path)]) == 1
    assert "CORRECTNESS FAILURE" in capsys.readouterr().out


def test_plot_without_matplotlib(tiny: dict, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(plot, "_pyplot", lambda: None)
    assert plot.plot_all(tiny, str(tmp_path)) == {}
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


class _StandIn:
    """Shaped like the coming pyfastnn.Perceptron: (n_features, n_classes, ...)."""

    def __init__(self, n_features: int, n_classes: int, dtype: str, backend: str, seed: int):
        self._net = pyfastnn.MLP([n_features, n_classes], dtype=dtype, backend=backend, seed=seed)

    def fit(self, X: np.ndarray, y: np.ndarray, **kwargs: object) -> object:
        return self._net.fit(X, y, **kwargs)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._net.predict(X)


def test_linear_models_join_when_present(monkeypatch) -> None:
    assert not any("Perceptron" in w.name for w in workloads.workloads("tiny", "float32")) or (
        getattr(pyfastnn, "Perceptron", None) is not None
    )
    monkeypatch.setattr(pyfastnn, "Perceptron", _StandIn, raising=False)
    options = Options(mode="tiny", threads=1, sweeps=False, only="Perceptron")
    doc = run_compare(options, quiet=True)
    rows = [r for r in doc["results"] if r["workload"].startswith("Perceptron")]
    assert {r["task"] for r in rows} == {"epoch", "predict"}
    assert all(r["check"] == "ok" for r in rows)
    assert {r["backend"] for r in rows} == {"loop", "vector", "native"}  # no peers for these


def test_time_blocks_alternates_and_counts() -> None:
    calls: list[str] = []
    items = [Timed(k, lambda k=k: calls.append(k), pool=k) for k in ("a", "b")]
    times = time_blocks(items, TimingPlan(rounds=3, settle=0.0, calls=4, warmup=1))
    assert calls == ["a"] * 5 + ["b"] * 5 + ["b"] * 5 + ["a"] * 5 + ["a"] * 5 + ["b"] * 5
    assert all(len(t.samples) == 12 and t.median >= 0 for t in times.values())


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "pyfastnn", "compare", "--help"],
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--help"],
    ],
)
def test_help_is_complete(command: list[str], tmp_path) -> None:
    # outside the source tree, so the installed package is imported
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    options = (
        "--quick",
        "--full",
        "--tiny",
        "--suite",
        "--out",
        "--threads",
        "--dtype",
        "--markdown",
    )
    for option in options:
        assert option in run.stdout


# ---- the ratio suites: --suite core / --suite train ------------------------------------------


def _check_suite_doc(doc: dict, name: str) -> dict[str, dict]:
    doc = json.loads(json.dumps(doc))  # JSON-serialisable as is
    assert doc["meta"]["suite"] == name and doc["meta"]["threads"]["native"] == 1
    titles = [g.title for g in suites.suite(name, "tiny", "float32").groups]
    assert [g["title"] for g in doc["groups"]] == titles
    groups = {}
    for g in doc["groups"]:
        rows = {r["contender"]: r for r in g["rows"]}
        base = rows[g["relative_to"]]["median_s"] if g["relative_to"] in rows else None
        base = base or min(r["median_s"] for r in rows.values())
        for r in rows.values():
            assert r["median_s"] > 0 and r["calls"] >= g["rounds"]
            assert math.isclose(r["relative"], r["median_s"] / base)
        assert g["ratios"] or g["title"].startswith("GEMM peak")
        for ratio in g["ratios"]:
            num, den = rows[ratio["numerator"]], rows[ratio["denominator"]]
            assert math.isclose(ratio["of_medians"], num["median_s"] / den["median_s"])
            assert ratio["median_of_rounds"] > 0
            assert ratio["label"] in group_markdown(g)
        groups[g["title"]] = rows
    return groups


def test_core_suite(capsys) -> None:
    threads = pyfastnn.get_num_threads()
    doc = run_suite("core", Options(mode="tiny", threads=1))
    assert pyfastnn.get_num_threads() == threads  # restored, also after the threads group
    groups = _check_suite_doc(doc, "core")
    matmuls = [rows for title, rows in groups.items() if title.startswith("matmul")]
    assert matmuls and all(rows["native"]["gflops"] > 0 for rows in matmuls)
    steps = [rows for title, rows in groups.items() if title.endswith("batch 1")]
    assert {"native", "vector", "loop"} <= set(steps[0])
    assert set(list(groups.values())[-1]) == {"1 thread", "2 threads"}
    out = capsys.readouterr().out
    assert "median of per-round ratios" in out and "vector / native" in out


def test_train_suite() -> None:
    doc = run_suite("train", Options(mode="tiny", threads=1), quiet=True)
    groups = _check_suite_doc(doc, "train")
    peak, batch64, batch256, adam, batch1 = groups.values()
    assert "native" in batch256
    assert {"native", "native adam", "vector"} <= set(batch64)
    assert set(adam) == {"sgd", "adam"}
    # the epochs' rates are fractions of the GEMM peak measured in the run
    assert doc["peak_gflops"] == peak["native"]["gflops"] > 0
    for r in batch64.values():
        assert math.isclose(r["fraction_of_peak"], r["gflops"] / doc["peak_gflops"])
    assert "% of peak" in group_markdown(doc["groups"][1])
    g1 = doc["groups"][4]
    assert g1["steps_per_call"] == suites.TRAIN_SIZES["tiny"].batch1_rows
    for r in g1["rows"]:
        assert math.isclose(r["per_step_s"], r["median_s"] / g1["steps_per_call"])
    labels = {r["label"] for g in doc["groups"] for r in g["ratios"]}
    assert {"vector / native", "native adam / native", "adam / sgd"} <= labels
    m = doc["memory"]
    if "skipped" not in m:
        assert m["rows"] == suites.TRAIN_SIZES["tiny"].rows
        assert m["peak_mb"] >= m["rss_with_x_mb"] >= m["rss_before_x_mb"] > 0
        assert math.isclose(m["peak_over_x_mb"], m["peak_mb"] - m["x_mb"])


def test_two_forms_of_ratio() -> None:
    # with one call per block: the ratio of the medians pairs a fast block of one
    # with a slow block of the other; the median of per-round ratios does not
    num = Timing([1.0, 10.0, 10.0], [1.0, 10.0, 10.0])
    den = Timing([2.0, 5.0, 20.0], [2.0, 5.0, 20.0])
    r = ratio_figures(suites.Ratio("a", "b"), {"a": num, "b": den})
    assert r["of_medians"] == 2.0 and r["median_of_rounds"] == 0.5


def test_time_blocks_records_each_block() -> None:
    items = [Timed(k, lambda: None) for k in ("a", "b")]
    times = time_blocks(items, TimingPlan(rounds=3, settle=0.0, calls=4, warmup=1))
    for t in times.values():
        assert len(t.block_medians) == 3
        assert t.block_medians[0] == float(np.median(t.samples[:4]))


def test_cli_suites(tmp_path: Path, capsys) -> None:
    md = tmp_path / "core.md"
    args = ["compare", "--tiny", "--threads", "1", "--out", str(tmp_path)]
    assert main([*args, "--suite", "core", "--only", "threads", "--markdown", str(md)]) == 0
    doc = json.loads((tmp_path / "core.json").read_text())
    assert doc["meta"]["command"].startswith("pyfastnn compare --tiny --suite core")
    assert [g["title"] for g in doc["groups"]] == [
        suites.suite("core", "tiny", "float32").groups[-1].title
    ]
    text = md.read_text()
    assert doc["meta"]["command"] in text and "| 1 thread / 2 threads |" in text
    assert main([*args, "--suite", "train", "--only", "memory"]) == 0
    doc = json.loads((tmp_path / "train.json").read_text())
    assert doc["groups"] == [] and doc["memory"]["rows"] == suites.TRAIN_SIZES["tiny"].rows
    assert "peak during fit" in capsys.readouterr().out or "skipped" in doc["memory"]


# ---- the shared-machine suite: --suite shared -------------------------------------------------


def test_shared_suite(tmp_path: Path) -> None:
    from pyfastnn.compare import shared

    threads = pyfastnn.get_num_threads()
    md = tmp_path / "shared.md"
    args = ["compare", "--tiny", "--suite", "shared", "--no-peers", "--out", str(tmp_path)]
    assert main([*args, "--markdown", str(md)]) == 0
    assert pyfastnn.get_num_threads() == threads
    doc = json.loads((tmp_path / "shared.json").read_text())
    rows = {(r["scenario"], r["contender"]): r for r in doc["rows"]}
    expected = {
        ("numpy", "pyfastnn native"),
        ("attention", "pyfastnn"),
        ("attention", "NumPy, exp in place of sparsemax (reference)"),
        ("busy core", "pyfastnn native"),
        ("busy core", "vector / native"),
    }
    routed = [c for _, c in rows if c.endswith(shared.BLAS_ON_POOL)]
    if routed:  # an OpenBLAS with the hook: each scenario also with its work on the pool
        expected |= {(s, c + shared.BLAS_ON_POOL) for s, c in expected}
    assert set(rows) == expected
    assert pyfastnn.thread_pool_stats()["blas_routed"] == doc["meta"]["pool"]["blas_routed"] == 0
    for r in rows.values():
        assert r["alone_s"] > 0 and r["shared_s"] > 0
        assert math.isclose(r["ratio"], r["shared_s"] / r["alone_s"])
    beside = rows[("numpy", "pyfastnn native")]
    assert math.isclose(beside["other_ratio"], beside["other_shared_s"] / beside["other_alone_s"])
    text = md.read_text()
    assert doc["meta"]["command"] in text
    assert "pyfastnn native: all threads / one thread" in text and "sum of parts" in text
    assert "jobs" in doc["meta"]["pool"]


def test_shared_suite_beside_xla(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    args = ["compare", "--tiny", "--suite", "shared", "--only", "xla", "--out", str(tmp_path)]
    assert main(args) == 0
    doc = json.loads((tmp_path / "shared.json").read_text())
    (row,) = doc["rows"]
    assert (row["scenario"], row["contender"]) == ("xla pool", "pyfastnn native")
    assert math.isclose(row["ratio"], row["shared_s"] / row["alone_s"])
    assert math.isclose(row["other_ratio"], row["other_shared_s"] / row["other_alone_s"])


def test_busy_core_spinner_stops() -> None:
    from pyfastnn.compare.shared import busy_core

    with busy_core(seconds=30) as spinner:
        assert spinner.poll() is None  # running
    assert spinner.poll() is not None  # stopped on exit, not after 30 s
