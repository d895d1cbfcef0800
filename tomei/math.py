"""TensorFlow's ``tf.math`` namespace: element-wise math, comparisons and reductions.

The differentiable ops are the engine's (:mod:`tomei.engine.ops`, :mod:`tomei.engine.nn_ops`);
this module only adds the ones that have no gradient in TensorFlow either (comparisons,
logical ops, rounding, argmax) and short compositions of differentiable ops (variance).
Every function accepts Tensors, NumPy arrays and Python numbers and returns a Tensor.
"""
from collections import namedtuple

import numpy as np

from tomei.engine import nn_ops, ops
from tomei.engine.ops import checked_axis, convert_to_tensor  # noqa: F401
from tomei.engine.tensor import Tensor
from tomei.engine.tensor import as_dtype
from tomei.tf_functions import check_name, with_tf_names


def _tf(fn, names, public=None):
    return with_tf_names(fn, names, public or f"tf.math.{fn.__name__}")


# the engine's differentiable ops under TensorFlow's parameter names
add = _tf(ops.add, "x y")
subtract = _tf(ops.subtract, "x y")
multiply = _tf(ops.multiply, "x y")
divide = _tf(ops.divide, "x y")
truediv = _tf(ops.divide, "x y", "tf.math.truediv")
pow = _tf(ops.power, "x y", "tf.math.pow")  # noqa: A001 - TensorFlow's name
maximum = _tf(ops.maximum, "x y")
minimum = _tf(ops.minimum, "x y")
negative = _tf(ops.negative, "x")
abs = _tf(ops.abs, "x")  # noqa: A001
exp = _tf(ops.exp, "x")
sin = _tf(ops.sin, "x")
cos = _tf(ops.cos, "x")
log = _tf(ops.log, "x")
sqrt = _tf(ops.sqrt, "x")
square = _tf(ops.square, "x")
add_n = _tf(ops.add_n, "inputs")
reduce_sum = _tf(ops.reduce_sum, "input_tensor axis keepdims")
reduce_mean = _tf(ops.reduce_mean, "input_tensor axis keepdims")
reduce_max = _tf(ops.reduce_max, "input_tensor axis keepdims")
reduce_min = _tf(ops.reduce_min, "input_tensor axis keepdims")
reduce_prod = _tf(ops.reduce_prod, "input_tensor axis keepdims")
sigmoid = _tf(nn_ops.sigmoid, "x")
tanh = _tf(nn_ops.tanh, "x")
softplus = _tf(nn_ops.softplus, "features")
log1p = _tf(ops.log1p, "x")
erf = _tf(nn_ops.erf, "x")
cumsum = _tf(ops.cumsum, "x axis exclusive reverse")


def rsqrt(x, name=None) -> Tensor:
    """1 / sqrt(x) elementwise (``tf.math.rsqrt``); differentiable: -g / (2 x^1.5)."""
    check_name(name, "tf.math.rsqrt")
    x = convert_to_tensor(x)
    return ops.divide(np.ones((), dtype=x.dtype), ops.sqrt(x))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """log(sum(exp(x))) over ``axis`` (all when None) (``tf.math.reduce_logsumexp``),
    computed as m + log(sum(exp(x - m))) with m the (constant) max, so large x does not
    overflow; differentiable: the gradient is softmax(x) over the axis times g."""
    check_name(name, "tf.math.reduce_logsumexp")
    x = convert_to_tensor(input_tensor)
    with checked_axis("tf.math.reduce_logsumexp", axis, x.ndim):
        m = np.max(x.value, axis=ops._axis(axis), keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)  # a row of -inf stays -inf
    total = ops.reduce_sum(ops.exp(ops.subtract(x, m)), axis=axis, keepdims=True)
    out = ops.add(ops.log(total), m)
    if keepdims:
        return out
    return ops.reshape(out, ()) if axis is None else ops.squeeze(out, axis=axis)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None) -> Tensor:
    """x / sqrt(max(sum(x^2 over ``axis``), ``epsilon``)) (``tf.math.l2_normalize``, also
    ``tf.nn.l2_normalize``): ``axis`` default None, all axes; same shape and dtype;
    differentiable. ``dim`` is TensorFlow's old name for ``axis`` (give one of them)."""
    check_name(name, "tf.math.l2_normalize")
    if dim is not None:
        if axis is not None:
            raise ValueError("tf.math.l2_normalize: give axis or dim (its old name), not both.")
        axis = dim
    x = convert_to_tensor(x)
    total = ops.reduce_sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, rsqrt(ops.maximum(total, np.asarray(epsilon, x.dtype))))


def _values(*xs):
    """NumPy arrays of the inputs, the second converted to the first's dtype (as TF does)."""
    first = convert_to_tensor(xs[0]).value
    rest = [x.value if isinstance(x, Tensor) else np.asarray(x, dtype=first.dtype) for x in xs[1:]]
    return [first] + rest


def _no_gradient(fn, doc, binary=True):
    """An op TensorFlow defines no gradient for: plain NumPy, nothing recorded; TensorFlow's
    parameters ``(x, y, name=None)``, or ``(x, name=None)`` when not ``binary``. Shapes
    that cannot broadcast raise ValueError naming the op and both shapes."""
    public = f"tf.math.{fn.__name__}"

    def unary(x, name=None):
        check_name(name, public)
        return Tensor(fn(*_values(x)))

    def pair(x, y, name=None):
        check_name(name, public)
        a, b = _values(x, y)
        if a.shape != b.shape:
            ops.check_broadcast(public, a.shape, b.shape)
        return Tensor(fn(a, b))
    op = pair if binary else unary
    op.__doc__ = doc + " No gradient (as in TensorFlow)."
    op.__name__ = op.__qualname__ = fn.__name__
    return op


less = _no_gradient(np.less, "x < y element-wise, a bool Tensor (NumPy broadcasting).")
less_equal = _no_gradient(np.less_equal, "x <= y element-wise, a bool Tensor.")
greater = _no_gradient(np.greater, "x > y element-wise, a bool Tensor.")
greater_equal = _no_gradient(np.greater_equal, "x >= y element-wise, a bool Tensor.")
equal = _no_gradient(np.equal, "x == y element-wise, a bool Tensor.")
not_equal = _no_gradient(np.not_equal, "x != y element-wise, a bool Tensor.")
logical_and = _no_gradient(np.logical_and, "Element-wise AND of bool tensors.")
logical_or = _no_gradient(np.logical_or, "Element-wise OR of bool tensors.")
logical_not = _no_gradient(np.logical_not, "Element-wise NOT of a bool tensor.", binary=False)
is_nan = _no_gradient(np.isnan, "True where x is NaN.", binary=False)
is_finite = _no_gradient(np.isfinite, "True where x is neither NaN nor infinite.", binary=False)
is_inf = _no_gradient(np.isinf, "True where x is +inf or -inf.", binary=False)
floor = _no_gradient(np.floor, "Largest integer not greater than x, element-wise.", binary=False)
ceil = _no_gradient(np.ceil, "Smallest integer not less than x, element-wise.", binary=False)
round = _no_gradient(np.round, "x rounded to the nearest integer, halves to even (banker's rounding, as TensorFlow).", binary=False)  # noqa: A001,E501
sign = _no_gradient(np.sign, "-1, 0 or 1 by the sign of x.", binary=False)
floordiv = _no_gradient(np.floor_divide, "x // y element-wise (rounds toward minus infinity).")
floormod = _no_gradient(np.mod, "x mod y with the sign of y (Python's %), element-wise.")
mod = floormod


def _arg(fn, input, axis, output_type, name, public):  # noqa: A002
    """np.argmax/argmin over ``axis`` (None: 0, as TensorFlow), checked (axis, names)."""
    check_name(name, public)
    v = convert_to_tensor(input).value
    axis = 0 if axis is None else axis
    with checked_axis(public, axis, v.ndim):
        return Tensor(fn(v, axis=axis).astype(as_dtype(output_type, public, "output_type")))


def argmax(input, axis=None, output_type="int64", name=None) -> Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (``tf.math.argmax``, also ``tf.argmax``):
    default None, meaning axis 0 (TensorFlow's default; Keras' ops.argmax uses -1);
    ``output_type`` 'int64' (default) or 'int32'. The result drops that axis. Raises
    ValueError for an axis out of range. No gradient."""
    return _arg(np.argmax, input, axis, output_type, name, "tf.math.argmax")


def argmin(input, axis=None, output_type="int64", name=None) -> Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0), as :func:`argmax`."""
    return _arg(np.argmin, input, axis, output_type, name, "tf.math.argmin")


def _logical(fn, input_tensor, axis, keepdims, name, public):
    check_name(name, public)
    v = convert_to_tensor(input_tensor).value
    with checked_axis(public, axis, v.ndim):
        return fn(v, axis=ops._axis(axis), keepdims=keepdims)


def count_nonzero(input, axis=None, keepdims=False, dtype="int64", name=None) -> Tensor:  # noqa: A002,E501
    """Number of non-zero elements over ``axis`` (all when None), of ``dtype`` (default
    int64). Raises ValueError for an axis out of range. No gradient."""
    dtype = as_dtype(dtype, "tf.math.count_nonzero")
    return Tensor(np.asarray(_logical(np.count_nonzero, input, axis, keepdims, name,
                                      "tf.math.count_nonzero")).astype(dtype))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Logical AND over ``axis`` (all when None); bool. Raises ValueError for an axis out
    of range."""
    return Tensor(_logical(np.all, input_tensor, axis, keepdims, name, "tf.math.reduce_all"))


def reduce_any(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Logical OR over ``axis`` (all when None); bool. Raises ValueError for an axis out
    of range."""
    return Tensor(_logical(np.any, input_tensor, axis, keepdims, name, "tf.math.reduce_any"))


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Population variance mean((x - mean(x))^2) over ``axis``; differentiable."""
    check_name(name, "tf.math.reduce_variance")
    x = convert_to_tensor(input_tensor)
    centred = subtract(x, reduce_mean(x, axis=axis, keepdims=True))
    return reduce_mean(square(centred), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Population standard deviation, sqrt(reduce_variance); differentiable."""
    check_name(name, "tf.math.reduce_std")
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def reciprocal(x, name=None) -> Tensor:
    """1 / x element-wise; differentiable."""
    check_name(name, "tf.math.reciprocal")
    x = convert_to_tensor(x)
    return divide(np.ones((), dtype=x.dtype), x)


def log_sigmoid(x, name=None) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed without overflow; differentiable."""
    check_name(name, "tf.math.log_sigmoid")
    return negative(softplus(negative(x)))


# --- sorting: tf.sort, tf.argsort, tf.math.top_k, tf.unique --------------------------------

_DIRECTIONS = ("ASCENDING", "DESCENDING")
TopKV2 = namedtuple("TopKV2", "values indices")
Unique = namedtuple("Unique", "y idx")


def _sortable(values, public: str) -> Tensor:
    """``values`` as a Tensor of real numbers (ints or floats); TypeError naming the
    argument for text, bool or complex values, which TensorFlow does not sort either."""
    t = ops.numbers(values, public, "values", bool_ok=False)
    if t.dtype.kind not in "iuf":
        raise TypeError(f"{public}: argument 'values' must hold real numbers; received dtype "
                        f"{t.dtype.name}.")
    return t


def _order(v: np.ndarray, axis: int, direction, public: str) -> np.ndarray:
    """Stable sorting permutation of ``v`` along ``axis``; equal values keep their order
    in both directions (a descending sort sorts the reversed axis ascending, then turns it
    back, so ties still come first-index first)."""
    if direction not in _DIRECTIONS:
        raise ValueError(f"{public}: argument 'direction' must be 'ASCENDING' or "
                         f"'DESCENDING'; received {direction!r}.")
    if direction == "ASCENDING":
        return np.argsort(v, axis=axis, kind="stable")
    n = v.shape[axis]
    backwards = np.argsort(np.flip(v, axis), axis=axis, kind="stable")
    return n - 1 - np.flip(backwards, axis)


def _along(order: np.ndarray, axis: int) -> tuple:
    """The NumPy index that reads ``x`` in ``order`` along ``axis``: ``order`` there and
    the plain positions on every other axis."""
    grids = np.indices(order.shape, sparse=True)
    return tuple(order if d == axis else g for d, g in enumerate(grids))


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    """Indices that sort ``values`` along ``axis`` (default -1) (``tf.argsort``): int32, same
    shape. ``direction`` 'ASCENDING' (default) or 'DESCENDING'. The order is always stable
    (ties in index order), which also satisfies ``stable=False``. Raises ValueError for a
    bad direction or axis, TypeError for values that are not real numbers. No gradient."""
    check_name(name, "tf.argsort")
    if not isinstance(stable, bool):
        raise TypeError(f"tf.argsort: argument 'stable' must be a bool; received {stable!r}.")
    v = _sortable(values, "tf.argsort").value
    with checked_axis("tf.argsort", axis, v.ndim):
        return Tensor(_order(v, axis, direction, "tf.argsort").astype(np.int32))


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """``values`` sorted along ``axis`` (default -1) (``tf.sort``): same shape and dtype;
    ``direction`` 'ASCENDING' (default) or 'DESCENDING'. Raises as :func:`argsort`.
    Gradient: g sent back to each value's original position."""
    check_name(name, "tf.sort")
    x = _sortable(values, "tf.sort")
    with checked_axis("tf.sort", axis, x.ndim):
        order = _order(x.value, axis, direction, "tf.sort")
    return ops.getitem(x, _along(order, axis % x.ndim))


def top_k(input, k=1, sorted=True, index_type="int32", name=None) -> TopKV2:  # noqa: A002
    """The ``k`` largest entries along the last axis (``tf.math.top_k``, also ``tf.nn.top_k``).

    Args:
        input: real numbers of shape (..., n), n >= k. k: int >= 0 (default 1).
        sorted: TensorFlow lets False return any order; here the result is always sorted
            largest first (ties: lower index first, as TensorFlow).
        index_type: 'int32' (default) or 'int64'.

    Returns:
        ``TopKV2(values, indices)``, each of shape (..., k): values with input's dtype
        (differentiable: g goes back to the chosen positions), indices of ``index_type``.

    Raises:
        ValueError: k negative or larger than n, or a scalar input. TypeError: text, bool.
    """
    check_name(name, "tf.math.top_k")
    x = _sortable(input, "tf.math.top_k")
    k = int(k.numpy() if isinstance(k, Tensor) else k)
    if x.ndim == 0:
        raise ValueError("tf.math.top_k: argument 'input' must have at least 1 axis; "
                         "received a scalar.")
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"tf.math.top_k: argument 'k' must be in [0, {x.shape[-1]}] (the "
                         f"size of the last axis of 'input', shape {x.shape}); received k={k}.")
    order = _order(x.value, -1, "DESCENDING", "tf.math.top_k")[..., :k]
    dtype = as_dtype(index_type, "tf.math.top_k", "index_type")
    return TopKV2(ops.getitem(x, _along(order, x.ndim - 1)), Tensor(order.astype(dtype)))


def unique(x, out_idx="int32", name=None) -> Unique:
    """The distinct values of 1-D ``x`` in order of first appearance (``tf.unique``).

    Returns:
        ``Unique(y, idx)``: ``y`` (m,) with x's dtype, and ``idx`` (n,) of ``out_idx``
        ('int32' default, or 'int64') with ``x == y[idx]``. No gradient.

    Raises:
        ValueError: ``x`` not 1-D, naming its shape.
    """
    check_name(name, "tf.unique")
    v = convert_to_tensor(x).value
    if v.ndim != 1:
        raise ValueError(f"tf.unique: argument 'x' must be 1-D; received shape {v.shape}.")
    values, first, inverse = np.unique(v, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first, kind="stable")   # sorted slot -> appearance rank
    rank = np.empty_like(by_appearance)
    rank[by_appearance] = np.arange(len(by_appearance))
    dtype = as_dtype(out_idx, "tf.unique", "out_idx")
    return Unique(Tensor(values[by_appearance]), Tensor(rank[inverse.ravel()].astype(dtype)))
