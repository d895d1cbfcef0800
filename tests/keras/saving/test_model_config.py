"""config.json: the model as Keras 3's dict (docs/keras_facts.md, 'The .keras file'), and the
checks that run on a file's config before anything is built."""
import pytest

from tomei.keras import Input, Model, Sequential, layers
from tomei.keras.saving import ModelFileError, model_config


def test_sequential_config_has_the_input_layer_first_and_build_configs():
    model = Sequential([Input((28, 28)), layers.Flatten(), layers.Dense(10)])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    entry = model_config.model_to_config(model)
    assert (entry["module"], entry["class_name"]) == ("keras", "Sequential")
    assert entry["build_config"] == {"input_shape": [None, 28, 28]}
    kinds = [e["class_name"] for e in entry["config"]["layers"]]
    assert kinds == ["InputLayer", "Flatten", "Dense"]
    assert entry["config"]["layers"][2]["build_config"] == {"input_shape": [None, 784]}
    assert entry["compile_config"]["metrics"] == ["accuracy"]


def test_functional_config_and_nested_models():
    inner = Sequential([Input((4,)), layers.Dense(3)], name="inner")
    inp = Input((4,))
    model = Model(inp, layers.Dense(1)(inner(inp)))
    entry = model_config.model_to_config(model)
    assert entry["class_name"] == "Functional" and entry["build_config"] == {"input_shape": None}
    nested = [e for e in entry["config"]["layers"] if e["class_name"] == "Sequential"]
    assert len(nested) == 1 and nested[0]["config"]["layers"][0]["class_name"] == "InputLayer"


def test_function_config_and_lambda_refused():
    assert model_config.function_config("my_act") == {
        "module": "builtins", "class_name": "function", "config": "my_act",
        "registered_name": "function"}
    bad = {"module": "keras.layers", "class_name": "Lambda",
           "config": {"function": {"class_name": "__lambda__", "config": {}}},
           "registered_name": None}
    with pytest.raises((ModelFileError, ValueError)):
        model_config.check_config(bad, safe_mode=True)
