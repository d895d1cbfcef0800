"""Pooling layers: MaxPooling1D/2D, AveragePooling2D and the global poolings (channels last).

The window arithmetic and its gradient are in :mod:`tomei.engine.conv_ops`; these layers hold
Keras's arguments (keras.io/api/layers/pooling_layers/): ``pool_size`` an int or tuple,
``strides`` default None (= ``pool_size``), ``padding`` "valid" or "same". Pooling layers
have no weights.
"""
from __future__ import annotations

from tomei.engine import conv_ops, ops
from tomei.keras.layers.convolutional import (
    SpatialInputs, check_rank, standardize_data_format, standardize_padding, standardize_tuple,
)
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


class _Pooling(SpatialInputs, Layer):
    """Shared part of the windowed poolings (``rank`` spatial axes)."""

    rank = 2
    _op = None  # the engine op, e.g. conv_ops.max_pool2d

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = self.pool_size if strides is None else \
            standardize_tuple(strides, self.rank, "strides", cls)
        self.padding = standardize_padding(padding, cls)
        self.data_format = standardize_data_format(data_format, cls)

    def build(self, input_shape):
        what = "(batch, " + ("steps" if self.rank == 1 else "height, width") + ", channels)"
        check_rank(self, input_shape, self.rank + 2, what)
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding.upper())

    def compute_output_shape(self, input_shape):
        spatial = [conv_ops.conv_output_length(n, k, s, self.padding) for n, k, s in zip(
            input_shape[1:-1], self.pool_size, self.strides)]
        if any(n is not None and n < 1 for n in spatial):
            raise ValueError(f"{type(self).__name__} '{self.name}': the input's spatial size "
                             f"{tuple(input_shape[1:-1])} is smaller than pool_size "
                             f"{self.pool_size} with padding='valid'; the output would be empty.")
        return (input_shape[0],) + tuple(spatial) + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


@register("keras.layers")
class MaxPooling2D(_Pooling):
    """The largest value of each pool_size window of each channel.

    Args:
        pool_size: int or (ph, pw); default (2, 2). strides: int, tuple or None (default:
            pool_size, so windows do not overlap). padding: "valid" (default) or "same".
        data_format: None or "channels_last" (NotImplementedError for "channels_first").

    Input: (batch, height, width, channels). Output: (batch, new_height, new_width,
    channels). The gradient goes to each window's largest input.
    """

    _op = staticmethod(conv_ops.max_pool2d)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


@register("keras.layers")
class AveragePooling2D(_Pooling):
    """The mean of each pool_size window of each channel. With padding "same" the padded
    positions are left out of each mean (as TensorFlow).

    Args: as :class:`MaxPooling2D`, except that ``pool_size`` is required (as in Keras 3).
    """

    _op = staticmethod(conv_ops.avg_pool2d)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


@register("keras.layers")
class MaxPooling1D(_Pooling):
    """The largest value of each window along the steps axis.

    Args: pool_size: int, default 2; strides: int or None (= pool_size); padding: "valid"
    (default) or "same"; data_format: None or "channels_last".

    Input: (batch, steps, channels). Output: (batch, new_steps, channels).
    """

    rank = 1
    _op = staticmethod(conv_ops.max_pool1d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class _GlobalPooling(SpatialInputs, Layer):
    """Shared part of the global poolings: reduce every spatial axis at once."""

    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        what = "(batch, " + ("steps" if self.rank == 1 else "height, width") + ", channels)"
        check_rank(self, input_shape, self.rank + 2, what)
        self.built = True

    def call(self, inputs):
        return self._reduce(inputs, axis=tuple(range(1, self.rank + 1)), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


@register("keras.layers")
class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width of each channel: (batch, h, w, c) -> (batch, c).

    Args: data_format: None or "channels_last". keepdims: if True, the output keeps the
    spatial axes with size 1, (batch, 1, 1, c). Default False.
    """

    _reduce = staticmethod(ops.reduce_mean)


@register("keras.layers")
class GlobalMaxPooling2D(_GlobalPooling):
    """The largest value over height and width of each channel: (batch, h, w, c) -> (batch, c).

    Args: as :class:`GlobalAveragePooling2D`.
    """

    _reduce = staticmethod(ops.reduce_max)


@register("keras.layers")
class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps of each channel: (batch, steps, c) -> (batch, c).

    Args: as :class:`GlobalAveragePooling2D` (keepdims gives (batch, 1, c)). Keras's
    ``mask`` call argument is not implemented (tomei has no masking).
    """

    rank = 1
    _reduce = staticmethod(ops.reduce_mean)
