"""Activation layers: Softmax, ReLU, LeakyReLU, ELU."""
from __future__ import annotations

from tomei.engine import nn_ops
from tomei.keras import activations
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


class _Elementwise(Layer):
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register("keras.layers")
class Softmax(_Elementwise):
    """Turns scores into probabilities along ``axis`` (default -1); rows sum to 1."""

    rows_independent = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return nn_ops.softmax(inputs, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register("keras.layers")
class ReLU(_Elementwise):
    """max(x, 0), with Keras's optional ``max_value``, ``negative_slope`` and ``threshold``.

    Raises:
        ValueError: a negative ``max_value``, ``negative_slope`` or ``threshold``.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("max_value", max_value), ("negative_slope", negative_slope),
                           ("threshold", threshold)):
            if value is not None and value < 0:  # Keras refuses these too
                raise ValueError(f"ReLU expects {arg} >= 0; received {arg}={value!r}.")
        if threshold is None:
            raise ValueError("ReLU expects a number for threshold; received threshold=None.")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


@register("keras.layers")
class LeakyReLU(_Elementwise):
    """x if x > 0 else negative_slope * x (default 0.3, as Keras's layer)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, inputs):
        return nn_ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register("keras.layers")
class ELU(_Elementwise):
    """x if x > 0 else alpha (e^x - 1); default alpha 1.0."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return nn_ops.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
