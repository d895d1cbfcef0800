"""tomei.keras.saving's own functions: register_keras_serializable, get_registered_object,
custom_object_scope (save/load themselves: test_saving_api.py)."""
import numpy as np
import pytest

from tomei.keras import Input, Sequential, layers, models, saving


@saving.register_keras_serializable(package="tests")
class Doubler(layers.Layer):
    """Multiplies its input by 2."""

    def call(self, x):
        return x * 2.0


def test_registered_class_loads_without_custom_objects(tmp_path):
    model = Sequential([Input((2,)), Doubler()])
    model.save(tmp_path / "d.keras")
    loaded = models.load_model(tmp_path / "d.keras")
    assert type(loaded.layers[0]) is Doubler
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 2)), verbose=0), [[2.0, 2.0]])
    assert saving.get_registered_object("tests>Doubler") is Doubler


def test_register_needs_get_config_and_lookup_misses_return_none():
    with pytest.raises(ValueError, match="get_config"):
        saving.register_keras_serializable()(type("NoConfig", (), {}))
    assert saving.get_registered_object("nothing>Here") is None
    with saving.custom_object_scope({"Here": Doubler}):
        assert saving.get_registered_object("Here") is Doubler
