"""`pyfastnn train` and `pyfastnn sweep` in-process on tiny settings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import pyfastnn
from pyfastnn.__main__ import main

pytest.importorskip("sklearn")  # digits comes from scikit-learn until pyfastnn.data lands
HAS_MPL = True
try:
    import matplotlib  # noqa: F401
except ImportError:
    HAS_MPL = False


def table_rows(text: str) -> list[list[str]]:
    """Cells of the markdown table rows in ``text`` (header first, rule skipped)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_train_writes_results_model_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--hidden",
            "16",
            "--depth",
            "2",
            "--epochs",
            "2",
            "--optimizer",
            "sgd",
            "--lr",
            "0.2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    head, cells = table_rows(printed)
    assert head[:5] == ["epochs run", "best epoch", "train acc", "val acc", "test acc"]
    assert cells[0] == "2" and cells[1] in ("1", "2")

    results = json.loads((out / "results.json").read_text())
    assert results["config"]["hidden"] == [16, 16] and results["config"]["lr"] == 0.2
    assert len(results["history"]["epochs"]) == 2
    assert results["test_accuracy"] == pytest.approx(float(cells[4]), abs=1e-4)
    assert results["val_accuracy"] > 0.5  # 2 epochs already learn digits well past chance

    model = pyfastnn.load(out / "model.npz")
    assert model.layer_sizes == (64, 16, 16, 10)
    if HAS_MPL:
        assert (out / "learning_curves.png").stat().st_size > 5_000


def test_train_logreg_with_pooling(tmp_path, capsys) -> None:
    out = tmp_path / "lr"
    assert (
        main(
            [
                "train",
                "--model",
                "logreg",
                "--features",
                "avgpool",
                "--epochs",
                "2",
                "--out",
                str(out),
                "--quiet",
                "--no-plots",
            ]
        )
        == 0
    )
    model = pyfastnn.load(out / "model.npz")
    assert model.layer_sizes == (16, 10)  # 8x8 digits pooled to 4x4, no hidden layer
    assert not (out / "learning_curves.png").exists()


def test_sweep_from_flags_writes_tables_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            "--hidden",
            "8,32",
            "--depth",
            "1,2",
            "--epochs",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    rows = table_rows(printed)
    assert rows[0][:3] == ["width", "depth", "val_accuracy"]
    assert sorted((r[0], r[1]) for r in rows[1:]) == [
        ("32", "1"),
        ("32", "2"),
        ("8", "1"),
        ("8", "2"),
    ]
    assert "Best by validation accuracy" in printed
    with open(out / "sweep.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4
    saved = json.loads((out / "sweep.json").read_text())
    best = max(r["val_accuracy"] for r in saved["rows"])
    assert saved["best"]["val_accuracy"] == best
    assert (out / "sweep.md").read_text().startswith("| width | depth |")
    if HAS_MPL:
        assert (out / "accuracy_vs_width.png").stat().st_size > 5_000
        assert (out / "accuracy_vs_depth.png").stat().st_size > 5_000


def test_sweep_from_a_config_file(tmp_path, capsys) -> None:
    settings = {
        "dataset": "digits",
        "workers": 1,
        "out": str(tmp_path / "from_file"),
        "grid": {"model": ["logreg"], "lr": [0.05, 0.2], "epochs": 2, "features": "maxpool"},
    }
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(settings))
    assert main(["sweep", "--config", str(path), "--epochs", "1", "--quiet", "--no-plots"]) == 0
    saved = json.loads((tmp_path / "from_file" / "sweep.json").read_text())
    assert [r["lr"] for r in saved["rows"]] == [0.05, 0.2]
    assert {r["epochs"] for r in saved["rows"]} == {1}  # the flag overrides the file
    assert {r["features"] for r in saved["rows"]} == {"maxpool"}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python >= 3.11")
def test_toml_config_reads_like_json(tmp_path) -> None:
    from pyfastnn.cli.sweep import read_config_file

    toml = tmp_path / "sweep.toml"
    toml.write_text('dataset = "moons"\nworkers = 2\n[grid]\nwidth = [8, 16]\nepochs = 3\n')
    assert read_config_file(toml) == {
        "dataset": "moons",
        "workers": 2,
        "grid": {"width": [8, 16], "epochs": 3},
    }
    other = tmp_path / "sweep.yaml"
    other.write_text("grid: {}")
    with pytest.raises(ValueError, match="toml or .json"):
        read_config_file(other)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "-1"], "--lr"),
        (["train", "--model", "svm"], "--model"),
        (["train", "--features", "fft"], "--features"),
        (["train", "--hidden", "64,x"], "--hidden"),
        (["train", "--hidden", "64,32", "--depth", "2"], "--depth"),
        (["train", "--dropout", "1.5"], "--dropout"),
        (["train", "--dataset", "nope"], "nope"),
        (["sweep", "--depth", "1,,2"], "--depth"),
        (["sweep", "--epochs", "0"], "--epochs"),
        (["sweep", "--config", "missing.toml"], "--config"),
    ],
)
def test_bad_flags_are_argparse_errors(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_sweep_rejects_unknown_file_settings(tmp_path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"grid": {"widht": [1]}, "dataset": "digits"}))
    with pytest.raises(SystemExit):
        main(["sweep", "--config", str(path)])
    assert "widht" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_help_lists_every_flag(command) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pyfastnn", command, "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0
    for flag in ("--dataset", "--hidden", "--depth", "--lr", "--epochs", "--out", "--features"):
        assert flag in run.stdout
    assert "examples:" in run.stdout


def test_train_reports_divergence(tmp_path, capsys) -> None:
    code = main(
        [
            "train",
            "--lr",
            "1e30",
            "--epochs",
            "2",
            "--hidden",
            "4",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 1
    assert "diverged" in capsys.readouterr().err


# ---- metrics beside accuracy, the progress line ------------------------------------------------


def test_train_reports_per_class_metrics_and_the_confusion_matrix(tmp_path, capsys) -> None:
    from pyfastnn.data import load_dataset
    from pyfastnn.metrics import balanced_accuracy, confusion_matrix, precision_recall

    out = tmp_path / "m"
    argv = ["train", "--model", "logreg", "--epochs", "2", "--out", str(out), "--quiet"]
    assert main([*argv, "--no-plots"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert set(results["metrics"]) == {"train", "val", "test"}
    assert results["class_labels"] == list(range(10))
    # the figures are those of the saved model's predictions on the splits
    model = pyfastnn.load(out / "model.npz")
    splits = load_dataset("digits")
    for part in ("train", "val", "test"):
        X, y = getattr(splits, f"X_{part}"), getattr(splits, f"y_{part}")
        m, predicted = results["metrics"][part], model.predict(X)
        pr = precision_recall(y, predicted, 10)
        assert m["confusion_matrix"] == confusion_matrix(y, predicted, 10).tolist()
        assert m["precision"] == pr.precision.tolist() and m["recall"] == pr.recall.tolist()
        assert m["f1"] == pr.f1.tolist() and m["support"] == pr.support.tolist()
        assert m["balanced_accuracy"] == balanced_accuracy(y, predicted, 10)
        assert m["accuracy"] == results[f"{part}_accuracy"] == np.mean(predicted == y)
        assert sum(m["support"]) == len(y)
    # printed: the balanced accuracy in the table, the per-class table, the matrix
    head, cells = table_rows(printed)
    assert head[5] == "balanced acc"
    test = results["metrics"]["test"]
    assert cells[5] == f"{test['balanced_accuracy']:.4f} (test)"
    lines = printed.splitlines()
    start = lines.index("test split, per class:")
    assert lines[start + 1].split() == ["class", "precision", "recall", "f1", "support"]
    for k in range(10):
        figures = [test[key][k] for key in ("precision", "recall", "f1")]
        assert lines[start + 2 + k].split() == [str(k), *(f"{v:.4f}" for v in figures),
                                                str(test["support"][k])]  # fmt: skip
    start = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix (test"))
    assert lines[start + 1].split() == [str(k) for k in range(10)]
    rows = [[int(v) for v in line.split()[1:]] for line in lines[start + 2 : start + 12]]
    assert rows == test["confusion_matrix"]


def test_metrics_text_leaves_large_matrices_to_the_json() -> None:
    from pyfastnn.cli.train import metrics_text

    k = 30
    part = {
        "precision": [0.5] * k, "recall": [0.25] * k, "f1": [1 / 3] * k, "support": [2] * k,
        "confusion_matrix": np.eye(k, dtype=int).tolist(),
    }  # fmt: skip
    text = metrics_text({"metrics": {"val": part}, "class_labels": list(range(1, k + 1))})
    assert "validation split, per class:" in text
    assert "confusion matrix (30 classes): in results.json" in text
    assert text.splitlines()[-2].split() == ["30", "0.5000", "0.2500", "0.3333", "2"]


def test_progress_line_shows_the_validation_accuracy() -> None:
    from pyfastnn.cli.train import postfix_of
    from pyfastnn.training import EpochRecord

    record = EpochRecord(3, 0.123456, 0.1, train_accuracy=0.9, val_loss=0.2, val_accuracy=0.875)
    assert postfix_of(record) == {"loss": "0.1235", "val_acc": "0.8750"}
    assert postfix_of(EpochRecord(1, 2.0, 0.1)) == {"loss": "2.0000"}


def test_train_progress_bar_shows_val_accuracy_per_epoch(tmp_path, capsys) -> None:
    pytest.importorskip("tqdm")
    argv = ["train", "--hidden", "8", "--epochs", "3", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("val_acc=") >= 3 and "loss=" in err


def test_train_hands_fit_a_progress_callback(tmp_path, capsys, monkeypatch) -> None:
    """The CLI's wiring, with a stand-in for fit(callbacks=) that calls each callback
    once per epoch record after training (the real one calls them during it)."""
    pytest.importorskip("tqdm")
    from pyfastnn import _factory

    real_fit_model, seen = _factory.fit_model, []

    def fit_model(model, X, y, *, callbacks=(), **options):
        seen.append(options["progress"])
        history = real_fit_model(model, X, y, **options)
        for record in history.epochs:
            for callback in callbacks:
                callback(model, record)
        return history

    monkeypatch.setattr(_factory, "fit_accepts", lambda model, option: True)
    monkeypatch.setattr(_factory, "fit_model", fit_model)
    argv = ["train", "--hidden", "8", "--epochs", "3", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert seen == [False]  # fit's own bar off: the callback draws it
    results = json.loads((tmp_path / "results.json").read_text())
    last = results["history"]["epochs"][-1]["val_accuracy"]
    assert err.count("val_acc=") >= 3 and f"val_acc={last:.4f}" in err
