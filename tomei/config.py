"""Global settings: the default float type and the random generator behind every seed."""
import numpy as np

_FLOATX = np.dtype("float32")
_FLOATX_NAME = "float32"  # kept as a string too: dtype.name is slow to compute
_rng = np.random.default_rng()


def floatx() -> str:
    """The default float type, ``'float32'`` (as ``keras.backend.floatx()``)."""
    return _FLOATX_NAME


def floatx_dtype() -> np.dtype:
    """The default float type as a NumPy dtype."""
    return _FLOATX


def set_floatx(value: str):
    """Sets the default float type: one of 'float16', 'float32', 'float64'."""
    global _FLOATX, _FLOATX_NAME
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx: expected 'float16', 'float32' or 'float64'; "
                         f"received floatx={value!r}.")
    _FLOATX, _FLOATX_NAME = np.dtype(value), value


def rng() -> np.random.Generator:
    """The generator used by initializers, dropout and shuffling when no seed is given."""
    return _rng


def set_seed(seed: int):
    """Re-seeds tomei's generator (``tomei.keras.utils.set_random_seed`` also seeds Python and NumPy)."""
    global _rng
    _rng = np.random.default_rng(seed)
