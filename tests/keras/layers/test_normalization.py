"""LayerNormalization and BatchNormalization: formulas, weights, training vs inference,
moving statistics, frozen layers, gradients, errors, config."""
import numpy as np
import pytest

import tomei
from tomei.engine.gradcheck import check_gradients
from tomei.keras import Input, Model, Sequential, layers, optimizers

X = np.random.default_rng(0).normal(3.0, 2.0, (16, 5)).astype(np.float32)


def _layer_norm(x, gamma, beta, axes, eps=1e-3):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_layer_normalization_formula_and_weights():
    layer = layers.LayerNormalization()
    out = layer(X)
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    assert layer.gamma.shape == layer.beta.shape == (5,)
    np.testing.assert_allclose(out.numpy(), _layer_norm(X, 1, 0, -1), rtol=1e-5, atol=1e-5)
    gamma, beta = np.linspace(0.5, 2, 5), np.linspace(-1, 1, 5)
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(layer(X).numpy(), _layer_norm(X, gamma, beta, -1), rtol=1e-5,
                               atol=1e-5)
    # the same in training and inference (no batch statistics)
    np.testing.assert_array_equal(layer(X, training=True).numpy(), layer(X).numpy())


def test_layer_normalization_several_axes_center_scale():
    x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
    layer = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5)
    out = layer(x).numpy()
    assert layer.gamma.shape == (3, 4)
    np.testing.assert_allclose(out, _layer_norm(x, 1, 0, (1, 2), 1e-5), rtol=1e-5, atol=1e-5)
    assert layers.LayerNormalization(center=False, scale=False)(x).shape == (2, 3, 4)
    bare = layers.LayerNormalization(center=False, scale=False)
    bare(x)
    assert bare.weights == []


def test_batch_normalization_training_uses_batch_statistics_and_updates_moving_ones():
    layer = layers.BatchNormalization()
    out = layer(X, training=True).numpy()
    mean, var = X.mean(0), X.var(0)  # biased variance, as Keras
    np.testing.assert_allclose(out, (X - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.99 * 0 + 0.01 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 * 1 + 0.01 * var, rtol=1e-5)


def test_batch_normalization_inference_uses_moving_statistics():
    layer = layers.BatchNormalization(momentum=0.5, epsilon=1e-5)
    layer.build((None, 5))
    moving_mean, moving_var = np.arange(5, dtype=np.float32), np.arange(1, 6, dtype=np.float32)
    gamma, beta = np.full(5, 2.0, np.float32), np.full(5, 0.5, np.float32)
    layer.set_weights([gamma, beta, moving_mean, moving_var])
    expected = (X - moving_mean) / np.sqrt(moving_var + 1e-5) * gamma + beta
    np.testing.assert_allclose(layer(X).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), moving_mean)  # unchanged
    layer(X, training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * moving_mean + 0.5 * X.mean(0),
                               rtol=1e-5)


def test_batch_normalization_weights_defaults_and_counts():
    layer = layers.BatchNormalization()
    assert (layer.momentum, layer.epsilon, layer.axis) == (0.99, 1e-3, -1)
    layer.build((None, 7))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert all(w.dtype == np.float32 for w in layer.weights)
    model = Sequential([Input((7,)), layers.Dense(4), layers.BatchNormalization()])
    assert model.count_params() == 7 * 4 + 4 + 4 * 4
    assert len(model.trainable_weights) == 4


def test_batch_normalization_feature_axis_1_on_3d_input():
    x = np.random.default_rng(2).normal(size=(6, 3, 4)).astype(np.float32)
    layer = layers.BatchNormalization(axis=1)
    out = layer(x, training=True).numpy()
    assert layer.gamma.shape == (3,)
    mean, var = x.mean((0, 2), keepdims=True), x.var((0, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)


def test_frozen_batch_normalization_runs_in_inference_mode():
    layer = layers.BatchNormalization()
    layer.build((None, 5))
    layer.trainable = False
    out = layer(X, training=True).numpy()
    np.testing.assert_allclose(out, X / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)
    assert layer.trainable_weights == []


def test_fit_updates_moving_statistics_and_evaluate_does_not():
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((5,)), layers.BatchNormalization(momentum=0.9), layers.Dense(1)])
    model.compile(optimizers.SGD(0.01), "mse")
    y = X.sum(1, keepdims=True)
    model.fit(X, y, batch_size=16, epochs=30, verbose=0)
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean.numpy(), X.mean(0), rtol=0.05)
    before = bn.moving_mean.numpy().copy()
    model.evaluate(X, y, verbose=0)
    model.predict(X, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


@pytest.mark.parametrize("make", [
    lambda: layers.LayerNormalization(dtype="float64"),
    lambda: layers.LayerNormalization(axis=[1, 2], dtype="float64"),
])
def test_layer_normalization_gradients(make):
    x = np.random.default_rng(3).normal(size=(3, 4, 5))
    layer = make()
    layer(x)
    layer.set_weights([np.random.default_rng(4).normal(size=w.shape) for w in layer.weights])
    check_gradients(lambda t: layer(t), x)  # with respect to the input
    check_gradients(lambda g, b: _with_weights(layer, x, g, b), *layer.get_weights())


def _with_weights(layer, x, gamma, beta):
    saved = layer.gamma, layer.beta
    layer.gamma, layer.beta = gamma, beta
    try:
        return layer(x)
    finally:
        layer.gamma, layer.beta = saved


def test_batch_normalization_gradient_through_batch_statistics():
    x = np.random.default_rng(5).normal(size=(6, 4))
    layer = layers.BatchNormalization(dtype="float64")
    layer.build((None, 4))
    layer.set_weights([np.linspace(0.5, 2, 4), np.linspace(-1, 1, 4), np.zeros(4), np.ones(4)])
    check_gradients(lambda t: layer(t, training=True), x)
    check_gradients(lambda t: layer(t, training=False), x)


def test_errors():
    with pytest.raises(ValueError, match="epsilon > 0; received epsilon=0"):
        layers.BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="axis to be one int"):
        layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(NotImplementedError, match="renorm"):
        layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="never the batch axis"):
        layers.LayerNormalization(axis=0)(X)
    with pytest.raises(ValueError, match="axis=3 is invalid for inputs of rank 2"):
        layers.LayerNormalization(axis=3)(X)


def test_config_round_trip_and_functional_use():
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, name="bn")
    again = layers.BatchNormalization.from_config(layer.get_config())
    assert (again.momentum, again.epsilon, again.center, again.name) == (0.9, 1e-5, False, "bn")
    ln = layers.LayerNormalization.from_config(layers.LayerNormalization(axis=[1]).get_config())
    assert ln.axis == [1]
    inp = Input((5,))
    out = layers.Dense(2)(layers.LayerNormalization()(layers.BatchNormalization()(inp)))
    model = Model(inp, out)
    assert model.predict(X, verbose=0).shape == (16, 2)


# --- UnitNormalization ------------------------------------------------------------------------

def test_unit_normalization_gives_unit_l2_norm_per_sample():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 1.0]], np.float32)
    out = layers.UnitNormalization()(x).numpy()
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [-2 ** -0.5, 2 ** -0.5]], rtol=1e-6)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))  # a zero row stays 0, not NaN


def test_unit_normalization_over_several_axes():
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    out = layers.UnitNormalization(axis=[1, 2])(x).numpy()
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(1, 2))), [1.0, 1.0], rtol=1e-6)
    per_row = layers.UnitNormalization(axis=-1)(x).numpy()
    np.testing.assert_allclose(np.sqrt((per_row ** 2).sum(-1)), np.ones((2, 3)), rtol=1e-6)


def test_unit_normalization_gradient_and_errors():
    x = np.random.default_rng(1).normal(size=(3, 4))
    check_gradients(lambda t: layers.UnitNormalization(dtype="float64")(t), x)
    with pytest.raises(ValueError, match="never the batch axis"):
        layers.UnitNormalization(axis=0)(X)
    with pytest.raises(ValueError, match="axis=2 is invalid for inputs of rank 2"):
        layers.UnitNormalization(axis=2)(X)
    again = layers.UnitNormalization.from_config(layers.UnitNormalization(axis=[1]).get_config())
    assert again.axis == [1] and again.weights == []
