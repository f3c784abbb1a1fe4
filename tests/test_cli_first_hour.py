"""The command line and sweeps as a new user meets them: every backend's results
file, --out checked before training, the flags for the package's own features,
sweep defaults that match their help, sweep files checked like flags, sweep.json
with the data set and learning curves, and run_sweep from an unguarded script."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pyfastnn.__main__ import main
from pyfastnn.sweep import DEFAULTS, normalize_config

pytest.importorskip("sklearn")


def _train(tmp_path: Path, *extra: str) -> int:
    return main(
        ["train", "--dataset", "moons", "--data-option", "n=120", "--hidden", "6", "--epochs",
         "2", "--out", str(tmp_path), "--quiet", "--no-plots", *extra]
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["loop", "vector", "native"])
def test_train_writes_results_json_with_every_backend(tmp_path, backend, capsys) -> None:
    assert _train(tmp_path, "--backend", backend) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["backend"] == backend
    assert len(results["history"]["epochs"]) == 2
    assert isinstance(results["history"]["epochs"][0]["train_loss"], float)


def test_out_is_checked_before_training(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as err:
        main(["train", "--epochs", "2", "--hidden", "4", "--out", str(blocker / "run")])
    assert err.value.code == 2
    stderr = capsys.readouterr().err
    assert "--out" in stderr and "training" not in stderr  # refused before training
    with pytest.raises(SystemExit):
        main(["sweep", "--epochs", "2", "--hidden", "4", "--out", str(blocker), "--quiet"])
    stderr = capsys.readouterr().err
    assert "--out" in stderr and "configurations on" not in stderr


def test_sparse_outputs_and_their_options_reach_the_model(tmp_path, capsys) -> None:
    args = ("--output", "relumax", "--relumax-b", "0.5", "--loss", "sparsemax", "--eps", "0.01")
    more = ("--activation", "leaky_relu", "--activation-param", "0.2", "--init", "he_normal")
    sgd = ("--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05")
    assert _train(tmp_path, *args, *more, *sgd) == 0
    import pyfastnn

    model = pyfastnn.load(str(tmp_path / "model.npz"))
    assert model.output == "relumax" and model.spec.loss == "sparsemax"
    assert model.spec.relumax_b == pytest.approx(0.5)
    assert model.spec.activation_param == pytest.approx(0.2)
    config = json.loads((tmp_path / "results.json").read_text())["config"]
    assert config["momentum"] == 0.9 and config["init"] == "he_normal" and config["eps"] == 0.01


def test_momentum_changes_the_trained_weights(tmp_path, capsys) -> None:
    import pyfastnn

    weights = []
    for momentum in ("0", "0.9"):
        out = tmp_path / momentum
        assert _train(out, "--optimizer", "sgd", "--momentum", momentum, "--dtype", "float64") == 0
        weights.append(pyfastnn.load(str(out / "model.npz")).params)
    assert not np.allclose(weights[0], weights[1])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--output", "sparsemax", "--loss", "cross_entropy"], "--loss"),
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum"),
        (["--model", "logreg", "--output", "relumax"], "--output"),
        (["--momentum", "1"], "--momentum"),
        (["--relumax-b", "0"], "--relumax-b"),
        (["--eps", "-1"], "--eps"),
        (["--init", "ones"], "--init"),
        (["--activation-param", "nan"], "--activation-param"),
    ],
)
def test_bad_model_flags_are_usage_errors(tmp_path, argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["train", "--epochs", "1", "--out", str(tmp_path), *argv])
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_without_tqdm_train_says_how_to_get_a_progress_bar(tmp_path, capsys, monkeypatch) -> None:
    from pyfastnn.cli import _args

    monkeypatch.setattr(_args, "progress_available", lambda: False)
    main(["train", "--dataset", "moons", "--hidden", "4", "--epochs", "1", "--out",
          str(tmp_path), "--no-plots"])  # fmt: skip
    assert "tqdm" in capsys.readouterr().err


def test_sweep_defaults_are_trains_but_for_epochs_and_help_says_so() -> None:
    from pyfastnn.cli import sweep as cli_sweep
    from pyfastnn.cli import train as cli_train

    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    train_parser = cli_train.register(subparsers)
    sweep_parser = cli_sweep.register(subparsers)
    train_defaults = vars(train_parser.parse_args([]))
    renamed = {"width": "hidden", "momentum": "momentum"}
    for key, value in DEFAULTS.items():
        flag = renamed.get(key, key)
        if key in ("hidden", "depth") or flag not in train_defaults:
            continue
        expected = train_defaults[flag]
        if key == "width":
            expected = expected[0]
        if key == "epochs":
            assert value == 30 and expected == 100
        else:
            assert value == expected, key
    text = sweep_parser.format_help()
    assert "30 epochs rather than 100" in text
    for key, value in DEFAULTS.items():
        if key != "hidden":
            assert f"{key}={'none' if value is None else value}" in " ".join(text.split())


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"grid": {"lr": ["fast"]}}, "lr"),
        ({"grid": {"epochs": 0}}, "epochs"),
        ({"grid": {"width": [16, -1]}}, "width"),
        ({"grid": {"dropout": 1.0}}, "dropout"),
        ({"grid": {"model": "svm"}}, "model"),
        ({"grid": {"hidden": "64"}}, "hidden"),
        ({"workers": 0}, "workers"),
        ({"workers": "two"}, "workers"),
        ({"threads_per_worker": -1}, "threads_per_worker"),
        ({"dataset": 5}, "dataset"),
        ({"data_options": [1]}, "data_options"),
    ],
)
def test_sweep_file_values_are_usage_errors(tmp_path, settings, message, capsys) -> None:
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(settings))
    with pytest.raises(SystemExit) as err:
        main(["sweep", "--config", str(path), "--out", str(tmp_path / "out")])
    assert err.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error" in last and message in last  # one usage line, no traceback


def test_normalize_config_checks_values() -> None:
    assert normalize_config({"lr": 1, "epochs": 3})["lr"] == 1.0
    with pytest.raises(ValueError, match="lr"):
        normalize_config({"lr": "fast"})
    with pytest.raises(ValueError, match="momentum"):
        normalize_config({"optimizer": "adam", "momentum": 0.5})
    assert normalize_config({"hidden": [8, 4]})["hidden"] == (8, 4)


def test_sweep_json_records_data_and_each_configurations_history(tmp_path, capsys) -> None:
    code = main(
        ["sweep", "--dataset", "moons", "--data-option", "n=200", "--hidden", "4,8", "--epochs",
         "3", "--workers", "1", "--out", str(tmp_path), "--quiet"]
    )  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["dataset"] == "moons" and doc["data_options"] == {"n": 200}
    for row in doc["rows"]:
        epochs = row["history"]["epochs"]
        assert [e["epoch"] for e in epochs] == [1, 2, 3]
        assert row["history"]["best_epoch"] == row["best_epoch"]
        best = epochs[row["best_epoch"] - 1]
        assert best["val_accuracy"] == pytest.approx(row["val_accuracy"])


def test_run_sweep_refuses_an_unguarded_script_with_advice(tmp_path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from pyfastnn.sweep import grid, run_sweep
            result = run_sweep(grid(width=[4, 8], epochs=1), "moons", max_workers=2)
            """
        )
    )
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert 'if __name__ == "__main__"' in run.stderr
    assert "BrokenProcessPool" not in run.stderr


def test_run_sweep_from_a_guarded_script_runs(tmp_path) -> None:
    script = tmp_path / "guarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from pyfastnn.sweep import grid, run_sweep

            if __name__ == "__main__":
                result = run_sweep(grid(width=[4, 8], epochs=1), "moons", max_workers=2)
                print(len(result.rows), len(result.errors))
            """
        )
    )
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["2", "0"]


def test_unguarded_check_ignores_calls_from_functions() -> None:
    from pyfastnn.sweep import unguarded_main_call

    assert unguarded_main_call() is None  # called from a test function, not a script's top level


@pytest.mark.parametrize("load, warned", [(1000.0, True), (0.0, False)])
def test_demo_warns_on_a_busy_machine_as_compare_does(monkeypatch, capsys, load, warned) -> None:
    from pyfastnn import demo

    monkeypatch.setattr(demo, "load_average", lambda: load)
    demo.run_demo(batch=2, dtype="float64", repeats=1)
    out = capsys.readouterr().out
    assert ("WARNING: load average 1000.0" in out) is warned
    assert ("busy machine" in out) is warned


@pytest.mark.parametrize("load, warned", [(1000.0, True), (0.0, False)])
def test_pytest_bench_warns_on_a_busy_machine(monkeypatch, load, warned) -> None:
    import importlib.util

    from pyfastnn.compare import environment

    path = Path(__file__).resolve().parents[1] / "bench" / "conftest.py"
    spec = importlib.util.spec_from_file_location("bench_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(environment, "load_average", lambda: load)
    header = module.pytest_report_header(None)
    assert bool(header) is warned and all("WARNING: load average" in h for h in header)

    class Reporter:
        lines: list[str] = []

        def write_line(self, line: str, **markup: object) -> None:
            self.lines.append(line)

    reporter = Reporter()
    module.pytest_terminal_summary(reporter, 0, None)
    assert bool(reporter.lines) is warned


def test_readme_python_sweep_example_runs_as_a_script(tmp_path) -> None:
    """The README's "same from Python" block, saved as a script and run as written."""
    pytest.importorskip("matplotlib")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("The same from Python:")
    block = readme[readme.index("```python\n", start) + len("```python\n") :]
    block = block[: block.index("```")]
    assert "run_sweep(" in block and 'if __name__ == "__main__":' in block
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for name in ("sweep.csv", "width.png", "curves.png", "best_curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "Broken" not in run.stdout + run.stderr


def test_readme_tables_come_from_the_script_with_the_commands_shown() -> None:
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "readme_tables", root / "docs" / "readme_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name, (argv, _) in module.STUDIES.items():
        start = readme.index(f"<!-- table:{name} -->")
        block = readme[start : readme.index(f"<!-- /table:{name} -->", start)]
        assert module.command_text(argv) in block, name
        assert "Printed by `python docs/readme_tables.py`" in block and "kernel " in block
        # the command parses as a sweep whose grid the table's columns come from
        assert argv[0] == "sweep" and "--dataset" in argv
    rows = [
        {"width": w, "lr": lr, "val_accuracy": v, "test_accuracy": t, "error": None}
        for w, lr, v, t in [(16, 0.1, 0.9, 0.8), (16, 0.01, 0.95, 0.7), (32, 0.1, 0.5, 0.4)]
    ]
    table = module.axis_table("width", "width")(rows)
    assert "| best val | 0.95 | 0.5 |" in table and "| at lr | 0.01 | 0.1 |" in table
