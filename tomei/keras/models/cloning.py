"""clone_model: the same architecture with fresh weights (Keras 3's ``keras.models.clone_model``).

Each layer is remade from its config (``type(layer).from_config(layer.get_config())``), so
the clone has new, freshly initialised weights and shares nothing with the original; copy the
weights yourself with ``clone.set_weights(model.get_weights())`` if you want them too.
"""
from __future__ import annotations

from tomei.keras.layers.core import InputLayer
from tomei.keras.models.functional import Functional
from tomei.keras.models.sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with ``model``'s architecture and fresh weights.

    Args:
        model: a Sequential, functional or subclassed Model.
        input_tensors: not supported (NotImplementedError when given).
        clone_function: ``layer -> new layer`` applied to each layer of a Sequential model
            (default: the layer remade from its config). Not supported for functional models.
        call_function, recursive: not supported (NotImplementedError when given).

    Returns:
        The clone, not compiled (as in Keras).

    Raises:
        NotImplementedError: an argument tomei does not implement, naming it.
        TypeError: an unknown keyword argument, or ``model`` is not a Model.
        ValueError: a subclassed model whose get_config cannot rebuild it.
    """
    if kwargs:
        raise TypeError(f"clone_model() got unexpected keyword argument(s): "
                        f"{', '.join(sorted(kwargs))}.")
    for name, value in (("input_tensors", input_tensors), ("call_function", call_function)):
        if value is not None:
            raise NotImplementedError(f"clone_model({name}=...) is not implemented in tomei; "
                                      f"clone without it.")
    if recursive:
        raise NotImplementedError("clone_model(recursive=True) is not implemented in tomei.")
    remake = clone_function or _fresh_copy
    if isinstance(model, Sequential):
        entries = [] if model._input_layer is None else [
            InputLayer(batch_shape=model._input_layer.batch_shape, name=model._input_layer.name)]
        return Sequential(entries + [remake(layer) for layer in model.layers], name=model.name,
                          trainable=model.trainable)
    if isinstance(model, Functional):
        if clone_function is not None:
            raise NotImplementedError("clone_model(clone_function=...) is implemented for "
                                      "Sequential models only in tomei.")
        return type(model).from_config(model.get_config())
    if not hasattr(model, "fit"):
        raise TypeError(f"clone_model expects a Model; received {type(model).__name__}.")
    try:
        return type(model).from_config(model.get_config())
    except TypeError as error:
        raise ValueError(f"Cannot clone the subclassed model '{model.name}': "
                         f"{type(model).__name__}.from_config(model.get_config()) failed "
                         f"({error}). Give the class get_config/from_config that rebuild it.") \
            from error


def _fresh_copy(layer):
    return type(layer).from_config(layer.get_config())
