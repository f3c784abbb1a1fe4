"""bench/sklearn_dropin.py end to end at a tiny size: both sides run every step
of the script, the repeats alternate, and the report takes their medians."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _bench_scripts import load_bench_script

pytest.importorskip("sklearn")


def load_script():
    return load_bench_script("sklearn_dropin")


def test_two_repeats_report_medians_and_the_same_accuracies(tmp_path: Path) -> None:
    script = load_script()
    out = tmp_path / "dropin.json"
    md = tmp_path / "dropin.md"
    assert script.main(["--max-iter", "2", "--repeats", "2", "--json", str(out),
                        "--markdown", str(md)]) == 0  # fmt: skip
    doc = json.loads(out.read_text())
    assert doc["environment"]["repeats"] == 2
    results = doc["results"]
    assert set(results) == {"digits", "mnist5k"}
    for name, res in results.items():
        for side in ("sklearn", "pyfastnn"):
            steps = res[side]
            assert set(steps) == set(script.STEPS)
            for step, fig in steps.items():
                assert len(fig["seconds_all"]) == 2 and min(fig["seconds_all"]) > 0
                assert fig["seconds"] == pytest.approx(np.median(fig["seconds_all"]))
                # both sides are seeded: every repeat reaches the same accuracy
                assert fig["accuracy_all"] == [fig["accuracy"]] * 2, (name, side, step)
                assert 0.0 <= fig["accuracy"] <= 1.0
    text = md.read_text()
    assert "the median of 2 runs of the script per side" in text
    for step in script.STEPS:
        assert text.count(f"| {step} |") == 2  # one row per data set


def test_repeats_below_one_are_refused() -> None:
    with pytest.raises(SystemExit):
        load_script().main(["--repeats", "0"])
