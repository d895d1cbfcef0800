"""Keras layers: ``tomei.keras.layers.Dense`` and friends."""
from tomei.keras.layers.layer import Layer  # noqa: F401
from tomei.keras.layers.core import Activation, Dense, Flatten, Input, InputLayer, Reshape  # noqa: F401
from tomei.keras.layers.regularization import Dropout, GaussianNoise  # noqa: F401
from tomei.keras.layers.activation_layers import ELU, LeakyReLU, ReLU, Softmax  # noqa: F401
from tomei.keras.layers.merging import (  # noqa: F401
    Add, Concatenate, Multiply, add, concatenate, multiply,
)
from tomei.keras.layers.normalization import BatchNormalization, LayerNormalization  # noqa: F401
from tomei.keras.layers.preprocessing import Normalization  # noqa: F401
