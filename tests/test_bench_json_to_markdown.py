"""bench/json_to_markdown.py on a small synthetic pytest-benchmark document."""

from __future__ import annotations

import json
from pathlib import Path

from _bench_scripts import load_bench_script


def load_script():
    return load_bench_script("json_to_markdown")


def bench(group: str | None, name: str, median: float, **params: object) -> dict:
    return {"group": group, "name": name, "params": params, "stats": {"median": median}}


DOC = {
    "benchmarks": [
        bench("matmul 64", "test_matmul[vector]", 4e-6, backend="vector"),
        bench("matmul 64", "test_matmul[native-t1]", 3e-6, backend="native-t1"),
        bench("matmul 64", "test_matmul[native-t2]", 2e-6, backend="native-t2"),
        bench("sparsemax (8, 10)", "test_map[entmax]", 0.5e-3, who="entmax"),
        bench("sparsemax (8, 10)", "test_map[loop]", 2.5, who="loop"),
        bench(None, "test_loss_and_grad_torch[64]", 0.02, batch=64),
    ]
}


def test_table_rows_and_ratios() -> None:
    lines = load_script().to_markdown(DOC).splitlines()
    assert lines[0] == "| group | name | median | vs fastest | vs native |"
    assert lines[2:] == [
        "| matmul 64 | native-t2 | 2 us | 1.00x | 1.00x |",
        "| matmul 64 | native-t1 | 3 us | 1.50x | 1.50x |",
        "| matmul 64 | vector | 4 us | 2.00x | 2.00x |",
        "| sparsemax (8, 10) | entmax | 500 us | 1.00x | - |",
        "| sparsemax (8, 10) | loop | 2.5 s | 5000.00x | - |",
        "| (no group) | test_loss_and_grad_torch[64] | 20 ms | 1.00x | - |",
    ]


def test_command_line_writes_file(tmp_path: Path) -> None:
    src, dst = tmp_path / "bench.json", tmp_path / "bench.md"
    src.write_text(json.dumps(DOC))
    module = load_script()
    assert module.main([str(src), "-o", str(dst)]) == 0
    assert dst.read_text() == module.to_markdown(DOC)
