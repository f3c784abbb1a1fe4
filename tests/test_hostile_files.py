"""Hostile model files and IDX files: each is refused with ValueError quickly,
without allocating or inflating what the file merely claims."""

from __future__ import annotations

import gzip
import io
import json
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP
from pyfastnn.data import load_idx

META = {
    "format": "pyfastnn.mlp",
    "version": 1,
    "model": "mlp",
    "layer_sizes": [3, 2],
    "activation": "relu",
    "activation_param": 0.0,
    "output": "softmax",
    "loss": "cross_entropy",
    "relumax_b": 1.0,
    "eps": 1e-3,
    "dtype": "float32",
}


def npy(header_shape: tuple[int, ...], dtype: str, data: bytes) -> bytes:
    """A .npy member whose header declares ``header_shape`` and whose data are ``data``."""
    buf = io.BytesIO()
    d = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": header_shape}
    np.lib.format.write_array_header_1_0(buf, d)
    return buf.getvalue() + data


def meta_npy(meta: object) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(meta)))
    return buf.getvalue()


def model_zip(path: Path, members: list[tuple[str, bytes]], deflate: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            with pytest.warns(UserWarning) if zf.NameToInfo.get(name) else _nothing():
                zf.writestr(name, data)
    return path


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def refused_cheaply(path: Path, match: str, max_bytes: int = 1 << 20) -> None:
    """load(path) raises ValueError matching ``match`` in < 1 s, allocating < max_bytes."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=match):
            pyfastnn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < max_bytes, f"peak {peak} bytes"


def test_good_file_still_loads(tmp_path: Path) -> None:
    model = MLP([3, 4, 2], dtype="float64", seed=3)
    model.save(tmp_path / "m.npz")
    back = pyfastnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.params, model.params)
    # the same members written by hand (deflated) load too
    path = model_zip(
        tmp_path / "hand.npz",
        [("meta.npy", meta_npy(META)), ("params.npy", npy((8,), "<f4", bytes(32)))],
        deflate=True,
    )
    assert np.array_equal(pyfastnn.load(path).params, np.zeros(8, np.float32))


def test_inflating_params_member_is_not_read(tmp_path: Path) -> None:
    """A deflated params member of 32 MB (claimed by its header) next to a
    description of 8 parameters: refused from the header, nothing inflated."""
    n = 8 << 20
    path = model_zip(
        tmp_path / "bomb.npz",
        [("meta.npy", meta_npy(META)), ("params.npy", npy((n,), "<f4", bytes(4 * n)))],
        deflate=True,
    )
    assert path.stat().st_size < 100_000
    refused_cheaply(path, "expected float32 \\(8,\\)")


def test_description_of_a_huge_model_with_tiny_params(tmp_path: Path) -> None:
    """[8000, 8000] claimed by a file holding 8 values: no model is built."""
    for sizes, match in (
        ([8000, 8000], "expected float32 \\(64008000,\\)"),
        ([10**6, 10**6, 10**6], "GiB|parameters"),
    ):
        path = model_zip(
            tmp_path / "big.npz",
            [
                ("meta.npy", meta_npy({**META, "layer_sizes": sizes})),
                ("params.npy", npy((8,), "<f4", bytes(32))),
            ],
        )
        refused_cheaply(path, match)


def test_params_header_lying_about_its_size(tmp_path: Path) -> None:
    """Header and description agree on 8 values, the member holds 4 or 40."""
    for data in (bytes(16), bytes(160)):
        path = model_zip(
            tmp_path / "lie.npz",
            [("meta.npy", meta_npy(META)), ("params.npy", npy((8,), "<f4", data))],
        )
        refused_cheaply(path, "declares 32 data bytes")


@pytest.mark.parametrize("depth", [2000, 100_000])
def test_deeply_nested_description(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    buf = io.BytesIO()
    np.save(buf, np.array(nested))
    path = model_zip(
        tmp_path / "nested.npz",
        [("meta.npy", buf.getvalue()), ("params.npy", npy((8,), "<f4", bytes(32)))],
    )
    refused_cheaply(path, "JSON|at most", max_bytes=4 << 20)


def test_members_that_are_not_npy_or_not_the_right_ones(tmp_path: Path) -> None:
    good_params = ("params.npy", npy((8,), "<f4", bytes(32)))
    cases = {
        "garbage_params": [("meta.npy", meta_npy(META)), ("params.npy", b"PK\x03\x04 not npy")],
        "garbage_meta": [("meta.npy", b"{}"), good_params],
        "meta_not_string": [("meta.npy", npy((2,), "<f8", bytes(16))), good_params],
        "extra_member": [("meta.npy", meta_npy(META)), good_params, ("evil.py", b"x")],
        "duplicate_params": [
            ("meta.npy", meta_npy(META)),
            good_params,
            ("params.npy", npy((8,), "<f4", np.ones(8, np.float32).tobytes())),
        ],
        "object_params": [
            ("meta.npy", meta_npy(META)),
            ("params.npy", npy((8,), "|O", bytes(64))),
        ],
        "not_a_dict": [("meta.npy", meta_npy([1, 2])), good_params],
    }
    for name, members in cases.items():
        path = model_zip(tmp_path / f"{name}.npz", members)
        refused_cheaply(path, "not a valid pyfastnn model file|parameters have")


@pytest.mark.parametrize(
    "field",
    [
        {"layer_sizes": [3, True]},
        {"layer_sizes": "[3, 2]"},
        {"layer_sizes": [3, 2.0]},
        {"dtype": "int8"},
        {"model": ["mlp"]},
    ],
)
def test_description_fields_are_checked_before_params(tmp_path: Path, field: dict) -> None:
    path = model_zip(
        tmp_path / "bad.npz",
        [("meta.npy", meta_npy({**META, **field})), ("params.npy", npy((8,), "<f4", bytes(32)))],
    )
    refused_cheaply(path, "path:")


def test_save_and_load_take_paths_not_descriptors(tmp_path: Path) -> None:
    model = MLP([3, 2])
    for bad in (5, 5.0, None, True):
        with pytest.raises(TypeError, match="path"):
            pyfastnn.save(model, bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="path"):
            model.save(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="path"):
            pyfastnn.load(bad)  # type: ignore[arg-type]


# ---- IDX -------------------------------------------------------------------------------


def test_idx_gzip_bomb_is_not_inflated(tmp_path: Path) -> None:
    """A gzip whose header declares 10 bytes, followed by 64 MB of zeros
    (~64 KB compressed): refused after reading ~1 MB, not 64 MB."""
    header = struct.pack(">BBBBI", 0, 0, 0x08, 1, 10)
    body = header + bytes(10) + bytes(64 << 20)
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(body, compresslevel=1))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="at least .* trailing bytes"):
            load_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 8 << 20, peak


def test_idx_gzip_declaring_more_than_it_holds(tmp_path: Path) -> None:
    header = struct.pack(">BBBB3I", 0, 0, 0x0E, 3, 2**31, 2**31, 2**31)
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(ValueError, match="truncated data.*file has 100"):
        load_idx(path)


# ---- .npz data sets ----------------------------------------------------------------------


def test_npz_dataset_headers_are_checked_before_reading(tmp_path: Path) -> None:
    from pyfastnn.data import load_npz_splits

    y = io.BytesIO()
    np.save(y, np.array([0, 1, 0, 1]))
    for shape, match in (
        ((10**6, 10**6), "declares 8000000000000 bytes"),
        ((4, 3), "declares 96 bytes"),
    ):
        path = model_zip(
            tmp_path / "data.npz",
            [("X_train.npy", npy(shape, "<f8", bytes(64))), ("y_train.npy", y.getvalue())],
        )
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match=match):
                load_npz_splits(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20
    good_X = npy((4, 3), "<f8", bytes(96))
    path = model_zip(
        tmp_path / "twice.npz",
        [("X_train.npy", good_X), ("y_train.npy", y.getvalue()), ("X_train.npy", good_X)],
    )
    with pytest.raises(ValueError, match="name twice"):
        load_npz_splits(path)
