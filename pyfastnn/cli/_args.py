"""argparse value types and helpers shared by the subcommands.

Each type raises ``argparse.ArgumentTypeError``, so a bad value ends in
argparse's usage message and exit status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def thread_count(text: str) -> int:
    """A thread count in [1, MAX_THREADS] (what ``set_num_threads`` accepts)."""
    from .._native import MAX_THREADS

    value = positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_THREADS} threads, got {value}")
    return value


def nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def above_one(text: str) -> float:
    """A finite number > 1 (alpha of alpha-entmax)."""
    value = _float(text)
    if not value > 1:
        raise argparse.ArgumentTypeError(f"expected a number > 1, got {text!r}")
    return value


def boolean(text: str) -> bool:
    """true/false (also yes/no, on/off, 1/0; any case)."""
    value = {"true": True, "yes": True, "on": True, "1": True}.get(text.strip().lower())
    if value is None and text.strip().lower() in ("false", "no", "off", "0"):
        value = False
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def class_weight(text: str) -> str | None:
    """A class weighting: balanced, or none (no class weights: None)."""
    if text not in ("balanced", "none"):
        raise argparse.ArgumentTypeError(f"expected balanced or none, got {text!r}")
    return None if text == "none" else text


def fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), got {text!r}")
    return value


def choice(options: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(options)}, got {text!r}")
        return text

    parse.__name__ = "choice"
    return parse


def listof(item: Callable[[str], T]) -> Callable[[str], list[T]]:
    """A comma-separated list of ``item`` values: "32,64,128"."""

    def parse(text: str) -> list[T]:
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        return [item(p) for p in parts]

    parse.__name__ = f"list of {getattr(item, '__name__', 'values')}"
    return parse


def key_value(text: str) -> tuple[str, Any]:
    """KEY=VALUE; the value is read as an int, a float, true/false, or left a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    value: Any = raw
    for convert in (int, float):
        try:
            value = convert(raw)
            break
        except ValueError:
            pass
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    return key.strip(), value


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        default="digits",
        help="dataset for pyfastnn.data.load_dataset: digits, mnist5k, circles, moons, "
        "idx:<directory> or npz:<path> (default: digits)",
    )
    group.add_argument(
        "--data-option",
        metavar="KEY=VALUE",
        type=key_value,
        action="append",
        default=[],
        help="an option of load_dataset (repeatable), e.g. --data-option seed=1",
    )


def progress_available() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def finite_float(text: str) -> float:
    """Any finite number."""
    return _float(text)
