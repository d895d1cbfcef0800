"""Image reshaping layers: UpSampling2D and ZeroPadding2D (channels last).

(Flatten and Reshape live in :mod:`tomei.keras.layers.core`.) Neither layer has weights;
their gradients are those of :func:`tomei.engine.conv_ops.upsample_nearest2d` and
:func:`tomei.engine.conv_ops.pad`.
"""
from __future__ import annotations

from tomei.engine import conv_ops
from tomei.keras.layers.convolutional import (
    SpatialInputs, check_rank, standardize_data_format, standardize_tuple,
)
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


@register("keras.layers")
class UpSampling2D(SpatialInputs, Layer):
    """Repeats each pixel ``size`` times along height and width (nearest-neighbour upsampling).

    Args:
        size: int or (sh, sw); default (2, 2).
        data_format: None or "channels_last" (NotImplementedError for "channels_first").
        interpolation: "nearest" (default). Keras's other modes ("bilinear", "bicubic",
            "area", "lanczos3", "lanczos5") raise NotImplementedError.

    Input: (batch, height, width, channels). Output: (batch, height * sh, width * sw,
    channels).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = standardize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = standardize_data_format(data_format, "UpSampling2D")
        if not isinstance(interpolation, str):
            raise ValueError(f"UpSampling2D: `interpolation` must be a string; received "
                             f"interpolation={interpolation!r}.")
        self.interpolation = interpolation.lower()
        if self.interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not "
                                      f"implemented; tomei has 'nearest' only.")

    def build(self, input_shape):
        check_rank(self, input_shape, 4, "(batch, height, width, channels)")
        self.built = True

    def call(self, inputs):
        return conv_ops.upsample_nearest2d(inputs, self.size)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


@register("keras.layers")
class ZeroPadding2D(SpatialInputs, Layer):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: an int (the same on all four sides), a tuple of 2 ints (symmetric height
            padding, symmetric width padding), or ((top, bottom), (left, right)); default
            (1, 1).
        data_format: None or "channels_last" (NotImplementedError for "channels_first").

    Input: (batch, height, width, channels). Output: (batch, height + top + bottom,
    width + left + right, channels).
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, "ZeroPadding2D")
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding, padding)
        if not isinstance(padding, (list, tuple)) or len(padding) != 2:
            raise ValueError(f"ZeroPadding2D: `padding` must be an int, a tuple of 2 ints or a "
                             f"tuple of 2 tuples of 2 ints; received padding={padding!r}.")
        self.padding = tuple(standardize_tuple(p, 2, f"padding[{i}]", "ZeroPadding2D",
                                               allow_zero=True) for i, p in enumerate(padding))

    def build(self, input_shape):
        check_rank(self, input_shape, 4, "(batch, height, width, channels)")
        self.built = True

    def call(self, inputs):
        return conv_ops.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        return (b, None if h is None else h + top + bottom,
                None if w is None else w + left + right, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
