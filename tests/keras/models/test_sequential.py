"""Sequential: add, building from Input / input_shape / data, input_layer, build config."""
import numpy as np
import pytest

from tomei.keras import Input, Sequential, layers


def test_built_from_an_input_and_listed_without_it():
    model = Sequential([Input((4,)), layers.Dense(3), layers.Dense(1)])
    assert model.built and len(model.layers) == 2
    assert model.input_layer.batch_shape == (None, 4)
    assert model.get_build_config() == {"input_shape": [None, 4]}


def test_built_from_input_shape_or_from_data():
    assert Sequential([layers.Dense(2, input_shape=(5,))]).built
    model = Sequential([layers.Dense(2)])
    assert not model.built and model.input_layer is None
    assert model.get_build_config() == {"input_shape": None}
    model(np.zeros((3, 5), np.float32))
    assert model.built and model.built_input_shape == (None, 5)


def test_add_checks_its_argument():
    model = Sequential()
    with pytest.raises(TypeError, match="Layer instance"):
        model.add("dense")
    model.add(layers.Dense(2))
    with pytest.raises(ValueError, match="first entry"):
        model.add(layers.InputLayer(shape=(3,)))


def test_build_wants_a_shape_with_the_batch_axis():
    with pytest.raises(ValueError, match=r"^Sequential.build\(\): input_shape .*input_shape=\(None, "
                                         r"28\).*int input_shape=28"):
        Sequential([layers.Dense(2)]).build(28)
