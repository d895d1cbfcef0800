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


# --- Conv2D(relu) -> MaxPooling2D(2) as one engine op (tomei/keras/layers/fusion.py) --------

def _convnet(padding, use_bias, size):
    from tomei import keras
    keras.utils.set_random_seed(3)
    return Sequential([Input((size, size, 2)),
                       layers.Conv2D(4, 3, padding=padding, use_bias=use_bias, activation="relu",
                                     bias_initializer="random_normal"),
                       layers.MaxPooling2D(2),
                       layers.Conv2D(6, 3, activation="relu", bias_initializer="random_normal"),
                       layers.MaxPooling2D(),
                       layers.Flatten(), layers.Dense(3, activation="softmax")])


def _three_adam_steps(model, x, y):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    before = model.predict(x, verbose=0)
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return [before, np.array(history.history["loss"]), model.predict(x, verbose=0)] + \
        [w.numpy() for w in model.weights]


@pytest.mark.parametrize("padding, use_bias, size, floatx", [
    ("valid", True, 12, "float32"), ("same", False, 13, "float32"),
    ("valid", True, 15, "float32"), ("same", True, 13, "float64")])
def test_conv_relu_pool_pairs_fused_give_the_layer_by_layer_numbers(monkeypatch, padding,
                                                                    use_bias, size, floatx):
    from tomei import config
    from tomei.engine import fused
    from tomei.keras.layers import fusion
    x = np.random.default_rng(0).normal(size=(12, size, size, 2)).astype(floatx)
    y = np.eye(3, dtype=floatx)[np.arange(12) % 3]
    before, before_floatx = fused._mode, config.floatx()
    config.set_floatx(floatx)
    try:
        fused.set_mode("off")  # TOMEI_FUSED=0: layer by layer
        expected = _three_adam_steps(_convnet(padding, use_bias, size), x, y)
        fused.set_mode("auto")
        calls = []
        monkeypatch.setattr(fusion, "conv_relu_max_pool",
                            lambda *a, _f=fusion.conv_relu_max_pool: calls.append(1) or _f(*a))
        result = _three_adam_steps(_convnet(padding, use_bias, size), x, y)
    finally:
        fused._mode = before
        config.set_floatx(before_floatx)
    assert len(calls) >= 2 * 3  # both pairs fused on every training step
    assert result[0].dtype == np.dtype(floatx)
    for want, got in zip(expected, result):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
