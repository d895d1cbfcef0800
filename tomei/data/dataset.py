"""``tf.data.Dataset``: a lazy input pipeline in plain Python and NumPy.

A Dataset describes a stream of *elements*; nothing is computed until you iterate it
(``for x, y in ds``, ``model.fit(ds)``), and each iteration starts the stream afresh. An
element is one NumPy array (a "component") or a tuple or dict of them. Iterating gives
Tensors, like TensorFlow's eager iteration; ``as_numpy_iterator()`` gives NumPy.

Each transformation returns a new Dataset and keeps TensorFlow's documented order:

- ``shuffle(buffer_size)`` keeps a buffer of ``buffer_size`` elements and emits a uniformly
  random one of them, refilling its place from the input. So with a buffer smaller than the
  data, an element can only move about ``buffer_size`` places; ``buffer_size >= len`` gives a
  full uniform permutation. It reshuffles on every iteration unless
  ``reshuffle_each_iteration=False``; the order is fixed by ``seed`` or, without one, by
  ``tomei.keras.utils.set_random_seed`` (TensorFlow's global/operation seed rule).
- ``batch(n)`` stacks n consecutive elements along a new first axis; the last batch is
  smaller unless ``drop_remainder=True``. ``unbatch()`` undoes it.
- ``repeat()``, ``take(n)``, ``skip(n)``, ``cache()`` (keeps the first full pass in memory and
  replays it, so a shuffle *before* cache is frozen), ``map(f)``, ``filter(p)``.
- ``prefetch`` and ``num_parallel_calls`` are speed hints for TensorFlow's background
  threads; tomei runs the pipeline in the calling thread, so they change nothing observable.

Rows sliced from in-memory arrays (``from_tensor_slices``) travel as row numbers through
shuffle/take/skip/repeat/cache and are gathered once per batch with one NumPy indexing call,
so a shuffled, batched MNIST pipeline costs about as much as slicing arrays by hand.

Source: the TensorFlow API documentation of ``tf.data.Dataset`` (r2.21) for names,
arguments and ordering semantics.
"""
from __future__ import annotations

import itertools

import numpy as np

from tomei import config
from tomei.engine.tensor import Tensor, _to_array, dtype_name

INFINITE = -1  # tf.data.INFINITE_CARDINALITY
UNKNOWN = -2  # tf.data.UNKNOWN_CARDINALITY
AUTOTUNE = -1  # tf.data.AUTOTUNE: "choose for me"; tomei has one thread, so any value works


# --- nested element structures (a leaf is a NumPy array) -----------------------------------

def _map_leaves(fn, structure):
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):  # namedtuple
        return type(structure)(*(_map_leaves(fn, s) for s in structure))
    if isinstance(structure, tuple):
        return tuple(_map_leaves(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map_leaves(fn, v) for k, v in structure.items()}
    return fn(structure)


def _leaves(structure) -> list:
    if isinstance(structure, tuple):
        return [leaf for s in structure for leaf in _leaves(s)]
    if isinstance(structure, dict):
        return [leaf for k in structure for leaf in _leaves(structure[k])]
    return [structure]


def _rebuild(structure, leaves_iter):
    """``structure`` with its leaves replaced, in order, by the values of ``leaves_iter``."""
    return _map_leaves(lambda _: next(leaves_iter), structure)


def _to_numpy(value, what="element"):
    """A leaf as a NumPy array with TensorFlow's conversions (Python float -> float32, int ->
    int32, str -> bytes). Lists are one tensor, as in TensorFlow; tuples and dicts nest.

    Raises:
        TypeError: a value that is not numbers or strings (e.g. None or an arbitrary object).
    """
    if isinstance(value, (tuple, dict)):
        return _map_leaves(lambda v: _to_numpy(v, what), value)
    if value is None:
        raise TypeError(f"A Dataset {what} cannot be None; expected numbers, strings or arrays.")
    if hasattr(value, "to_numpy") and not isinstance(value, (np.ndarray, Tensor)):
        value = value.to_numpy()  # pandas Series / DataFrame
    try:
        return _to_array(value)
    except TypeError as err:
        raise TypeError(f"A Dataset {what} must be numbers, strings or arrays of them; received "
                        f"{type(value).__name__}: {err}") from None


def _as_tensors(element):
    return _map_leaves(Tensor, element)


def _call(fn, element):
    """TensorFlow's calling rule: a tuple element is unpacked into positional arguments."""
    args = _as_tensors(element)
    if isinstance(element, tuple) and not hasattr(element, "_fields"):
        return fn(*args)
    return fn(args)


def _from_user(value):
    """A map function's result as a NumPy element (a list result becomes a tuple)."""
    if isinstance(value, list) and value and all(isinstance(v, (Tensor, np.ndarray)) for v in value):
        value = tuple(value)
    return _to_numpy(value, "map() result")


def _gather(arrays, index):
    """Rows ``index`` (an int or an int array) of every leaf array (always arrays, never
    NumPy scalars)."""
    if isinstance(index, np.ndarray):
        return _map_leaves(lambda a: a[index], arrays)
    return _map_leaves(lambda a: np.asarray(a[index]), arrays)


def _stack(elements, what="batch"):
    """Stacks a list of same-structure elements leaf by leaf along a new first axis."""
    columns = zip(*(_leaves(e) for e in elements))
    stacked = []
    for k, column in enumerate(columns):
        shapes = {np.shape(c) for c in column}
        if len(shapes) > 1:
            first = np.shape(column[0])
            other = next(i for i, c in enumerate(column) if np.shape(c) != first)
            raise ValueError(
                f"Cannot {what} tensors with different shapes in component {k}: the first "
                f"element had shape {first} and element {other} had shape "
                f"{np.shape(column[other])}. Make the shapes equal first (e.g. pad or "
                f"resize in map()).")
        stacked.append(np.stack(column))
    return _rebuild(elements[0], iter(stacked))


def _check_count(value, argument, method, allow_minus_one=True):
    if isinstance(value, Tensor):
        value = value.numpy()
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or \
            value < (-1 if allow_minus_one else 1):
        lowest = "-1 (meaning all)" if allow_minus_one else "1"
        raise ValueError(f"Dataset.{method}: {argument} must be an integer >= {lowest}; "
                         f"received {argument}={value!r}.")
    return int(value)


class TensorSpec:
    """The shape and dtype of one component, as ``tf.TensorSpec`` (used by ``from_generator``).

    Args:
        shape: tuple of ints; ``None`` for an axis of any length; ``None`` for any shape.
        dtype: NumPy dtype name or TensorFlow name ('float32', 'int32', 'string', ...).
        name: optional label.
    """

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = "string" if dtype in ("string", bytes, str) else np.dtype(dtype).name
        self.name = name

    def is_compatible_with(self, array) -> bool:
        """True when ``array`` has this spec's rank and sizes (None matches any size)."""
        shape = np.shape(array)
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and all(
            want is None or want == got for want, got in zip(self.shape, shape))

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype=tf.{self.dtype}, name={self.name!r})"


class Dataset:
    """A lazily evaluated stream of elements, with TensorFlow's ``tf.data.Dataset`` API.

    Create one with :meth:`from_tensor_slices`, :meth:`from_tensors`, :meth:`range`,
    :meth:`from_generator` or :meth:`zip`, or read files with ``TextLineDataset`` /
    ``experimental.CsvDataset``; transform it with the methods below; pass it to
    ``model.fit`` / ``evaluate`` / ``predict`` or loop over it.

    Internally a Dataset yields *items*: when ``self._rows`` is a structure of arrays, items
    are row numbers into it (cheap to shuffle and gather a batch at a time); otherwise items
    are the NumPy elements themselves.
    """

    def __init__(self, items, cardinality, rows=None, name=None):
        self._items = items  # () -> iterator over items
        self._cardinality = cardinality
        self._rows = rows  # structure of arrays that row-number items index, or None
        self._name = name

    # --- sources ---------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None) -> "Dataset":
        """One element per row: slices the first axis of every array in ``tensors``.

        Args:
            tensors: an array, Tensor or list (one component); a tuple (e.g. ``(x, y)``) or
                dict of them (pandas Series and DataFrames are converted with ``to_numpy``).
        Raises:
            ValueError: components with different first-axis lengths, or a 0-d component.
        """
        arrays = _to_numpy(tensors, "from_tensor_slices() input")
        lengths = set()
        for leaf in _leaves(arrays):
            if leaf.ndim == 0:
                raise ValueError(f"from_tensor_slices needs arrays with at least one axis to "
                                 f"slice; received a scalar of dtype {dtype_name(leaf.dtype)}. "
                                 f"Use Dataset.from_tensors for a single element.")
            lengths.add(len(leaf))
        if len(lengths) > 1:
            raise ValueError(f"from_tensor_slices: all components must have the same number of "
                             f"rows (first-axis length); received lengths {sorted(lengths)}.")
        n = lengths.pop()
        return Dataset(lambda: iter(range(n)), n, rows=arrays, name=name)

    @staticmethod
    def from_tensors(tensors, name=None) -> "Dataset":
        """A dataset of exactly one element: ``tensors`` itself (no slicing)."""
        element = _to_numpy(tensors, "from_tensors() input")
        return Dataset(lambda: iter([element]), 1, name=name)

    @staticmethod
    def range(*args, dtype="int64", name=None) -> "Dataset":
        """Integers like Python's ``range(start, stop, step)``, as 0-d int64 tensors."""
        r = range(*(int(a) for a in args))
        return Dataset(lambda: (np.array(v, dtype=dtype) for v in r), len(r), name=name)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None) -> "Dataset":
        """Elements produced by calling ``generator(*args)`` afresh on each iteration.

        Args:
            generator: a callable returning an iterator (not an iterator itself, so that the
                dataset can be iterated more than once).
            output_signature: a TensorSpec or a tuple/dict of them; each element is checked
                against it and cast to its dtype. ``output_types``/``output_shapes`` (the
                older form) do the same.
        Raises:
            TypeError: ``generator`` is not callable. ValueError: an element does not match
            the signature (at iteration time).
        """
        if not callable(generator):
            raise TypeError(f"from_generator expects a callable that returns an iterator; "
                            f"received {type(generator).__name__}. Pass the function itself, "
                            f"e.g. from_generator(gen, ...) rather than gen().")
        spec = output_signature
        if spec is None and output_types is not None:
            spec = _specs_from_types(output_types, output_shapes)

        def items():
            for value in generator(*(args or ())):
                element = _to_numpy(value, "generator output")
                if spec is not None:
                    element = _conform(element, spec)
                yield element
        return Dataset(items, UNKNOWN, name=name)

    @staticmethod
    def zip(*datasets, name=None) -> "Dataset":
        """Elements are tuples (or the given tuple/dict structure) of the datasets' elements,
        in step; stops at the shortest."""
        structure = datasets[0] if len(datasets) == 1 and isinstance(datasets[0], (tuple, dict)) \
            else tuple(datasets)
        members = _leaves_of_datasets(structure)
        cards = [d._cardinality for d in members]
        finite = [c for c in cards if c >= 0]
        card = min(finite) if finite else (UNKNOWN if UNKNOWN in cards else INFINITE)
        if UNKNOWN in cards and finite:
            card = UNKNOWN

        def items():
            for parts in zip(*(d._elements() for d in members)):
                yield _rebuild_datasets(structure, iter(parts))
        return Dataset(items, card, name=name)

    # --- iteration -------------------------------------------------------------------------
    def _elements(self):
        """Iterator over NumPy elements."""
        if self._rows is None:
            return self._items()
        rows = self._rows
        return (_gather(rows, i) for i in self._items())

    def __iter__(self):
        return (_as_tensors(e) for e in self._elements())

    def as_numpy_iterator(self):
        """Iterates the elements as NumPy arrays (0-d components as NumPy scalars)."""
        return (_map_leaves(lambda a: a[()] if a.ndim == 0 else a, e) for e in self._elements())

    def cardinality(self) -> Tensor:
        """Number of elements as a 0-d int64 Tensor; INFINITE (-1) or UNKNOWN (-2)."""
        return Tensor(np.array(self._cardinality, dtype=np.int64))

    def __len__(self):
        if self._cardinality == INFINITE:
            raise TypeError("The dataset is infinite (it repeats forever), so it has no length.")
        if self._cardinality == UNKNOWN:
            raise TypeError("The dataset length is unknown (e.g. after filter() or when "
                            "reading files). Count it with sum(1 for _ in ds) if you need it.")
        return self._cardinality

    def __bool__(self):
        return True

    def __repr__(self):
        card = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._cardinality, self._cardinality)
        return f"<{type(self).__name__} cardinality={card}>"

    def _derive(self, items, cardinality, keep_rows=True):
        return Dataset(items, cardinality, rows=self._rows if keep_rows else None)

    # --- order: shuffle, repeat, take, skip, cache, prefetch ----------------------------------
    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Randomly reorders elements through a buffer of ``buffer_size`` (see module doc).

        Args:
            buffer_size: int >= 1; ``len(ds)`` or more gives a full uniform shuffle.
            seed: int; with None the order follows ``set_random_seed`` (else it is random).
            reshuffle_each_iteration: a new order on every pass (default True).
        Raises:
            ValueError: buffer_size < 1.
        """
        buffer_size = _check_count(buffer_size, "buffer_size", "shuffle", allow_minus_one=False)
        base = int(seed) if seed is not None else int(config.rng().integers(2**62))
        passes = itertools.count()

        def items():
            k = next(passes) if reshuffle_each_iteration else 0
            return _buffer_shuffle(self._items(), buffer_size, np.random.default_rng([base, k]))
        return self._derive(items, self._cardinality)

    def repeat(self, count=None, name=None):
        """Repeats the dataset ``count`` times (forever when None or -1); every pass restarts
        the input, so an upstream shuffle gives a new order each time."""
        count = -1 if count is None else _check_count(count, "count", "repeat")
        card = self._cardinality
        if count == -1:
            card = INFINITE if card != 0 else 0
        elif card >= 0:
            card = card * count

        def items():
            for _ in (itertools.count() if count == -1 else range(count)):
                produced = False
                for item in self._items():
                    produced = True
                    yield item
                if not produced:
                    return  # an empty dataset repeated forever is still empty
        return self._derive(items, card)

    def take(self, count, name=None):
        """The first ``count`` elements (all of them when -1)."""
        count = _check_count(count, "count", "take")
        card = self._cardinality
        if count >= 0:
            card = count if card in (INFINITE,) else (min(card, count) if card >= 0 else UNKNOWN)
        return self._derive(lambda: itertools.islice(self._items(), None if count < 0 else count),
                            card)

    def skip(self, count, name=None):
        """All but the first ``count`` elements (skips everything when -1)."""
        count = _check_count(count, "count", "skip")
        card = self._cardinality
        if count < 0:
            card = 0
        elif card >= 0:
            card = max(card - count, 0)
        if count < 0:
            return self._derive(lambda: iter(()), card)
        return self._derive(lambda: itertools.islice(self._items(), count, None), card)

    def cache(self, filename="", name=None):
        """Keeps the elements of the first complete pass in memory and replays them after.

        Raises:
            NotImplementedError: ``filename`` is given (TensorFlow's on-disk cache).
        """
        if filename:
            raise NotImplementedError(f"Dataset.cache(filename={filename!r}): tomei caches in "
                                      f"memory only; call cache() without a filename.")
        stored = []
        complete = [False]

        def items():
            if complete[0]:
                return iter(stored)
            return _record(self._items(), stored, complete)
        return self._derive(items, self._cardinality)

    def prefetch(self, buffer_size, name=None):
        """Returns the same elements. TensorFlow prepares ``buffer_size`` elements ahead on a
        background thread; tomei's pipeline runs in the caller's thread, so there is nothing to
        overlap (any buffer_size, including AUTOTUNE, is accepted)."""
        _check_count(buffer_size, "buffer_size", "prefetch")
        return self._derive(self._items, self._cardinality)

    # --- per element: map, filter, enumerate -----------------------------------------------
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Applies ``map_func`` to each element (a tuple element is unpacked into arguments;
        the function receives Tensors and may return Tensors, arrays or numbers, or a tuple or
        dict of them). ``num_parallel_calls`` and ``deterministic`` are TensorFlow's threading
        hints; tomei maps one element at a time, in order.

        Raises:
            TypeError: ``map_func`` is not callable.
        """
        if not callable(map_func):
            raise TypeError(f"Dataset.map expects a function; received {type(map_func).__name__}.")
        return self._derive(lambda: (_from_user(_call(map_func, e)) for e in self._elements()),
                            self._cardinality, keep_rows=False)

    def filter(self, predicate, name=None):
        """Keeps the elements for which ``predicate`` returns True (a bool scalar)."""
        if not callable(predicate):
            raise TypeError(f"Dataset.filter expects a function; received "
                            f"{type(predicate).__name__}.")

        def keep(e):
            verdict = np.asarray(_call(predicate, e))
            if verdict.shape != () or verdict.dtype != np.bool_:
                raise ValueError(f"Dataset.filter: the predicate must return one bool; it "
                                 f"returned shape {verdict.shape} dtype {verdict.dtype}.")
            return bool(verdict)
        card = UNKNOWN if self._cardinality != INFINITE else INFINITE
        return self._derive(lambda: (e for e in self._elements() if keep(e)), card,
                            keep_rows=False)

    def enumerate(self, start=0, name=None):
        """Elements become ``(index, element)`` pairs, index an int64 counting from ``start``."""
        return self._derive(
            lambda: ((np.array(i, np.int64), e) for i, e in enumerate(self._elements(), start)),
            self._cardinality, keep_rows=False)

    def concatenate(self, dataset, name=None):
        """This dataset's elements followed by ``dataset``'s."""
        a, b = self._cardinality, dataset._cardinality
        card = INFINITE if INFINITE in (a, b) else (UNKNOWN if UNKNOWN in (a, b) else a + b)
        return self._derive(lambda: itertools.chain(self._elements(), dataset._elements()), card,
                            keep_rows=False)

    def apply(self, transformation_func):
        """Returns ``transformation_func(self)`` (for chaining a function of a dataset)."""
        return transformation_func(self)

    # --- batching ---------------------------------------------------------------------------
    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stacks ``batch_size`` consecutive elements into one (a new first axis).

        Raises:
            ValueError: batch_size < 1; elements of different shapes (naming the component).
        """
        batch_size = _check_count(batch_size, "batch_size", "batch", allow_minus_one=False)
        card = self._cardinality
        if card >= 0:
            card = card // batch_size if drop_remainder else -(-card // batch_size)
        rows = self._rows

        def items():
            source = self._items() if rows is not None else self._elements()
            while True:
                chunk = list(itertools.islice(source, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                yield _gather(rows, np.asarray(chunk)) if rows is not None else _stack(chunk)
        return self._derive(items, card, keep_rows=False)

    def unbatch(self, name=None):
        """Splits each element along its first axis into separate elements (undoes ``batch``).

        Raises:
            ValueError: a 0-d component, or components with different first-axis lengths.
        """
        def items():
            for element in self._elements():
                leaves = _leaves(element)
                sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
                if None in sizes or len(sizes) != 1:
                    raise ValueError(f"Dataset.unbatch needs every component to have the same "
                                     f"first-axis length; received shapes "
                                     f"{[np.shape(leaf) for leaf in leaves]}.")
                for i in range(sizes.pop()):
                    yield _map_leaves(lambda a: a[i], element)
        return self._derive(items, UNKNOWN if self._cardinality != INFINITE else INFINITE,
                            keep_rows=False)


def _buffer_shuffle(items, buffer_size, rng):
    """TensorFlow's shuffle buffer: fill, then repeatedly emit a random slot and refill it.
    Once the input is exhausted the remaining buffer comes out in uniformly random order."""
    buffer = list(itertools.islice(items, buffer_size))
    draws = iter(())
    for item in items:
        u = next(draws, None)
        if u is None:
            draws = iter(rng.random(1024).tolist())
            u = next(draws)
        j = int(u * len(buffer))
        yield buffer[j]
        buffer[j] = item
    for j in rng.permutation(len(buffer)):
        yield buffer[j]


def _record(items, stored, complete):
    for item in items:
        stored.append(item)
        yield item
    complete[0] = True  # only a full pass is replayed (as TensorFlow's cache)


def _conform(element, spec):
    specs = _leaves(spec)
    leaves = _leaves(element)
    if len(specs) != len(leaves):
        raise ValueError(f"from_generator: the generator yielded {len(leaves)} components but "
                         f"the signature has {len(specs)}.")
    out = []
    for k, (leaf, s) in enumerate(zip(leaves, specs)):
        if not s.is_compatible_with(leaf):
            raise ValueError(f"from_generator: component {k} has shape {np.shape(leaf)}, which "
                             f"does not match the declared shape {s.shape}.")
        out.append(leaf.astype(bytes) if s.dtype == "string" else leaf.astype(s.dtype))
    return _rebuild(spec, iter(out))


def _specs_from_types(types, shapes):
    """TensorSpecs from the older ``output_types`` / ``output_shapes`` pair (one level)."""
    if isinstance(types, tuple):
        shapes = shapes if shapes is not None else (None,) * len(types)
        return tuple(TensorSpec(s, t) for t, s in zip(types, shapes))
    if isinstance(types, dict):
        shapes = shapes if shapes is not None else {}
        return {k: TensorSpec(shapes.get(k), t) for k, t in types.items()}
    return TensorSpec(shapes, types)


def _leaves_of_datasets(structure):
    if isinstance(structure, tuple):
        return [d for s in structure for d in _leaves_of_datasets(s)]
    if isinstance(structure, dict):
        return [d for k in structure for d in _leaves_of_datasets(structure[k])]
    if not isinstance(structure, Dataset):
        raise TypeError(f"Dataset.zip expects datasets; received {type(structure).__name__}.")
    return [structure]


def _rebuild_datasets(structure, parts):
    if isinstance(structure, tuple):
        return tuple(_rebuild_datasets(s, parts) for s in structure)
    if isinstance(structure, dict):
        return {k: _rebuild_datasets(v, parts) for k, v in structure.items()}
    return next(parts)

