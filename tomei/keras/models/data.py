"""Arrays in, batches out: how fit/evaluate/predict walk through NumPy data.

Inputs stay as the user gave them (no full-size copy: the tutorial's float64 x_train is
376 MB); each batch is gathered and cast to float32 once. Structures: one array, a list or
tuple of arrays (several inputs/outputs), or a dict of them.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from tomei import config
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
    arr = np.asarray(data.value if isinstance(data, Tensor) else data)
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
    batch = data[index]
    if batch.dtype.kind == "f" and batch.dtype != config.floatx_dtype():
        batch = batch.astype(config.floatx_dtype())
    return batch


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


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch as ``train_step`` receives it (Keras 3): ``x`` alone when there is no y
    (``(x,)`` when x is a list or tuple of inputs), ``(x, y)``, or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
    (a list is read as a tuple), with None for what is missing.

    Raises:
        ValueError: a tuple of more than three entries.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) > 3:
        raise ValueError(f"data must be x, (x,), (x, y) or (x, y, sample_weight); received a "
                         f"tuple of {len(data)} entries.")
    return tuple(data) + (None,) * (3 - len(data))


class EpochIterator:
    """Which rows each step of an epoch takes, as Keras 3 walks NumPy data.

    Args:
        n: number of samples.
        batch_size: rows per batch; None means ceil(n / steps_per_epoch) when
            steps_per_epoch is given, else 32 (Keras 3's array adapter).
        steps_per_epoch: batches per epoch; None means one pass over the data.
        steps_per_execution: batches per execution, i.e. per callback call (default 1).
        shuffle: a new random order for every pass over the data.
        call: "fit", "evaluate" or "predict", for the warning.

    ``epoch()`` yields ``(first step, last step, [index per batch])`` for each execution.
    With steps_per_epoch below the batches in the data, the next epoch continues the same
    pass where this one stopped; when a pass runs out before steps_per_epoch, the epoch ends
    early with a UserWarning and the next epoch starts a new pass (Keras 3's EpochIterator).
    """

    def __init__(self, n, batch_size=None, steps_per_epoch=None, steps_per_execution=1,
                 shuffle=False, call="fit"):
        if batch_size is None:
            batch_size = math.ceil(n / steps_per_epoch) if steps_per_epoch else 32
        self.n, self.batch_size, self.shuffle, self.call = n, batch_size, shuffle, call
        self.steps_per_epoch, self.steps_per_execution = steps_per_epoch, steps_per_execution
        self.batches_per_pass = math.ceil(n / batch_size)
        self._order = None  # the current pass: its row order (or None before/after it)
        self._done = 0  # batches of the current pass already taken

    @property
    def num_batches(self) -> int:
        """Batches in one epoch (what the progress bar counts to)."""
        return self.steps_per_epoch or self.batches_per_pass

    def _index(self, batch):
        start, stop = batch * self.batch_size, min((batch + 1) * self.batch_size, self.n)
        return slice(start, stop) if self._order is True else self._order[start:stop]

    def epoch(self):
        if self._order is None or self.steps_per_epoch is None:
            self._order = config.rng().permutation(self.n) if self.shuffle else True
            self._done = 0
        k = self.steps_per_execution
        for first in range(0, self.num_batches, k):
            indices = []
            for _ in range(k):
                if self._done == self.batches_per_pass:
                    break
                indices.append(self._index(self._done))
                self._done += 1
            if indices:
                yield first, first + k - 1, indices
            if self._done == self.batches_per_pass and first + len(indices) < self.num_batches:
                self._warn_ran_out(first + len(indices))
                break
        if self._done == self.batches_per_pass:
            self._order = None

    def _warn_ran_out(self, steps_done):
        warnings.warn(
            f"{self.call}() ran out of data: "
            f"{'steps_per_epoch' if self.call == 'fit' else 'steps'}={self.steps_per_epoch} asks for "
            f"{self.steps_per_epoch} batches per epoch, but the {self.n} samples make "
            f"{self.batches_per_pass} batches of {self.batch_size}, so this epoch stopped "
            f"after {steps_done}. Pass fewer steps, or leave them out to use all the data "
            f"once per epoch.", UserWarning, stacklevel=4)
