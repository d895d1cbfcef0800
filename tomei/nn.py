"""TensorFlow's ``tf.nn`` functions: activations, softmax, losses on logits, convolution
and pooling (NHWC).

Each accepts NumPy arrays or Tensors and returns a Tensor (use ``.numpy()``).
"""
import numpy as np

from tomei.engine import nn_ops
from tomei.engine.nn_ops import (  # noqa: F401
    sigmoid_cross_entropy, softmax_cross_entropy, sparse_softmax_cross_entropy,
)
from tomei import math as tf_math
from tomei.engine import ops
from tomei.engine.ops import convert_to_tensor, multiply, numbers, transpose
from tomei.engine.tensor import Tensor
from tomei.keras.losses import check_sparse_labels
from tomei.engine.conv_ops import (  # noqa: F401
    avg_pool1d, avg_pool2d, conv1d, conv2d, conv2d_transpose, max_pool1d, max_pool2d,
)
from tomei.tf_functions import check_name, with_tf_names


def _tf(fn, names):
    return with_tf_names(fn, names, f"tf.nn.{fn.__name__}")


# the engine's activations under TensorFlow's parameter names
relu = _tf(nn_ops.relu, "features")
elu = _tf(nn_ops.elu, "features")  # alpha (Keras' extra) stays, keyword-only
selu = _tf(nn_ops.selu, "features")
gelu = _tf(nn_ops.gelu, "features approximate")
leaky_relu = _tf(nn_ops.leaky_relu, "features alpha")
softplus = _tf(nn_ops.softplus, "features")
softsign = _tf(nn_ops.softsign, "features")
sigmoid = _tf(nn_ops.sigmoid, "x")
tanh = _tf(nn_ops.tanh, "x")
top_k = tf_math.top_k  # tf.nn.top_k is tf.math.top_k


def _floats(logits, op: str):
    """``logits`` as a float Tensor: TensorFlow's softmax kernels take float16/32/64 only,
    so integers are refused (TypeError naming ``op`` and the argument) rather than
    silently computed in float64."""
    t = numbers(logits, op, "logits", bool_ok=False)
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: argument 'logits' must hold floats (float16, float32 or "
                        f"float64), as in TensorFlow; received dtype {t.dtype.name}, shape "
                        f"{t.shape}. To fix: tf.cast(logits, tf.float32).")
    return t


def softmax(logits, axis=-1, name=None):
    """e^z / sum(e^z) along ``axis`` (default -1) (``tf.nn.softmax``): float ``logits`` of
    any shape; same shape and dtype, slices along ``axis`` sum to 1. Raises TypeError for
    integer logits (as TensorFlow). Gradient: s * (g - sum(g * s))."""
    check_name(name, "tf.nn.softmax")
    return nn_ops.softmax(_floats(logits, "tf.nn.softmax"), axis)


def log_softmax(logits, axis=-1, name=None):
    """z - log(sum(e^z)) along ``axis`` (``tf.nn.log_softmax``): float ``logits``; same
    shape and dtype. Raises TypeError for integer logits (as TensorFlow). Gradient:
    g - softmax(z) * sum(g)."""
    check_name(name, "tf.nn.log_softmax")
    return nn_ops.log_softmax(_floats(logits, "tf.nn.log_softmax"), axis)


def silu(features, beta=1.0):
    """features * sigmoid(beta * features) (``tf.nn.silu``, also ``tf.nn.swish``; Ramachandran
    et al., 2017); same shape and dtype. ``beta`` default 1.0. Differentiable in
    ``features`` (beta is a number, not trained)."""
    if beta == 1.0:
        return nn_ops.silu(features)
    x = numbers(features, "tf.nn.silu", "features", bool_ok=False)
    return multiply(x, nn_ops.sigmoid(multiply(x, beta)))


swish = silu
bias_add = with_tf_names(nn_ops.bias_add, "value bias", "tf.nn.bias_add")
embedding_lookup = with_tf_names(ops.gather, "params ids", "tf.nn.embedding_lookup")
l2_normalize = tf_math.l2_normalize


def relu6(features, name=None):
    """min(max(features, 0), 6) (``tf.nn.relu6``); same shape and dtype. Gradient: g where
    0 <= x <= 6, 0 outside."""
    check_name(name, "tf.nn.relu6")
    return ops.clip(numbers(features, "tf.nn.relu6", "features", bool_ok=False), 0, 6)


def l2_loss(t, name=None):
    """sum(t^2) / 2 over all elements (``tf.nn.l2_loss``), a 0-d Tensor of t's dtype;
    differentiable: the gradient is g * t."""
    check_name(name, "tf.nn.l2_loss")
    return ops.multiply(ops.reduce_sum(ops.square(t)), 0.5)


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) of ``x`` over ``axes`` (a list of ints) (``tf.nn.moments``); the
    population variance, mean((x - mean)^2). Both differentiable.
    Raises NotImplementedError for ``shift`` (TensorFlow does not use it either)."""
    check_name(name, "tf.nn.moments")
    if shift is not None:
        raise NotImplementedError("tf.nn.moments: argument 'shift' is not supported.")
    axes = list(np.atleast_1d(axes).tolist())
    mean = ops.reduce_mean(x, axis=axes, keepdims=True)
    variance = ops.reduce_mean(ops.square(ops.subtract(x, mean)), axis=axes, keepdims=keepdims)
    return (mean if keepdims else ops.squeeze(mean, axis=axes)), variance


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """Per-sample -log softmax(logits)[label]: integer ``labels`` (N,) against ``logits``
    (N, C); shape (N,), the logits' dtype. Raises ValueError for a label outside [0, C).
    Gradient with respect to the logits: softmax(logits) - onehot(labels)."""
    check_name(name, "tf.nn.sparse_softmax_cross_entropy_with_logits")
    logits = convert_to_tensor(logits)
    check_sparse_labels(np.asarray(labels), logits.shape[-1], argument="labels")
    return sparse_softmax_cross_entropy(labels, logits)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Per-sample -sum(labels * log_softmax(logits)) over ``axis`` (default -1, the classes):
    probability ``labels`` and ``logits`` of the same shape; the result drops that axis.
    Gradient with respect to the logits: softmax(logits) * sum(labels) - labels."""
    check_name(name, "tf.nn.softmax_cross_entropy_with_logits")
    logits = convert_to_tensor(logits)
    axis = int(axis) % max(logits.ndim, 1)
    if axis != logits.ndim - 1:  # move the class axis last, where the fused op reads it
        perm = [i for i in range(logits.ndim) if i != axis] + [axis]
        logits, labels = transpose(logits, perm), np.transpose(np.asarray(labels), perm)
    return softmax_cross_entropy(labels, logits)


def sigmoid_cross_entropy_with_logits(labels, logits, name=None):
    """Elementwise binary cross-entropy of ``labels`` in [0, 1] against ``logits`` (same
    shape): max(z, 0) - z * t + log(1 + exp(-|z|)), stable for large |z|.
    Gradient with respect to the logits: sigmoid(z) - t."""
    check_name(name, "tf.nn.sigmoid_cross_entropy_with_logits")
    return sigmoid_cross_entropy(labels, logits)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Inverted dropout (``tf.nn.dropout``; Srivastava et al., 2014): each element of float
    ``x`` is zeroed with probability ``rate`` and the kept ones are scaled by 1/(1-rate),
    so the expected output is ``x``. Same shape and dtype; always active (no training flag).

    Args:
        x: float Tensor of any shape. rate: float in [0, 1).
        noise_shape: optional shape broadcastable to x's (e.g. [batch, 1, channels] drops
            whole channels); None entries take x's size. Default None: x's shape.
        seed: optional int; the same seed gives the same mask on every call (TensorFlow
            varies it between calls). None: tomei's generator (``tf.random.set_seed``).

    Raises:
        ValueError: integer ``x`` or ``rate`` outside [0, 1), naming the argument.
    Gradient: g times the same mask and scale.
    """
    check_name(name, "tf.nn.dropout")
    t = numbers(x, "tf.nn.dropout", "x", bool_ok=False)
    if t.dtype.kind != "f":
        raise ValueError(f"tf.nn.dropout: argument 'x' must hold floats, as it is scaled; "
                         f"received dtype {t.dtype.name}. To fix: tf.cast(x, tf.float32).")
    r = rate.numpy() if isinstance(rate, Tensor) else rate
    if np.ndim(r) != 0 or not 0 <= float(r) < 1:
        raise ValueError(f"tf.nn.dropout: argument 'rate' must be a float in [0, 1); "
                         f"received {rate!r}.")
    if noise_shape is not None:
        noise_shape = [None if d is None else int(d) for d in np.asarray(
            noise_shape.numpy() if isinstance(noise_shape, Tensor) else noise_shape,
            dtype=object).tolist()]
        if len(noise_shape) != t.ndim or any(
                d is not None and d not in (1, s) for d, s in zip(noise_shape, t.shape)):
            raise ValueError(f"tf.nn.dropout: argument 'noise_shape' must have one entry per "
                             f"axis of x (shape {t.shape}), each 1, None or that axis's "
                             f"size; received {noise_shape}.")
    rng = None if seed is None else np.random.default_rng(int(seed))
    return nn_ops.dropout(t, float(r), rng=rng, noise_shape=noise_shape)
