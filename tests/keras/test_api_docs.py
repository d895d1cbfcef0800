"""Every public name added for Keras parity has a docstring giving its defaults (and, for
layers, its shapes), and resolves at its Keras path."""
import inspect

import pytest

import tomei
from tomei.keras import callbacks, layers, optimizers
from tomei.keras.optimizers import schedules

NAMES = [
    (layers, ["Add", "Multiply", "Concatenate", "add", "multiply", "concatenate",
              "LayerNormalization", "BatchNormalization"]),
    (callbacks, ["EarlyStopping", "CSVLogger", "LearningRateScheduler", "ReduceLROnPlateau"]),
    (optimizers, ["Adamax", "Nadam"]),
    (schedules, ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
                 "CosineDecay", "serialize", "deserialize"]),
    (tomei.engine.nn_ops, ["erf", "erf_array", "gelu"]),
]


@pytest.mark.parametrize("module, name", [(m, n) for m, names in NAMES for n in names])
def test_has_a_docstring(module, name):
    obj = getattr(module, name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 40, f"{module.__name__}.{name} needs a docstring"
    own_init = obj.__dict__.get("__init__") if isinstance(obj, type) else None
    if own_init is None:
        return  # a function, or a class that only takes the base class's arguments
    for param in list(inspect.signature(own_init).parameters.values())[1:]:
        if param.default is not inspect.Parameter.empty and param.name != "name":
            assert param.name in doc, f"{name}: document argument {param.name!r}"


@pytest.mark.parametrize("name", ["Add", "Multiply", "Concatenate", "LayerNormalization",
                                  "BatchNormalization"])
def test_layers_document_shapes(name):
    doc = inspect.getdoc(getattr(layers, name))
    assert "Input shape" in doc and "Output shape" in doc
