"""Model files in safetensors format, and the .npz files of earlier versions.

Round trips of every model kind x activation x output x dtype; files readable
by the safetensors package itself (when installed); hostile files rejected
with a ValueError naming ``path`` before anything they declare is allocated.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _interop_helpers import DTYPES, MODEL_CASES, case_id, inputs, make_model, reference_forward

import pyfastnn
from pyfastnn import _safetensors

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MODEL_CASES, ids=case_id)
def test_round_trip(tmp_path, case, dtype):
    model = make_model(*case, dtype)
    path = tmp_path / "m.safetensors"
    pyfastnn.save(model, path)
    back = pyfastnn.load(path)
    assert type(back) is type(model)
    assert back.spec == model.spec
    assert np.array_equal(back.params, model.params)
    X = inputs(9, model.n_inputs, dtype)
    assert np.array_equal(back.forward(X), model.forward(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_file_layout_is_plain_safetensors(tmp_path, dtype):
    """Parsed by hand: header length, JSON, tensors back to back, metadata."""
    model = make_model("mlp", "leaky_relu", "relumax", dtype)
    path = tmp_path / "m.safetensors"
    model.save(path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")["pyfastnn"])
    assert meta["layer_sizes"] == list(model.layer_sizes)
    assert meta["activation_param"] == pytest.approx(0.2)
    data = raw[8 + n :]
    for layer, (W, b) in enumerate(zip(model.weights, model.biases)):
        for name, array in ((f"weights.{layer}", W), (f"biases.{layer}", b)):
            entry = header[name]
            assert entry["dtype"] == {"float32": "F32", "float64": "F64"}[dtype]
            assert entry["shape"] == list(array.shape)
            begin, end = entry["data_offsets"]
            got = np.frombuffer(data[begin:end], dtype="<" + array.dtype.str[1:])
            assert np.array_equal(got.reshape(array.shape), array)


def test_readable_by_safetensors_numpy(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open

    model = make_model("mlp", "tanh", "softmax", "float64")
    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors = st.load_file(str(path))
    assert sorted(tensors) == [
        "biases.0",
        "biases.1",
        "biases.2",
        "weights.0",
        "weights.1",
        "weights.2",
    ]
    for layer, W in enumerate(model.weights):
        assert np.array_equal(tensors[f"weights.{layer}"], W)
    with safe_open(str(path), "np") as fh:
        description = fh.metadata()["pyfastnn"]
    assert json.loads(description)["activation"] == "tanh"
    # and a file the package writes is read by ours
    other = tmp_path / "o.safetensors"
    st.save_file(tensors, str(other), metadata={"pyfastnn": description})
    back = pyfastnn.load(other)
    assert np.array_equal(back.params, model.params)


def test_readable_without_pyfastnn(tmp_path):
    """A fresh interpreter that cannot import pyfastnn reads the file."""
    pytest.importorskip("safetensors.numpy")
    model = make_model("mlp", "relu", "softmax", "float32")
    path = tmp_path / "m.safetensors"
    model.save(path)
    np.save(tmp_path / "w1.npy", model.weights[1])
    code = (
        "import sys, json, numpy as np; sys.modules['pyfastnn'] = None\n"
        "from safetensors.numpy import load_file\n"
        f"t = load_file({str(path)!r})\n"
        f"assert np.array_equal(t['weights.1'], np.load({str(tmp_path / 'w1.npy')!r}))\n"
        "print(sorted(t))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "weights.2" in done.stdout


def test_readable_by_safetensors_torch(tmp_path):
    pytest.importorskip("safetensors")
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    model = make_model("mlp", "relu", "sigmoid", "float32")
    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors = load_file(str(path))
    assert tensors["weights.1"].dtype == torch.float32
    assert np.array_equal(tensors["weights.1"].numpy(), model.weights[1])


# ---- the .npz files of version 1 (committed, written before safetensors) ----


def test_version_1_npz_files_still_load():
    expected = {
        "model_v1_mlp_float32.npz": (pyfastnn.MLP, (3, 4, 2), "leaky_relu", "relumax"),
        "model_v1_logistic_regression_float64.npz": (
            pyfastnn.LogisticRegression,
            (3, 3),
            "identity",
            "softmax",
        ),
        "model_v1_perceptron_float32.npz": (pyfastnn.Perceptron, (3, 3), "identity", "identity"),
    }
    for name, (kind, sizes, activation, output) in expected.items():
        model = pyfastnn.load(DATA / name)
        assert type(model) is kind and model.layer_sizes == sizes
        assert (model.activation, model.output) == (activation, output)
        with np.load(DATA / name, allow_pickle=False) as raw:
            assert np.array_equal(model.params, raw["params"])
        assert np.any(model.params != 0)
        X = inputs(6, sizes[0], model.dtype.name)
        tol = 1e-6 if model.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(model.forward(X), reference_forward(model, X), atol=tol)
    mlp = pyfastnn.load(DATA / "model_v1_mlp_float32.npz")
    assert mlp.activation_param == pytest.approx(0.1) and mlp.relumax_b == 0.75


# ---- hostile files -------------------------------------------------------------


def _file(path: Path, header: object, data: bytes = b"", length: int | None = None) -> Path:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def _good_header(meta: dict | None = None) -> tuple[dict, bytes]:
    model = pyfastnn.MLP([2, 1], "relu", "sigmoid", dtype="float64")
    desc = {
        "format": "pyfastnn.mlp",
        "version": 1,
        "model": "mlp",
        "layer_sizes": [2, 1],
        "activation": "relu",
        "activation_param": 0.0,
        "output": "sigmoid",
        "loss": "binary_cross_entropy",
        "relumax_b": 1.0,
        "eps": 1e-3,
        "dtype": "float64",
        **(meta or {}),
    }
    header = {
        "__metadata__": {"pyfastnn": json.dumps(desc)},
        "weights.0": {"dtype": "F64", "shape": [2, 1], "data_offsets": [0, 16]},
        "biases.0": {"dtype": "F64", "shape": [1], "data_offsets": [16, 24]},
    }
    return header, model.params.tobytes()


def test_hand_written_file_loads(tmp_path):
    header, data = _good_header()
    model = pyfastnn.load(_file(tmp_path / "ok.safetensors", header, data))
    assert model.layer_sizes == (2, 1)


_EMPTY_TENSOR = {"dtype": "F64", "shape": [0], "data_offsets": [24, 24]}


def _mutate(header: dict, name: str, key: str, value: object) -> dict:
    header = json.loads(json.dumps(header))
    header[name][key] = value
    return header


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda h, d: (b"", b"", 0), "unreadable"),
        (lambda h, d: (b"{}", d, 1 << 62), "declares a header of"),
        (lambda h, d: (b"[1, 2]", d, None), "not a JSON object"),
        (lambda h, d: (b'{"a": 1, "a": 2}', d, None), "twice"),
        (lambda h, d: (b"\xff\xfe", d, None), "unreadable"),
        (lambda h, d: (b"{" * 100000, d, None), "unreadable"),
        (lambda h, d: ({k: v for k, v in h.items() if k != "__metadata__"}, d, None), "without"),
        (lambda h, d: (h, d[:-8], None), "cover 24 bytes"),
        (lambda h, d: (h, d + b"\0" * 8, None), "cover 24 bytes"),
        (lambda h, d: (_mutate(h, "weights.0", "dtype", "I64"), d, None), "expected F32 or F64"),
        (lambda h, d: (_mutate(h, "weights.0", "shape", [2, -1]), d, None), "invalid shape"),
        (lambda h, d: (_mutate(h, "weights.0", "shape", [2, True]), d, None), "invalid shape"),
        (lambda h, d: (_mutate(h, "weights.0", "shape", [1 << 40, 1 << 40]), d, None), "takes"),
        (lambda h, d: (_mutate(h, "weights.0", "data_offsets", [16, 0]), d, None), "invalid"),
        (lambda h, d: (_mutate(h, "biases.0", "data_offsets", [8, 16]), d, None), "overlap"),
        (lambda h, d: (_mutate(h, "biases.0", "data_offsets", [24, 32]), d, None), "gap"),
        (lambda h, d: (_mutate(h, "biases.0", "shape", [2]), d, None), "takes"),
        (lambda h, d: (_mutate(h, "biases.0", "extra", 1), d, None), "lacks"),
        (
            lambda h, d: (
                {**h, "x": {"dtype": "F64", "shape": [0], "data_offsets": [24, 24]}},
                d,
                None,
            ),
            "expected tensors",
        ),
    ],
)
def test_hostile_header_is_rejected(tmp_path, build, message):
    header, data = _good_header()
    text, payload, length = build(header, data)
    path = _file(tmp_path / "bad.safetensors", text, payload, length)
    with pytest.raises(ValueError, match=message) as err:
        pyfastnn.load(path)
    assert "path" in str(err.value)


def test_short_file_is_rejected(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x05\0\0")
    with pytest.raises(ValueError, match="not a safetensors file"):
        pyfastnn.load(path)


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"format": "other"}, "not a pyfastnn model file"),
        ({"version": 99}, "unsupported model file version"),
        ({"layer_sizes": [2, 2]}, "layer sizes"),
        ({"dtype": "float32"}, "dtype"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_bad_description_is_rejected(tmp_path, meta, message):
    header, data = _good_header(meta)
    with pytest.raises(ValueError, match=message):
        pyfastnn.load(_file(tmp_path / "bad.safetensors", header, data))


def test_layers_that_do_not_chain_are_rejected(tmp_path):
    header, data = _good_header({"layer_sizes": [2, 1, 1]})
    header["weights.1"] = {"dtype": "F64", "shape": [2, 1], "data_offsets": [24, 40]}
    header["biases.1"] = {"dtype": "F64", "shape": [1], "data_offsets": [40, 48]}
    path = _file(tmp_path / "bad.safetensors", header, data + b"\0" * 24)
    with pytest.raises(ValueError, match="do not chain"):
        pyfastnn.load(path)


def test_nan_in_parameters_is_rejected(tmp_path):
    header, _ = _good_header()
    data = np.array([1.0, np.nan, 0.0]).tobytes()
    with pytest.raises(ValueError):
        pyfastnn.load(_file(tmp_path / "bad.safetensors", header, data))


def test_header_bound_is_checked_before_reading(tmp_path):
    """A header length beyond the bound is refused even when the file is that long."""
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", _safetensors.MAX_HEADER_BYTES + 1))
        fh.truncate(_safetensors.MAX_HEADER_BYTES + 64)  # sparse: nothing written
    with pytest.raises(ValueError, match="at most"):
        pyfastnn.load(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        pyfastnn.load(tmp_path / "absent.safetensors")
    folder = tmp_path / "dir.safetensors"
    folder.mkdir()
    with pytest.raises(ValueError, match="path"):
        pyfastnn.load(folder)
