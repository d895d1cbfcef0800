"""The registry and Keras 3 config dicts: serialize, deserialize, lookup by name only,
custom objects, is_registered_instance and the Configurable base."""
import pytest

from tomei.keras import constraints, initializers, layers, models, regularizers, serialization


def test_serialize_gives_the_keras_3_dict_and_deserialize_rebuilds():
    entry = serialization.serialize(initializers.HeNormal(seed=3))
    assert entry == {"module": "keras.initializers", "class_name": "HeNormal",
                     "config": {"seed": 3}, "registered_name": None}
    again = serialization.deserialize(entry, "keras.initializers")
    assert isinstance(again, initializers.HeNormal) and again.seed == 3
    for plain in (None, "relu", 3, 2.5, True):
        assert serialization.serialize(plain) == plain


def test_lookup_refuses_unknown_names_and_lambdas():
    with pytest.raises(ValueError, match="Unknown layer class 'Nope'.*custom_objects"):
        serialization.lookup("Nope", "keras.layers")
    with pytest.raises(ValueError, match="Refusing to deserialize a Python lambda"):
        serialization.lookup("__lambda__", "keras.layers")
    assert serialization.lookup("Dense", "keras.src.layers.core.dense") is layers.Dense


def test_user_subclasses_are_custom_and_found_through_custom_objects():
    class MyDense(layers.Dense):
        pass
    entry = serialization.serialize(MyDense(2))
    assert entry["registered_name"] == "Custom>MyDense"
    with serialization.custom_object_scope({"MyDense": MyDense}):
        assert type(serialization.deserialize(entry, "keras.layers")) is MyDense


def test_is_registered_instance_recognises_models_without_importing_them():
    seq = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    assert serialization.is_registered_instance(seq, "Sequential")
    assert serialization.is_registered_instance(seq, "Model")
    assert not serialization.is_registered_instance(seq, "Functional")
    assert not serialization.is_registered_instance(layers.Dense(1), "Model")
    assert not serialization.is_registered_instance(seq, "NoSuchClass")


@pytest.mark.parametrize("obj", [initializers.Constant(0.5), regularizers.L2(0.01),
                                 constraints.MaxNorm(3)])
def test_configurable_objects_round_trip(obj):
    assert isinstance(obj, serialization.Configurable)
    again = type(obj).from_config(obj.get_config())
    assert again.get_config() == obj.get_config()
