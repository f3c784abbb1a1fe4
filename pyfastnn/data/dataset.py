"""``Splits``: the one container every loader returns.

Conventions (checked in ``__post_init__``):

- ``X_*`` are 2-D, shape (N, D): images are stored flattened row-major, and
  ``image_shape`` = (h, w) with h * w == D says how to fold them back.
- ``y_*`` are 1-D int64 class labels, shape (N,), with as many rows as ``X_*``.
- The training part is required; validation and test parts are optional but
  come in pairs (``X_val`` without ``y_val`` is an error).
- ``info``: where the data came from (files, split seed and fractions).
- ``label_offset``: the source's label for class ``k`` is ``k + label_offset``
  (1 for EMNIST letters remapped from 1..26 to 0..25, else 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

PARTS = ("train", "val", "test")


def _check_pair(X: object, y: object, part: str, required: bool) -> None:
    if X is None and y is None:
        if required:
            raise ValueError(f"X_{part}, y_{part}: the {part} part is required")
        return
    if X is None or y is None:
        missing = f"X_{part}" if X is None else f"y_{part}"
        raise ValueError(f"{missing}: missing while its partner is given")
    if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(f"X_{part}, y_{part}: expected NumPy arrays")
    if X.ndim != 2:
        raise ValueError(f"X_{part}: expected shape (N, D), got {X.shape}")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"X_{part}: expected real numbers, got dtype {X.dtype}")
    if y.ndim != 1 or y.dtype != np.int64:
        raise ValueError(f"y_{part}: expected int64 labels of shape (N,), got {y.dtype} {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X_{part}, y_{part}: {len(X)} rows in X but {len(y)} labels")
    if len(y) and y.min() < 0:
        raise ValueError(f"y_{part}: labels must be >= 0, found {int(y.min())}")


@dataclass(frozen=True, repr=False, eq=False)
class Splits:
    """Train / validation / test arrays of one data set, plus what they are.

    Shapes: ``X_train`` (N_train, D), ``y_train`` (N_train,) int64; likewise
    ``X_val``/``y_val`` and ``X_test``/``y_test`` when present (else None).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    name: str = ""
    image_shape: tuple[int, int] | None = None
    label_offset: int = 0
    info: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_pair(self.X_train, self.y_train, "train", required=True)
        _check_pair(self.X_val, self.y_val, "val", required=False)
        _check_pair(self.X_test, self.y_test, "test", required=False)
        widths = {X.shape[1] for X, _ in self._present()}
        if len(widths) != 1:
            raise ValueError(f"X_*: the parts have different numbers of features {sorted(widths)}")
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != self.n_features:
                raise ValueError(
                    f"image_shape: {self.image_shape} does not fold {self.n_features} features"
                )
            object.__setattr__(self, "image_shape", shape)

    def _present(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(X, y) for _, X, y in self.parts()]

    def parts(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(part, X, y)`` for the parts present, in train/val/test order."""
        for part in PARTS:
            X = getattr(self, f"X_{part}")
            if X is not None:
                yield part, X, getattr(self, f"y_{part}")

    @property
    def n_features(self) -> int:
        """D, the number of columns of every ``X_*``."""
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        """1 + the largest label in any part (labels are 0..K-1)."""
        return 1 + max(int(y.max()) for _, y in self._present() if len(y))

    def map_features(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        image_shape: tuple[int, int] | None = None,
        name: str | None = None,
    ) -> Splits:
        """Apply ``fn`` (N, D) -> (N, D') to every ``X_*``; labels are kept.

        ``image_shape`` is the new (h', w') (None: the result is not an image).
        """
        new = {f"X_{part}": fn(X) for part, X, _ in self.parts()}
        return replace(
            self,
            **new,
            image_shape=image_shape,
            name=self.name if name is None else name,
            info=dict(self.info),
        )

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{part}={X.shape[0]}x{X.shape[1]} {X.dtype}" for part, X, _ in self.parts()
        )
        image = f", image_shape={self.image_shape}" if self.image_shape else ""
        offset = f", label_offset={self.label_offset}" if self.label_offset else ""
        return f"Splits({self.name!r}: {sizes}, classes={self.n_classes}{image}{offset})"
