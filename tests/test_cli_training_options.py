"""`pyfastnn train` and `pyfastnn sweep` with the training options of the API:
every optimiser (Nesterov, AdamW's weight decay, RMSprop's momentum), gradient
clipping, class weights, the entmax outputs, checkpoints and resume.

Each flag is checked to reach ``fit``: the command line's trained weights
equal those of the same training written against the Python API, and differ
from a run without the flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP
from pyfastnn.__main__ import main
from pyfastnn._datasource import load_splits
from pyfastnn._factory import DEFAULT_ALPHA, DEFAULT_WEIGHT_DECAY
from pyfastnn.optim import DEFAULT_LR, SGD, Adam, AdamW, RMSprop
from pyfastnn.sweep import DEFAULTS, grid, normalize_config, run_config

# a tiny run: 96 train / 8 val rows of moons, 2-6-2, float64 so that equality is exact
DATA = ["--dataset", "moons", "--data-option", "n=120"]
TINY = [*DATA, "--hidden", "6", "--epochs", "2", "--dtype", "float64", "--quiet", "--no-plots"]
EPOCHS = 2


def train(out: Path, *flags: str) -> dict:
    """Run ``pyfastnn train`` on the tiny setting; its results.json."""
    code = main(["train", *TINY, "--out", str(out), *flags])
    assert code == 0
    return json.loads((out / "results.json").read_text())


def weights(out: Path) -> np.ndarray:
    return pyfastnn.load(str(out / "model.npz")).params


def api_weights(optimizer: object, output: str = "softmax", **options: object) -> np.ndarray:
    """The same training through the Python API (the CLI's split, seed 0, batch 32)."""
    s = load_splits("moons", n=120)
    alpha = options.pop("alpha", None)
    model = MLP([2, 6, 2], output=output, alpha=alpha, dtype="float64", seed=0)
    model.fit(s.X_train, s.y_train, epochs=EPOCHS, batch_size=32, optimizer=optimizer,
              X_val=s.X_val, y_val=s.y_val, seed=0, **options)  # fmt: skip
    return model.params


@pytest.fixture(scope="module")
def adam_run(tmp_path_factory) -> np.ndarray:
    """The default run's weights (adam at its default rate)."""
    out = tmp_path_factory.mktemp("adam")
    train(out)
    return weights(out)


# flags, then the API's optimiser, output and fit options for the same run
CASES = {
    "nesterov": (
        ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--nesterov"],
        SGD(lr=0.1, momentum=0.9, nesterov=True),
        "softmax",
        {},
    ),
    "adamw": (
        ["--optimizer", "adamw", "--lr", "0.01", "--weight-decay", "0.5"],
        AdamW(lr=0.01, weight_decay=0.5),
        "softmax",
        {},
    ),
    "rmsprop": (
        ["--optimizer", "rmsprop", "--momentum", "0.5"],
        RMSprop(momentum=0.5),
        "softmax",
        {},
    ),
    "clip_norm": (["--clip-norm", "0.05"], Adam(), "softmax", {"clip_norm": 0.05}),
    "entmax15": (["--output", "entmax15"], Adam(), "entmax15", {}),
    "entmax": (["--output", "entmax", "--alpha", "1.3"], Adam(), "entmax", {"alpha": 1.3}),
    "schedule": (["--lr-schedule", "exponential"], Adam(), "softmax",
                 {"lr_schedule": "exponential"}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_each_flag_trains_as_the_api_does(case, tmp_path, adam_run, capsys) -> None:
    flags, optimizer, output, options = CASES[case]
    results = train(tmp_path, *flags)
    got = weights(tmp_path)
    np.testing.assert_array_equal(got, api_weights(optimizer, output, **options))
    if case == "schedule":  # epoch 1 runs at lr0 either way (and is the best epoch here)
        assert results["history"]["epochs"][1]["lr"] < DEFAULT_LR["adam"]
    else:
        assert not np.allclose(got, adam_run), f"{case}: the flag changed nothing"


def test_balanced_class_weights_change_training_on_unequal_classes(tmp_path, capsys) -> None:
    """Balanced weights equal the mapping n / (K * count) given to the API, and
    differ from no weights when the classes are unequal."""
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)  # about 20% class 1
    X = rng.normal(size=(200, 3)) + y[:, None]
    data = tmp_path / "unequal.npz"
    np.savez(data, X_train=X[:150], y_train=y[:150], X_val=X[150:], y_val=y[150:])
    flags = ["--dataset", f"npz:{data}", "--hidden", "4", "--epochs", "2", "--dtype",
             "float64", "--quiet", "--no-plots"]  # fmt: skip
    assert main(["train", *flags, "--class-weight", "balanced", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", *flags, "--out", str(tmp_path / "n")]) == 0
    balanced, plain = weights(tmp_path / "b"), weights(tmp_path / "n")
    assert not np.allclose(balanced, plain)
    s = load_splits(f"npz:{data}")
    counts = np.bincount(s.y_train, minlength=2)
    mapping = {k: len(s.y_train) / (2 * counts[k]) for k in range(2)}
    model = MLP([3, 4, 2], dtype="float64", seed=0)
    model.fit(s.X_train, s.y_train, epochs=2, batch_size=32, optimizer="adam",
              class_weight=mapping, X_val=s.X_val, y_val=s.y_val, seed=0)  # fmt: skip
    np.testing.assert_allclose(balanced, model.params, rtol=0, atol=1e-12)
    config = json.loads((tmp_path / "b" / "results.json").read_text())["config"]
    assert config["class_weight"] == "balanced"


def test_new_values_are_in_the_config_and_the_description(tmp_path, capsys) -> None:
    flags = ["--optimizer", "adamw", "--clip-norm", "2", "--output", "entmax", "--alpha",
             "1.25", "--class-weight", "balanced", "--lr-schedule", "cosine"]  # fmt: skip
    config = train(tmp_path, *flags)["config"]
    assert config["optimizer"] == "adamw" and config["lr"] == DEFAULT_LR["adamw"]
    assert config["weight_decay"] == DEFAULT_WEIGHT_DECAY  # the value it ran with
    assert config["clip_norm"] == 2.0 and config["alpha"] == 1.25
    assert config["output"] == "entmax" and config["class_weight"] == "balanced"
    assert config["nesterov"] is False and config["lr_schedule"] == "cosine"
    assert config["checkpoint"] is None and config["resume"] is None
    err = capsys.readouterr().err
    for text in ("entmax (alpha 1.25) output", "adamw lr 0.001 weight decay 0.01",
                 "clip norm 2", "cosine schedule", "balanced class weights"):  # fmt: skip
        assert text in err, text
    from pyfastnn.cli.train import describe

    nesterov = {**config, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                "weight_decay": None}  # fmt: skip
    assert "sgd lr 0.1 nesterov momentum 0.9" in describe(nesterov)
    # an entmax run without --alpha records the alpha it ran with
    config = train(tmp_path / "default-alpha", "--output", "entmax")["config"]
    assert config["alpha"] == DEFAULT_ALPHA == MLP([2, 2], output="entmax").alpha
    assert pyfastnn.load(str(tmp_path / "default-alpha" / "model.npz")).alpha == DEFAULT_ALPHA


def test_entmax_outputs_through_train(tmp_path, capsys) -> None:
    """entmax at alpha 2 trains as sparsemax, entmax15 as entmax at alpha 1.5
    (bisection against the exact threshold); the reported test accuracy is the
    saved model's."""
    runs = {}
    for name, flags in {
        "entmax2": ["--output", "entmax", "--alpha", "2"],
        "sparsemax": ["--output", "sparsemax"],
        "entmax15": ["--output", "entmax15"],
        "entmax1.5": ["--output", "entmax", "--alpha", "1.5"],
    }.items():
        results = train(tmp_path / name, *flags)
        model = pyfastnn.load(str(tmp_path / name / "model.npz"))
        runs[name] = model.params
        s = load_splits("moons", n=120)
        assert results["test_accuracy"] == pytest.approx(model.score(s.X_test, s.y_test))
        p = model.predict_proba(s.X_test)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert (p >= 0).all()
    assert pyfastnn.load(str(tmp_path / "entmax2" / "model.npz")).alpha == 2.0
    np.testing.assert_allclose(runs["entmax2"], runs["sparsemax"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(runs["entmax15"], runs["entmax1.5"], rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "optimizer, extra",
    [("adamw", ["--lr-schedule", "plateau", "--clip-norm", "1"]),
     ("sgd", ["--momentum", "0.9", "--nesterov", "--class-weight", "balanced"])],
)  # fmt: skip
def test_resume_reaches_the_weights_of_an_uninterrupted_run(
    optimizer, extra, tmp_path, capsys
) -> None:
    flags = [*DATA, "--hidden", "6", "--dtype", "float64", "--quiet", "--no-plots",
             "--optimizer", optimizer, *extra]  # fmt: skip
    checkpoint = tmp_path / "ck" / "run.npz"  # a directory still to be made
    first = ["train", *flags, "--epochs", "2", "--checkpoint", str(checkpoint)]
    assert main([*first, "--out", str(tmp_path / "first")]) == 0
    assert checkpoint.is_file()
    assert main(["train", *flags, "--epochs", "5", "--resume", str(checkpoint),
                 "--out", str(tmp_path / "resumed")]) == 0  # fmt: skip
    assert "resuming" in capsys.readouterr().err
    assert main(["train", *flags, "--epochs", "5", "--out", str(tmp_path / "whole")]) == 0
    np.testing.assert_array_equal(weights(tmp_path / "resumed"), weights(tmp_path / "whole"))
    resumed = json.loads((tmp_path / "resumed" / "results.json").read_text())
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    losses = [[e["train_loss"] for e in r["history"]["epochs"]] for r in (resumed, whole)]
    assert losses[0] == losses[1] and len(losses[0]) == 5
    assert resumed["best_epoch"] == whole["best_epoch"]
    assert resumed["config"]["resume"] == str(checkpoint)
    # the first part's checkpoint was the model file of epoch 2, loadable as a model
    assert pyfastnn.load(str(checkpoint)).layer_sizes == (2, 6, 2)


def test_checkpoint_every_n_epochs(tmp_path, capsys, monkeypatch) -> None:
    from pyfastnn import _checkpoint

    saved: list[int] = []
    real = _checkpoint.save

    def save(path, description, params, run):  # type: ignore[no-untyped-def]
        saved.append(run.epoch)
        real(path, description, params, run)

    monkeypatch.setattr(_checkpoint, "save", save)
    config = train(tmp_path, "--epochs", "2", "--checkpoint", str(tmp_path / "c.npz"))
    assert config["config"]["checkpoint_every"] == 1 and saved == [1, 2]
    saved.clear()
    out = tmp_path / "every3"
    assert main(["train", *TINY, "--epochs", "7", "--checkpoint", str(out / "c.npz"),
                 "--checkpoint-every", "3", "--out", str(out)]) == 0  # fmt: skip
    assert saved == [3, 6, 7]  # every 3 epochs and after the last
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["checkpoint_every"] == 3
    assert results["config"]["checkpoint"] == str(out / "c.npz")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--optimizer", "adagrad"], "--optimizer"),
        (["--nesterov"], "--nesterov"),  # adam, the default optimiser
        (["--optimizer", "sgd", "--nesterov"], "--nesterov: needs momentum"),
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum"),
        (["--weight-decay", "0.1"], "--weight-decay"),
        (["--optimizer", "adamw", "--weight-decay", "-1"], "--weight-decay"),
        (["--optimizer", "adamw", "--weight-decay", "inf"], "--weight-decay"),
        (["--clip-norm", "0"], "--clip-norm"),
        (["--clip-norm", "nan"], "--clip-norm"),
        (["--output", "entmax", "--alpha", "1"], "--alpha"),
        (["--output", "entmax", "--alpha", "nan"], "--alpha"),
        (["--alpha", "1.5"], "--alpha"),  # softmax output
        (["--output", "entmax15", "--alpha", "1.5"], "--alpha"),
        (["--model", "logreg", "--output", "entmax"], "--output"),
        (["--output", "entmax2"], "--output"),
        (["--class-weight", "auto"], "--class-weight"),
        (["--checkpoint-every", "2"], "--checkpoint-every"),
        (["--checkpoint-every", "0", "--checkpoint", "c.npz"], "--checkpoint-every"),
        (["--resume", "no-such-file.npz"], "--resume"),
        (["--lr-schedule", "warm"], "--lr-schedule"),
    ],
)
def test_bad_values_are_usage_errors_before_training(flags, message, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["train", *TINY, "--out", str(tmp_path / "out"), *flags])
    assert err.value.code == 2
    stderr = capsys.readouterr().err
    last = stderr.strip().splitlines()[-1]
    assert "error" in last and message in last and "Traceback" not in stderr
    assert "training MLP" not in stderr  # refused before any training


def test_checkpoint_problems_are_usage_errors(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = [
        (["--checkpoint", str(blocker / "c.npz")], "--checkpoint"),  # its directory is a file
        (["--checkpoint", str(tmp_path)], "--checkpoint"),  # a directory
        (["--checkpoint", str(tmp_path / "c.safetensors")], "--checkpoint"),
        (["--resume", str(blocker)], "--resume"),  # not a model file
    ]
    train(tmp_path / "plain")  # a model file without the run's state
    cases.append((["--resume", str(tmp_path / "plain" / "model.npz")], "--resume"))
    train(tmp_path / "ck", "--checkpoint", str(tmp_path / "ck.npz"))
    cases.append((["--resume", str(tmp_path / "ck.npz"), "--optimizer", "sgd"], "--resume"))
    cases.append((["--resume", str(tmp_path / "ck.npz"), "--hidden", "7"], "--resume"))
    capsys.readouterr()
    for flags, message in cases:
        with pytest.raises(SystemExit) as err:
            main(["train", *TINY, "--out", str(tmp_path / "out"), *flags])
        assert err.value.code == 2, flags
        stderr = capsys.readouterr().err
        assert message in stderr.strip().splitlines()[-1] and "Traceback" not in stderr, flags


def test_a_perceptron_takes_clipping_and_class_weights(tmp_path) -> None:
    for flag in (["--clip-norm", "1"], ["--class-weight", "balanced"]):
        out = tmp_path / flag[0].strip("-")
        args = ["train", *TINY, "--model", "perceptron", "--out", str(out), *flag]
        assert main(args) == 0
        config = json.loads((out / "results.json").read_text())["config"]
        key = flag[0].strip("-").replace("-", "_")
        assert str(config[key]) in (flag[1], str(float(flag[1])) if flag[1][0].isdigit() else "")


def test_help_names_every_new_flag_and_its_default(capsys) -> None:
    for command, flags in {
        "train": ["--optimizer", "--nesterov", "--weight-decay", "--clip-norm", "--alpha",
                  "--class-weight", "--checkpoint", "--checkpoint-every", "--resume",
                  "--lr-schedule"],
        "sweep": ["--optimizer", "--nesterov", "--weight-decay", "--clip-norm", "--alpha",
                  "--class-weight", "--lr-schedule"],
    }.items():  # fmt: skip
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for flag in flags:
            assert f"{flag} " in text, (command, flag)
        for name in ("sgd", "adam", "adamw", "rmsprop", "entmax15", "entmax", "balanced"):
            assert name in text
        assert "(default: adam)" in text


# ---- sweeps ----------------------------------------------------------------------


def test_sweep_configs_take_the_new_keys_and_fill_in_what_ran() -> None:
    assert normalize_config({"optimizer": "adamw"})["weight_decay"] == DEFAULT_WEIGHT_DECAY
    assert normalize_config({"optimizer": "adam"})["weight_decay"] is None
    assert normalize_config({"output": "entmax"})["alpha"] == DEFAULT_ALPHA
    assert normalize_config({"output": "entmax15"})["alpha"] is None
    full = normalize_config(
        {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "clip_norm": 3,
         "class_weight": "balanced", "lr_schedule": "cosine"}
    )  # fmt: skip
    assert full["nesterov"] is True and full["clip_norm"] == 3.0 and full["lr"] == 0.01
    assert normalize_config({"optimizer": "rmsprop", "momentum": 0.5})["momentum"] == 0.5
    for bad, key in [
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"nesterov": True}, "nesterov"),
        ({"nesterov": 1, "optimizer": "sgd", "momentum": 0.9}, "nesterov"),
        ({"optimizer": "sgd", "nesterov": True}, "nesterov"),
        ({"weight_decay": 0.1}, "weight_decay"),
        ({"optimizer": "adamw", "weight_decay": -0.1}, "weight_decay"),
        ({"clip_norm": 0}, "clip_norm"),
        ({"alpha": 1.5}, "alpha"),
        ({"output": "entmax", "alpha": 1.0}, "alpha"),
        ({"class_weight": "auto"}, "class_weight"),
        ({"lr_schedule": "warm"}, "lr_schedule"),
    ]:
        with pytest.raises(ValueError, match=f"^{key}:"):
            normalize_config(bad)


def _blobs():
    from test_sweep import blob_splits

    return blob_splits()


@pytest.mark.parametrize(
    "config, optimizer, options",
    [
        ({"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.05},
         SGD(lr=0.05, momentum=0.9, nesterov=True), {}),
        ({"optimizer": "adamw", "weight_decay": 0.3}, AdamW(weight_decay=0.3), {}),
        ({"optimizer": "rmsprop", "momentum": 0.5}, RMSprop(momentum=0.5), {}),
        ({"clip_norm": 0.1, "lr_schedule": "step"}, Adam(),
         {"clip_norm": 0.1, "lr_schedule": "step"}),
        ({"class_weight": "balanced"}, Adam(), {"class_weight": "balanced"}),
        ({"output": "entmax", "alpha": 1.2}, Adam(), {"output": "entmax", "alpha": 1.2}),
    ],
)  # fmt: skip
def test_run_config_trains_as_the_api_does(config, optimizer, options) -> None:
    s = _blobs()
    row = run_config({"width": 5, "epochs": 2, "dtype": "float64", **config}, s)
    assert row["error"] is None, row["error"]
    output = options.pop("output", "softmax")
    alpha = options.pop("alpha", None)
    model = MLP([16, 5, 3], output=output, alpha=alpha, dtype="float64", seed=0)
    history = model.fit(s.X_train, s.y_train, epochs=2, batch_size=32, optimizer=optimizer,
                        X_val=s.X_val, y_val=s.y_val, seed=0, **options)  # fmt: skip
    assert [e["train_loss"] for e in row["history"]["epochs"]] == [
        e.train_loss for e in history.epochs
    ]
    assert row["val_accuracy"] == model.score(s.X_val, s.y_val)


def test_sweep_command_line_axes(tmp_path, capsys) -> None:
    out = tmp_path / "sweep"
    code = main(["sweep", *DATA, "--hidden", "4", "--epochs", "2", "--workers", "1",
                 "--optimizer", "sgd", "--momentum", "0.9", "--nesterov",
                 "--class-weight", "none,balanced", "--lr-schedule", "constant,cosine",
                 "--clip-norm", "1", "--quiet", "--no-plots", "--out", str(out)])  # fmt: skip
    assert code == 0
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert [(r["lr_schedule"], r["class_weight"]) for r in rows] == [
        ("constant", None), ("constant", "balanced"), ("cosine", None), ("cosine", "balanced")
    ]  # fmt: skip
    assert all(r["nesterov"] is True and r["clip_norm"] == 1.0 for r in rows)
    assert not [r for r in rows if r["error"]]
    assert "| lr_schedule | class_weight |" in (out / "sweep.md").read_text()
    code = main(["sweep", *DATA, "--hidden", "4", "--epochs", "2", "--workers", "1",
                 "--optimizer", "adamw,rmsprop", "--output", "entmax15,entmax", "--quiet",
                 "--no-plots", "--out", str(out)])  # fmt: skip
    assert code == 0
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    # axes vary in the order of the grid keys: output before optimizer
    assert [(r["output"], r["alpha"], r["optimizer"], r["weight_decay"]) for r in rows] == [
        ("entmax15", None, "adamw", 0.01), ("entmax15", None, "rmsprop", None),
        ("entmax", 1.5, "adamw", 0.01), ("entmax", 1.5, "rmsprop", None),
    ]  # fmt: skip
    assert not [r for r in rows if r["error"]]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--nesterov", "maybe"], "--nesterov"),
        (["--optimizer", "sgd,adagrad"], "--optimizer"),
        (["--optimizer", "sgd", "--nesterov"], "nesterov"),
        (["--alpha", "1.2"], "alpha"),
        (["--alpha", "0.5"], "--alpha"),
        (["--weight-decay", "0.1"], "weight_decay"),
        (["--clip-norm", "-1"], "--clip-norm"),
        (["--class-weight", "balanced,auto"], "--class-weight"),
        (["--lr-schedule", "cosine,warm"], "--lr-schedule"),
    ],
)
def test_sweep_bad_values_are_usage_errors(flags, message, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["sweep", "--out", str(tmp_path), *flags])
    assert err.value.code == 2
    stderr = capsys.readouterr().err
    last = stderr.strip().splitlines()[-1]
    assert "error" in last and message in last and "configurations on" not in stderr


def test_sweep_file_takes_the_new_keys(tmp_path, capsys) -> None:
    path = tmp_path / "sweep.json"
    grid_ = {"optimizer": "sgd", "momentum": 0.9, "nesterov": [True, False], "clip_norm": 1,
             "width": 4, "epochs": 1}  # fmt: skip
    path.write_text(json.dumps({"grid": grid_}))
    out = tmp_path / "out"
    args = ["sweep", "--config", str(path), *DATA, "--workers", "1", "--quiet", "--no-plots"]
    assert main([*args, "--out", str(out)]) == 0
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert [r["nesterov"] for r in rows] == [True, False]
    path.write_text(json.dumps({"grid": {"nesterov": "yes"}}))
    with pytest.raises(SystemExit):
        main([*args, "--out", str(out)])
    assert "nesterov" in capsys.readouterr().err.strip().splitlines()[-1]


def test_sweep_defaults_are_the_train_defaults_for_the_new_keys() -> None:
    import argparse

    from pyfastnn.cli import train as cli_train

    parser = argparse.ArgumentParser()
    train_defaults = vars(cli_train.register(parser.add_subparsers()).parse_args([]))
    for key in ("optimizer", "nesterov", "weight_decay", "clip_norm", "alpha",
                "class_weight", "lr_schedule"):  # fmt: skip
        assert DEFAULTS[key] == train_defaults[key], key
    assert grid(nesterov=[True, False]) == [{"nesterov": True}, {"nesterov": False}]


def test_progress_line_of_a_resumed_run_starts_at_its_epoch() -> None:
    pytest.importorskip("tqdm")
    from types import SimpleNamespace

    from pyfastnn.cli.train import _ProgressLine

    line = _ProgressLine(10)
    try:
        line(None, SimpleNamespace(epoch=4, train_loss=0.5, val_accuracy=None))
        assert line.bar.n == 4
        line(None, SimpleNamespace(epoch=5, train_loss=0.4, val_accuracy=0.9))
        assert line.bar.n == 5
    finally:
        line.close()


def _commands(text: str) -> list[list[str]]:
    """The `pyfastnn train|sweep` command lines in ``text`` (continuations joined,
    comments dropped), as argv lists after "pyfastnn"."""
    import shlex

    joined = text.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip().split(" #")[0]
        if line.startswith(("pyfastnn train", "pyfastnn sweep")):
            found.append(shlex.split(line)[1:])
    return found


def test_every_documented_command_line_parses_and_its_flags_go_together(monkeypatch) -> None:
    """The README's and the --help examples' train and sweep commands: valid
    flags, values and combinations (checked as the commands check them, without
    training)."""
    from pyfastnn import sweep as sw
    from pyfastnn.cli import sweep as cli_sweep
    from pyfastnn.cli import train as cli_train

    def fake_train(args) -> int:  # type: ignore[no-untyped-def]
        cli_train.hidden_widths(args.hidden, args.depth)
        cli_train.check_combinations(args)
        return 0

    def fake_sweep(args) -> int:  # type: ignore[no-untyped-def]
        axes = {k: getattr(args, f"axis_{k}", None) for k in sw.DEFAULTS}
        configs = sw.grid(**{k: v for k, v in axes.items() if v is not None})
        assert [sw.normalize_config(c) for c in configs]
        return 0

    monkeypatch.setattr(cli_train, "run", fake_train)
    monkeypatch.setattr(cli_sweep, "run", fake_sweep)
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Command line") :]
    section = section[: section.index("\n## ")]
    commands = _commands(section) + _commands(cli_train.EPILOG) + _commands(cli_sweep.EPILOG)
    assert len(commands) >= 15 and any("--resume" in c for c in commands)
    for argv in commands:
        if "--config" in argv:
            continue
        assert main(argv) == 0, argv
