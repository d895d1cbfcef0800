"""Differentiable array ops: each forward sits next to its gradient.

Every op takes Tensors (or anything ``convert_to_tensor`` accepts), computes its result
with NumPy, and hands ``record`` a ``backward(g)`` closure: given the gradient ``g`` of
the loss with respect to the output, it returns the gradient with respect to each input
(the vector-Jacobian product). The comment above each backward states the derivative.
A backward never writes into its inputs, and skips inputs that are not ``tracked``.

Broadcasting (NumPy rules) is undone in one place, :func:`unbroadcast`.
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np

from tomei.engine import device
from tomei.engine import tensor as _tensor_module
from tomei.engine.tensor import Tensor, as_dtype, dtype_name, record


def convert_to_tensor(value, dtype=None) -> Tensor:
    """Returns ``value`` as a Tensor (unchanged if it already is one with that dtype)."""
    if isinstance(value, Tensor) and (dtype is None or value.dtype == np.dtype(dtype)):
        return value
    return Tensor(value, dtype)


# dtype kinds an arithmetic op accepts: bool, signed and unsigned ints, floats, complex
_NUMBER_KINDS = frozenset("biufc")


def numbers(value, op: str, argument: str = "x", bool_ok: bool = True) -> Tensor:
    """``value`` as a Tensor (:func:`convert_to_tensor`) for ``op``, which computes with
    numbers: the one check every arithmetic op makes where its inputs become tensors.

    Args:
        value: a Tensor, NumPy array, Python number or (nested) list.
        op: the op's public name, e.g. ``"softmax"``, used in the message.
        argument: the name of the op's parameter that received ``value``.
        bool_ok: False for ops NumPy cannot run on booleans (those that subtract or negate).

    Raises:
        TypeError: ``value`` holds text, or booleans where ``bool_ok`` is False, or Python
            objects; the message names ``op``, ``argument``, what was expected and the dtype
            and shape received, and how to convert.
        ValueError: ``value`` is a ragged list (rows of different lengths), naming ``op``
            and ``argument``.
    """
    if isinstance(value, Tensor):
        t = value
    else:
        try:
            t = convert_to_tensor(value)
        except (TypeError, ValueError) as e:  # objects, ragged lists: the same, with the name
            raise type(e)(f"{op}: argument '{argument}': {e}") from None
    kind = t.dtype.kind
    if kind in _NUMBER_KINDS and (bool_ok or kind != "b"):
        return t
    expected = "numbers (float, int or bool)" if bool_ok else "numbers (float or int)"
    if kind in "SU":
        what, fix = "text", (f"convert text to numbers first, e.g. "
                             f"tf.strings.to_number({argument}) or np.asarray({argument}, "
                             f"dtype='float32')")
    elif kind == "b":
        what, fix = "booleans", f"cast them first, e.g. tf.cast({argument}, 'float32')"
    else:
        what, fix = "values that are not numbers", "convert them to numbers first"
    raise TypeError(f"{op}: argument '{argument}' must hold {expected}; received {what} "
                    f"(dtype {dtype_name(t.dtype)}, shape {t.shape}). To fix: {fix}.")


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def check_broadcast(op: str, a_shape: tuple, b_shape: tuple) -> None:
    """Raises ValueError naming ``op`` and both shapes when NumPy cannot broadcast them
    (each axis, aligned from the right, must match or be 1): the one broadcast check."""
    try:
        np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a_shape} and {b_shape} are incompatible: aligned from the last "
            f"axis, each pair of sizes must be equal or one of them 1 (broadcasting).") from None


@contextlib.contextmanager
def checked_axis(op: str, axis, ndim: int):
    """Around a NumPy reduction over ``axis`` of a rank-``ndim`` tensor: NumPy's AxisError
    becomes a ValueError naming ``op``, the axis and the valid range (the one axis check;
    it costs nothing until an axis is wrong)."""
    try:
        yield
    except np.exceptions.AxisError:
        raise ValueError(f"{op}: axis={axis!r} is out of range for a tensor of rank {ndim}; "
                         f"each axis must be in [{-ndim}, {ndim}) (negative counts from the "
                         f"end).") from None


def _pair(a, b, op, text_ok=False, bool_ok=True, broadcast=True):
    """Both operands as Tensors on one device; ``b`` that is not a Tensor takes a's dtype.
    Text is refused (:func:`numbers`) unless ``text_ok`` (``add`` joins two strings), and
    never mixed with numbers; booleans unless ``bool_ok``. Shapes that cannot broadcast are
    refused (:func:`check_broadcast`) unless ``broadcast`` is False (``matmul``)."""
    a = convert_to_tensor(a)
    text = a.dtype.kind in "SU"  # a number given with text stays a number, and is refused
    b = convert_to_tensor(b, a.dtype if not (isinstance(b, Tensor) or text) else None)
    if text or b.dtype.kind in "SU":
        _refuse_text_with_numbers(a, b)
        if not text_ok:
            numbers(a, op, "a")
    elif a.dtype.kind not in _NUMBER_KINDS or b.dtype.kind not in _NUMBER_KINDS or (
            not bool_ok and "b" in (a.dtype.kind, b.dtype.kind)):
        numbers(a, op, "a", bool_ok), numbers(b, op, "b", bool_ok)
    if broadcast and a.shape != b.shape:
        check_broadcast(op, a.shape, b.shape)
    if type(a._value) is np.ndarray and type(b._value) is np.ndarray:
        return a, b  # both on the host: the common case, no device check
    return align(a, b)


def _refuse_text_with_numbers(a, b):
    if (a.dtype.kind in "SU") != (b.dtype.kind in "SU"):
        raise TypeError(f"Cannot combine a string tensor with a number tensor (dtypes "
                        f"{a.dtype} and {b.dtype}); convert one first (tf.strings.as_string "
                        f"or tf.strings.to_number).")


def align(*tensors) -> tuple:
    """The tensors, all on one device: when any lives on the GPU, the host ones are copied
    there (a recorded copy, so gradients flow back to the host). Same objects otherwise."""
    for t in tensors:
        if type(t._value) is not np.ndarray and device.is_device_array(t._value):
            return tuple(u if device.is_device_array(u.value) else _copy_to(u, t._value)
                         for u in tensors)
    return tensors  # all on the host (or NumPy scalars)


def _copy_to(t, reference) -> Tensor:
    # d copy(t)/dt = 1: the gradient goes back to where t lives
    return record(device.like(t.value, reference), (t,), lambda g: (device.like(g, t.value),))


# --- elementwise arithmetic -------------------------------------------------------

def add(a, b) -> Tensor:
    """``a + b`` elementwise (``tf.add``), NumPy broadcasting: the result has the broadcast
    shape; dtypes promote as in NumPy, and a ``b`` that is not a Tensor takes a's dtype.
    Gradient: g to each input, summed over its broadcast axes."""
    a, b = _pair(a, b, "add", text_ok=True)

    def backward(g):  # d(a+b)/da = 1, d(a+b)/db = 1
        return (unbroadcast(g, a.shape) if a.tracked else None,
                unbroadcast(g, b.shape) if b.tracked else None)
    return record(a.value + b.value, (a, b), backward)


def subtract(a, b) -> Tensor:
    """``a - b`` elementwise (``tf.subtract``), NumPy broadcasting and dtypes (as ``add``).
    Gradient: g to ``a``, -g to ``b``, each summed over its broadcast axes."""
    a, b = _pair(a, b, "subtract", bool_ok=False)

    def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
        return (unbroadcast(g, a.shape) if a.tracked else None,
                unbroadcast(-g, b.shape) if b.tracked else None)
    return record(a.value - b.value, (a, b), backward)


def multiply(a, b) -> Tensor:
    """``a * b`` elementwise (``tf.multiply``), NumPy broadcasting and dtypes (as ``add``).
    Gradient: g * b to ``a``, g * a to ``b``, each summed over its broadcast axes."""
    a, b = _pair(a, b, "multiply")

    def backward(g):  # d(ab)/da = b, d(ab)/db = a
        return (unbroadcast(g * b.value, a.shape) if a.tracked else None,
                unbroadcast(g * a.value, b.shape) if b.tracked else None)
    return record(a.value * b.value, (a, b), backward)


def divide(a, b) -> Tensor:
    """``a / b`` elementwise (``tf.divide``), NumPy broadcasting; division by 0 gives inf or
    NaN as in NumPy. Gradient: g / b to ``a``, -g * a / b^2 to ``b``."""
    a, b = _pair(a, b, "divide")

    def backward(g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        return (unbroadcast(g / b.value, a.shape) if a.tracked else None,
                unbroadcast(-g * a.value / (b.value * b.value), b.shape) if b.tracked else None)
    return record(a.value / b.value, (a, b), backward)


def negative(a) -> Tensor:
    """``-a`` elementwise (``tf.negative``); same shape and dtype. Gradient: -g."""
    a = numbers(a, "negative", "a", bool_ok=False)
    return record(-a.value, (a,), lambda g: (-g,))  # d(-a)/da = -1


def power(a, b) -> Tensor:
    """``a ** b`` elementwise (``tf.pow``), NumPy broadcasting. Gradient: g * b * a^(b-1) to
    ``a``; g * a^b * ln(a) to ``b`` where a > 0 (0 elsewhere)."""
    a, b = _pair(a, b, "power")
    out = np.power(a.value, b.value)

    def backward(g):  # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
        ga = gb = None
        if a.tracked:
            ga = unbroadcast(g * b.value * np.power(a.value, b.value - 1), a.shape)
        if b.tracked:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * out * np.where(a.value > 0, np.log(a.value), 0), b.shape)
        return ga, gb
    return record(out, (a, b), backward)


def maximum(a, b) -> Tensor:
    """Elementwise max(a, b) (``tf.maximum``), NumPy broadcasting. Gradient: g goes to the
    larger input; on ties, to ``a``."""
    a, b = _pair(a, b, "maximum")
    a_wins = a.value >= b.value  # ties send the gradient to ``a``

    def backward(g):  # d max(a,b)/da = [a >= b]
        return (unbroadcast(np.where(a_wins, g, 0), a.shape) if a.tracked else None,
                unbroadcast(np.where(a_wins, 0, g), b.shape) if b.tracked else None)
    return record(np.maximum(a.value, b.value), (a, b), backward)


def minimum(a, b) -> Tensor:
    """Elementwise min(a, b) (``tf.minimum``), NumPy broadcasting. Gradient: g goes to the
    smaller input; on ties, to ``a``."""
    a, b = _pair(a, b, "minimum")
    a_wins = a.value <= b.value

    def backward(g):  # d min(a,b)/da = [a <= b]
        return (unbroadcast(np.where(a_wins, g, 0), a.shape) if a.tracked else None,
                unbroadcast(np.where(a_wins, 0, g), b.shape) if b.tracked else None)
    return record(np.minimum(a.value, b.value), (a, b), backward)


# --- elementwise functions --------------------------------------------------------

def exp(x) -> Tensor:
    """e^x elementwise (``tf.exp``); same shape and dtype. Gradient: g * e^x."""
    x = numbers(x, "exp", "x")
    out = np.exp(x.value)
    return record(out, (x,), lambda g: (g * out,))  # d e^x/dx = e^x


def log(x) -> Tensor:
    """Natural logarithm elementwise (``tf.math.log``); log(0) = -inf and log(x < 0) = NaN, as
    NumPy. Same shape and dtype. Gradient: g / x."""
    x = numbers(x, "log", "x")
    return record(np.log(x.value), (x,), lambda g: (g / x.value,))  # d ln x/dx = 1/x


def sqrt(x) -> Tensor:
    """Square root elementwise (``tf.sqrt``); same shape and dtype. Gradient: g / (2 sqrt(x))."""
    x = numbers(x, "sqrt", "x")
    out = np.sqrt(x.value)
    return record(out, (x,), lambda g: (g * 0.5 / out,))  # d sqrt(x)/dx = 1/(2 sqrt x)


def square(x) -> Tensor:
    """x^2 elementwise (``tf.square``); same shape and dtype. Gradient: 2 x g."""
    x = numbers(x, "square", "x")
    return record(x.value * x.value, (x,), lambda g: (g * 2 * x.value,))  # d x^2/dx = 2x


def sin(x) -> Tensor:
    """Sine elementwise, x in radians (``tf.math.sin``); same shape and dtype. Raises
    TypeError (:func:`numbers`) for text. Gradient: g * cos(x)."""
    x = numbers(x, "sin", "x")
    return record(np.sin(x.value), (x,), lambda g: (g * np.cos(x.value),))  # d sin x = cos x


def cos(x) -> Tensor:
    """Cosine elementwise, x in radians (``tf.math.cos``); same shape and dtype. Raises
    TypeError (:func:`numbers`) for text. Gradient: -g * sin(x)."""
    x = numbers(x, "cos", "x")
    return record(np.cos(x.value), (x,), lambda g: (-g * np.sin(x.value),))  # d cos x = -sin x


def abs(x) -> Tensor:  # noqa: A001 - TensorFlow's name
    """|x| elementwise (``tf.abs``); same shape and dtype. Gradient: g * sign(x) (0 at x = 0)."""
    x = numbers(x, "abs", "x")
    return record(np.abs(x.value), (x,), lambda g: (g * np.sign(x.value),))  # d|x|/dx = sign x


def where(condition, x, y) -> Tensor:
    """``x`` where ``condition`` is True, else ``y``, elementwise (``tf.where`` with three
    arguments): bool ``condition``, ``x`` and ``y`` broadcast together (NumPy rules); a ``y``
    that is not a Tensor takes x's dtype. Raises TypeError for a condition that is not
    bool, ValueError (:func:`check_broadcast`) for shapes that do not broadcast.
    Gradient: g where the condition holds to ``x``, g elsewhere to ``y``, each summed over
    its broadcast axes; none to the condition."""
    c = condition.value if isinstance(condition, Tensor) else np.asarray(condition)
    if c.dtype != np.bool_:
        raise TypeError(f"where: argument 'condition' must hold booleans; received dtype "
                        f"{dtype_name(c.dtype)}. To fix: compare first, e.g. tf.where(x > 0, "
                        f"x, y), or tf.cast(condition, tf.bool).")
    x, y = _pair(x, y, "where")
    check_broadcast("where", c.shape, np.broadcast_shapes(x.shape, y.shape))

    def backward(g):  # d where(c, x, y)/dx = [c], d/dy = [not c]
        return (unbroadcast(np.where(c, g, 0), x.shape) if x.tracked else None,
                unbroadcast(np.where(c, 0, g), y.shape) if y.tracked else None)
    return record(np.where(c, x.value, y.value), (x, y), backward)


def log1p(x) -> Tensor:
    """ln(1 + x) elementwise (``tf.math.log1p``), accurate for small |x|; same shape and
    dtype. Gradient: g / (1 + x)."""
    x = numbers(x, "log1p", "x")
    return record(np.log1p(x.value), (x,), lambda g: (g / (1 + x.value),))  # d ln(1+x) = 1/(1+x)


def cumsum(x, axis=0, exclusive=False, reverse=False) -> Tensor:
    """Running sum along ``axis`` (default 0) (``tf.math.cumsum``); same shape and dtype.
    ``exclusive``: each position leaves its own value out (starts at 0); ``reverse``: sums
    from the end. Raises ValueError for an axis out of range.
    Gradient: the running sum of g taken the other way (reverse <-> forward), with the
    same ``exclusive``."""
    x = numbers(x, "cumsum", "x")
    axis = int(axis)
    with checked_axis("cumsum", axis, x.ndim):
        out = _running_sum(x.value, axis, exclusive, reverse)
    # d out_j/dx_i = 1 for every j that sums x_i: the gradient sums g over those j
    return record(out, (x,), lambda g: (_running_sum(g, axis, exclusive, not reverse),))


def _running_sum(v, axis, exclusive, reverse):
    if reverse:
        v = np.flip(v, axis)
    out = np.cumsum(v, axis=axis, dtype=v.dtype)
    if exclusive:  # shift by one along the axis: position i holds the sum before it
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis)),
                              np.take(out, np.arange(out.shape[axis] - 1), axis)], axis)
    return np.flip(out, axis) if reverse else out


def identity(x) -> Tensor:
    """A new Tensor with the values of ``x`` (``tf.identity``); same shape and dtype.
    Gradient: g unchanged."""
    x = convert_to_tensor(x)
    return record(x.value.copy(), (x,), lambda g: (g,))  # d x/dx = 1


def tile(x, multiples) -> Tensor:
    """``x`` repeated ``multiples[i]`` times along each axis i (``tf.tile``): one int per
    axis of x; the result has shape x.shape[i] * multiples[i]. Raises ValueError when the
    number of multiples differs from x's rank, or one is negative.
    Gradient: g summed over the copies (each copy of a value received part of g)."""
    x = convert_to_tensor(x)
    reps = tuple(int(m) for m in np.atleast_1d(np.asarray(multiples)))
    if len(reps) != x.ndim or any(m < 0 for m in reps):
        raise ValueError(f"tile: argument 'multiples' must hold one int >= 0 per axis of the "
                         f"input (rank {x.ndim}, shape {x.shape}); received {reps}.")

    def backward(g):  # split each axis into (copies, size) and sum the copies
        pairs = [d for m, n in zip(reps, x.shape) for d in (m, n)]
        return (g.reshape(pairs).sum(axis=tuple(range(0, 2 * x.ndim, 2))),)
    return record(np.tile(x.value, reps), (x,), backward)


def clip(x, lo, hi) -> Tensor:
    """x limited to [lo, hi] elementwise (``tf.clip_by_value``); same shape and dtype.
    Gradient: g where lo <= x <= hi, 0 outside."""
    x = numbers(x, "clip", "x")
    inside = (x.value >= lo) & (x.value <= hi)
    # d clip(x)/dx = 1 inside [lo, hi], 0 outside
    return record(np.clip(x.value, lo, hi), (x,), lambda g: (np.where(inside, g, 0),))


def cast(x, dtype) -> Tensor:
    """x converted to ``dtype`` (``tf.cast``), e.g. 'float32'; same shape. Gradient: g converted
    back to x's dtype; none for integer inputs. Raises TypeError for an unknown dtype name,
    listing the valid ones."""
    x = convert_to_tensor(x)
    out = x.value.astype(as_dtype(dtype, "cast"))
    # the gradient flows back unchanged, in the input's dtype (none for integer inputs)
    return record(out, (x,), lambda g: (g.astype(x.dtype) if x.dtype.kind == "f" else None,))


# --- linear algebra and shapes ----------------------------------------------------

def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b`` over the last two axes (NumPy ``matmul`` rules). Raises
    ValueError naming both shapes when the inner axes differ."""
    a, b = _pair(a, b, "matmul", broadcast=False)

    def backward(g):  # d(ab)/da = g b^T, d(ab)/db = a^T g
        ga = gb = None
        if a.tracked:
            ga = unbroadcast(g @ b.value.swapaxes(-1, -2), a.shape)
        if b.tracked:
            gb = unbroadcast(a.value.swapaxes(-1, -2) @ g, b.shape)
        return ga, gb
    try:
        out = a.value @ b.value
    except ValueError:  # NumPy's gufunc words: say which axes must agree
        raise ValueError(f"matmul: a has shape {a.shape} and b has shape {b.shape}; the last "
                         f"axis of a must equal the first of b's last two (a (n, k) and b "
                         f"(k, m) give (n, m)).") from None
    return record(out, (a, b), backward)


def reshape(x, shape) -> Tensor:
    """x with a new ``shape`` (``tf.reshape``); one entry may be -1. Same values, same dtype.
    Raises ValueError naming both shapes when the sizes differ. Gradient: g reshaped to x's
    shape."""
    x = convert_to_tensor(x)
    try:
        out = x.value.reshape(shape)
    except ValueError as e:
        raise ValueError(f"reshape: a tensor of shape {x.shape} ({x.value.size} values) cannot "
                         f"take the shape {tuple(np.atleast_1d(shape).tolist())} ({e}).") from None
    # reshaping moves no numbers, so the gradient is reshaped back
    return record(out, (x,), lambda g: (g.reshape(x.shape),))


def transpose(x, perm=None) -> Tensor:
    """x with its axes permuted (``tf.transpose``): ``perm`` (default: all axes reversed).
    Gradient: g permuted back with the inverse permutation."""
    x = convert_to_tensor(x)
    inverse = None if perm is None else tuple(int(i) for i in np.argsort(perm))
    return record(np.transpose(x.value, perm), (x,), lambda g: (np.transpose(g, inverse),))


def concat(values, axis=-1) -> Tensor:
    """The tensors of ``values`` joined along ``axis`` (default -1) (``tf.concat``); their other
    axes must match. Gradient: each input gets its own slice of g."""
    tensors = [convert_to_tensor(v) for v in values]
    tensors = align(*tensors)  # every part on one device
    ends = [int(e) for e in np.cumsum([t.shape[axis] for t in tensors])[:-1]]

    def backward(g):  # each input gets back its own slice of the gradient
        return tuple(np.split(g, ends, axis=axis))
    return record(np.concatenate([t.value for t in tensors], axis=axis), tuple(tensors), backward)


def getitem(x, index) -> Tensor:
    """``x[index]`` with NumPy indexing (slices, integers, integer or boolean arrays); the
    dtype of x. Gradient: g scattered back into zeros of x's shape (repeated indices add up)."""
    x = convert_to_tensor(x)

    def backward(g):  # scatter the gradient back to the positions that were read
        return (device.scatter_add(np.zeros_like(x.value, dtype=g.dtype), index, g),)
    return record(x.value[index], (x,), backward)


def gather(params, indices) -> Tensor:
    """Rows of ``params`` picked by integer ``indices`` (``tf.gather(params, indices)``, axis 0).

    Args:
        params: Tensor of shape (n, ...). indices: integer array of any shape, each in [0, n).

    Returns:
        Tensor of shape indices.shape + params.shape[1:], dtype of ``params``.

    Raises:
        TypeError: non-integer indices. IndexError: an index outside [0, n), naming it.
    """
    params = convert_to_tensor(params)
    idx = np.asarray(indices.value if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather expects integer indices; received dtype {idx.dtype}.")
    n = params.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].ravel()[0]
        raise IndexError(f"gather: index {int(bad)} is outside [0, {n}) (the first axis of "
                         f"params, shape {params.shape}).")

    def backward(g):  # each picked row receives the gradient of every place it was used:
        # a scatter-add into a zero table (rows never picked get 0; repeats add up)
        full = np.zeros(params.shape, dtype=g.dtype)
        np.add.at(full, idx.reshape(-1), g.reshape((-1,) + params.shape[1:]))
        return (full,)
    return record(params.value[idx], (params,), backward)


def squeeze(x, axis=None) -> Tensor:
    """Removes size-1 axes: all of them (``axis=None``) or those listed in ``axis`` (int or
    list). Raises ValueError naming the axis when that axis is not of size 1."""
    x = convert_to_tensor(x)
    axes = None if axis is None else tuple(np.atleast_1d(axis).tolist())
    for a in axes or ():
        if not -x.ndim <= a < x.ndim or x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of a tensor of shape {x.shape} is not of "
                             f"size 1; only size-1 axes can be removed.")
    # removing size-1 axes moves no numbers: reshape the gradient back
    return record(np.squeeze(x.value, axis=axes), (x,), lambda g: (g.reshape(x.shape),))


def expand_dims(x, axis) -> Tensor:
    """Inserts a size-1 axis at position ``axis`` (negative counts from the end of the result)."""
    x = convert_to_tensor(x)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"expand_dims: axis={axis} is out of range for a tensor of rank "
                         f"{x.ndim} (expected {-x.ndim - 1} <= axis <= {x.ndim}).")
    # a new size-1 axis moves no numbers: reshape the gradient back
    return record(np.expand_dims(x.value, axis), (x,), lambda g: (g.reshape(x.shape),))


def stack(values, axis=0) -> Tensor:
    """Joins same-shape tensors along a NEW axis ``axis``: n tensors of shape S give
    shape S with n inserted at ``axis``. Raises ValueError when the shapes differ."""
    tensors = [convert_to_tensor(v) for v in values]
    if not tensors:
        raise ValueError("stack needs at least one tensor; received an empty list.")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape; received shapes {sorted(shapes)}.")

    def backward(g):  # each input gets back its own slice along the new axis
        return tuple(np.take(g, i, axis=axis) for i in range(len(tensors)))
    return record(np.stack([t.value for t in tensors], axis=axis), tuple(tensors), backward)


def add_n(values) -> Tensor:
    """Element-wise sum of a list of same-shape tensors (``tf.add_n``)."""
    values = list(values)
    if not values:
        raise ValueError("add_n needs at least one tensor; received an empty list.")
    total = convert_to_tensor(values[0])
    for v in values[1:]:
        total = add(total, v)
    return total


# --- reductions --------------------------------------------------------------------

def _expand(g, shape, axis, keepdims):
    """Broadcasts a reduced gradient back over the reduced axes."""
    if axis is None and not keepdims and isinstance(g, (np.ndarray, np.generic)):
        return np.full(shape, g)  # one number for every position (host arrays: quicker)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


#: float types whose mean NumPy accumulates in the type itself (float16 it widens to float32)
_SUM_IN_OWN_TYPE = (np.dtype(np.float32), np.dtype(np.float64))


def reduce_sum(x, axis=None, keepdims=False) -> Tensor:
    """Sum over ``axis`` (int, tuple or list; default None: all axes) (``tf.reduce_sum``);
    ``keepdims`` default False. Gradient: g broadcast back over the summed axes.
    Raises ValueError for an axis out of range (:func:`checked_axis`)."""
    x = numbers(x, "reduce_sum", "x")
    axis = _axis(axis)
    # integers keep their dtype (NumPy would widen int32 to int64; TensorFlow does not)
    dtype = x.dtype if x.dtype.kind in "iu" else None
    # d sum(x)/dx_i = 1
    with checked_axis("reduce_sum", axis, x.ndim):
        out = x.value.sum(axis=axis, keepdims=keepdims, dtype=dtype)
    return record(out, (x,), lambda g: (_expand(g, x.shape, axis, keepdims),))


def reduce_mean(x, axis=None, keepdims=False) -> Tensor:
    """Mean over ``axis`` (default None: all axes) (``tf.reduce_mean``), in x's dtype;
    ``keepdims`` default False. Gradient: g / n broadcast back, n the number of values averaged.
    Raises ValueError for an axis out of range (:func:`checked_axis`)."""
    x = numbers(x, "reduce_mean", "x")
    axis = _axis(axis)
    with checked_axis("reduce_mean", axis, x.ndim):
        if x.dtype in _SUM_IN_OWN_TYPE:  # np.mean's arithmetic (sum, then / n), no wrapper
            out = x.value.sum(axis=axis, keepdims=keepdims)
            out = out / (x.value.size // max(out.size, 1))
        else:
            out = np.mean(x.value, axis=axis, keepdims=keepdims)
    count = x.value.size // max(out.size, 1)
    # d mean(x)/dx_i = 1/n
    return record(out.astype(x.dtype, copy=False), (x,),
                  lambda g: (_expand(g / count, x.shape, axis, keepdims),))


def reduce_max(x, axis=None, keepdims=False) -> Tensor:
    """Largest value over ``axis`` (default None: all axes) (``tf.reduce_max``);
    ``keepdims`` default False. Gradient: g to the positions holding the maximum, split evenly
    between ties.
    Raises ValueError for an axis out of range (:func:`checked_axis`)."""
    x = numbers(x, "reduce_max", "x")
    axis = _axis(axis)
    with checked_axis("reduce_max", axis, x.ndim):
        out = np.max(x.value, axis=axis, keepdims=keepdims)

    def backward(g):  # d max(x)/dx_i = 1 where x_i is the max (split evenly between ties)
        winners = x.value == _expand(out, x.shape, axis, keepdims)
        share = winners / winners.sum(axis=axis, keepdims=True)
        return (_expand(g, x.shape, axis, keepdims) * share,)
    return record(out, (x,), backward)


def reduce_prod(x, axis=None, keepdims=False) -> Tensor:
    """Product of the elements over ``axis`` (all when None); integers keep their dtype.
    Raises ValueError for an axis out of range (:func:`checked_axis`)."""
    x = numbers(x, "reduce_prod", "x")
    axis = _axis(axis)
    with checked_axis("reduce_prod", axis, x.ndim):
        out = np.prod(x.value, axis=axis, keepdims=keepdims, dtype=x.dtype)

    def backward(g):  # d prod(x)/dx_i = product of all the other elements (zeros allowed)
        axes = tuple(range(x.ndim)) if axis is None else tuple(np.atleast_1d(axis) % x.ndim)
        rest = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x.value, rest + list(axes))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
        others = np.transpose((left * right).reshape(moved.shape), np.argsort(rest + list(axes)))
        return (_expand(g, x.shape, axis, keepdims) * others,)
    return record(out, (x,), backward)


def reduce_min(x, axis=None, keepdims=False) -> Tensor:
    """Smallest value over ``axis`` (default None: all axes) (``tf.reduce_min``), computed
    as -reduce_max(-x); the gradient follows (g to the minima, split between ties).
    Raises ValueError for an axis out of range (:func:`checked_axis`)."""
    x = numbers(x, "reduce_min", "x", bool_ok=False)
    if axis is not None:
        with checked_axis("reduce_min", axis, x.ndim):
            np.lib.array_utils.normalize_axis_tuple(_axis(axis), x.ndim)
    return negative(reduce_max(negative(x), axis=axis, keepdims=keepdims))


# --- Python operators on Tensor ------------------------------------------------------
# Tensor's operators (written out in tensor.py: ``a + b`` is ``add(a, b)``) call this module.
_tensor_module._ops = sys.modules[__name__]
