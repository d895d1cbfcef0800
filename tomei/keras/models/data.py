"""Arrays in, batches out: how fit/evaluate/predict walk through NumPy data.

Inputs stay as the user gave them (no full-size copy: the tutorial's float64 x_train is
376 MB); each batch is gathered and cast to float32 once. Structures: one array, a list or
tuple of arrays (several inputs/outputs), or a dict of them. Data that arrives batch by
batch (a tf.data Dataset, a Python generator, a keras.utils.PyDataset) is a ``Stream``.
"""
from __future__ import annotations

import itertools
import math
import types
import warnings

import numpy as np

from tomei import config
from tomei.engine import device, fused
from tomei.engine.string_ops import as_strings
from tomei.engine.tensor import Tensor


def to_arrays(data, argument: str, text_ok: bool = False):
    """Converts ``data`` (array, Tensor, list/tuple/dict of them) to NumPy, checking values.

    ``text_ok=True`` (x of a model whose first layer reads strings, e.g. TextVectorization)
    lets strings through as a NumPy unicode array.

    Raises:
        ValueError: naming ``argument``: NaN or infinite values (and the first position),
            float64 values beyond float32's range, a single number (no batch axis), text,
            complex numbers, Python objects or other non-numeric data.
    """
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: to_arrays(v, f"{argument}[{k!r}]", text_ok) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and _is_array_like(data[0]) and \
            np.ndim(data[0]) > 0 and not _is_ragged_numbers(data):
        return [to_arrays(v, f"{argument}[{i}]", text_ok) for i, v in enumerate(data)]
    value = data.value if isinstance(data, Tensor) else data
    if device.is_device_array(value):  # already on the GPU: checked there, left there
        if value.dtype.kind == "f" and not bool(np.isfinite(value).all()):
            to_arrays(device.to_host(value), argument)  # raises, naming the first bad value
        return value
    try:
        arr = np.asarray(data.value if isinstance(data, Tensor) else data)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{argument} must be a rectangular numeric array; received "
                         f"{type(data).__name__} that NumPy cannot make one array of "
                         f"({err}).") from None
    if text_ok and (arr.dtype.kind in "US" or arr.dtype.kind == "O" and arr.size and
                    all(isinstance(v, (str, bytes)) for v in arr.ravel())):
        return as_strings(arr, argument)
    if arr.dtype.kind not in _NUMERIC:
        what = _KIND_NAMES.get(arr.dtype.kind, f"dtype {arr.dtype}")
        hint = "; labels given as text must first become class indices 0, 1, 2, ..." \
            if arr.dtype.kind in "US" else ""
        raise ValueError(f"{argument} must hold numbers (float, int or bool); received "
                         f"{what} (dtype={arr.dtype}) built from {type(data).__name__}. "
                         f"Convert it first, e.g. np.asarray(..., dtype='float32'){hint}.")
    if arr.ndim == 0:
        raise ValueError(f"{argument} must have a batch axis (shape (N, ...)); received a single "
                         f"number {arr.item()!r} (shape ()). Wrap it: np.array([[value]]).")
    if arr.dtype.kind == "f":
        _check_float_values(arr, argument)
    return arr


_NUMERIC = "fiub"
_KIND_NAMES = {"O": "Python objects", "U": "text (strings)", "S": "bytes strings",
               "c": "complex numbers", "M": "dates", "m": "time deltas", "V": "raw records"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_float_values(arr, argument):
    """NaN, inf, and (for wider floats) values float32 cannot hold are refused."""
    # One cheap pass with no temporary array decides whether the exact, slower check is
    # needed. float32 and narrower: one NaN or inf makes the sum NaN or inf. Wider floats:
    # the sum of squares is at least the largest square, so when it stays within
    # float32_max**2 every value fits float32 (values of opposite sign cannot cancel out).
    if arr.dtype.itemsize <= 4:
        if np.isfinite(np.add.reduce(arr, axis=None, dtype=np.float64)):
            return
    else:
        flat = arr.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            energy = np.dot(flat, flat)
        if np.isfinite(energy) and energy <= _FLOAT32_MAX ** 2:
            return
    finite = np.isfinite(arr)
    if not finite.all():
        where = np.unravel_index(int(np.argmin(finite)), arr.shape)
        raise ValueError(f"{argument} contains NaN or infinite values (first at index "
                         f"{tuple(int(i) for i in where)}: {arr[where]}). Replace or remove "
                         f"them first (e.g. np.nan_to_num, or drop those rows): tomei does "
                         f"not compute on NaN.")
    if arr.dtype.itemsize > 4:
        magnitude = np.abs(arr)
        if magnitude.max() > _FLOAT32_MAX:
            where = np.unravel_index(int(np.argmax(magnitude)), arr.shape)
            raise ValueError(f"{argument} holds values beyond float32's range (+-3.4e38), "
                             f"e.g. {arr[where]} at index {tuple(int(i) for i in where)}; "
                             f"tomei computes in float32, where they become inf and training "
                             f"turns to NaN. Rescale the data first (e.g. divide by its "
                             f"maximum).")


def to_weights(data, argument: str = "sample_weight"):
    """``sample_weight`` as NumPy: like :func:`to_arrays`, and every weight finite and >= 0.

    Raises:
        ValueError: negative weights (Keras would silently train to maximise the loss of
            those samples), plus everything :func:`to_arrays` refuses.
    """
    weights = to_arrays(data, argument)
    for arr in flat(weights):
        if arr.size and arr.min() < 0:
            where = np.unravel_index(int(np.argmin(arr)), arr.shape)
            raise ValueError(f"{argument} must be >= 0 (a weight of 0 ignores a sample); "
                             f"received {arr[where]} at index {tuple(int(i) for i in where)}.")
    return weights


def check_steps(steps, argument: str = "steps"):
    """``steps`` as an int, or None: a positive integer number of batches.

    Raises:
        ValueError: 0, negative, fractional or non-numeric steps.
    """
    if steps is None:
        return None
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{argument} must be a positive integer number of batches, or None "
                         f"for all the data; received {argument}={steps!r}.")
    return int(steps)


def _is_array_like(x):
    return isinstance(x, (np.ndarray, Tensor, list, tuple))


def _is_ragged_numbers(data):
    """True for a plain nested list of numbers (one array), False for a list of arrays."""
    return all(isinstance(v, (list, tuple)) for v in data) and not any(
        isinstance(v, (np.ndarray, Tensor)) for v in data)


def value_range(data, sample_rows=256):
    """(min, max) of a single numeric array, estimated from up to ``sample_rows`` evenly
    spaced rows (cheap even for 60,000 images); None for lists, dicts or empty arrays."""
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiu" or len(data) == 0:
        return None
    rows = data[:: max(1, len(data) // sample_rows)]
    return float(rows.min()), float(rows.max())


def flat(data):
    """The arrays of ``data`` as a list: [] for None, a dict's values by sorted key, a list as is, else [data]."""
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
    floatx = config.floatx_dtype()
    if data.dtype.kind == "f" and data.dtype != floatx and isinstance(index, np.ndarray):
        gathered = _gather_cast_fused(data, index, floatx)
        if gathered is not None:
            return gathered
    batch = data[index]
    if batch.dtype.kind == "f" and batch.dtype != floatx:
        batch = batch.astype(floatx)
    return batch


class RowBlocks:
    """Consecutive row blocks of ``data`` as :func:`take` gives them, for evaluate/predict.

    ``read(index)`` returns rows ``index`` (a slice). A single float array in another float
    type than floatx (the tutorial's float64 ``x_test / 255.0``) is cast into one float32
    buffer allocated once, for the first and largest block, and reused for every later
    block: a pass over 10,000 images holds 1024 x 784 x 4 bytes = 3.2 MB of float32 at any
    time, and never a float32 copy of the whole array (31 MB). So the array returned is
    overwritten by the next ``read``: use it (or copy what you keep) before reading again.
    Anything else (float32 data, integers, lists and dicts of arrays, GPU arrays) is read
    by :func:`take`, which returns a new array each time.
    """

    def __init__(self, data):
        floatx = config.floatx_dtype()
        self.data = data
        self.reuses = (isinstance(data, np.ndarray) and data.dtype.kind == "f"
                       and data.dtype != floatx and data.ndim >= 1)
        self.buffer = None

    def read(self, index):
        if not self.reuses or not isinstance(index, slice):
            return take(self.data, index)
        rows = self.data[index]
        if self.buffer is None or len(self.buffer) < len(rows):
            self.buffer = np.empty(rows.shape, config.floatx_dtype())
        out = self.buffer[:len(rows)]
        np.copyto(out, rows, casting="same_kind")
        return out


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


def _gather_cast_fused(data, index, floatx):
    """``data[index].astype(floatx)`` in one pass (tomei/engine/fused.py gather_rows), or
    None where the fused kernel is not loaded or does not apply (then ``take``'s two NumPy
    lines do it)."""
    k = fused.loaded(data)
    if k is None or index.ndim != 1 or index.dtype.kind not in "iu" or data.ndim < 2 or \
            data.dtype not in fused.FLOAT_TYPES or floatx not in fused.FLOAT_TYPES or \
            not data.flags.c_contiguous or data.size == 0 or index.size == 0:
        return None
    out = np.empty((len(index),) + data.shape[1:], floatx)
    rows = data.reshape(len(data), -1)
    if not k.gather_rows(rows, index.astype(np.intp, copy=False), out.reshape(len(index), -1)):
        return None
    return out


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
    """Which rows each batch of an epoch takes, as Keras 3 walks NumPy data.

    Args:
        n: number of samples.
        batch_size: rows per batch; None means ceil(n / steps_per_epoch) when
            steps_per_epoch is given, else 32 (Keras 3's array adapter).
        steps_per_epoch: batches per epoch; None means one pass over the data.
        shuffle: a new random order for every pass over the data.
        call: "fit", "evaluate" or "predict", for the warning.

    ``epoch()`` yields one index per batch (a slice, or an int array when shuffled). With
    steps_per_epoch below the batches in the data, the next epoch continues the same pass
    where this one stopped; when a pass runs out before steps_per_epoch, the epoch ends
    early with a UserWarning and the next epoch starts a new pass (Keras 3's
    keras/src/trainers/epoch_iterator.py). The trainer groups the batches into
    executions of compile's steps_per_execution.
    """

    def __init__(self, n, batch_size=None, steps_per_epoch=None, shuffle=False, call="fit"):
        if batch_size is None:
            batch_size = math.ceil(n / steps_per_epoch) if steps_per_epoch else 32
        self.n, self.batch_size, self.shuffle, self.call = n, batch_size, shuffle, call
        self.steps_per_epoch = steps_per_epoch
        self.batches_per_pass = math.ceil(n / batch_size)
        self._order = None  # the current pass: its row order (True: in order), None between
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
        for step in range(self.num_batches):
            if self._done == self.batches_per_pass:
                self._warn_ran_out(step)
                break
            yield self._index(self._done)
            self._done += 1
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


# --- streams: tf.data Datasets, Python generators and PyDatasets ----------------------------

def is_stream(x) -> bool:
    """True for data that arrives batch by batch: a ``tomei.data.Dataset``, a
    ``keras.utils.PyDataset``, or a Python generator/iterator."""
    from tomei.data import Dataset
    from tomei.keras.utils.py_dataset import PyDataset
    return isinstance(x, (Dataset, PyDataset, types.GeneratorType)) or (
        hasattr(x, "__next__") and hasattr(x, "__iter__") and not isinstance(x, np.ndarray))


def unpack_batch(batch, where):
    """(x, y, sample_weight) from one batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``
    (Keras's ``unpack_x_y_sample_weight``; a list counts as a tuple), each as NumPy with
    floats in floatx.

    Raises:
        ValueError: a tuple of more than 3 parts.
    """
    if isinstance(batch, (list, tuple)) and not 1 <= len(batch) <= 3:
        raise ValueError(f"Each batch from {where} must be x, (x,), (x, y) or (x, y, "
                         f"sample_weight); received a tuple of {len(batch)} parts.")
    parts = unpack_x_y_sample_weight(batch)
    names = ("x", "y", "sample_weight")
    return tuple(None if p is None else _text(p) if _is_text(p) else
                 take(to_arrays(p, f"{names[k]} from {where}"), slice(None))
                 for k, p in enumerate(parts))


def _is_text(part):
    """Strings pass through a stream untouched: a model whose first layer reads text (e.g.
    TextVectorization) takes them as they are."""
    kind = part.dtype.kind if isinstance(part, (np.ndarray, Tensor)) else None
    return kind in ("S", "U")


def _text(part):
    return part.value if isinstance(part, Tensor) else part


class Stream:
    """Batches of (x, y, sample_weight) from a Dataset, PyDataset or generator, with Keras 3's
    epoch rules (keras/src/trainers/epoch_iterator.py):

    - without ``steps_per_epoch`` an epoch is one full pass (a Dataset or PyDataset is
      iterated afresh each epoch; a generator can only be passed over once);
    - with ``steps_per_epoch`` the iterator carries over from one epoch to the next, so an
      infinite ``ds.repeat()`` keeps flowing; it restarts after a full pass of a dataset of
      known length; if the data runs out early, a warning says so and the epoch ends.
    - a PyDataset's batch order is shuffled each epoch when ``shuffle`` is True.
    """

    def __init__(self, data, where, steps_per_epoch=None, shuffle=False, weigh_classes=None):
        from tomei.data import Dataset
        from tomei.keras.utils.py_dataset import PyDataset
        self.data, self.where = data, where
        self.steps_per_epoch = int(steps_per_epoch) if steps_per_epoch else None
        self.weigh_classes = weigh_classes  # (y, sample_weight) -> weights, for class_weight
        self._shuffle = shuffle
        if isinstance(data, Dataset):
            card = int(data.cardinality())
            self.num_batches = card if card >= 0 else None
        elif isinstance(data, PyDataset):
            self.num_batches = data.num_batches
        else:
            self.num_batches = None
        self._iterator, self._seen = None, 0
        self.ran_out = False

    def _fresh(self):
        from tomei.data import Dataset
        from tomei.keras.utils.py_dataset import PyDataset
        if isinstance(self.data, Dataset):
            return self.data.as_numpy_iterator()
        if isinstance(self.data, PyDataset):
            return self._py_dataset_batches()
        return iter(self.data)

    def _py_dataset_batches(self):
        n = self.num_batches
        if n is None:
            return (self.data[i] for i in itertools.count())
        order = config.rng().permutation(n) if self._shuffle else range(n)
        return (self.data[int(i)] for i in order)

    @property
    def steps(self):
        """Batches per epoch as far as known: steps_per_epoch, else the data's length, else None."""
        return self.steps_per_epoch or self.num_batches

    def epoch(self):
        """Yields this epoch's (x, y, sample_weight) batches."""
        from tomei.keras.utils.py_dataset import PyDataset
        if isinstance(self.data, PyDataset):
            self.data.on_epoch_begin()
        if self.steps_per_epoch is None or self._iterator is None:
            self._iterator, self._seen = self._fresh(), 0
        produced = 0
        while self.steps_per_epoch is None or produced < self.steps_per_epoch:
            try:
                batch = next(self._iterator)
            except StopIteration:
                if self.steps_per_epoch is not None or produced == 0:
                    self._ran_out()
                break
            produced += 1
            self._seen += 1
            x, y, w = unpack_batch(batch, self.where)
            if self.weigh_classes is not None:
                w = self.weigh_classes(y, w)
            yield x, y, w
        if self.num_batches and self._seen >= self.num_batches:
            self._iterator = None  # a full pass is done: the next epoch starts afresh
        if isinstance(self.data, PyDataset):
            self.data.on_epoch_end()

    def _ran_out(self):
        self.ran_out = True
        self._iterator = None
        warnings.warn("Your input ran out of data; the epoch ends here. Make sure the dataset "
                      "or generator can produce at least steps_per_epoch * epochs batches "
                      "(for a Dataset, add .repeat()); a Python generator can be passed over "
                      "only once.", UserWarning, stacklevel=4)


def as_stream(x, y, sample_weight, batch_size, call, steps_per_epoch=None, shuffle=False,
              weigh_classes=None):
    """A :class:`Stream` when ``x`` is a Dataset, PyDataset or generator; None for arrays.

    Raises:
        ValueError: ``y``, ``sample_weight`` or ``batch_size`` given with a stream (they
        belong inside its batches), as Keras.
    """
    if not is_stream(x):
        return None
    kind = type(x).__name__
    for name, value, inside in (("y", y, "the targets"),
                                ("sample_weight", sample_weight, "the sample weights"),
                                ("batch_size", batch_size, "the batch size")):
        if value is not None:
            raise ValueError(f"When x is a {kind} (a dataset or generator), {call}() does not "
                             f"take {name}: {inside} must come from the dataset itself, e.g. "
                             f"elements (x, y) batched with .batch(n). Received {name} of type "
                             f"{type(value).__name__}.")
    if call != "fit" and not steps_per_epoch and _cardinality(x) == -1:
        raise ValueError(f"x is an infinite dataset (it repeats forever), so {call}() would "
                         f"never end: pass steps=<number of batches>, or drop .repeat().")
    if shuffle and call == "fit" and not _is_py_dataset(x):
        warnings.warn(f"shuffle=True is ignored because x is a {kind}: shuffle the data in the "
                      f"pipeline itself (e.g. dataset.shuffle(buffer_size)).", UserWarning,
                      stacklevel=3)
    return Stream(x, f"the {kind} passed to {call}()", steps_per_epoch=steps_per_epoch,
                  shuffle=shuffle and _is_py_dataset(x), weigh_classes=weigh_classes)


def _cardinality(x):
    from tomei.data import Dataset
    return int(x.cardinality()) if isinstance(x, Dataset) else None


def _is_py_dataset(x):
    from tomei.keras.utils.py_dataset import PyDataset
    return isinstance(x, PyDataset)
