"""Model files in the safetensors format, written and read without the package.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
unsigned header length ``n``, ``n`` bytes of JSON header, then the tensors'
raw bytes. The header maps each tensor name to ``{"dtype": "F32" | "F64" |
..., "shape": [...], "data_offsets": [begin, end]}`` (offsets into the byte
buffer after the header, the tensors packed back to back without holes) and
may hold ``"__metadata__"``: a map of strings to strings.

A pyfastnn model file holds ``weights.<l>`` (sizes[l], sizes[l+1]) and
``biases.<l>`` (sizes[l+1],) for every layer l, little-endian, in the model's
dtype, and its JSON description (the same fields as the .npz files) under the
metadata key ``"pyfastnn"``; ``safetensors.numpy.load_file`` and
``safetensors.torch.load_file`` read it as they read any other file.

Reading trusts nothing: the header length is checked against the file's size
before the header is read, the header's JSON is checked key by key, each
tensor's byte count must equal what its dtype and shape declare, the tensors
must tile the data exactly (no overlap, gap or byte past the end), and only
then are the bytes read. Every error is a ``ValueError`` naming ``path``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_file

FORMAT = "pyfastnn.mlp"  # the same description as the .npz model files
VERSION = 1
METADATA_KEY = "pyfastnn"
SUFFIX = ".safetensors"

# safetensors dtype name <-> NumPy dtype (only what models hold)
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_NAMES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}
# the reference implementation refuses headers above 100 MB; ours hold a few
# hundred bytes per layer, so 16 MiB is already far more than any model needs
MAX_HEADER_BYTES = 16 << 20
_ALIGN = 8  # data start aligned like the reference writer's


def write(
    path: str | Path, meta: dict[str, Any], weights: list[np.ndarray], biases: list[np.ndarray]
) -> None:
    """Write a model file: ``weights[l]`` (in, out) and ``biases[l]`` (out,)
    as tensors and ``meta`` (format and version added) as header metadata."""
    meta = {"format": FORMAT, "version": VERSION, **meta}
    tensors: list[tuple[str, np.ndarray]] = []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        tensors += [(f"weights.{layer}", W), (f"biases.{layer}", b)]
    header: dict[str, Any] = {"__metadata__": {METADATA_KEY: json.dumps(meta)}}
    offset = 0
    for name, array in tensors:
        header[name] = {
            "dtype": _NAMES[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % _ALIGN)
    with atomic_file(path) as fh:  # whole or not at all
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for _, array in tensors:
            fh.write(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())


def read(path: str | Path) -> tuple[dict[str, Any], np.ndarray]:
    """(description, flat parameters W_0, b_0, W_1, b_1, ...) of a model file
    written by :func:`write`; the layer sizes of the tensors must match the
    description's ``layer_sizes``. Errors are ``ValueError`` naming ``path``."""
    try:
        fh = open(path, "rb")  # closed by the with block below
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"path: {path} is not a readable model file ({err})") from err
    with fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        header, data_start = _read_header(fh, size, path)
        meta = _description(header.pop("__metadata__", None), path)
        entries = _check_entries(header, size - data_start, path)
        order = _layer_order(entries, meta, path)
        params = np.empty(
            sum(int(np.prod(entries[n][1])) for n in order), dtype=entries[order[0]][0]
        )
        at = 0
        for name in order:  # tensors are read in file order into the flat vector
            dtype, shape, (begin, end) = entries[name]
            fh.seek(data_start + begin)
            raw = fh.read(end - begin)
            if len(raw) != end - begin:
                raise ValueError(f"path: {path} ends inside tensor {name!r}")
            count = (end - begin) // dtype.itemsize
            params[at : at + count] = np.frombuffer(raw, dtype=dtype)
            at += count
    return meta, params


def _read_header(fh: Any, size: int, path: object) -> tuple[dict[str, Any], int]:
    """The header's JSON object and the offset where the data start."""
    if size < 8:
        raise ValueError(f"path: {path} is not a safetensors file (only {size} bytes)")
    (length,) = struct.unpack("<Q", fh.read(8))
    if length > min(size - 8, MAX_HEADER_BYTES):
        raise ValueError(
            f"path: {path} declares a header of {length} bytes; the file has {size} bytes "
            f"(at most {MAX_HEADER_BYTES} allowed)"
        )
    raw = fh.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                            parse_constant=_no_constant)  # fmt: skip
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"path: {path} has an unreadable safetensors header ({err})") from err
    except _DuplicateKey as err:
        raise ValueError(f"path: {path} has the key {err} twice in its header") from err
    if not isinstance(header, dict):
        raise ValueError(f"path: {path} has a header that is not a JSON object")
    return header, 8 + length


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(repr(key))
        out[key] = value
    return out


def _no_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _description(metadata: object, path: object) -> dict[str, Any]:
    if not isinstance(metadata, dict) or not isinstance(metadata.get(METADATA_KEY), str):
        raise ValueError(f"path: {path} is a safetensors file without a pyfastnn model description")
    try:
        meta = json.loads(metadata[METADATA_KEY], parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"path: {path} has an unreadable model description ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"path: {path} is not a pyfastnn model file")
    if meta.get("version") != VERSION:
        raise ValueError(f"path: unsupported model file version {meta.get('version')!r}")
    return meta


Entry = tuple[np.dtype, tuple[int, ...], tuple[int, int]]


def _check_entries(header: dict[str, Any], data_bytes: int, path: object) -> dict[str, Entry]:
    """Tensor name -> (dtype, shape, offsets), each checked; the offsets must
    tile [0, data_bytes) exactly."""
    entries: dict[str, Entry] = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"path: {path}: tensor {name!r} lacks dtype/shape/data_offsets")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        if dtype is None:
            raise ValueError(
                f"path: {path}: tensor {name!r} has dtype {entry['dtype']!r}, expected F32 or F64"
            )
        shape, offsets = entry["shape"], entry["data_offsets"]
        if not _int_list(shape) or len(shape) > 2:
            raise ValueError(f"path: {path}: tensor {name!r} has an invalid shape {shape!r}")
        if not _int_list(offsets) or len(offsets) != 2 or not 0 <= offsets[0] <= offsets[1]:
            raise ValueError(f"path: {path}: tensor {name!r} has invalid data_offsets {offsets!r}")
        count = 1
        for extent in shape:  # Python ints: no overflow; bounded by the file below
            count *= extent
        if count * dtype.itemsize != offsets[1] - offsets[0]:
            raise ValueError(
                f"path: {path}: tensor {name!r} of shape {shape} takes "
                f"{count * dtype.itemsize} bytes, its data_offsets span {offsets[1] - offsets[0]}"
            )
        entries[name] = (dtype, tuple(shape), (offsets[0], offsets[1]))
    end = 0
    for name, (_, _, (begin, stop)) in sorted(entries.items(), key=lambda item: item[1][2]):
        if begin != end:
            raise ValueError(
                f"path: {path}: tensor {name!r} starts at byte {begin}, expected {end} "
                "(tensors overlap or leave a gap)"
            )
        end = stop
    if end != data_bytes:
        raise ValueError(
            f"path: {path}: the tensors cover {end} bytes, the file holds {data_bytes} "
            "after its header"
        )
    return entries


def _int_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    )


def _layer_order(entries: dict[str, Entry], meta: dict[str, Any], path: object) -> list[str]:
    """weights.0, biases.0, weights.1, ...: checked against each other and
    against the description's ``layer_sizes``."""
    layers = len(entries) // 2
    expected = [f"{kind}.{layer}" for layer in range(layers) for kind in ("weights", "biases")]
    if layers == 0 or sorted(entries) != sorted(expected):
        raise ValueError(
            f"path: {path}: expected tensors weights.<l> and biases.<l> for l = 0, 1, ..., "
            f"got {sorted(entries)[:8]}"
        )
    dtypes = {entries[name][0] for name in expected}
    if len(dtypes) != 1:
        raise ValueError(f"path: {path}: tensors of mixed dtypes")
    sizes = [entries["weights.0"][1][0]] if len(entries["weights.0"][1]) == 2 else []
    for layer in range(layers):
        W, b = entries[f"weights.{layer}"][1], entries[f"biases.{layer}"][1]
        if len(W) != 2 or len(b) != 1 or W[1] != b[0] or W[0] != sizes[-1]:
            raise ValueError(
                f"path: {path}: layer {layer} has weights of shape {list(W)} and biases of "
                f"shape {list(b)}; they do not chain"
            )
        sizes.append(b[0])
    if meta.get("layer_sizes") != sizes:
        raise ValueError(
            f"path: {path}: the tensors give layer sizes {sizes}, the description "
            f"{meta.get('layer_sizes')!r}"
        )
    return expected
