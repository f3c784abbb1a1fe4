"""The command line: the README's main job runs and reports agreement."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pyfastnn
from pyfastnn.__main__ import main
from pyfastnn.demo import run_demo


def test_demo_backends_agree(capsys) -> None:
    results = run_demo(batch=4, dtype="float64", repeats=2)
    out = capsys.readouterr().out
    assert set(results) == {"loop", "vector", "native"}
    ref = results["loop"]
    for backend in ("vector", "native"):
        assert abs(results[backend]["loss"] - ref["loss"]) < 1e-10
        assert abs(results[backend]["grad"] - ref["grad"]).max() < 1e-10
        assert results[backend]["seconds"] > 0
        assert backend in out


def test_main_demo_command(capsys) -> None:
    threads = pyfastnn.get_num_threads()
    try:
        assert main(["demo", "--batch", "2", "--repeats", "1", "--threads", "1"]) == 0
    finally:
        pyfastnn.set_num_threads(threads)
    assert "native" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["demo", "--batch", "0"], ["demo", "--threads", "0"], ["nope"]])
def test_main_rejects_bad_arguments(args) -> None:
    with pytest.raises(SystemExit) as err:
        main(args)
    assert err.value.code == 2


def test_console_script_help() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pyfastnn", "demo", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0
    assert "--batch" in run.stdout and "--threads" in run.stdout
