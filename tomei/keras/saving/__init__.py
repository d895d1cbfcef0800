"""Saving and loading models: the Keras 3 ``.keras`` format, ``.weights.h5``, ONNX export.

    model.save("m.keras")                       # architecture + weights + optimizer state
    model = tomei.keras.models.load_model("m.keras")
    model.save_weights("m.weights.h5")          # weights (+ optimizer state) only
    model.load_weights("m.weights.h5")
    tomei.keras.saving.export_onnx(model, "m.onnx")

The files are the ones Keras 3 writes (JSON + HDF5 via h5py, never pickle), so Keras 3
loads tomei's files and tomei loads Keras's. See docs/saving.md.
"""
from tomei.keras.saving.safety import ModelFileError  # noqa: F401
from tomei.keras.saving.saving_api import (  # noqa: F401
    load_model,
    load_weights,
    save_model,
    save_weights,
)
from tomei.keras.serialization import custom_object_scope  # noqa: F401

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "export_onnx",
           "register_keras_serializable", "custom_object_scope", "get_registered_object",
           "ModelFileError"]


def register_keras_serializable(package="Custom", name=None):
    """Class/function decorator: makes your own layer, loss, metric or activation loadable by
    ``load_model`` without ``custom_objects``, as ``keras.saving.register_keras_serializable``.

    Args:
        package: default "Custom". name: default the class or function name.
        The object is registered as "package>name" (its ``registered_name`` in configs).

    Raises:
        ValueError: an object without a ``get_config`` method (classes only).
    """
    def decorate(obj):
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: {obj.__name__} must have a "
                             f"get_config() method to be saved.")
        from tomei.keras.serialization import register_custom
        return register_custom(obj, f"{package}>{name or obj.__name__}")
    return decorate


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function registered (or given in ``custom_objects``) as ``name``, or None."""
    from tomei.keras.serialization import custom_objects_in_scope
    for table in (custom_objects or {}, custom_objects_in_scope(), module_objects or {}):
        if name in table:
            return table[name]
    return None


def export_onnx(model, filepath, opset=17):
    """Writes ``model`` as an ONNX graph (needs the ``onnx`` package; imported only here).

    See :func:`tomei.keras.saving.onnx_export.export_onnx`.
    """
    from tomei.keras.saving.onnx_export import export_onnx as _export
    return _export(model, filepath, opset=opset)
