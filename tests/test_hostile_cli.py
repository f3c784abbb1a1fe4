"""Hostile command lines end in a usage error (exit status 2) naming the option,
before any work or allocation, never in a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pyfastnn import get_num_threads, set_num_threads
from pyfastnn.__main__ import main
from pyfastnn._checks import physical_memory


@pytest.fixture(autouse=True)
def _keep_threads():
    n = get_num_threads()
    yield
    set_num_threads(n)


def usage_error(argv: list[str], capsys, match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert match in err and "Traceback" not in err, err
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--threads", "5000"],
        ["demo", "--threads", "5000"],
        ["compare", "--threads", "5000"],
        ["sweep", "--threads-per-worker", "5000"],
    ],
)
def test_thread_counts_beyond_the_limit(argv: list[str], capsys) -> None:
    usage_error(argv, capsys, "--threads")


@pytest.mark.skipif(physical_memory() is None, reason="memory size unknown")
@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["demo", "--batch", "100000000"], "argument --batch: a minibatch of 100000000 rows"),
        (["train", "--hidden", "1000000000000", "--dataset", "circles"], "layer_sizes:"),
        (["train", "--dataset", "circles", "--data-option", "n=100000000000"], "n: 100000000000"),
    ],
)
def test_sizes_beyond_the_machine(argv: list[str], match: str, capsys, tmp_path: Path) -> None:
    usage_error([*argv, *(["--out", str(tmp_path)] if argv[0] == "train" else [])], capsys, match)


@pytest.mark.parametrize("flag", ["--out", "--markdown"])
def test_compare_output_checked_before_the_run(flag: str, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    target = str(blocker / "sub" / ("x.md" if flag == "--markdown" else ""))
    argv = ["compare", "--quick", "--no-peers", "--no-sweeps", "--no-plot"]
    if flag == "--markdown":
        argv += ["--out", str(tmp_path / "out")]
    start = time.perf_counter()
    assert main([*argv, flag, target]) == 2
    err = capsys.readouterr()
    assert f"{flag}: cannot write to" in err.err
    assert "Results" not in err.out  # nothing was run
    assert time.perf_counter() - start < 2.0
    assert main([*argv, "--markdown", str(tmp_path)]) == 2
    assert "--markdown: " in capsys.readouterr().err


@pytest.mark.skipif(physical_memory() is None, reason="memory size unknown")
def test_a_huge_label_does_not_size_the_model(tmp_path: Path, capsys) -> None:
    """One label 2**31 - 1 makes 2**31 classes: refused before any allocation."""
    import numpy as np

    path = tmp_path / "labels.npz"
    np.savez(path, X_train=np.ones((6, 3)), y_train=np.array([0, 1, 2, 0, 1, 2**31 - 1]))
    usage_error(["train", "--dataset", f"npz:{path}", "--out", str(tmp_path)], capsys, "GiB")
