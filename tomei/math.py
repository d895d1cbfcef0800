"""TensorFlow's ``tf.math`` namespace: element-wise math, comparisons and reductions.

The differentiable ops are the engine's (:mod:`tomei.engine.ops`, :mod:`tomei.engine.nn_ops`);
this module only adds the ones that have no gradient in TensorFlow either (comparisons,
logical ops, rounding, argmax) and short compositions of differentiable ops (variance).
Every function accepts Tensors, NumPy arrays and Python numbers and returns a Tensor.
"""
import numpy as np

from tomei.engine.nn_ops import sigmoid, softplus, tanh  # noqa: F401
from tomei.engine.ops import (  # noqa: F401
    abs, add, add_n, convert_to_tensor, divide, exp, log, maximum, minimum, multiply, negative,
    reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, sqrt, square, subtract,
)
from tomei.engine.ops import power as pow  # noqa: F401
from tomei.engine.ops import divide as truediv  # noqa: F401
from tomei.engine.tensor import Tensor


def _values(*xs):
    """NumPy arrays of the inputs, the second converted to the first's dtype (as TF does)."""
    first = convert_to_tensor(xs[0]).value
    rest = [x.value if isinstance(x, Tensor) else np.asarray(x, dtype=first.dtype) for x in xs[1:]]
    return [first] + rest


def _no_gradient(fn, doc):
    """An op TensorFlow defines no gradient for: plain NumPy, nothing recorded."""
    def op(*args, **kwargs):
        return Tensor(fn(*_values(*args), **kwargs))
    op.__doc__ = doc + " No gradient (as in TensorFlow)."
    op.__name__ = fn.__name__
    return op


less = _no_gradient(np.less, "x < y element-wise, a bool Tensor (NumPy broadcasting).")
less_equal = _no_gradient(np.less_equal, "x <= y element-wise, a bool Tensor.")
greater = _no_gradient(np.greater, "x > y element-wise, a bool Tensor.")
greater_equal = _no_gradient(np.greater_equal, "x >= y element-wise, a bool Tensor.")
equal = _no_gradient(np.equal, "x == y element-wise, a bool Tensor.")
not_equal = _no_gradient(np.not_equal, "x != y element-wise, a bool Tensor.")
logical_and = _no_gradient(np.logical_and, "Element-wise AND of bool tensors.")
logical_or = _no_gradient(np.logical_or, "Element-wise OR of bool tensors.")
logical_not = _no_gradient(np.logical_not, "Element-wise NOT of a bool tensor.")
is_nan = _no_gradient(np.isnan, "True where x is NaN.")
is_finite = _no_gradient(np.isfinite, "True where x is neither NaN nor infinite.")
is_inf = _no_gradient(np.isinf, "True where x is +inf or -inf.")
floor = _no_gradient(np.floor, "Largest integer not greater than x, element-wise.")
ceil = _no_gradient(np.ceil, "Smallest integer not less than x, element-wise.")
round = _no_gradient(np.round, "x rounded to the nearest integer, halves to even (banker's rounding, as TensorFlow).")  # noqa: A001,E501
sign = _no_gradient(np.sign, "-1, 0 or 1 by the sign of x.")
floordiv = _no_gradient(np.floor_divide, "x // y element-wise (rounds toward minus infinity).")
floormod = _no_gradient(np.mod, "x mod y with the sign of y (Python's %), element-wise.")
mod = floormod


def argmax(input, axis=None, output_type="int64") -> Tensor:  # noqa: A002 - TensorFlow's name
    """Index of the largest value along ``axis`` (default 0, as ``tf.math.argmax``);
    ``output_type`` 'int64' (default) or 'int32'. No gradient."""
    return Tensor(np.argmax(convert_to_tensor(input).value, axis=0 if axis is None else axis)
                  .astype(output_type))


def argmin(input, axis=None, output_type="int64") -> Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0). No gradient."""
    return Tensor(np.argmin(convert_to_tensor(input).value, axis=0 if axis is None else axis)
                  .astype(output_type))


def count_nonzero(input, axis=None, keepdims=False, dtype="int64") -> Tensor:  # noqa: A002
    """Number of non-zero elements over ``axis`` (all when None). No gradient."""
    v = convert_to_tensor(input).value
    return Tensor(np.count_nonzero(v, axis=axis, keepdims=keepdims).astype(dtype))


def reduce_all(input_tensor, axis=None, keepdims=False) -> Tensor:
    """Logical AND over ``axis`` (all when None)."""
    return Tensor(np.all(convert_to_tensor(input_tensor).value, axis=axis, keepdims=keepdims))


def reduce_any(input_tensor, axis=None, keepdims=False) -> Tensor:
    """Logical OR over ``axis`` (all when None)."""
    return Tensor(np.any(convert_to_tensor(input_tensor).value, axis=axis, keepdims=keepdims))


def reduce_variance(input_tensor, axis=None, keepdims=False) -> Tensor:
    """Population variance mean((x - mean(x))^2) over ``axis``; differentiable."""
    x = convert_to_tensor(input_tensor)
    centred = subtract(x, reduce_mean(x, axis=axis, keepdims=True))
    return reduce_mean(square(centred), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False) -> Tensor:
    """Population standard deviation, sqrt(reduce_variance); differentiable."""
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def reciprocal(x) -> Tensor:
    """1 / x element-wise; differentiable."""
    x = convert_to_tensor(x)
    return divide(np.ones((), dtype=x.dtype), x)


def log_sigmoid(x) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed without overflow; differentiable."""
    return negative(softplus(negative(x)))
