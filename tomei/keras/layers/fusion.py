"""Layer pairs that a model may run as one engine op: ``Conv2D(activation="relu")`` then
``MaxPooling2D(2)``, and, while training, ``Dense(activation="relu")`` then ``Dropout``.

A convnet's ``Conv2D(32, 3, activation="relu")`` followed by ``MaxPooling2D(2)`` is, layer
by layer, three engine ops, each a pass over the whole conv output. The engine has one op
for the chain, :func:`tomei.engine.conv_pool.conv2d_bias_relu_max_pool`, with the same
values and gradients (docs/convolution.md, "Fusing conv, ReLU and pooling").
``Sequential.call`` asks :func:`fusable` for each neighbouring pair and runs
:func:`conv_relu_max_pool` where it answers True; the layers, their weights, ``summary()``,
saving and ``get_config`` are unchanged (the pair is only *computed* together).

It answers True only where the op is exactly the two layers' arithmetic: a plain
``Conv2D`` (not a subclass, which may override ``call``) with ReLU, any strides, padding
and dilation, and no activity regularizer (which needs the conv output), then a plain
``MaxPooling2D`` with 2x2 windows, strides 2 and "valid" padding; both built; the input a
float32 or float64 Tensor of the conv's compute dtype. To compute layer by layer, switch
the fused kernels off: ``TOMEI_FUSED=0`` (or ``tomei.engine.fused.set_mode("off")``).
"""
from __future__ import annotations

import numpy as np

from tomei import config
from tomei.engine import conv_pool, fused, nn_ops
from tomei.engine.tensor import Tensor
from tomei.keras import activations
from tomei.keras.layers.convolutional import Conv2D
from tomei.keras.layers.core import Dense
from tomei.keras.layers.pooling import MaxPooling2D
from tomei.keras.layers.regularization import Dropout

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def pair_call(first, second, inputs, training):
    """``second(first(inputs), training=training)`` as one engine op where the pair is
    fusable (:func:`fusable`, or while training :func:`dense_dropout_fusable`), else None:
    then the caller runs the layers one by one."""
    if fusable(first, second, inputs):
        return conv_relu_max_pool(first, second, inputs)
    if training and dense_dropout_fusable(first, second, inputs):
        return dense_relu_dropout(first, second, inputs)
    return None


def _as_layer_calls(first, second, inputs):
    """What ``Layer.__call__`` does around ``call`` for the two layers: the first one's
    input check, and each one's losses of the last call cleared."""
    if first._input_spec_shape is not None:
        first._check_input_shape(inputs)
    first._losses.clear()
    second._losses.clear()


def fusable(conv, pool, inputs) -> bool:
    """Whether ``pool(conv(inputs))`` may run as :func:`conv_relu_max_pool` (see the module
    docstring for the conditions). Any layers and inputs may be passed: False when they are
    not such a pair."""
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D
            and conv.built and pool.built
            and conv.activation is activations.relu and conv.activity_regularizer is None
            and pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
            and type(inputs) is Tensor and inputs.dtype is conv._compute_dtype
            and inputs.dtype in _FLOATS and conv.kernel.dtype == inputs.dtype
            and fused.mode() != "off")


def conv_relu_max_pool(conv, pool, inputs) -> Tensor:
    """``pool(conv(inputs))`` in one engine op, for a pair :func:`fusable` accepted.

    Args:
        conv: a built ``Conv2D`` with ReLU. pool: a built ``MaxPooling2D(2)``.
        inputs: (batch, height, width, channels) Tensor of ``conv``'s compute dtype.

    Returns:
        (batch, OH // 2, OW // 2, filters) Tensor, as the two layers give.

    Raises:
        ValueError: the input's rank or channel count does not fit ``conv`` (its message),
            or the conv output is smaller than the 2x2 pool.
    """
    _as_layer_calls(conv, pool, inputs)
    return conv_pool.conv2d_bias_relu_max_pool(inputs, conv.kernel, conv.bias, conv.strides,
                                               conv.padding.upper(), conv.dilation_rate)


def dense_dropout_fusable(dense, dropout, inputs) -> bool:
    """Whether ``dropout(dense(inputs), training=True)`` may run as
    :func:`dense_relu_dropout`: a plain, built ``Dense`` with ReLU, a bias and no activity
    regularizer, then a plain, built ``Dropout`` with 0 < rate < 1 and no noise_shape; the
    input a 2-D float32 or float64 Tensor of the Dense layer's compute dtype. The caller
    asks only while training (outside training Dropout is the identity)."""
    return (type(dense) is Dense and type(dropout) is Dropout
            and dense.built and dropout.built
            and dense.activation is activations.relu and dense.bias is not None
            and dense.activity_regularizer is None
            and 0 < dropout.rate < 1 and dropout.noise_shape is None
            and type(inputs) is Tensor and inputs.ndim == 2
            and inputs.dtype is dense._compute_dtype and inputs.dtype in _FLOATS
            and dense.kernel.dtype == inputs.dtype and fused.mode() != "off")


def dense_relu_dropout(dense, dropout, inputs) -> Tensor:
    """``dropout(dense(inputs), training=True)`` in one engine op
    (:func:`tomei.engine.nn_ops.dense_relu_dropout`: the same values, gradients and random
    draws as the two layers), for a pair :func:`dense_dropout_fusable` accepted.

    Raises:
        ValueError: the input's last axis does not fit ``dense`` (its message).
    """
    _as_layer_calls(dense, dropout, inputs)
    return nn_ops.dense_relu_dropout(inputs, dense.kernel, dense.bias, dropout.rate,
                                     dropout._rng or config.rng())
