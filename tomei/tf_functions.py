"""TensorFlow's top-level functions: the engine's differentiable ops under TensorFlow's
parameter names (:func:`with_tf_names`), and those that make Tensors from NumPy values
(``tf.constant``, ``tf.zeros``, ``tf.one_hot``, ``tf.range``, ``tf.random`` ...).
"""
import inspect
from types import SimpleNamespace

import numpy as np

from tomei import config
from tomei.engine import conv_ops, ops
from tomei.engine.tensor import Tensor, as_dtype


def check_name(name, op: str) -> None:
    """TensorFlow's ``name=`` labels an op in a graph; tomei runs eagerly and builds no
    graph (eager TensorFlow does not use it either), so only its type is checked.
    Raises TypeError naming ``op`` when ``name`` is neither None nor a str."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{op}: argument 'name' must be a str or None; received {name!r} "
                        f"of type {type(name).__name__}.")


def with_tf_names(fn, names: str, public: str):
    """``fn`` under TensorFlow's parameter names: the one place a ``tf.*`` function gets
    them, so ``tf.nn.softmax(logits=z)`` and ``tf.reduce_sum(input_tensor=x, axis=0)`` work
    while the engine keeps its own names. Positional calls go straight to ``fn``.

    Args:
        fn: a function (usually an engine op) whose leading parameters are renamed.
        names: TensorFlow's names for fn's leading parameters, space-separated and in
            order, e.g. ``"input_tensor axis keepdims"``. Parameters of ``fn`` beyond
            them (tomei's extras, such as ``elu``'s ``alpha``) become keyword-only.
        public: the public name, e.g. ``"tf.nn.softmax"``, used in errors.

    Returns:
        A function with signature ``(<names>, name=None, *, <extras>)``, as TensorFlow
        places ``name`` after its parameters. ``name`` must be a str or None
        (:func:`check_name`).

    Raises (when called):
        TypeError: a keyword TensorFlow does not have for this function (e.g. ``x=`` for
            ``tf.nn.softmax``), naming the function and its parameters.
    """
    params = list(inspect.signature(fn).parameters.values())
    tf_names = names.split()
    renamed = [p.replace(name=n) for p, n in zip(params, tf_names)]
    extras = [p.replace(kind=p.KEYWORD_ONLY) for p in params[len(tf_names):]]
    label = inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
    signature = inspect.Signature(renamed + [label] + extras)
    to_engine = {new.name: old.name for new, old in zip(renamed + extras, params)}
    count = len(tf_names)

    def op(*args, **kwargs):
        if not kwargs and len(args) <= count:
            return fn(*args)  # positional: the engine's order is TensorFlow's
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{public}{signature} has no parameter "
                            f"{', '.join(map(repr, unknown))} (TensorFlow's names are above).")
        try:
            given = signature.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise TypeError(f"{public}{signature}: {e}") from None
        check_name(given.pop("name", None), public)
        return fn(**{to_engine[k]: v for k, v in given.items()})

    op.__signature__ = signature
    op.__name__ = op.__qualname__ = public.rsplit(".", 1)[-1]
    op.__module__ = fn.__module__
    op.__doc__ = (f"``{public}{signature}`` (TensorFlow's parameter names).\n\n"
                  f"{inspect.getdoc(fn) or ''}")
    return op


# tf.* shape and array functions under TensorFlow's parameter names (engine ops below)
cast = with_tf_names(ops.cast, "x dtype", "tf.cast")
concat = with_tf_names(ops.concat, "values axis", "tf.concat")
stack = with_tf_names(ops.stack, "values axis", "tf.stack")
expand_dims = with_tf_names(ops.expand_dims, "input axis", "tf.expand_dims")
squeeze = with_tf_names(ops.squeeze, "input axis", "tf.squeeze")
reshape = with_tf_names(ops.reshape, "tensor shape", "tf.reshape")
transpose = with_tf_names(ops.transpose, "a perm", "tf.transpose")
matmul = with_tf_names(ops.matmul, "a b", "tf.linalg.matmul")
gather = with_tf_names(ops.gather, "params indices", "tf.gather")
add_n = with_tf_names(ops.add_n, "inputs", "tf.math.add_n")
convert_to_tensor = with_tf_names(ops.convert_to_tensor, "value dtype", "tf.convert_to_tensor")
tile = with_tf_names(ops.tile, "input multiples", "tf.tile")
identity = with_tf_names(ops.identity, "input", "tf.identity")
pad = with_tf_names(conv_ops.pad, "tensor paddings mode constant_values", "tf.pad")


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    """``value`` cut along ``axis`` (default 0) into pieces (``tf.split``): an int n gives n
    equal pieces; a list of sizes gives pieces of those sizes (one may be -1: the rest).
    Returns a list of Tensors, each differentiable (slices, :func:`ops.getitem`).

    Raises:
        ValueError: the axis does not divide into n equal pieces, or the sizes do not add
            up to its length. NotImplementedError: ``num`` (only needed by TF's graphs).
    """
    check_name(name, "tf.split")
    if num is not None:
        raise NotImplementedError("tf.split: argument 'num' is not supported; the number of "
                                  "pieces comes from num_or_size_splits.")
    x = ops.convert_to_tensor(value)
    axis = int(axis)
    with ops.checked_axis("tf.split", axis, x.ndim):
        length = x.shape[axis]
    sizes = np.atleast_1d(np.asarray(num_or_size_splits.value if isinstance(
        num_or_size_splits, Tensor) else num_or_size_splits)).astype(int).tolist()
    if len(sizes) == 1 and np.ndim(num_or_size_splits) == 0:
        n = sizes[0]
        if n <= 0 or length % n:
            raise ValueError(f"tf.split: axis {axis} has length {length}, which does not "
                             f"split into {n} equal pieces.")
        sizes = [length // n] * n
    elif sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = length - (sum(sizes) + 1)
    if sum(sizes) != length or min(sizes) < 0:
        raise ValueError(f"tf.split: sizes {sizes} must be >= 0 and add up to {length}, the "
                         f"length of axis {axis}.")
    ends = np.cumsum([0] + sizes).tolist()
    lead = (slice(None),) * (axis % x.ndim)
    return [ops.getitem(x, lead + (slice(a, b),)) for a, b in zip(ends[:-1], ends[1:])]


def unstack(value, num=None, axis=0, name=None) -> list:
    """The slices of ``value`` along ``axis`` (default 0), that axis removed (``tf.unstack``):
    a list of shape[axis] Tensors, each differentiable. Raises ValueError when ``num`` is
    given and differs from that length, or for an axis out of range."""
    check_name(name, "tf.unstack")
    x = ops.convert_to_tensor(value)
    axis = int(axis)
    with ops.checked_axis("tf.unstack", axis, x.ndim):
        length = x.shape[axis]
    if num is not None and int(num) != length:
        raise ValueError(f"tf.unstack: num={num} but axis {axis} has length {length}.")
    lead = (slice(None),) * (axis % x.ndim)
    return [ops.getitem(x, lead + (i,)) for i in np.arange(length).tolist()]


def eye(num_rows, num_columns=None, batch_shape=None, dtype="float32", name=None) -> Tensor:
    """The identity matrix (``tf.eye``): shape (num_rows, num_columns or num_rows), ones on
    the diagonal, of ``dtype`` (default float32); ``batch_shape`` (a list of ints) puts
    that many copies in front. No gradient."""
    check_name(name, "tf.eye")
    m = np.eye(int(num_rows), None if num_columns is None else int(num_columns),
               dtype=as_dtype(dtype, "tf.eye"))
    if batch_shape is not None:
        m = np.broadcast_to(m, _shape(batch_shape, "tf.eye") + m.shape).copy()
    return Tensor(m)


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """A Tensor holding ``value`` (as ``tf.constant``); Python floats become float32 and
    ints int32 unless ``dtype``. ``shape`` broadcasts the value to that shape (checked by
    :func:`_shape`). Raises TypeError for an unknown dtype name or a ``name`` not a str."""
    check_name(name, "tf.constant")
    t = Tensor(value, dtype)
    if t.value is value or (isinstance(value, np.ndarray) and np.shares_memory(t.value, value)):
        t = Tensor(t.value.copy())  # tf.constant copies: changing `value` later changes nothing
    if shape is not None:
        t = Tensor(np.broadcast_to(t.value, _shape(shape, "tf.constant")).copy())
    return t


def _shape(shape, op: str = "shape") -> tuple:
    """A shape from an int, a list/tuple of ints, or an integer Tensor such as
    ``tf.shape(x)``: the one check of every ``shape`` argument. Raises TypeError naming
    ``op`` and ``shape`` for text, floats or booleans (``tf.ones('3')``), ValueError for a
    negative size."""
    arr = np.asarray(shape.value if isinstance(shape, Tensor) else shape)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"{op}: argument 'shape' must be an int or a list of ints (such as "
                        f"[2, 3] or tf.shape(x)); received {shape!r} "
                        f"(dtype {arr.dtype.name if arr.dtype.kind != 'U' else 'str'}).")
    if arr.ndim > 1:
        raise ValueError(f"{op}: argument 'shape' must be an int or a flat list of ints; "
                         f"received a nested one of shape {arr.shape}.")
    dims = tuple(int(d) for d in np.atleast_1d(arr))
    if any(d < 0 for d in dims):
        raise ValueError(f"{op}: argument 'shape' must hold sizes >= 0; received {dims}.")
    return dims


def zeros(shape, dtype="float32", name=None) -> Tensor:
    """A Tensor of zeros (``tf.zeros``) of ``shape`` (an int, a list of ints, or a Tensor
    such as ``tf.shape(x)``); ``dtype`` default float32. Raises TypeError for a shape that
    is not ints (e.g. '3') or an unknown dtype name, ValueError for a negative size."""
    check_name(name, "tf.zeros")
    return Tensor(np.zeros(_shape(shape, "tf.zeros"), dtype=as_dtype(dtype, "tf.zeros")))


def ones(shape, dtype="float32", name=None) -> Tensor:
    """A Tensor of ones (``tf.ones``) of ``shape``; ``dtype`` default float32. Errors as
    :func:`zeros`."""
    check_name(name, "tf.ones")
    return Tensor(np.ones(_shape(shape, "tf.ones"), dtype=as_dtype(dtype, "tf.ones")))


def fill(dims, value, name=None) -> Tensor:
    """A Tensor of shape ``dims`` every element of which is ``value`` (``tf.fill``); the
    dtype is value's (a Python int gives int32, a float float32). No gradient."""
    check_name(name, "tf.fill")
    v = Tensor(value).value
    if v.ndim:
        raise ValueError(f"tf.fill: argument 'value' must be a single number; received "
                         f"shape {v.shape}.")
    return Tensor(np.full(_shape(dims, "tf.fill"), v, dtype=v.dtype))


def zeros_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002 - TensorFlow's name
    """Zeros of the shape of ``input`` and its dtype, or ``dtype`` (``tf.zeros_like``)."""
    check_name(name, "tf.zeros_like")
    v = ops.convert_to_tensor(input).value
    return Tensor(np.zeros(v.shape, as_dtype(dtype, "tf.zeros_like") if dtype else v.dtype))


def ones_like(input, dtype=None, name=None) -> Tensor:  # noqa: A002
    """Ones of the shape of ``input`` and its dtype, or ``dtype`` (``tf.ones_like``)."""
    check_name(name, "tf.ones_like")
    v = ops.convert_to_tensor(input).value
    return Tensor(np.ones(v.shape, as_dtype(dtype, "tf.ones_like") if dtype else v.dtype))


def shape(input, out_type="int32", name=None) -> Tensor:  # noqa: A002
    """The shape of ``input`` as a 1-D Tensor (``tf.shape``) of ``out_type`` ('int32',
    the default, or 'int64')."""
    check_name(name, "tf.shape")
    out_type = as_dtype(out_type, "tf.shape", "out_type")
    if out_type not in (np.int32, np.int64):
        raise TypeError(f"tf.shape: argument 'out_type' must be int32 or int64; received "
                        f"{out_type.name}.")
    return Tensor(np.asarray(np.shape(np.asarray(input)), dtype=out_type))


def size(input, out_type="int32", name=None) -> Tensor:  # noqa: A002
    """The number of elements of ``input``, a 0-d Tensor of ``out_type`` (``tf.size``)."""
    check_name(name, "tf.size")
    return Tensor(np.asarray(np.size(np.asarray(input)), as_dtype(out_type, "tf.size", "out_type")))


def rank(input, name=None) -> Tensor:  # noqa: A002
    """The number of axes of ``input``, a 0-d int32 Tensor (``tf.rank``)."""
    check_name(name, "tf.rank")
    return Tensor(np.int32(np.ndim(np.asarray(input))))


def where(condition, x=None, y=None, name=None) -> Tensor:
    """``tf.where``. With ``x`` and ``y``: x where ``condition`` holds, else y, broadcast
    together, differentiable in x and y (:func:`tomei.engine.ops.where`). With neither: the
    coordinates of the True elements, an int64 Tensor of shape (number true, rank). Raises
    ValueError when only one of x and y is given."""
    check_name(name, "tf.where")
    if x is None and y is None:
        c = np.asarray(condition.value if isinstance(condition, Tensor) else condition)
        return Tensor(np.argwhere(c).astype(np.int64))
    if x is None or y is None:
        raise ValueError("tf.where: give both x and y, or neither; received only "
                         f"{'x' if y is None else 'y'}.")
    return ops.where(condition, x, y)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None,
            name=None) -> Tensor:
    """``tf.one_hot``: ``on_value`` at each index, ``off_value`` elsewhere, along a new axis
    of size ``depth``.

    Args:
        indices: integer array of any shape (N...). An index outside [0, depth), -1
            included, gives a row of ``off_value`` (as TensorFlow).
        depth: int >= 0, the size of the new axis.
        on_value, off_value: numbers, default 1 and 0.
        axis: where the new axis goes; default None, the last (-1).
        dtype: default: the dtype of on_value/off_value when given, else float32.

    Returns:
        Tensor of shape indices.shape with ``depth`` inserted at ``axis``. No gradient.

    Raises:
        TypeError: indices not integers; an unknown dtype name. ValueError: negative depth,
        or axis outside [-1, rank of indices].
    """
    check_name(name, "tf.one_hot")
    idx = np.asarray(indices.value if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"tf.one_hot: argument 'indices' must hold integers; received dtype "
                        f"{idx.dtype.name}. To fix: tf.cast(indices, tf.int32).")
    depth = int(depth)
    if depth < 0:
        raise ValueError(f"tf.one_hot: argument 'depth' must be >= 0; received {depth}.")
    axis = -1 if axis is None else int(axis)
    if not -1 <= axis <= idx.ndim:
        raise ValueError(f"tf.one_hot: axis={axis} must be -1 or in [0, {idx.ndim}] for "
                         f"indices of rank {idx.ndim}.")
    given = [Tensor(v).value for v in (on_value, off_value) if v is not None]
    if dtype is not None:
        dtype = as_dtype(dtype, "tf.one_hot")
    else:
        dtype = given[0].dtype if given else np.dtype(np.float32)
    on = np.asarray(1 if on_value is None else Tensor(on_value).value, dtype)
    off = np.asarray(0 if off_value is None else Tensor(off_value).value, dtype)
    hot = idx[..., None] == np.arange(depth)  # (N..., depth); out-of-range rows all False
    out = np.where(hot, on, off)
    return Tensor(np.moveaxis(out, -1, axis) if axis != -1 else out)


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:  # noqa: A001
    """``tf.range``: start, start + delta, ... up to but not including ``limit`` (one
    argument: ``range(limit)`` from 0).

    The dtype, unless ``dtype``: float when any argument is a float (the widest NumPy float
    given, else float32), otherwise int (the widest NumPy int given, else int32), as
    TensorFlow: ``range(5)`` is int32, ``range(1, 5, 0.5)`` float32.

    Raises:
        ValueError: delta == 0, or a delta that moves away from limit (start > limit with
            delta > 0, start < limit with delta < 0). TypeError: an unknown dtype name.
    """
    check_name(name, "tf.range")
    if limit is None:
        start, limit = 0, start
    values = [v.value if isinstance(v, Tensor) else v for v in (start, limit, delta)]
    if dtype is not None:
        dtype = as_dtype(dtype, "tf.range")
    else:  # Python numbers say only int or float; NumPy values also say how wide
        kinds = [np.asarray(v).dtype for v in values if isinstance(v, (np.ndarray, np.generic))]
        floats = [k for k in kinds if k.kind == "f"]
        if floats or any(isinstance(v, float) for v in values):
            dtype = max(floats, key=lambda k: k.itemsize, default=np.dtype(np.float32))
        else:
            dtype = max(kinds, key=lambda k: k.itemsize, default=np.dtype(np.int32))
    start, limit, delta = (np.asarray(v).item() for v in values)
    if delta == 0:
        raise ValueError("tf.range: argument 'delta' must not be 0.")
    if (delta > 0 and start > limit) or (delta < 0 and start < limit):
        raise ValueError(f"tf.range: start={start} and limit={limit} need a delta of the other "
                         f"sign; received delta={delta}.")
    return Tensor(np.arange(start, limit, delta).astype(dtype))


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``tf.linspace``).
    Python numbers give float32; float64 inputs keep float64. Raises ValueError if
    ``num`` < 1."""
    if int(num) < 1:
        raise ValueError(f"linspace: num must be a positive integer; received num={num!r}.")
    dtype = np.result_type(*(np.asarray(v).dtype for v in (start, stop)
                             if isinstance(v, (np.ndarray, np.generic, Tensor))), np.float32) \
        if any(isinstance(v, (np.ndarray, np.generic, Tensor)) for v in (start, stop)) else np.float32
    return Tensor(np.linspace(np.asarray(start), np.asarray(stop), int(num), axis=axis).astype(dtype))


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """Clips ``t`` to [clip_value_min, clip_value_max] element-wise; the gradient is 1 inside
    the range and 0 outside (``tf.clip_by_value``). Raises ValueError if min > max."""
    from tomei.engine.ops import clip
    if np.any(np.asarray(clip_value_min) > np.asarray(clip_value_max)):
        raise ValueError(f"clip_by_value: clip_value_min={clip_value_min} is larger than "
                         f"clip_value_max={clip_value_max}.")
    return clip(t, clip_value_min, clip_value_max)


def _normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    g = np.random.default_rng(seed) if seed is not None else config.rng()
    return Tensor(g.normal(mean, stddev, size=_shape(shape, 'tf.random')).astype(dtype))


def _uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    g = np.random.default_rng(seed) if seed is not None else config.rng()
    return Tensor(g.uniform(minval, maxval, size=_shape(shape, 'tf.random')).astype(dtype))


def _shuffle(value, seed=None, name=None) -> Tensor:
    """``value`` with its first axis in random order (``tf.random.shuffle``): same shape and
    dtype; a scalar comes back as it is. ``seed`` (int): the same order on every call
    (TensorFlow varies it between calls); None: tomei's generator. No gradient."""
    check_name(name, "tf.random.shuffle")
    v = ops.convert_to_tensor(value).value
    if v.ndim == 0:
        return Tensor(v.copy())
    g = np.random.default_rng(int(seed)) if seed is not None else config.rng()
    return Tensor(v[g.permutation(v.shape[0])])


def _set_seed(seed):
    from tomei.keras.utils import set_random_seed
    set_random_seed(seed)


random = SimpleNamespace(normal=_normal, uniform=_uniform, shuffle=_shuffle,
                         set_seed=_set_seed)
