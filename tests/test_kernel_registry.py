"""The kernel registry: one ISA choice reaches every kernel family, by name.

PYFASTNN_KERNEL (read at import, so tested in subprocesses) and set_kernel
choose the instruction set; kernel_info()["kernels"] reports, per dtype, the
kernels each family uses. The optimiser kernels are compiled once per ISA:
their training steps agree across ISAs to rounding and are the same bits on
any thread count within one ISA.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pyfastnn
from pyfastnn.optim import SGD, Adam, AdamW, RMSprop

FAMILIES = (
    "gemm",
    "simplex_maps",
    "simplex_products",
    "simplex_entmax",
    "softmax_exp",
    "optimizer",
    "activation",
)
ACCEPTED = "'auto', 'portable', 'avx2', 'avx512'"


def supported_isas() -> list[str]:
    info = pyfastnn.kernel_info()
    names = ["portable"]
    if info["cpu_supports_avx2_fma"]:
        names.append("avx2")
    if info["cpu_supports_avx512"]:
        names.append("avx512")
    return names


ISAS = supported_isas()


def expected_kernels(isa: str) -> dict[str, dict[str, str]]:
    """Every family runs the ISA chosen (the softmax exp: its own AVX2 and
    AVX-512 kernels, std::exp on the portable ISA)."""
    return {dtype: dict.fromkeys(FAMILIES, isa) for dtype in ("float32", "float64")}


@pytest.fixture
def restore_kernel():
    before = pyfastnn.kernel_info()["isa"]
    yield
    pyfastnn.set_kernel(before)


def in_subprocess(code: str, kernel: str | None) -> object:
    """Runs `code` (which prints one JSON value) with PYFASTNN_KERNEL = kernel;
    `found` holds the warnings about it that `import pyfastnn` gave. This
    folder is on the path (`code` may import this module)."""
    env = dict(os.environ)
    env.pop("PYFASTNN_KERNEL", None)
    if kernel is not None:
        env["PYFASTNN_KERNEL"] = kernel
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    program = (
        "import json, warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import pyfastnn\n"
        "found = [[w.category.__name__, str(w.message)] for w in caught\n"
        "         if 'PYFASTNN_KERNEL' in str(w.message)]\n"
        f"{code}\n"
    )
    run = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


INFO = "print(json.dumps({'info': pyfastnn.kernel_info(), 'warnings': found}))"


@pytest.mark.parametrize("isa", ISAS)
def test_environment_reaches_every_family(isa: str) -> None:
    result = in_subprocess(INFO, isa)
    assert result["warnings"] == []
    assert result["info"]["isa"] == isa
    assert result["info"]["kernels"] == expected_kernels(isa)


@pytest.mark.parametrize("isa", ISAS)
def test_set_kernel_reaches_every_family(isa: str, restore_kernel) -> None:
    pyfastnn.set_kernel(isa)
    info = pyfastnn.kernel_info()
    assert info["isa"] == isa
    assert info["kernels"] == expected_kernels(isa)


def test_auto_is_the_best_isa(restore_kernel) -> None:
    pyfastnn.set_kernel("auto")
    assert pyfastnn.kernel_info()["isa"] == ISAS[-1]
    result = in_subprocess(INFO, "auto")
    assert result["info"]["isa"] == ISAS[-1] and result["warnings"] == []


@pytest.mark.parametrize("value", ["bogus", "AVX2", ""])
def test_unknown_environment_value_warns_and_uses_the_automatic_choice(value: str) -> None:
    result = in_subprocess(INFO, value)
    assert result["info"]["isa"] == ISAS[-1]
    assert result["info"]["kernels"] == expected_kernels(ISAS[-1])
    [(category, message)] = result["warnings"]
    assert category == "RuntimeWarning"
    assert f"PYFASTNN_KERNEL='{value}'" in message and ACCEPTED in message


def test_former_name_avx2_fma_is_deprecated(restore_kernel) -> None:
    if "avx2" not in ISAS:
        pytest.skip("CPU without AVX2/FMA")
    with pytest.warns(DeprecationWarning, match="set_kernel\\('avx2'\\)"):
        pyfastnn.set_kernel("avx2_fma")
    assert pyfastnn.kernel_info()["isa"] == "avx2"
    result = in_subprocess(INFO, "avx2_fma")
    assert result["info"]["isa"] == "avx2"
    assert [c for c, _ in result["warnings"]] == ["DeprecationWarning"]


@pytest.mark.parametrize("name", ["sse9", "avx2_FMA", "Portable", " avx512", ""])
def test_bad_names_raise_naming_the_argument_and_the_accepted_values(
    name: str, restore_kernel
) -> None:
    before = pyfastnn.kernel_info()
    with pytest.raises(ValueError, match="isa: expected one of") as raised:
        pyfastnn.set_kernel(name)
    assert ACCEPTED in str(raised.value) and repr(name) in str(raised.value)
    assert pyfastnn.kernel_info() == before


def test_a_name_that_is_not_a_string_raises_type_error() -> None:
    with pytest.raises(TypeError, match="isa: expected a string"):
        pyfastnn.set_kernel(None)  # type: ignore[arg-type]


# ---- the optimiser kernels on every ISA ------------------------------------------

SIZES = [784, 256, 26]
OPTIMIZERS = {  # name: (optimiser, fit options)
    "sgd": (lambda: SGD(lr=0.01), {}),
    "momentum": (lambda: SGD(lr=0.01, momentum=0.9), {"l2": 1e-4}),
    "adam": (lambda: Adam(lr=1e-3), {"l2": 1e-4}),
    "nesterov": (lambda: SGD(lr=0.01, momentum=0.9, nesterov=True), {}),
    "adamw": (lambda: AdamW(lr=1e-3, weight_decay=0.1), {"l2": 1e-4}),
    # eps 1e-3: a float32 gradient near 0 whose sign an ISA rounds differently
    # moves its weight by ~lr at eps 1e-8 (g / sqrt(s) ~ sign(g) at first)
    "rmsprop": (lambda: RMSprop(lr=1e-3, eps=1e-3, momentum=0.5), {}),
    # clipping: the norm's sums of squares (sum_squares, deferred_sum_squares)
    "sgd-clipped": (lambda: SGD(lr=0.01), {"clip_norm": 0.5, "l1": 1e-5}),
}
# batch 1: each weight step is deferred into the next forward pass
# (update_rows_forward); batch 64: the step runs in the backward GEMM's
# epilogue (update_block).
BATCHES = {1: 48, 64: 256}


def train(dtype: str, batch: int, optimizer: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    n = BATCHES[batch]
    X = rng.random((n, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=n)
    make, options = OPTIMIZERS[optimizer]
    model = pyfastnn.MLP(SIZES, "relu", dtype=dtype, backend="native", seed=0)
    model.fit(X, y, epochs=2, batch_size=batch, optimizer=make(), train_metrics=False, **options)
    return model.params.copy()


def train_on(isa: str | None, threads: int, dtype: str, batch: int, optimizer: str) -> np.ndarray:
    """train() with the kernels of `isa` (None: the ones chosen) on `threads` threads."""
    before = (pyfastnn.kernel_info()["isa"], pyfastnn.get_num_threads())
    adaptive = pyfastnn.get_adaptive_threads()
    try:
        if isa is not None:
            pyfastnn.set_kernel(isa)
        pyfastnn.set_num_threads(threads)
        pyfastnn.set_adaptive_threads(False)
        return train(dtype, batch, optimizer)
    finally:
        pyfastnn.set_kernel(before[0])
        pyfastnn.set_num_threads(before[1])
        pyfastnn.set_adaptive_threads(adaptive)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimiser_steps_agree_across_isas_and_threads(dtype, batch, optimizer) -> None:
    results = {}
    for isa in ISAS:
        one, two = (train_on(isa, t, dtype, batch, optimizer) for t in (1, 2))
        assert one.tobytes() == two.tobytes(), f"{isa}: thread counts differ"
        results[isa] = one
    # Two epochs of steps, each rounded differently (FMA or not, other GEMM
    # tiles): the ISAs agree to a few hundred float32 roundings.
    rtol, atol = (2e-3, 2e-5) if dtype == "float32" else (1e-9, 1e-12)
    reference = results[ISAS[-1]]
    for isa, params in results.items():
        np.testing.assert_allclose(params, reference, rtol=rtol, atol=atol, err_msg=isa)


@pytest.mark.parametrize("isa", ISAS)
def test_environment_reaches_the_optimiser(isa: str) -> None:
    """A fit under PYFASTNN_KERNEL=isa gives the bits of set_kernel(isa)."""
    code = (
        "from test_kernel_registry import train_on\n"
        "print(json.dumps(train_on(None, 1, 'float32', 1, 'adam').tobytes().hex()))"
    )
    expected = train_on(isa, 1, "float32", 1, "adam")
    assert in_subprocess(code, isa) == expected.tobytes().hex()
