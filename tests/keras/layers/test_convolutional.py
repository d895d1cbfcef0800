"""Conv1D, Conv2D, Conv2DTranspose: arguments, weights, shapes, errors and gradients.

Outputs against real Keras are in tests/reference/test_conv_reference.py; the engine's
convolution arithmetic in tests/engine/test_conv_ops.py."""
import numpy as np
import pytest

import tomei
import tomei.keras as tk
from tomei.engine.gradcheck import check_gradients
from tomei.keras import layers


def test_conv2d_weights_shapes_names_and_output():
    tk.backend.clear_session()
    layer = layers.Conv2D(8, 3)
    out = layer(np.zeros((2, 10, 9, 3), np.float32))
    assert layer.name == "conv2d"
    assert [w.path for w in layer.weights] == ["conv2d/kernel", "conv2d/bias"]
    assert layer.kernel.shape == (3, 3, 3, 8) and layer.bias.shape == (8,)
    assert out.shape == (2, 8, 7, 8) and out.dtype == np.float32
    assert layer.count_params() == 3 * 3 * 3 * 8 + 8
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    limit = np.sqrt(6 / (27 + 72))  # Glorot uniform, fans include the 3x3 window
    assert np.abs(layer.kernel.numpy()).max() <= limit


@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"kernel_size": 3}, (None, 28, 28, 1), (None, 26, 26, 4)),
    ({"kernel_size": 3, "padding": "same", "strides": 2}, (None, 7, 8, 1), (None, 4, 4, 4)),
    ({"kernel_size": (3, 5), "dilation_rate": 2}, (None, 9, 9, 2), (None, 5, 1, 4)),
    ({"kernel_size": 3}, (None, None, 12, 2), (None, None, 10, 4)),
])
def test_conv2d_output_shapes(kwargs, in_shape, out_shape):
    assert layers.Conv2D(4, **kwargs).compute_output_shape(in_shape) == out_shape


@pytest.mark.parametrize("kwargs, in_shape, out_shape", [
    ({"kernel_size": 3}, (None, 4, 5, 2), (None, 6, 7, 3)),
    ({"kernel_size": 3, "strides": 2, "padding": "same"}, (None, 4, 5, 2), (None, 8, 10, 3)),
    ({"kernel_size": 3, "strides": 2}, (None, 4, 5, 2), (None, 9, 11, 3)),
    ({"kernel_size": 2, "strides": 3}, (None, 4, 5, 2), (None, 12, 15, 3)),
    ({"kernel_size": 3, "strides": 2, "output_padding": 1}, (None, 4, 5, 2), (None, 10, 12, 3)),
])
def test_conv2d_transpose_output_shapes(kwargs, in_shape, out_shape):
    layer = layers.Conv2DTranspose(3, **kwargs)
    assert layer.compute_output_shape(in_shape) == out_shape
    x = np.random.default_rng(0).normal(size=(2,) + in_shape[1:]).astype(np.float32)
    assert layer(x).shape == (2,) + out_shape[1:]
    assert layer.kernel.shape == layer.kernel_size + (3, 2)  # filters before channels


@pytest.mark.parametrize("padding, out_len", [("valid", 8), ("same", 10), ("causal", 10)])
def test_conv1d_paddings(padding, out_len):
    layer = layers.Conv1D(4, 3, padding=padding)
    assert layer(np.zeros((2, 10, 3), np.float32)).shape == (2, out_len, 4)
    assert layer.kernel.shape == (3, 3, 4)


def test_causal_conv1d_does_not_look_ahead():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = np.random.default_rng(1).normal(size=(1, 12, 2)).astype(np.float32)
    base = layer(x).numpy()
    changed = x.copy()
    changed[0, 7:] += 5.0  # a change at step 7 may only move outputs 7 and later
    out = layer(changed).numpy()
    np.testing.assert_array_equal(out[0, :7], base[0, :7])
    assert not np.allclose(out[0, 7:], base[0, 7:])


@pytest.mark.parametrize("cls", [layers.Conv1D, layers.Conv2D, layers.Conv2DTranspose])
def test_layer_gradients_float64(cls):
    """The layer (bias, activation, padding) differentiates correctly w.r.t. its input."""
    layer = cls(3, 2, padding="same", activation="tanh", dtype="float64")
    shape = (2, 5, 2) if cls is layers.Conv1D else (2, 4, 5, 2)
    x = np.random.default_rng(2).normal(size=shape)
    layer(x)
    check_gradients(lambda a: layer(a), x)


def test_weight_gradients_reach_kernel_and_bias():
    layer = layers.Conv2D(3, 2, activation="relu")
    x = np.random.default_rng(3).normal(size=(2, 5, 5, 2)).astype(np.float32)
    with tomei.GradientTape() as tape:
        loss = tomei.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert [g.shape for g in grads] == [(2, 2, 2, 3), (3,)]
    assert all(np.abs(g.numpy()).sum() > 0 for g in grads)


def test_activity_regularizer_adds_a_loss_divided_by_the_batch():
    layer = layers.Conv2D(2, 3, activity_regularizer=tk.regularizers.L2(0.1))
    x = np.random.default_rng(4).normal(size=(4, 5, 5, 1)).astype(np.float32)
    out = layer(x).numpy()
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 0.1 * np.sum(out ** 2) / 4, rtol=1e-5)


def test_regularizers_and_constraints_are_used():
    layer = layers.Conv2D(2, 3, kernel_regularizer="l2", kernel_constraint=tk.constraints.NonNeg())
    layer(np.zeros((1, 5, 5, 1), np.float32))
    assert layer.kernel.regularizer is not None and layer.kernel.constraint is not None
    assert len(layer.losses) == 1


@pytest.mark.parametrize("make, error, words", [
    (lambda: layers.Conv2D(0, 3), ValueError, "filters"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: layers.Conv2D(4, 0), ValueError, "kernel_size"),
    (lambda: layers.Conv2D(4, 3, padding="full"), ValueError, "padding"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), ValueError, "padding"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
    (lambda: layers.Conv2D(4, 3, data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.Conv2D(4, 3, data_format="NHWC"), ValueError, "data_format"),
    (lambda: layers.Conv2D(4, 3, groups=2), NotImplementedError, "groups"),
    (lambda: layers.Conv1D(4, 3, data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), ValueError,
     "output_padding"),
    (lambda: layers.Conv2DTranspose(4, 3, data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.Conv2D(4, 3, unknown=1), TypeError, "unknown"),
])
def test_bad_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_missing_channel_axis_says_how_to_add_it():
    # A learner's MNIST arrays are (N, 28, 28): the error shows the fix and the Input shape.
    with pytest.raises(ValueError, match=r"x\[\.\.\., None\].*Input\(shape=\(28, 28, 1\)\)"):
        layers.Conv2D(4, 3)(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Input\(shape=\(10, 1\)\)"):
        layers.Conv1D(4, 3)(np.zeros((2, 10), np.float32))
    with pytest.raises(ValueError) as caught:  # two axes short: no channel hint
        layers.Conv2D(4, 3)(np.zeros((2, 28), np.float32))
    assert "channel axis" not in str(caught.value)


def test_bad_inputs_name_the_layer_and_the_shape():
    with pytest.raises(ValueError, match=r"must have 4 axes.*\(2, 28, 28\)"):
        layers.Conv2D(4, 3)(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        layers.Conv2D(4, 5)(np.zeros((2, 3, 3, 1), np.float32))
    layer = layers.Conv2D(4, 3)
    layer(np.zeros((1, 6, 6, 2), np.float32))
    with pytest.raises(ValueError, match="incompatible.*2 channels"):
        layer(np.zeros((1, 6, 6, 3), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.zeros((1, 6, 6), np.float32))


def test_built_layers_take_other_image_sizes_as_keras():
    conv, pool, gap = layers.Conv2D(4, 3), layers.MaxPooling2D(), layers.GlobalAveragePooling2D()
    for size in (9, 12, 7):  # built on 9x9, then called on other sizes (fully convolutional)
        y = gap(pool(conv(np.ones((2, size, size + 1, 2), np.float32))))
        assert y.shape == (2, 4)
    assert conv.built_input_shape == (None, 9, 10, 2)


def test_config_round_trip():
    layer = layers.Conv2D(6, (2, 3), strides=(2, 1), padding="same", dilation_rate=1,
                          activation="relu", use_bias=False, name="c")
    cfg = layer.get_config()
    assert cfg["kernel_size"] == (2, 3) and cfg["strides"] == (2, 1) and cfg["groups"] == 1
    again = layers.Conv2D.from_config(cfg)
    assert again.get_config() == cfg
    t_cfg = layers.Conv2DTranspose(3, 3, output_padding=(0, 1), strides=2).get_config()
    assert "groups" not in t_cfg and t_cfg["output_padding"] == (0, 1)
    assert list(t_cfg).index("output_padding") == list(t_cfg).index("padding") + 1


def test_uint8_images_are_cast_to_float32():
    out = layers.Conv2D(2, 3)(np.full((1, 5, 5, 1), 255, np.uint8))
    assert out.dtype == np.float32
