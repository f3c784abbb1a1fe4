"""Training checkpoints: a model file that can also continue its training run.

``fit(checkpoint=path)`` writes, every few epochs, an ordinary model file
(:mod:`pyfastnn._model_file`; ``pyfastnn.load`` reads it as the model) whose
description carries a ``"checkpoint"`` field -- the epochs and optimiser
steps done, the shuffling generator's state, the schedule's state, the
best-epoch bookkeeping, the run's settings -- and whose archive adds the
arrays: the optimiser state (``opt_<key>.npy``, the arrays of
``optimizer.init_state``), the best epoch's parameters (``best_params.npy``,
with validation data) and the history (``history.npy``, one row per epoch,
float64, NaN for "none").

:func:`load` checks everything it reads -- each JSON field's type and range,
each array's header against the shape the model and the optimiser imply,
finite values -- so a damaged or hand-made file raises ``ValueError`` and
never costs more than its declared, bounded sizes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _model_file
from ._checks import all_finite
from ._safetensors import SUFFIX as SAFETENSORS_SUFFIX

#: Version of the ``"checkpoint"`` field's layout.
VERSION = 1
#: Epochs a checkpoint may record at most (bounds the history array).
MAX_EPOCHS = 1_000_000
#: Columns of the history array at most, and keys of a schedule's state.
MAX_COLUMNS = 32
_MAX_TEXT = 4096
_MAX_U128 = 2**128


@dataclass
class RunState:
    """Where a training run stands after ``epoch`` finished epochs."""

    epoch: int
    steps: int  # optimiser steps taken (EpochPlan.steps_before of the next epoch)
    rng_state: dict[str, Any]  # numpy.random.PCG64().state
    optimizer_state: dict[str, np.ndarray]  # optimizer.init_state's arrays, updated
    schedule_state: dict[str, Any]
    best_score: float | None  # None: no validation epoch scored yet
    best_epoch: int | None
    bad_epochs: int
    best_params: np.ndarray | None  # (n_params,) with validation data
    history: np.ndarray  # (epoch, len(history_columns)) float64, NaN = None
    history_columns: list[str]
    stopped_early: bool
    stop_reason: str | None
    config: dict[str, Any]  # the run's settings, compared when resuming


def check_path(path: object, name: str) -> str | os.PathLike[str]:
    """A checkpoint path: a file system path not ending in ".safetensors"."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), got {path!r}")
    if os.fspath(path).endswith(SAFETENSORS_SUFFIX):
        raise ValueError(f"{name}: checkpoints are .npz model files, got {path!r}")
    return path


def save(
    path: str | os.PathLike[str], description: dict[str, Any], params: np.ndarray, run: RunState
) -> None:
    """Write the model (``description``, ``params``) and ``run`` to ``path`` atomically."""
    field = {
        "version": VERSION,
        "epoch": run.epoch,
        "steps": run.steps,
        "rng": run.rng_state,
        "schedule_state": run.schedule_state,
        "best_score": run.best_score,
        "best_epoch": run.best_epoch,
        "bad_epochs": run.bad_epochs,
        "history_columns": run.history_columns,
        "stopped_early": run.stopped_early,
        "stop_reason": run.stop_reason,
        "config": run.config,
        "optimizer_keys": sorted(run.optimizer_state),
    }
    arrays = {f"opt_{k}": v for k, v in run.optimizer_state.items()}
    arrays["history"] = run.history
    if run.best_params is not None:
        arrays["best_params"] = run.best_params
    _model_file.write(path, {**description, "checkpoint": field}, params, arrays)


def load(
    path: str | os.PathLike[str],
    description: dict[str, Any],
    optimizer_template: dict[str, np.ndarray],
    schedule_template: dict[str, Any],
) -> tuple[np.ndarray, RunState]:
    """(parameters, run state) of the checkpoint at ``path`` for a model of
    ``description`` trained with an optimiser whose ``init_state`` gives
    ``optimizer_template`` and a schedule whose ``init_state`` gives
    ``schedule_template``; ``ValueError`` naming what does not fit."""
    path = check_path(path, "resume")
    with _model_file.ModelFile(path) as f:
        meta = f.meta
        ck = meta.get("checkpoint")
        if ck is None:
            raise ValueError(
                f"resume: {os.fspath(path)} is a model file without training state, not a "
                "checkpoint (fit(checkpoint=...) writes those)"
            )
        if not isinstance(ck, dict) or ck.get("version") != VERSION:
            raise _bad(path, "its checkpoint field is not a version-1 checkpoint")
        for key, want in description.items():
            if meta.get(key) != want:
                raise ValueError(
                    f"resume: the checkpoint {os.fspath(path)} holds a different model: its "
                    f"{key} is {meta.get(key)!r}, the model to train has {want!r}"
                )
        dtype = np.dtype(description["dtype"])
        n_params = int(
            sum(
                a * b + b
                for a, b in zip(description["layer_sizes"][:-1], description["layer_sizes"][1:])
            )
        )
        epoch = _int(ck, "epoch", path, 0, MAX_EPOCHS)
        steps = _int(ck, "steps", path, 0, 2**62)
        best_epoch = ck.get("best_epoch")
        if best_epoch is not None:
            best_epoch = _int(ck, "best_epoch", path, 1, max(epoch, 1))
        config = ck.get("config")
        if not isinstance(config, dict):
            raise _bad(path, "its run settings (config) are not a JSON object")
        columns = ck.get("history_columns")
        if (
            not isinstance(columns, list)
            or not 1 <= len(columns) <= MAX_COLUMNS
            or not all(isinstance(c, str) and len(c) <= 64 for c in columns)
            or len(set(columns)) != len(columns)
        ):
            raise _bad(path, "history_columns must be a list of distinct names")
        keys = ck.get("optimizer_keys")
        if keys != sorted(optimizer_template):
            raise ValueError(
                f"resume: the checkpoint holds the optimiser state {keys!r}, the optimiser "
                f"given keeps {sorted(optimizer_template)}: pass the optimiser of the "
                "checkpointed run"
            )
        members = {f"opt_{k}.npy" for k in keys} | {"history.npy"}
        has_best = "best_params.npy" in f.extra
        if set(f.extra) - {"best_params.npy"} != members:
            raise _bad(path, f"its members {f.extra} do not fit its optimiser state {keys}")
        run = RunState(
            epoch=epoch,
            steps=steps,
            rng_state=_rng_state(ck.get("rng"), path),
            optimizer_state={},
            schedule_state=_schedule_state(ck.get("schedule_state"), schedule_template, path),
            best_score=_optional_float(ck, "best_score", path),
            best_epoch=best_epoch,
            bad_epochs=_int(ck, "bad_epochs", path, 0, MAX_EPOCHS),
            best_params=None,
            history=f.array("history.npy", np.dtype(np.float64), (epoch, len(columns))),
            history_columns=list(columns),
            stopped_early=_bool(ck, "stopped_early", path),
            stop_reason=_optional_text(ck, "stop_reason", path),
            config=config,
        )
        for key, template in optimizer_template.items():
            arr = f.array(f"opt_{key}.npy", dtype, template.shape, what=f"optimiser state {key}")
            if not all_finite(arr):
                raise _bad(path, f"its optimiser state {key} holds NaN or infinity")
            run.optimizer_state[key] = arr
        if has_best:
            run.best_params = f.array("best_params.npy", dtype, (n_params,))
            if not all_finite(run.best_params):
                raise _bad(path, "its best_params hold NaN or infinity")
        params = f.params(dtype, n_params)
    return params, run


def _bad(path: object, what: str) -> ValueError:
    return ValueError(f"resume: {os.fspath(path)} is not a valid checkpoint: {what}")  # type: ignore[arg-type]


def _int(ck: dict, key: str, path: object, low: int, high: int) -> int:
    value = ck.get(key)
    if type(value) is not int or not low <= value <= high:
        raise _bad(path, f"{key} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _bool(ck: dict, key: str, path: object) -> bool:
    value = ck.get(key)
    if type(value) is not bool:
        raise _bad(path, f"{key} must be true or false, got {value!r}")
    return value


def _is_number(value: object) -> bool:
    """A finite JSON number (bool excluded; integers within int64)."""
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return type(value) is float and math.isfinite(value)


def _optional_float(ck: dict, key: str, path: object) -> float | None:
    value = ck.get(key)
    if value is None:
        return None
    if not _is_number(value):
        raise _bad(path, f"{key} must be a finite number or null, got {value!r:.40}")
    return float(value)


def _optional_text(ck: dict, key: str, path: object) -> str | None:
    value = ck.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > _MAX_TEXT):
        raise _bad(path, f"{key} must be a short text or null")
    return value


def _rng_state(value: object, path: object) -> dict[str, Any]:
    """numpy's PCG64 state, checked field by field."""
    ok = (
        isinstance(value, dict)
        and set(value) == {"bit_generator", "state", "has_uint32", "uinteger"}
        and value["bit_generator"] == "PCG64"
        and isinstance(value["state"], dict)
        and set(value["state"]) == {"state", "inc"}
        and all(type(v) is int and 0 <= v < _MAX_U128 for v in value["state"].values())
        and value["has_uint32"] in (0, 1)
        and type(value["has_uint32"]) is int
        and type(value["uinteger"]) is int
        and 0 <= value["uinteger"] < 2**32
    )
    if not ok:
        raise _bad(path, "rng must be the state of numpy's PCG64 generator")
    return value  # type: ignore[return-value]


def _schedule_state(value: object, template: dict[str, Any], path: object) -> dict[str, Any]:
    """A schedule's state: the keys of its ``init_state``, each a number or null."""
    if not isinstance(value, dict) or sorted(value) != sorted(template):
        raise ValueError(
            f"resume: the checkpoint's schedule state {value!r} does not fit the "
            f"schedule given (state keys {sorted(template)}): pass the run's lr_schedule"
        )
    for key, v in value.items():
        if v is not None and not _is_number(v):
            raise _bad(path, f"schedule_state[{key!r}] must be a finite number or null")
    return value
