"""Convolution layers: Conv1D, Conv2D, Conv2DTranspose (channels last), on tomei.engine.conv_ops.

The layers hold the Keras configuration and the weights; the arithmetic (im2col and one
matrix product, forward and gradient) is in :mod:`tomei.engine.conv_ops`. The argument
helpers here (``standardize_tuple``, ``standardize_padding``, ``standardize_data_format``)
are shared with the pooling and reshaping layers.

Keras 3's conventions (keras.io/api/layers/convolution_layers/): ``kernel_size``, ``strides``
and ``dilation_rate`` are an int or a tuple of ``rank`` ints; ``padding`` is "valid" or
"same" ("causal" for Conv1D); kernels are (*kernel_size, in_channels, filters), and
(*kernel_size, filters, in_channels) for Conv2DTranspose; weights are named "kernel" and
"bias". Only ``data_format="channels_last"`` is implemented.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import conv_ops
from tomei.keras import activations, constraints, initializers, regularizers
from tomei.keras.layers.core import (
    add_kernel_and_bias, bias_and_activation, kernel_and_bias_config,
)
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


def standardize_tuple(value, n, name, layer, allow_zero=False) -> tuple:
    """``value`` (an int, or ``n`` ints) as a tuple of ``n`` ints, as Keras accepts them.

    Raises:
        ValueError: naming ``layer`` and the argument ``name``, for the wrong count, a
            non-integer, or a value below 1 (below 0 with ``allow_zero``).
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
        if len(values) != n or not all(isinstance(v, (int, np.integer)) and
                                       not isinstance(v, bool) for v in values):
            raise ValueError(f"{layer}: the `{name}` argument must be an int or a tuple of {n} "
                             f"ints; received {name}={value!r}.")
        values = tuple(int(v) for v in values)
    if any(v < (0 if allow_zero else 1) for v in values):
        raise ValueError(f"{layer}: `{name}` must be {'non-negative' if allow_zero else 'positive'}"
                         f"; received {name}={value!r}.")
    return values


def standardize_padding(value, layer, allow_causal=False) -> str:
    """'valid', 'same' (any case) or, for Conv1D, 'causal'; ValueError otherwise."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{layer}: `padding` must be one of {', '.join(map(repr, allowed))}; "
                         f"received padding={value!r}.")
    return value.lower()


def standardize_data_format(value, layer) -> str:
    """None or 'channels_last' -> 'channels_last'.

    Raises:
        NotImplementedError: for 'channels_first' (tomei computes channels last only).
        ValueError: for anything else.
    """
    if value is None or value == "channels_last":
        return "channels_last"
    if value == "channels_first":
        raise NotImplementedError(
            f"{layer}: data_format='channels_first' is not implemented; tomei computes with "
            f"channels last, (batch, ..., channels). Move the channel axis last, e.g. "
            f"np.moveaxis(x, 1, -1), and leave data_format unset.")
    raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first'; "
                     f"received data_format={value!r}.")


def check_rank(layer, input_shape, rank, what):
    """ValueError unless inputs have ``rank`` axes (batch included). When exactly the last
    (channel) axis is missing, as for grayscale images of shape (N, 28, 28), the message says
    how to add it (``x[..., None]``) and which ``keras.Input`` shape to declare."""
    if len(input_shape) != rank:
        shape = tuple(input_shape)
        hint = ""
        if len(shape) == rank - 1 and what.rstrip(")").endswith("channels"):
            with_channel = tuple(shape[1:]) + (1,)
            hint = (f" If the data have no channel axis (one channel, e.g. grayscale images), "
                    f"add one: x = x[..., None] (np.expand_dims(x, -1)), and declare "
                    f"keras.Input(shape={with_channel}).")
        raise ValueError(f"Input of layer '{layer.name}' ({type(layer).__name__}) must have "
                         f"{rank} axes, {what}; received input shape {shape}.{hint}")


class SpatialInputs:
    """Mixin for image/sequence layers: once built, later calls may have any height, width or
    length (as Keras's ``InputSpec(ndim=...)``); the rank must stay, and the channel count
    too when the layer has weights that depend on it (``_fixed_channels``)."""

    _fixed_channels = False

    def _check_input_shape(self, inputs):
        expected, got = self._input_spec_shape, getattr(inputs, "shape", None)
        if got is None:
            return
        if len(got) != len(expected) or (self._fixed_channels and got[-1] != expected[-1]):
            raise ValueError(
                f"Input of layer '{self.name}' is incompatible with the layer: it was built for "
                f"inputs of shape {tuple(expected)} ({len(expected)} axes"
                f"{', ' + str(expected[-1]) + ' channels' if self._fixed_channels else ''}); "
                f"received shape {tuple(got)}.")


class _Conv(SpatialInputs, Layer):
    """Shared part of Conv1D and Conv2D (``rank`` spatial axes). See :class:`Conv2D`."""

    rank = 2
    _fixed_channels = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls, rank = type(self).__name__, self.rank
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{cls}: `filters` must be a positive int; received "
                             f"filters={filters!r}.")
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{cls}: `groups` must be a positive int; received groups={groups!r}.")
        if groups != 1:
            raise NotImplementedError(f"{cls}: grouped convolution (groups={groups}) is not "
                                      f"implemented; use groups=1.")
        self.filters = int(filters)
        self.groups = int(groups)
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", cls)
        self.strides = standardize_tuple(strides, rank, "strides", cls)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", cls)
        self.padding = standardize_padding(padding, cls, allow_causal=rank == 1)
        self.data_format = standardize_data_format(data_format, cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: `strides` > 1 together with `dilation_rate` > 1 is not "
                             f"supported (as in Keras); received strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}.")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels, self.filters)

    def build(self, input_shape):
        what = "(batch, " + ("steps" if self.rank == 1 else "height, width") + ", channels)"
        check_rank(self, input_shape, self.rank + 2, what)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a known channel axis "
                             f"(the last); received input shape {tuple(input_shape)}.")
        self.compute_output_shape(input_shape)  # refuses inputs smaller than the kernel
        add_kernel_and_bias(self, self._kernel_shape(channels), self.filters)

    def call(self, inputs):
        return bias_and_activation(self, self._convolve(inputs))

    def compute_output_shape(self, input_shape):
        spatial = [conv_ops.conv_output_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]
        if any(n is not None and n < 1 for n in spatial):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the input's spatial size "
                f"{tuple(input_shape[1:-1])} is smaller than the kernel {self.kernel_size} "
                f"(dilation {self.dilation_rate}) with padding='{self.padding}'; the output "
                f"would be empty.")
        return (input_shape[0],) + tuple(spatial) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                **kernel_and_bias_config(self)}


@register("keras.layers")
class Conv2D(_Conv):
    """2-D convolution over images: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or (height, width) of the window.
        strides: int or (sh, sw); default 1. padding: "valid" (default, no padding) or
            "same" (zero-padded so that the output has ceil(input / stride) pixels).
        data_format: None or "channels_last" (NotImplementedError for "channels_first").
        dilation_rate: int or (dh, dw); default 1. Not together with strides > 1 (Keras's
            rule; ValueError).
        groups: 1 (NotImplementedError otherwise).
        activation: name or callable, default None (linear). use_bias: default True.
        kernel_initializer: default "glorot_uniform" (fans include the window area).
        bias_initializer: default "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: as for Dense.

    Input shape: (batch, height, width, channels). Output shape: (batch, new_height,
    new_width, filters), sizes by TensorFlow's rules (tomei.engine.conv_ops).
    Weights: kernel (kh, kw, channels, filters), bias (filters,).

    Raises:
        ValueError: bad arguments, or an input of the wrong rank or smaller than the kernel.
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)

    def _convolve(self, inputs):
        return conv_ops.conv2d(inputs, self.kernel, self.strides, self.padding.upper(),
                               dilations=self.dilation_rate)


@register("keras.layers")
class Conv1D(_Conv):
    """1-D convolution over sequences (temporal convolution).

    Args: as :class:`Conv2D` with ints or 1-tuples, plus padding="causal": zero-padding on
    the left only, ``(kernel_size - 1) * dilation_rate`` steps, so that output t sees inputs
    up to t only (van den Oord et al., 2016, WaveNet, arXiv:1609.03499).

    Input shape: (batch, steps, channels). Output: (batch, new_steps, filters).
    Weights: kernel (kernel_size, channels, filters), bias (filters,).
    """

    rank = 1

    def _convolve(self, inputs):
        padding = self.padding.upper()
        if self.padding == "causal":
            padding = [[0, 0], [(self.kernel_size[0] - 1) * self.dilation_rate[0], 0], [0, 0]]
        return conv_ops.conv1d(inputs, self.kernel, self.strides, padding,
                               dilations=self.dilation_rate)


def transpose_output_length(length, kernel, stride, padding, output_padding, dilation):
    """Output length of a transposed convolution along one axis (Keras's rule).

    With ``k = (kernel - 1) * dilation + 1``: "valid" gives (length - 1) * stride + k +
    output_padding (default max(k, stride) - k); "same" gives length * stride, or
    (length - 1) * stride + k % 2 + output_padding when output_padding is set.
    """
    if length is None:
        return None
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return (length - 1) * stride + k + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + k % 2 + output_padding


@register("keras.layers")
class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (sometimes called deconvolution): the gradient of a
    Conv2D with respect to its input, used to upsample feature maps.

    Args: as :class:`Conv2D` (no ``groups``), plus
        output_padding: None (default), or an int / (ph, pw) smaller than the strides: extra
            rows/columns at the bottom/right of the output (Keras's rule, see
            :func:`transpose_output_length`).

    Input shape: (batch, height, width, channels). Output shape: (batch, new_height,
    new_width, filters); with padding "same" and no output_padding, new = old * stride.
    Weights: kernel (kh, kw, filters, channels) (filters before channels, as Keras), bias
    (filters,).
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(output_padding, 2, "output_padding",
                                                    "Conv2DTranspose", allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"Conv2DTranspose: `output_padding` must be smaller than the "
                                 f"strides; received output_padding={self.output_padding}, "
                                 f"strides={self.strides}.")

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def compute_output_shape(self, input_shape):
        paddings = self.output_padding or (None, None)
        spatial = [transpose_output_length(n, k, s, self.padding, p, d) for n, k, s, p, d in zip(
            input_shape[1:3], self.kernel_size, self.strides, paddings, self.dilation_rate)]
        return (input_shape[0],) + tuple(spatial) + (self.filters,)

    def _convolve(self, inputs):
        out_shape = self.compute_output_shape(inputs.shape)
        return conv_ops.conv2d_transpose(inputs, self.kernel, out_shape, self.strides,
                                         self.padding.upper(), dilations=self.dilation_rate)

    def get_config(self):
        cfg = {}
        for key, value in super().get_config().items():  # no groups; output_padding after padding
            if key != "groups":
                cfg[key] = value
            if key == "padding":
                cfg["output_padding"] = self.output_padding
        return cfg
