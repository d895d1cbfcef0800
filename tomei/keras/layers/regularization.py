"""Layers that fight overfitting: Dropout, GaussianNoise, SpatialDropout2D."""
from __future__ import annotations

import numpy as np

from tomei import config
from tomei.engine import nn_ops, ops
from tomei.keras.layers.convolutional import SpatialInputs, check_rank, standardize_data_format
from tomei.keras.arguments import shape_argument
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


@register("keras.layers")
class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014, JMLR 15): while training, each input unit
    is set to 0 with probability ``rate`` and the kept ones are scaled by 1/(1-rate).
    Outside training (``model(x)``, ``predict``, ``evaluate``) it is the identity.

    Args:
        rate: float in [0, 1], the fraction to drop (1 drops everything, as in Keras).
            noise_shape: optional mask shape (a tuple; None keeps an axis of the input).
        seed: optional int for a reproducible mask sequence.

    Input and output shape: any, unchanged.
    """

    rows_independent = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout expects rate in [0, 1]; received rate={rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else \
            shape_argument(noise_shape, "noise_shape", "Dropout()")
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return ops.multiply(inputs, 0.0)  # every unit dropped
        return nn_ops.dropout(inputs, self.rate, self._rng or config.rng(), self.noise_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


@register("keras.layers")
class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise while training; the identity otherwise."""

    rows_independent = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = (self._rng or config.rng()).normal(0, self.stddev, inputs.shape)
        return ops.add(inputs, noise.astype(inputs.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register("keras.layers")
class SpatialDropout2D(SpatialInputs, Dropout):
    """Dropout of whole feature maps (Tompson et al., 2015, "Efficient Object Localization
    Using Convolutional Networks", arXiv:1411.4280): while training, each channel of each
    image is zeroed with probability ``rate`` (all its pixels together) and the kept
    channels are scaled by 1/(1-rate). The identity outside training.

    Args:
        rate: float in [0, 1]. data_format: None or "channels_last" (NotImplementedError
            for "channels_first"). seed: optional int. name, dtype: as every layer.

    Input and output shape: (batch, height, width, channels).
    """

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = standardize_data_format(data_format, "SpatialDropout2D")

    def build(self, input_shape):
        check_rank(self, input_shape, 4, "(batch, height, width, channels)")
        self.built = True

    def call(self, inputs, training=False):
        self.noise_shape = (inputs.shape[0], 1, 1, inputs.shape[3])  # one draw per channel
        return super().call(inputs, training=training)

    def get_config(self):  # Keras 3's keys for this layer (no trainable; dtype as a name)
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype,
                "data_format": self.data_format}
