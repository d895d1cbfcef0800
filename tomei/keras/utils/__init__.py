"""Keras utilities: seeds, one-hot labels, the progress bar, file downloads, summaries."""
import random as _random

import numpy as np

from tomei import config
from tomei.keras.arguments import size_argument
from tomei.keras.utils.progbar import Progbar  # noqa: F401
from tomei.keras.utils.py_dataset import PyDataset  # noqa: F401
from tomei.keras.utils.text_dataset_utils import text_dataset_from_directory  # noqa: F401


def set_random_seed(seed: int):
    """Seeds Python's ``random``, NumPy's global generator and tomei's generator, so that
    initial weights, dropout masks and shuffling repeat exactly from run to run.

    Raises:
        ValueError: ``seed`` is not a non-negative integer.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer; received seed={seed!r}.")
    _random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    config.set_seed(int(seed))


def to_categorical(x, num_classes=None):
    """One-hot encodes integer labels: shape (N,) -> (N, num_classes) float32.

    Args:
        x: integer labels >= 0, any shape; a trailing axis of size 1 is dropped.
        num_classes: default max(x) + 1.

    Raises:
        ValueError: labels that are not numbers, a label outside [0, num_classes);
            num_classes that is not an int >= 1.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iufb":
        raise ValueError(f"to_categorical expects integer class labels 0, 1, 2, ...; received "
                         f"dtype {x.dtype}. Labels given as names must become indices first, "
                         f"e.g. with np.unique(labels, return_inverse=True).")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.dtype.kind == "f" and np.any(x != np.round(x)):
        raise ValueError("to_categorical expects integer class labels; received fractional values.")
    x = x.astype(np.int64)
    num_classes = int(x.max()) + 1 if num_classes is None else \
        size_argument(num_classes, "num_classes", "to_categorical()", none_ok=False, minimum=1)
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}); received values "
                         f"from {x.min()} to {x.max()}.")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def get_file(*args, **kwargs):
    """Downloads a file into the Keras cache, verified; see ``file_utils.get_file``."""
    from tomei.keras.utils.file_utils import get_file as _get_file
    return _get_file(*args, **kwargs)
from tomei.keras.utils.model_visualization import plot_model  # noqa: F401,E402
