"""Models: Sequential, the functional ``Model(inputs, outputs)``, and loading."""
from tomei.keras.models.model import Model  # noqa: F401
from tomei.keras.models.sequential import Sequential  # noqa: F401
from tomei.keras.models.functional import Functional  # noqa: F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``model.save`` (see ``tomei.keras.saving.load_model``)."""
    from tomei.keras.saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
from tomei.keras.models.cloning import clone_model  # noqa: F401,E402
