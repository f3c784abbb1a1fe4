"""One default dtype and one table of default learning rates across the API,
the CLI, sweeps and the estimators."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, LogisticRegression, Perceptron
from pyfastnn.__main__ import main
from pyfastnn._factory import make_model
from pyfastnn.optim import DEFAULT_LR


def test_every_model_defaults_to_float32() -> None:
    models = [
        MLP([3, 4, 2]),
        LogisticRegression(3, 2),
        Perceptron(3, 2),
        *(make_model(kind, 3, 2) for kind in ("mlp", "logreg", "perceptron")),
    ]
    assert {m.dtype for m in models} == {np.dtype(np.float32)}
    from pyfastnn.cli import train as cli_train
    from pyfastnn.sweep import DEFAULTS

    parser = argparse.ArgumentParser()
    defaults = vars(cli_train.register(parser.add_subparsers()).parse_args([]))
    assert defaults["dtype"] == DEFAULTS["dtype"] == "float32"
    estimators = pytest.importorskip("pyfastnn.estimators")
    for name in ("MLPClassifier", "MLPRegressor", "LogisticRegressionClassifier"):
        cls = getattr(estimators, name, None)
        if cls is not None:
            assert cls().get_params()["dtype"] == "float32", name


def test_the_default_rates_are_the_table() -> None:
    assert DEFAULT_LR == {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), np.arange(10) % 2
    for name in ("sgd", "adam"):
        for model in (MLP([3, 4, 2]), LogisticRegression(3, 2), Perceptron(3, 2)):
            assert model.fit(X, y, epochs=1, optimizer=name).lr == [DEFAULT_LR[name]]
            assert model.fit(X, y, epochs=1, optimizer=name.upper()).lr == [DEFAULT_LR[name]]
    assert Perceptron(3, 2).fit(X, y, epochs=1).lr == [DEFAULT_LR["sgd"]]
    from pyfastnn.sweep import normalize_config

    for name in ("sgd", "adam"):
        assert normalize_config({"optimizer": name})["lr"] == DEFAULT_LR[name]
    assert normalize_config({"optimizer": "adam", "lr": 0.5})["lr"] == 0.5


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_cli_train_uses_the_table_and_the_schedule_flag(optimizer, tmp_path) -> None:
    out = tmp_path / optimizer
    code = main(["train", "--dataset", "moons", "--hidden", "4", "--epochs", "3",
                 "--optimizer", optimizer, "--lr-schedule", "step", "--quiet", "--no-plots",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    lr = DEFAULT_LR[optimizer]
    assert results["config"]["lr"] == lr and results["config"]["lr_schedule"] == "step"
    # "step" over 3 epochs: a tenth each epoch
    got = [e["lr"] for e in results["history"]["epochs"]]
    assert got == pytest.approx([lr, lr / 10, lr / 100], rel=1e-12)
    assert pyfastnn.load(out / "model.npz").dtype == np.float32


def test_cli_rejects_an_unknown_schedule(capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["train", "--lr-schedule", "warm"])
    assert err.value.code == 2
    assert "--lr-schedule" in capsys.readouterr().err


def test_cli_and_sweeps_default_to_adam_at_its_rate(tmp_path) -> None:
    """`pyfastnn train` and sweeps default to Adam (as scikit-learn's MLPClassifier),
    at its rate of the one table; fit keeps SGD."""
    from pyfastnn._factory import DEFAULT_OPTIMIZER
    from pyfastnn.cli import train as cli_train
    from pyfastnn.sweep import DEFAULTS, normalize_config

    parser = argparse.ArgumentParser()
    defaults = vars(cli_train.register(parser.add_subparsers()).parse_args([]))
    assert defaults["optimizer"] == DEFAULTS["optimizer"] == DEFAULT_OPTIMIZER == "adam"
    assert defaults["lr"] is None and normalize_config({})["lr"] == DEFAULT_LR["adam"]
    code = main(["train", "--dataset", "moons", "--hidden", "4", "--epochs", "1", "--quiet",
                 "--no-plots", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    config = json.loads((tmp_path / "results.json").read_text())["config"]
    assert config["optimizer"] == "adam" and config["lr"] == DEFAULT_LR["adam"]


def test_the_readme_first_command_trains_well(tmp_path) -> None:
    """`pyfastnn train` with every default (the README's first command) on the
    bundled digits: about 0.95 test accuracy (SGD at its default rate 0.01 gave 0.90)."""
    assert main(["train", "--quiet", "--no-plots", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["dataset"] == "digits" and results["config"]["epochs"] == 100
    assert results["test_accuracy"] >= 0.93, results["test_accuracy"]
