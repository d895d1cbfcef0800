"""Optimizers by Keras name: ``compile(optimizer='adam')`` or ``optimizers.Adam(1e-3)``."""
from tomei.keras.optimizers import schedules  # noqa: F401
from tomei.keras.optimizers.adam import Adam, AdamW  # noqa: F401
from tomei.keras.optimizers.adamax import Adamax  # noqa: F401
from tomei.keras.optimizers.nadam import Nadam  # noqa: F401
from tomei.keras.optimizers.optimizer import Optimizer  # noqa: F401
from tomei.keras.optimizers.rmsprop import Adagrad, RMSprop  # noqa: F401
from tomei.keras.optimizers.sgd import SGD  # noqa: F401

_BY_NAME = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adamax": Adamax, "nadam": Nadam}


def get(identifier):
    """An Optimizer from a name ('adam', 'sgd', ...), a config dict or an instance.

    Raises:
        ValueError: an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: received optimizer={identifier!r}. Expected "
                             f"one of: {', '.join(sorted(_BY_NAME))}, or an Optimizer instance.")
        return cls()
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.optimizers")
    raise ValueError(f"Expected an optimizer name or instance; received optimizer={identifier!r}.")
