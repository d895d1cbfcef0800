"""Keras layers: ``tomei.keras.layers.Dense`` and friends."""
from tomei.keras.layers.layer import Layer  # noqa: F401
from tomei.keras.layers.core import Activation, Dense, Flatten, Input, InputLayer, Reshape  # noqa: F401
from tomei.keras.layers.regularization import Dropout, GaussianNoise, SpatialDropout2D  # noqa: F401
from tomei.keras.layers.activation_layers import ELU, LeakyReLU, ReLU, Softmax  # noqa: F401
from tomei.keras.layers.merging import (  # noqa: F401
    Add, Concatenate, Multiply, add, concatenate, multiply,
)
from tomei.keras.layers.normalization import (  # noqa: F401
    BatchNormalization, LayerNormalization, UnitNormalization,
)
from tomei.keras.layers.convolutional import Conv1D, Conv2D, Conv2DTranspose  # noqa: F401
from tomei.keras.layers.pooling import (  # noqa: F401
    AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling2D,
    MaxPooling1D, MaxPooling2D,
)
from tomei.keras.layers.reshaping import UpSampling2D, ZeroPadding2D  # noqa: F401
from tomei.keras.layers.preprocessing import Normalization  # noqa: F401
from tomei.keras.layers.embedding import Embedding  # noqa: F401
from tomei.keras.layers.text_vectorization import TextVectorization  # noqa: F401
# Keras 3's other names for the same classes
Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
MaxPool1D, MaxPool2D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool2D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling2D)
