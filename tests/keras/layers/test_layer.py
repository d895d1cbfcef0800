"""Layer, the base class: add_loss, losses, weights, built_input_shape, default names."""
import numpy as np
import pytest

import tomei
from tomei.keras import Input, Sequential, layers, losses, optimizers


class ActivityPenalty(layers.Layer):
    """Passes its input through and adds ``factor * sum(x^2)`` to the loss of the call."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        self.add_loss(tomei.multiply(tomei.reduce_sum(tomei.square(x)), self.factor))
        return x


def test_add_loss_is_collected_per_call_and_replaced_by_the_next_call():
    layer = ActivityPenalty(0.5)
    layer(np.array([[1.0, 2.0]], np.float32))
    assert [float(v) for v in layer.losses] == [2.5]
    layer(np.array([[3.0, 0.0]], np.float32))
    assert [float(v) for v in layer.losses] == [4.5]  # not 2.5 + 4.5: one call's terms only


def test_add_loss_reaches_the_model_and_the_training_loss():
    model = Sequential([Input((2,)), ActivityPenalty(0.25), layers.Dense(1, use_bias=False,
                                                                         kernel_initializer="zeros")])
    model.compile(optimizers.SGD(0.0), losses.MeanSquaredError())
    x = np.array([[1.0, 1.0], [2.0, 0.0]], np.float32)
    y = np.array([[1.0], [3.0]], np.float32)
    model(x)
    assert [float(v) for v in model.losses] == [0.25 * 6.0]
    # data loss: predictions are 0, so mean((y - 0)^2) = (1 + 9) / 2 = 5; plus the penalty
    result = model.evaluate(x, y, verbose=0)
    assert result == pytest.approx(5.0 + 1.5)
    history = model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert history.history["loss"][0] == pytest.approx(6.5)


def test_add_loss_gradient_flows_into_weights():
    dense = layers.Dense(1, use_bias=False, kernel_initializer="ones")

    class Penalised(layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = dense

        def call(self, x):
            out = self.dense(x)
            self.add_loss(tomei.reduce_sum(tomei.square(self.dense.kernel)))
            return out

    layer = Penalised()
    with tomei.GradientTape() as tape:
        layer(np.zeros((1, 3), np.float32))
        (total,) = layer.losses
    grad = tape.gradient(total, dense.kernel)
    np.testing.assert_allclose(grad.numpy(), 2 * np.ones((3, 1)))  # d sum(w^2)/dw = 2w


def test_built_input_shape_and_default_names():
    layer = layers.Dense(4)
    assert layer.built_input_shape is None
    layer(np.zeros((2, 3), np.float32))
    assert layer.built_input_shape == (None, 3)
    assert layers.BatchNormalization().name.startswith("batch_normalization")


def test_weights_lists_trainable_then_non_trainable():
    bn = layers.BatchNormalization()
    bn.build((None, 3))
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert bn.count_params() == 12


def test_all_sublayers_walks_nested_models_and_custom_layers_depth_first():
    from tomei.keras.layers.layer import all_sublayers

    class Holder(layers.Layer):
        def __init__(self):
            super().__init__(name="holder")
            self.inner = layers.Dense(2, name="inner")

        def call(self, x):
            return self.inner(x)

    nested = Sequential([Input((3,)), layers.Dense(3, name="n1")], name="nested")
    model = Sequential([Input((3,)), nested, Holder(), layers.Dense(1, name="last")])
    assert [layer.name for layer in all_sublayers(model)] == \
        ["nested", "n1", "holder", "inner", "last"]


# --- issue 13 item 7: weightless layers take any input shape, as in Keras 3 -----------------

@pytest.mark.parametrize("make", [lambda: layers.Dropout(0.5), lambda: layers.Flatten(),
                                  lambda: layers.Activation("relu")])
def test_weightless_layer_called_on_two_shapes(make):
    layer = make()
    a = layer(np.ones((2, 3, 4), np.float32))
    b = layer(np.ones((2, 7), np.float32))
    assert a.shape[0] == 2 and b.shape == (2, 7)


def test_weightless_layer_shared_between_branches_of_a_subclassed_model():
    class TwoBranches(tomei.keras.Model):
        def __init__(self):
            super().__init__()
            self.act = layers.Activation("tanh")
            self.wide, self.narrow = layers.Dense(6), layers.Dense(2)

        def call(self, inputs):
            return tomei.concat([self.act(self.wide(inputs)),
                                 self.act(tomei.reshape(self.narrow(inputs), [-1, 1, 2]))[:, 0]],
                                axis=-1)

    out = TwoBranches()(np.ones((3, 4), np.float32))
    assert out.shape == (3, 8)


def test_dense_checks_only_its_input_size_axis():
    dense = layers.Dense(2)
    dense(np.ones((2, 3, 4), np.float32))
    assert dense(np.ones((2, 5, 4), np.float32)).shape == (2, 5, 2)
    assert dense(np.ones((6, 4), np.float32)).shape == (6, 2)
    with pytest.raises(ValueError, match=r"expected axis -1 of the input to have size 4"):
        dense(np.ones((2, 5), np.float32))


@pytest.mark.reference
def test_keras_allows_the_same_calls(keras):
    for layer in (keras.layers.Dropout(0.5), keras.layers.Flatten(), keras.layers.Activation("relu")):
        layer(np.ones((2, 3, 4), np.float32))
        layer(np.ones((2, 7), np.float32))
    dense = keras.layers.Dense(2)
    dense(np.ones((2, 3, 4), np.float32))
    dense(np.ones((2, 5, 4), np.float32))
    with pytest.raises(ValueError):
        dense(np.ones((2, 5), np.float32))


@pytest.mark.parametrize("layer", [layers.Dense(2), layers.Flatten(), layers.Dropout(0.5),
                                   layers.Conv2D(1, 1), layers.BatchNormalization()])
def test_a_builtin_layer_given_text_names_itself(layer):
    with pytest.raises(TypeError, match=rf"^{type(layer).__name__} '{layer.name}': argument "
                                        r"'inputs' must hold numbers.*received text"):
        layer(np.full((1, 2, 2, 1), "a"))


def test_a_layer_of_your_own_still_receives_text():
    class Lower(layers.Layer):
        def call(self, x):
            return tomei.strings.lower(x)
    np.testing.assert_array_equal(Lower()(np.array(["Ab", "C"])).numpy(), [b"ab", b"c"])


# --- shape arguments: a tuple or list of dimensions, as Keras 3 requires ---------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": 28}, r"^Flatten\(\): input_shape must be a tuple .*input_shape=\(28,\).*int "
                          r"input_shape=28"),
    ({"input_shape": "28"}, r"input_shape='28' \(str\)"),
    ({"input_shape": (28.0, 28)}, r"input_shape=\(28.0, 28\) \(tuple\)"),
    ({"input_shape": (-1, 28)}, r"ints >= 0"),
    ({"input_shape": (True, 28)}, r"input_shape=\(True, 28\)"),
    ({"batch_input_shape": 5}, r"batch_input_shape=\(None, 5\)"),
    ({"input_dim": 2.5}, r"^Flatten\(\): input_dim must be an int >= 0; received input_dim=2.5"),
    ({"input_shape": (3,), "batch_size": "32"}, r"batch_size must be an int >= 0 or None"),
])
def test_a_layer_refuses_a_shape_that_is_not_a_tuple_of_dimensions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Flatten(**kwargs)


@pytest.mark.parametrize("shape", [[28, 28], (None, 28), np.array([28, 28]), (np.int64(28), 28)])
def test_lists_none_and_numpy_ints_are_shapes(shape):
    model = Sequential([layers.Flatten(input_shape=shape)])
    expected = (None,) + tuple(None if d is None else int(d) for d in shape)
    assert model.input_shape == expected and all(type(d) in (int, type(None)) for d in expected)


@pytest.mark.parametrize("value", [[[1, 2], [3, 4]], [[[1.5, 2.0]], [[3.0, 4.0]]], ((1, 2), (3, 4))])
def test_a_nested_python_list_is_refused_as_keras(value, keras):
    # real Keras 3 refuses a nested Python list as a layer's input (ValueError)
    with pytest.raises(ValueError):
        keras.layers.Flatten()(value)
    with pytest.raises(ValueError, match=r"Flatten 'flatten\w*'.*nested Python list.*np\.array"):
        layers.Flatten()(value)
    out = layers.Flatten()(np.array(value))  # converted first, it works
    assert out.shape == (2, np.array(value)[0].size)


def test_a_list_of_arrays_is_still_several_inputs():
    out = layers.Concatenate()([np.ones((2, 1), "float32"), np.zeros((2, 2), "float32")])
    assert out.shape == (2, 3)
