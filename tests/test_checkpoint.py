"""Checkpoints: fit(resume=...) reaches the very weights of an uninterrupted run;
a checkpoint loads as a plain model; wrong, mismatched and hostile checkpoints
are refused with a ValueError that says why."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, SGD, Adam, LogisticRegression, Perceptron
from pyfastnn.schedules import CosineWarmup, ReduceOnPlateau

BACKENDS = ("loop", "vector", "native")


def problem(n: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


X, Y = problem()
XV, YV = problem(24, seed=1)


def net(backend: str = "native", dtype: str = "float64", seed: int = 2) -> MLP:
    return MLP([4, 7, 3], "tanh", dtype=dtype, backend=backend, seed=seed)


class Crash(RuntimeError):
    pass


def crash_at(epoch: int):
    def crash(model, record):
        if record.epoch == epoch:
            raise Crash

    return crash


def figures(history) -> list[tuple]:
    """Everything in the History but the wall times."""
    return [
        (e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.lr)
        for e in history.epochs
    ] + [(history.best_epoch, history.stopped_early, history.stop_reason)]


def interrupted_then_resumed(make, path: Path, epochs: int, crash: int, every: int, **options):
    """Train with checkpoints until a crash after epoch ``crash``, then resume
    in a fresh model (other initial weights) from the last checkpoint."""
    with pytest.raises(Crash):
        make().fit(
            X, Y, epochs=epochs, checkpoint=path, checkpoint_every=every,
            callbacks=[crash_at(crash)], **options,
        )  # fmt: skip
    resumed = make(seed=99)
    history = resumed.fit(
        X, Y, epochs=epochs, checkpoint=path, checkpoint_every=every, resume=path, **options
    )
    return resumed, history


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "optimizer", [Adam(lr=0.02), SGD(lr=0.05, momentum=0.9)], ids=["adam", "momentum"]
)
def test_resume_reaches_the_uninterrupted_weights_bit_for_bit(
    backend: str, dtype: str, optimizer, tmp_path: Path
) -> None:
    options = dict(
        batch_size=7,  # a partial last minibatch
        optimizer=optimizer,
        dropout=0.25,
        X_val=XV,
        y_val=YV,
        patience=3,
        seed=11,
        lr_schedule=CosineWarmup(12, warmup_epochs=2),
    )
    make = lambda seed=2: net(backend, dtype, seed)  # noqa: E731
    whole = make()
    expected = whole.fit(X, Y, epochs=12, **options)
    resumed, history = interrupted_then_resumed(
        make, tmp_path / "run.npz", epochs=12, crash=5, every=2, **options
    )
    np.testing.assert_array_equal(resumed.params, whole.params)
    assert figures(history) == figures(expected)
    # and without the best-epoch restore: the last weights agree too
    last = make()
    last.fit(X, Y, epochs=12, restore_best=False, **options)
    again = make(seed=5)
    again.fit(X, Y, epochs=12, restore_best=False, resume=tmp_path / "run.npz", **options)
    np.testing.assert_array_equal(again.params, last.params)


def test_resume_carries_a_stateful_schedule_and_extends_a_run(tmp_path: Path) -> None:
    options = dict(
        batch_size=16,
        optimizer=SGD(lr=0.5),
        lr_schedule=ReduceOnPlateau(patience=1, factor=0.5, threshold=0.2),
        seed=3,
    )
    whole = net()
    expected = whole.fit(X, Y, epochs=14, **options)
    assert len(set(expected.lr)) > 1  # the plateau rule cut the rate
    path = tmp_path / "run.npz"
    net().fit(X, Y, epochs=6, checkpoint=path, checkpoint_every=4, **options)  # the last too
    resumed = net(seed=7)
    history = resumed.fit(X, Y, epochs=14, resume=path, **options)
    np.testing.assert_array_equal(resumed.params, whole.params)
    assert figures(history) == figures(expected)


def test_resume_of_a_finished_run_trains_nothing(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    model = net()
    history = model.fit(X, Y, epochs=3, checkpoint=path, checkpoint_every=10)
    again = net(seed=8)
    back = again.fit(X, Y, epochs=3, resume=path)
    np.testing.assert_array_equal(again.params, model.params)
    assert figures(back) == figures(history)


@pytest.mark.parametrize("cls", [LogisticRegression, Perceptron])
def test_a_checkpoint_loads_as_the_model(cls, tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    model = cls(4, 3, dtype="float64", init="glorot_uniform", seed=1)
    model.fit(X, Y, epochs=3, optimizer="adam", X_val=XV, y_val=YV, checkpoint=path)
    members = zipfile.ZipFile(path).namelist()
    assert {"opt_m.npy", "opt_v.npy", "best_params.npy", "history.npy"} <= set(members)
    back = pyfastnn.load(path)
    assert type(back) is cls
    # the weights of the last epoch (the checkpoint is written before the restore)
    last = cls(4, 3, dtype="float64", init="glorot_uniform", seed=1)
    last.fit(X, Y, epochs=3, optimizer="adam")
    np.testing.assert_array_equal(back.params, last.params)


# ---- refused ------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ck") / "run.npz"
    net().fit(X, Y, epochs=3, optimizer="adam", X_val=XV, y_val=YV, checkpoint=path)
    return path


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_members(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def meta_of(members: dict[str, bytes]) -> dict:
    return json.loads(str(np.load(io.BytesIO(members["meta.npy"]))))


def with_meta(members: dict[str, bytes], meta: dict) -> dict[str, bytes]:
    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(meta)))
    return {**members, "meta.npy": buf.getvalue()}


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def resume(path: Path, model: MLP | None = None, **options) -> None:
    options = {"optimizer": "adam", "X_val": XV, "y_val": YV, **options}
    (model or net()).fit(X, Y, epochs=5, resume=path, **options)


def test_resume_needs_a_checkpoint(tmp_path: Path, checkpoint_file: Path) -> None:
    plain = tmp_path / "plain.npz"
    net().save(plain)
    with pytest.raises(ValueError, match="resume: .* not a checkpoint"):
        resume(plain)
    with pytest.raises(ValueError, match="resume: checkpoints are .npz"):
        resume(tmp_path / "run.safetensors")
    with pytest.raises(ValueError, match="checkpoint: checkpoints are .npz"):
        net().fit(X, Y, epochs=1, checkpoint=tmp_path / "run.safetensors")
    with pytest.raises(TypeError, match="resume"):
        net().fit(X, Y, epochs=1, resume=3)
    with pytest.raises(FileNotFoundError):
        resume(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match="not a valid pyfastnn model file"):
        resume(text)
    model = net()
    resume(checkpoint_file, model)  # the fixture itself is fine


@pytest.mark.parametrize(
    "model, match",
    [
        (MLP([4, 8, 3], "tanh", dtype="float64"), "layer_sizes"),
        (MLP([4, 7, 3], "relu", dtype="float64"), "activation"),
        (MLP([4, 7, 3], "tanh", dtype="float32"), "dtype"),
        (MLP([4, 7, 3], "tanh", "sparsemax", dtype="float64"), "output"),
    ],
)
def test_resume_refuses_another_model(model, match, checkpoint_file: Path) -> None:
    before = model.params.copy()
    with pytest.raises(ValueError, match=f"different model.*{match}"):
        resume(checkpoint_file, model)
    np.testing.assert_array_equal(model.params, before)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(optimizer="sgd"), "optimiser state|optimizer"),
        (dict(optimizer=Adam(lr=0.002)), "optimizer"),
        (dict(batch_size=16), "batch_size"),
        (dict(l2=1e-3), "l2"),
        (dict(dropout=0.1), "dropout"),
        (dict(seed=1), "seed"),
        (dict(shuffle=False), "shuffle"),
        (dict(patience=2), "patience"),
        (dict(lr_schedule="cosine"), "lr_schedule"),
        (dict(lr_schedule="plateau"), "schedule"),
        (dict(X_val=None, y_val=None), "validation"),
    ],
)
def test_resume_refuses_other_settings(options, match, checkpoint_file: Path) -> None:
    with pytest.raises(ValueError, match=f"resume: .*{match}"):
        resume(checkpoint_file, **options)


def test_resume_refuses_other_data(checkpoint_file: Path) -> None:
    with pytest.raises(ValueError, match="n_samples"):
        net().fit(X[:40], Y[:40], epochs=5, optimizer="adam", X_val=XV, y_val=YV,
                  resume=checkpoint_file)  # fmt: skip


def hostile_cases():
    """(name, change of the members) -> a checkpoint resume must refuse."""

    def meta_change(key, value):
        def change(m):
            meta = meta_of(m)
            meta["checkpoint"][key] = value
            return with_meta(m, meta)

        return change

    def drop(name):
        return lambda m: {k: v for k, v in m.items() if k != name}

    def replace(name, array):
        return lambda m: {**m, name: npy(array)}

    n = 4 * 7 + 7 + 7 * 3 + 3
    return [
        ("epoch negative", meta_change("epoch", -1), "epoch"),
        ("epoch huge", meta_change("epoch", 10**12), "epoch"),
        ("epoch text", meta_change("epoch", "3"), "epoch"),
        ("steps float", meta_change("steps", 2.5), "steps"),
        ("best_epoch beyond", meta_change("best_epoch", 9), "best_epoch"),
        ("rng garbage", meta_change("rng", {"bit_generator": "MT19937"}), "rng"),
        (
            "rng huge",
            meta_change(
                "rng",
                {
                    "bit_generator": "PCG64",
                    "state": {"state": 2**200, "inc": 1},
                    "has_uint32": 0,
                    "uinteger": 0,
                },
            ),
            "rng",
        ),  # fmt: skip
        ("schedule state text", meta_change("schedule_state", {"x": "y"}), "schedule"),
        ("best score huge", meta_change("best_score", 10**400), "best_score"),
        ("columns", meta_change("history_columns", ["a"] * 3), "history_columns"),
        ("version", meta_change("version", 7), "version-1"),
        ("no config", meta_change("config", None), "config"),
        ("stopped text", meta_change("stopped_early", "no"), "stopped_early"),
        ("best score nan", meta_change("best_score", "NaN"), "best_score"),
        ("missing opt", drop("opt_v.npy"), "members|opt"),
        ("missing history", drop("history.npy"), "members|history"),
        ("missing best", drop("best_params.npy"), "best_params"),
        ("opt wrong shape", replace("opt_m.npy", np.zeros(n + 1)), "optimiser state m"),
        ("opt wrong dtype", replace("opt_m.npy", np.zeros(n, np.float32)), "optimiser state m"),
        ("opt nan", replace("opt_v.npy", np.full(n, np.nan)), "NaN"),
        ("best inf", replace("best_params.npy", np.full(n, np.inf)), "NaN or infinity"),
        ("history shape", replace("history.npy", np.zeros((4, 7))), "history"),
        ("history object", replace("history.npy", np.array([None, 1], dtype=object)), "history"),
    ]


@pytest.mark.parametrize("change, match", [c[1:] for c in hostile_cases()],
                         ids=[c[0] for c in hostile_cases()])  # fmt: skip
def test_resume_refuses_damaged_checkpoints(change, match, checkpoint_file, tmp_path) -> None:
    path = write_members(tmp_path / "bad.npz", change(members_of(checkpoint_file)))
    model = net()
    before = model.params.copy()
    with pytest.raises(ValueError, match=match):
        resume(path, model)
    np.testing.assert_array_equal(model.params, before)  # nothing was loaded


def test_model_readers_accept_checkpoint_members_only_in_checkpoints(
    checkpoint_file: Path, tmp_path: Path
) -> None:
    members = members_of(checkpoint_file)
    meta = meta_of(members)
    assert tuple(pyfastnn.load(checkpoint_file).layer_sizes) == (4, 7, 3)
    # the same arrays beside a plain description: refused
    del meta["checkpoint"]
    plain = write_members(tmp_path / "plain.npz", with_meta(members, meta))
    with pytest.raises(ValueError, match="checkpoints only"):
        pyfastnn.load(plain)
    # names outside the checkpoint's: refused, in a checkpoint too
    for name in ("extra.npy", "opt_../x.npy", "opt_M.npy", "params.npy.npy"):
        odd = write_members(tmp_path / "odd.npz", {**members, name: npy(np.zeros(1))})
        with pytest.raises(ValueError, match="expected exactly the members"):
            pyfastnn.load(odd)
    many = {**members, **{f"opt_k{i}.npy": npy(np.zeros(1)) for i in range(20)}}
    with pytest.raises(ValueError, match="expected exactly the members"):
        pyfastnn.load(write_members(tmp_path / "many.npz", many))


@pytest.mark.parametrize(
    "member, shape, dtype",
    [("history.npy", (10**6, 7), "<f8"), ("opt_m.npy", (4 * 7 + 7 + 7 * 3 + 3,), "<f8"),
     ("opt_v.npy", (10**9,), "<f8"), ("best_params.npy", (10**9,), "<f8")],
)  # fmt: skip
def test_a_lying_member_header_costs_nothing(
    member: str, shape: tuple, dtype: str, checkpoint_file: Path, tmp_path: Path
) -> None:
    """A member whose header claims values the archive does not hold: refused by
    the header check, quickly and without allocating what it claims."""
    members = members_of(checkpoint_file)
    if member == "history.npy":  # an epoch count that fits the claimed history
        meta = meta_of(members)
        meta["checkpoint"]["epoch"] = shape[0]
        members = with_meta(members, meta)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    path = write_members(tmp_path / "lying.npz", {**members, member: header.getvalue()})
    assert tuple(pyfastnn.load(path).layer_sizes) == (4, 7, 3)  # a model reader never looks
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=f"{member}|{member[:-4]}|optimiser state"):
            resume(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 1 << 20, f"peak {peak} bytes"


def test_checkpoint_arguments_are_checked_first(tmp_path: Path) -> None:
    model = net()
    with pytest.raises(ValueError, match="checkpoint_every"):
        model.fit(X, Y, epochs=1, checkpoint=tmp_path / "c.npz", checkpoint_every=0)
    with pytest.raises(TypeError, match="checkpoint"):
        model.fit(X, Y, epochs=1, checkpoint=5)
    assert not (tmp_path / "c.npz").exists()


def test_checkpoints_are_written_every_n_epochs_and_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "run.npz"
    written = []

    def look(model, record):
        if path.exists():
            written.append(json.loads(str(np.load(path)["meta"]))["checkpoint"]["epoch"])

    net().fit(X, Y, epochs=7, checkpoint=path, checkpoint_every=3, callbacks=[look])
    # a callback runs before the epoch's checkpoint: it sees the one before
    assert written == [3, 3, 3, 6]
    meta = json.loads(str(np.load(path)["meta"]))
    assert meta["checkpoint"]["epoch"] == 7
    assert not list(tmp_path.glob(".tmp-*"))  # no temporary files left


def test_a_schedule_state_beyond_the_float_range_is_refused(tmp_path: Path) -> None:
    from pyfastnn.schedules import InvScaling

    path = tmp_path / "run.npz"
    net().fit(X, Y, epochs=2, lr_schedule=InvScaling(), checkpoint=path)
    members = members_of(path)
    meta = meta_of(members)
    assert meta["checkpoint"]["schedule_state"] == {"t": 2 * len(X)}
    meta["checkpoint"]["schedule_state"]["t"] = 10**400
    bad = write_members(tmp_path / "bad.npz", with_meta(members, meta))
    with pytest.raises(ValueError, match="schedule_state"):
        net().fit(X, Y, epochs=3, lr_schedule=InvScaling(), resume=bad)
