"""Python's tables of names come from the extension, and its stub lists what it has."""

from __future__ import annotations

import ast
from pathlib import Path

import pyfastnn
from pyfastnn import _native, _spec
from pyfastnn.backends import simplex_native


def test_every_activation_name_maps_to_the_native_code() -> None:
    assert set(_spec.ACTIVATIONS) == set(_native.ACTIVATIONS)
    for name, (code, _) in _spec.ACTIVATIONS.items():
        assert code == _native.ACTIVATIONS[name]
    assert sorted(_native.ACTIVATIONS.values()) == list(range(len(_native.ACTIVATIONS)))


def test_every_output_and_loss_name_maps_to_the_native_code() -> None:
    assert set(_spec.OUTPUTS) == set(_native.OUTPUTS)
    for name, (code, losses) in _spec.OUTPUTS.items():
        assert code == _native.OUTPUTS[name]
        assert losses and all(loss in _spec.LOSSES for loss in losses)
    assert set(_native.LOSSES.values()) <= set(_spec.LOSSES.values())
    for name, code in _native.LOSSES.items():
        if name != "natural":
            assert _spec.LOSSES[name] == code
    assert _spec.MAX_PARAMS == _native.MAX_PARAMS == 2**48


def test_every_sparse_map_name_maps_to_the_native_code() -> None:
    assert simplex_native.MAP_CODES == _native.SPARSE_MAPS
    assert set(_native.SPARSE_MAPS) == {"softmax", "sparsemax", "relumax"}
    assert _native.SPARSEMAX_LOSS not in _native.SPARSE_MAPS.values()


def test_every_name_builds_a_native_network() -> None:
    for activation in _spec.ACTIVATIONS:
        for output, (_, losses) in _spec.OUTPUTS.items():
            for loss in losses:
                model = pyfastnn.MLP([3, 4, 2], activation, output, loss=loss, dtype="float64")
                assert model.forward([[0.1, 0.2, 0.3]]).shape == (1, 2)


def test_the_stub_names_what_the_extension_has() -> None:
    stub = Path(pyfastnn.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    public = {n for n in names if not n.startswith("_") and n != "Array"}
    assert public == {n for n in dir(_native) if not n.startswith("_")}
