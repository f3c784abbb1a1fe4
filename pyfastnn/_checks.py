"""Argument validation shared by every public function.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError``
(wrong shape, value or layout) with the argument's name in the message.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from . import _native

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BACKENDS = ("loop", "vector", "native")


def check_backend(backend: str) -> str:
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    return backend


def check_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    if dtype is None:
        raise TypeError(f"{name}: expected 'float32' or 'float64', got None")
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as err:
        raise TypeError(f"{name}: expected 'float32' or 'float64', got {dtype!r}") from err
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected 'float32' or 'float64', got {dt}")
    return dt


def as_float_array(
    x: object,
    name: str,
    ndim: int,
    dtype: np.dtype | None = None,
    finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``x`` as a C-contiguous float array with ``ndim`` dimensions.

    An array that already has the layout and dtype is returned as is (no copy);
    otherwise it is converted with exactly one copy: real numeric data (float,
    integer, bool) is cast to ``dtype``, or, when ``dtype`` is None, float32 and
    float64 are kept and other real types become float64 (float16: float32).
    Misaligned memory (e.g. a view at an odd byte offset) is copied, so no kernel
    reads it; subclasses (``np.matrix``) become plain arrays (see :func:`base_array`).
    Complex, object and string data raise ``TypeError``. ``finite=True`` rejects
    NaN and infinity with ``ValueError``.
    """
    x = base_array(x, name)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected real numbers, got dtype {x.dtype}")
    if dtype is None:
        if x.dtype in FLOAT_DTYPES:
            dtype = x.dtype
        else:
            dtype = np.dtype(np.float32 if x.dtype == np.float16 else np.float64)
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {x.shape}")
    if not allow_empty and x.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {x.shape}")
    if x.dtype != dtype or not x.flags.c_contiguous or not x.flags.aligned:
        x = np.array(x, dtype=dtype, order="C")  # a new array is aligned
    if finite and not all_finite(x):
        raise ValueError(f"{name}: contains NaN or infinity")
    return x


def base_array(x: object, name: str) -> np.ndarray:
    """``x`` as a plain ``numpy.ndarray`` (no copy when it is one already).

    Subclasses are viewed as their base class, so results are plain arrays and
    the NumPy backends never meet a subclass's own operators (``np.matrix``).
    A masked array with masked entries raises ``ValueError`` (its hidden values
    would be used silently); without any, its data is taken.
    """
    if isinstance(x, np.ndarray):
        if type(x) is np.ndarray:
            return x
        if isinstance(x, np.ma.MaskedArray):
            if np.ma.getmask(x) is not np.ma.nomask and bool(np.ma.getmask(x).any()):
                raise ValueError(
                    f"{name}: a masked array with masked entries; fill them first "
                    f"({name}.filled(value)) or drop those rows"
                )
            return np.ma.getdata(x).view(np.ndarray)
        return x.view(np.ndarray)
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected a numeric array, got {type(x).__name__}")
    try:
        return np.asarray(x)
    except Exception as err:  # ragged lists and other unconvertible objects
        raise TypeError(f"{name}: cannot convert to an array ({err})") from err


# Elements per piece when checking a large array that the native check does
# not take (bounds the temporary boolean array to this many bytes).
_FINITE_CHUNK = 1 << 20


def all_finite(x: np.ndarray) -> bool:
    """Whether every element is finite, without a temporary as large as ``x``.

    C-contiguous, aligned float32/float64 arrays are read once by the native check
    (on all threads, GIL released); other arrays are tested in chunks with NumPy.
    """
    if x.dtype in FLOAT_DTYPES and x.flags.c_contiguous and x.flags.aligned:
        return bool(_native.all_finite(x))
    if x.size <= _FINITE_CHUNK or not x.flags.c_contiguous:
        return bool(np.isfinite(x).all())
    flat = x.reshape(-1)
    return all(
        bool(np.isfinite(flat[i : i + _FINITE_CHUNK]).all())
        for i in range(0, flat.size, _FINITE_CHUNK)
    )


def check_seed(seed: object, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer, got {seed!r}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"{name}: expected an integer in [0, 2**64), got {seed}")
    return int(seed)


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_real(value: object, name: str, minimum: float | None = None) -> float:
    if type(value) is float and (minimum is None or value >= minimum) and value - value == 0:
        return value  # fast path: a finite float in range
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an integer beyond the float range, e.g. 10**400
        raise ValueError(
            f"{name}: expected a finite number, got an integer beyond the float range"
        ) from None
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {v}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: expected a number >= {minimum}, got {v}")
    return v


def physical_memory() -> int | None:
    """Bytes of physical memory of the machine, or None where unknown."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def check_memory(nbytes: int, name: str, what: str) -> None:
    """Refuse, before allocating, ``nbytes`` that exceed the machine's physical memory.

    ``what`` says what would be allocated; the error names the argument ``name``.
    """
    total = physical_memory()
    if total is not None and nbytes > total:
        raise ValueError(
            f"{name}: {what} would need {nbytes / 2**30:.3g} GiB, more than the "
            f"{total / 2**30:.3g} GiB of memory of this machine"
        )
