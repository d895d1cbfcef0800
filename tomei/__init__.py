"""tomei (透明, "transparent"): a Keras-compatible deep-learning library on NumPy.

Write ``import tomei as tf`` in a TensorFlow/Keras beginner script and it runs here,
with every forward, gradient and update readable as plain NumPy.
"""
from tomei.version import __version__  # noqa: F401

from tomei.engine import GradientTape, Tensor, Variable  # noqa: F401
from tomei.engine.device import device  # noqa: F401  (tf.device: '/CPU:0' or '/GPU:0')
from tomei.tf_functions import (  # noqa: F401  (TensorFlow's parameter names)
    add_n, cast, clip_by_value, concat, constant, convert_to_tensor, expand_dims, eye, fill,
    gather, identity, linspace, matmul, one_hot, ones, ones_like, pad, random, range, rank, reshape,
    shape, size, split, squeeze, stack, tile, transpose, unstack, where, zeros, zeros_like,
)
from tomei.math import (  # noqa: F401
    abs, add, argmax, argmin, divide, equal, exp, greater, greater_equal, less, less_equal, log,
    logical_and, logical_not, logical_or, maximum, minimum, multiply, negative, not_equal, pow,
    reduce_all, reduce_any, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, round,
    sign, sigmoid, sin, cos, sqrt, square, subtract, tanh, truediv, sort, argsort, unique,
)
from tomei.eager import function  # noqa: F401
from tomei import config, linalg, math, nn, saved_model, train, version  # noqa: F401
from tomei import data  # noqa: F401
from tomei import strings  # noqa: F401
from tomei.data import TensorSpec  # noqa: F401
from tomei import keras  # noqa: F401
from tomei.keras import metrics  # noqa: F401  (tf.metrics is tf.keras.metrics)

newaxis = None  # tf.newaxis: x[..., tf.newaxis] adds an axis, as np.newaxis
float32 = "float32"
float64 = "float64"
int32 = "int32"
int64 = "int64"
string = "string"  # tf.string: TensorFlow strings are bytes (NumPy "S" arrays here)
bool = "bool"  # noqa: A001 - tf.bool
uint8 = "uint8"


def __getattr__(name):
    """Lazy attributes: ``tomei.inspect`` is :mod:`tomei.inspection`, imported on first use.

    (The module file is not called ``inspect.py`` so that it never shadows the standard
    library's ``inspect``; users keep writing ``tomei.inspect.step(...)``.)
    """
    if name == "inspect":
        import importlib
        return importlib.import_module("tomei.inspection")
    raise AttributeError(f"module 'tomei' has no attribute {name!r}")
