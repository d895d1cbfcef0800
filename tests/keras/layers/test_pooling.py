"""Pooling layers: defaults, shapes, errors and gradients (Keras outputs are compared in
tests/reference/test_conv_reference.py)."""
import numpy as np
import pytest

import tomei.keras as tk
from tomei.engine.gradcheck import check_gradients
from tomei.keras import layers


def test_max_pooling2d_defaults_and_values():
    tk.backend.clear_session()
    layer = layers.MaxPooling2D()
    assert layer.name == "max_pooling2d"
    assert layer.pool_size == layer.strides == (2, 2) and layer.padding == "valid"
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layer(x).numpy()[0, :, :, 0], [[5, 7], [13, 15]])
    assert layer.weights == [] and layer.count_params() == 0


def test_average_pooling2d_needs_pool_size_as_keras_3():
    with pytest.raises(TypeError):
        layers.AveragePooling2D()
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.AveragePooling2D(2)(x).numpy()[0, :, :, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (layers.MaxPooling2D(), (None, 28, 28, 3), (None, 14, 14, 3)),
    (layers.MaxPooling2D(), (None, 27, 27, 3), (None, 13, 13, 3)),
    (layers.MaxPooling2D(padding="same"), (None, 27, 27, 3), (None, 14, 14, 3)),
    (layers.MaxPooling2D(3, strides=1), (None, 5, 6, 2), (None, 3, 4, 2)),
    (layers.AveragePooling2D((2, 3), strides=(1, 2)), (None, 5, 7, 2), (None, 4, 3, 2)),
    (layers.MaxPooling1D(), (None, 9, 4), (None, 4, 4)),
    (layers.MaxPooling1D(3, strides=1, padding="same"), (None, 9, 4), (None, 9, 4)),
    (layers.GlobalAveragePooling2D(), (None, 5, 6, 7), (None, 7)),
    (layers.GlobalMaxPooling2D(keepdims=True), (None, 5, 6, 7), (None, 1, 1, 7)),
    (layers.GlobalAveragePooling1D(), (None, 5, 7), (None, 7)),
    (layers.GlobalAveragePooling1D(keepdims=True), (None, 5, 7), (None, 1, 7)),
], ids=str)
def test_output_shapes_agree_with_call(layer, in_shape, out_shape):
    assert layer.compute_output_shape(in_shape) == out_shape
    x = np.random.default_rng(0).normal(size=(2,) + in_shape[1:]).astype(np.float32)
    assert layer(x).shape == (2,) + out_shape[1:]


@pytest.mark.parametrize("make", [
    lambda: layers.MaxPooling2D(3, strides=2, padding="same", dtype="float64"),
    lambda: layers.AveragePooling2D(3, strides=2, padding="same", dtype="float64"),
    lambda: layers.MaxPooling1D(2, dtype="float64"),
    lambda: layers.GlobalAveragePooling2D(dtype="float64"),
    lambda: layers.GlobalMaxPooling2D(dtype="float64"),
    lambda: layers.GlobalAveragePooling1D(dtype="float64"),
])
def test_gradients_float64(make):
    layer = make()
    shape = (2, 7, 3) if "1D" in type(layer).__name__ else (2, 5, 6, 2)
    x = (np.random.default_rng(1).permutation(int(np.prod(shape))) * 0.01).reshape(shape)
    check_gradients(lambda a: layer(a), x)


@pytest.mark.parametrize("make, error, words", [
    (lambda: layers.MaxPooling2D(0), ValueError, "pool_size"),
    (lambda: layers.MaxPooling2D(strides=(1, 2, 3)), ValueError, "strides"),
    (lambda: layers.MaxPooling2D(padding="causal"), ValueError, "padding"),
    (lambda: layers.MaxPooling2D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.AveragePooling2D(2, data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.MaxPooling1D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.GlobalAveragePooling2D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.GlobalMaxPooling2D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.GlobalAveragePooling1D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
])
def test_bad_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="must have 4 axes"):
        layers.MaxPooling2D()(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="must have 3 axes"):
        layers.GlobalAveragePooling1D()(np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match="smaller than pool_size"):
        layers.MaxPooling2D(3)(np.zeros((2, 2, 2, 1), np.float32))


def test_configs():
    cfg = layers.MaxPooling2D(3, strides=1, padding="same").get_config()
    assert (cfg["pool_size"], cfg["strides"], cfg["padding"], cfg["data_format"]) == \
        ((3, 3), (1, 1), "same", "channels_last")
    assert layers.MaxPooling2D.from_config(cfg).get_config() == cfg
    g = layers.GlobalMaxPooling2D(keepdims=True).get_config()
    assert g["keepdims"] is True and layers.GlobalMaxPooling2D.from_config(g).keepdims
