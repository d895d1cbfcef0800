"""The Keras API on tomei's engine: ``tomei.keras.layers.Dense``, ``tomei.keras.Sequential``..."""
from tomei.keras import (  # noqa: F401
    activations, callbacks, constraints, initializers, layers, losses, metrics, models,
    optimizers, regularizers, utils,
)
from tomei.keras.layers import Input  # noqa: F401
from tomei.keras.models import Model, Sequential  # noqa: F401
from tomei.keras import datasets  # noqa: F401
from tomei.keras import backend  # noqa: F401
from tomei.keras import saving  # noqa: F401
