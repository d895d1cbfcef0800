"""Core layers: Dense, Flatten, Reshape, Activation, Input/InputLayer."""
import numpy as np
import pytest

from tomei.engine.gradcheck import check_gradients
from tomei.keras import Input, layers


def test_dense_is_activation_of_x_kernel_plus_bias():
    dense = layers.Dense(3, activation="relu")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    out = dense(x).numpy()
    kernel, bias = dense.get_weights()
    assert kernel.shape == (5, 3) and bias.shape == (3,) and not bias.any()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5)
    check_gradients(lambda t: layers.Dense(2, dtype="float64", kernel_initializer="ones")(t),
                    x.astype(np.float64))


def test_dense_rejects_bad_units_and_inputs():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    dense = layers.Dense(2)
    dense(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError):
        dense(np.zeros((1, 5), np.float32))


def test_flatten_reshape_activation():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert layers.Flatten()(x).shape == (2, 12)
    assert layers.Reshape((4, 3))(x).shape == (2, 4, 3)
    assert layers.Reshape((-1, 2))(x).shape == (2, 6, 2)
    np.testing.assert_allclose(layers.Activation("sigmoid")(x[:, 0, :1]).numpy(),
                               1 / (1 + np.exp(-x[:, 0, :1])), rtol=1e-6)


def test_input_makes_a_symbolic_tensor_with_the_batch_axis():
    t = Input(shape=(28, 28))
    assert t.shape == (None, 28, 28) and t.dtype == "float32"
    assert isinstance(t.layer, layers.InputLayer)
    assert layers.InputLayer(batch_shape=(8, 3)).batch_shape == (8, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"shape": 28}, r"^Input: shape must be a tuple .*shape=\(28,\).*int shape=28"),
    ({"shape": (28.0,)}, r"shape=\(28.0,\) \(tuple\)"),
    ({"shape": "28"}, r"shape='28' \(str\)"),
    ({"batch_shape": 5}, r"batch_shape=\(None, 5\)"),
    ({"shape": (3,), "batch_size": 2.5}, r"batch_size must be an int >= 0 or None; received "
                                         r"batch_size=2.5"),
])
def test_input_refuses_a_shape_that_is_not_a_tuple_of_dimensions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Input(**kwargs)
    with pytest.raises(ValueError, match=message):
        layers.InputLayer(**kwargs)


def test_input_shapes_become_python_ints():
    assert Input(shape=[np.int64(3)]).shape == (None, 3)
    assert type(Input(shape=[np.int64(3)]).shape[1]) is int


@pytest.mark.parametrize("target, message", [(28, r"target_shape=\(28,\)"),
                                             ((2.5,), r"\(2.5,\) \(tuple\)"),
                                             ((-1, -1), "one -1"), ((None, 2), r"\(None, 2\)")])
def test_reshape_refuses_a_target_that_is_not_a_shape(target, message):
    with pytest.raises(ValueError, match=rf"^Reshape\(\): target_shape .*{message}"):
        layers.Reshape(target)


def test_reshape_keeps_one_minus_one():
    assert layers.Reshape([-1, 2])(np.zeros((1, 6))).shape == (1, 3, 2)


def test_flatten_takes_an_empty_batch():
    """A batch of 0 samples flattens to (0, features), as in Keras (a reshape to (0, -1)
    has no size to infer)."""
    out = layers.Flatten()(np.zeros((0, 2, 3, 4), np.float32))
    assert out.shape == (0, 24)


def test_flatten_channels_first_flattens_in_channels_last_order():
    x = np.arange(12.0).reshape(1, 3, 2, 2)  # (batch, channels, h, w)
    out = layers.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(out, np.moveaxis(x, 1, -1).reshape(1, -1))
    with pytest.raises(ValueError, match=r"^Flatten\(\): data_format must be one of "
                                         r"'channels_last', 'channels_first'; received "
                                         r"data_format='nhwc'"):
        layers.Flatten(data_format="nhwc")


def test_dense_on_a_single_number_says_so():
    with pytest.raises(ValueError, match=r"needs inputs with at least one axis.*input shape \(\)"):
        layers.Dense(3)(1.0)
