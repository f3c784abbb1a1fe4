"""Model files are written whole or not at all: a write that fails half way
leaves the previous file as it was (and no temporary file behind)."""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _files


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"model{suffix}"
    old = pyfastnn.MLP([3, 4, 2], seed=1)
    old.save(path)
    before = path.read_bytes()

    real = _files.os.fsync

    def fail_after_writing(fd: int) -> None:  # the data is written, then the disk "fails"
        real(fd)
        raise OSError("disk full")

    monkeypatch.setattr(_files.os, "fsync", fail_after_writing)
    with pytest.raises(OSError, match="disk full"):
        pyfastnn.MLP([3, 4, 2], seed=2).save(path)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    np.testing.assert_array_equal(pyfastnn.load(path).params, old.params)
