"""clone_model (tomei/keras/models/cloning.py) and get_layer: the Keras 3 behaviours."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers


def _sequential():
    return tf.keras.Sequential([tf.keras.Input((4,)), layers.Dense(3, name="d", activation="relu"),
                                layers.Dropout(0.2), layers.Dense(2, name="out")])


def test_clone_has_the_architecture_and_fresh_weights():
    model = _sequential()
    clone = tf.keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert not np.allclose(clone.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    clone.set_weights(model.get_weights())
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    clone.layers[0].kernel.assign(np.zeros((4, 3), np.float32))  # nothing shared
    assert not np.allclose(model.layers[0].kernel.numpy(), 0)


def test_clone_function_replaces_layers():
    def no_dropout(layer):
        if isinstance(layer, layers.Dropout):
            return layers.Activation("linear", name=layer.name)
        return type(layer).from_config(layer.get_config())

    clone = tf.keras.models.clone_model(_sequential(), clone_function=no_dropout)
    assert [type(l).__name__ for l in clone.layers] == ["Dense", "Activation", "Dense"]


def test_functional_clone_and_refusals():
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, layers.Dense(2, name="o")(layers.Dense(3, name="h")(inputs)))
    clone = tf.keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.predict(np.ones((1, 4)), verbose=0).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="clone_function"):
        tf.keras.models.clone_model(model, clone_function=lambda layer: layer)
    with pytest.raises(NotImplementedError, match="input_tensors"):
        tf.keras.models.clone_model(model, input_tensors=[inputs])
    with pytest.raises(TypeError, match="bogus"):
        tf.keras.models.clone_model(model, bogus=1)


def test_get_layer_by_name_and_index():
    model = _sequential()
    assert model.get_layer("out") is model.layers[2]
    assert model.get_layer(index=0) is model.layers[0]
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("missing")


@pytest.mark.reference
def test_keras_clone_keeps_the_same_names(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(2, name="out")])
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
