"""Arrays in, batches out: how fit/evaluate/predict walk through NumPy data.

Inputs stay as the user gave them (no full-size copy: the tutorial's float64 x_train is
376 MB); each batch is gathered and cast to float32 once. Structures: one array, a list or
tuple of arrays (several inputs/outputs), or a dict of them.
"""
from __future__ import annotations

import math

import numpy as np

from tomei import config
from tomei.engine import device
from tomei.engine.tensor import Tensor


def to_arrays(data, argument: str):
    """Converts ``data`` (array, Tensor, list/tuple/dict of them) to NumPy, checking values.

    Raises:
        ValueError: NaN or infinite values, naming ``argument`` and the first position.
        TypeError: something that is not array-like.
    """
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: to_arrays(v, f"{argument}[{k!r}]") for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and _is_array_like(data[0]) and \
            np.ndim(data[0]) > 0 and not _is_ragged_numbers(data):
        return [to_arrays(v, f"{argument}[{i}]") for i, v in enumerate(data)]
    arr = data.value if isinstance(data, Tensor) else data
    if device.is_device_array(arr):  # already on the GPU: checked there, left there
        if arr.dtype.kind == "f" and not bool(np.isfinite(arr).all()):
            to_arrays(device.to_host(arr), argument)  # raises, naming the first bad value
        return arr
    arr = np.asarray(arr)
    if arr.dtype == object:
        raise TypeError(f"{argument} must be numeric array-like; received an array of Python "
                        f"objects (dtype=object) built from {type(data).__name__}.")
    # One NaN or inf makes the sum NaN or inf: a cheap pass with no temporary array. Only
    # then (or when huge values overflow the sum) is the exact, slower check needed.
    if arr.dtype.kind == "f" and not np.isfinite(np.add.reduce(arr, axis=None, dtype=np.float64)):
        finite = np.isfinite(arr)
        if not finite.all():
            where = np.unravel_index(int(np.argmin(finite)), arr.shape)
            raise ValueError(f"{argument} contains NaN or infinite values (first at index "
                             f"{tuple(int(i) for i in where)}: {arr[where]}). Replace or remove "
                             f"them first (e.g. np.nan_to_num, or drop those rows): tomei does "
                             f"not compute on NaN.")
    return arr


def _is_array_like(x):
    return isinstance(x, (np.ndarray, Tensor, list, tuple))


def _is_ragged_numbers(data):
    """True for a plain nested list of numbers (one array), False for a list of arrays."""
    return all(isinstance(v, (list, tuple)) for v in data) and not any(
        isinstance(v, (np.ndarray, Tensor)) for v in data)


def value_range(data, sample_rows=1024):
    """(min, max) of a single numeric array, estimated from up to ``sample_rows`` evenly
    spaced rows (cheap even for 60,000 images); None for lists, dicts or empty arrays."""
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiu" or len(data) == 0:
        return None
    rows = data[:: max(1, len(data) // sample_rows)]
    return float(rows.min()), float(rows.max())


def flat(data):
    if data is None:
        return []
    if isinstance(data, dict):
        return [data[k] for k in sorted(data)]
    if isinstance(data, list):
        return data
    return [data]


def num_samples(*structures) -> int:
    """The common first-axis length; ValueError naming the sizes when they disagree."""
    sizes = {}
    for name, data in structures:
        for arr in flat(data):
            sizes.setdefault(name, set()).add(len(arr))
    every = set().union(*sizes.values()) if sizes else set()
    if len(every) > 1:
        detail = ", ".join(f"{name}: {sorted(s)}" for name, s in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous: all arrays must have the same number "
                         f"of samples; received sizes {detail}.")
    if not every:
        raise ValueError("No data: pass x (and y) as NumPy arrays.")
    n = every.pop()
    if n == 0:
        raise ValueError(f"Expected at least one sample; received {structures[0][0]} with 0 "
                         f"samples (an empty array).")
    return n


def take(data, index):
    """Rows ``index`` (slice or int array) of every array; floats become float32."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: take(v, index) for k, v in data.items()}
    if isinstance(data, list):
        return [take(v, index) for v in data]
    if isinstance(index, np.ndarray) and device.is_device_array(data):
        index = device.like(index, data)  # gather on the GPU
    batch = data[index]
    if batch.dtype.kind == "f" and batch.dtype != config.floatx_dtype():
        batch = batch.astype(config.floatx_dtype())
    return batch


#: Data is moved to the GPU whole only when it takes at most this share of the free memory.
GPU_DATA_SHARE = 0.5


def to_device(structure):
    """Every array of ``structure`` (nested lists/tuples/dicts) moved to the GPU once, floats
    as float32, so that each batch is gathered there. Returned unchanged when it would take
    more than :data:`GPU_DATA_SHARE` of the GPU's free memory (then each batch is copied
    over as it is used)."""
    arrays = []
    _map(structure, lambda a: arrays.append(a) if isinstance(a, np.ndarray) else None)
    size = sum(a.size * min(a.itemsize, 4) for a in arrays)
    if size > GPU_DATA_SHARE * device.free_memory():
        return structure
    return _map(structure, _to_gpu)


def _to_gpu(a):
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.kind == "f" and a.dtype != config.floatx_dtype():
        a = a.astype(config.floatx_dtype())
    return device.to_device(a, "gpu")


def _map(structure, fn):
    if isinstance(structure, dict):
        return {k: _map(v, fn) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(v, fn) for v in structure)
    return fn(structure)


def split_validation(x, y, sample_weight, fraction):
    """Keras's validation_split: the LAST floor(N * fraction) samples, before shuffling."""
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"validation_split must be a fraction between 0 and 1 (e.g. 0.2); "
                         f"received validation_split={fraction!r}.")
    n = num_samples(("x", x), ("y", y))
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={fraction} leaves an empty training or validation "
                         f"set for {n} samples.")
    front, back = slice(0, split_at), slice(split_at, n)
    return ((_rows(x, front), _rows(y, front), _rows(sample_weight, front)),
            (_rows(x, back), _rows(y, back), _rows(sample_weight, back)))


def _rows(data, index):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: v[index] for k, v in data.items()}
    if isinstance(data, list):
        return [v[index] for v in data]
    return data[index]


def batches(n: int, batch_size: int, shuffle=False, rng=None):
    """Yields index objects for each batch: slices in order, or int arrays when shuffled."""
    if shuffle:
        order = (rng or config.rng()).permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
    else:
        for start in range(0, n, batch_size):
            yield slice(start, min(start + batch_size, n))
