"""TensorFlow's top-level functions that are not differentiable ops.

``tf.constant``, ``tf.zeros``, ``tf.ones``, ``tf.shape``, ``tf.argmax`` and ``tf.random``:
they make Tensors from NumPy values (the differentiable ``tf.*`` functions are in
``tomei/engine/ops.py``).
"""
from types import SimpleNamespace

import numpy as np

from tomei import config
from tomei.engine.tensor import Tensor


def constant(value, dtype=None, shape=None) -> Tensor:
    """A Tensor holding ``value`` (as ``tf.constant``); floats become float32 unless ``dtype``."""
    t = Tensor(value, dtype)
    if t.value is value or (isinstance(value, np.ndarray) and np.shares_memory(t.value, value)):
        t = Tensor(t.value.copy())  # tf.constant copies: changing `value` later changes nothing
    if shape is not None:
        t = Tensor(np.broadcast_to(t.value, _shape(shape)).copy())
    return t


def _shape(shape) -> tuple:
    """A shape from ints, a list/tuple, or a Tensor such as ``tf.shape(x)``."""
    return tuple(int(d) for d in np.atleast_1d(np.asarray(shape)))


def zeros(shape, dtype="float32") -> Tensor:
    """A Tensor of zeros of ``shape`` (ints, a list, or a Tensor such as ``tf.shape(x)``); dtype default float32."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype))


def ones(shape, dtype="float32") -> Tensor:
    """A Tensor of ones of ``shape``; dtype default float32 (as ``tf.ones``)."""
    return Tensor(np.ones(_shape(shape), dtype=dtype))


def shape(x) -> Tensor:
    """The shape of ``x`` as a 1-D int32 Tensor (as ``tf.shape``)."""
    return Tensor(np.asarray(np.shape(np.asarray(x)), dtype=np.int32))


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


def argmax(x, axis=-1, output_type="int64") -> Tensor:
    """Index of the largest value along ``axis`` (TensorFlow's default axis is 0; Keras ops -1)."""
    return Tensor(np.argmax(np.asarray(x), axis=axis).astype(output_type))


def _normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    g = np.random.default_rng(seed) if seed is not None else config.rng()
    return Tensor(g.normal(mean, stddev, size=_shape(shape)).astype(dtype))


def _uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    g = np.random.default_rng(seed) if seed is not None else config.rng()
    return Tensor(g.uniform(minval, maxval, size=_shape(shape)).astype(dtype))


def _set_seed(seed):
    from tomei.keras.utils import set_random_seed
    set_random_seed(seed)


random = SimpleNamespace(normal=_normal, uniform=_uniform, set_seed=_set_seed)
