"""fusion.fusable: which Conv2D -> MaxPooling2D pairs a model may run as one engine op, and
conv_relu_max_pool: the same output as the two layers, with the conv layer's input checks."""
import numpy as np
import pytest

from tomei.engine import fused
from tomei.engine.ops import convert_to_tensor
from tomei.keras import layers, regularizers
from tomei.keras.layers import fusion


@pytest.fixture
def fusion_on(fused_mode):
    fused_mode("auto")


def pair(conv_kwargs=None, pool_kwargs=None, conv_class=layers.Conv2D,
         pool_class=layers.MaxPooling2D, shape=(2, 10, 10, 3)):
    conv = conv_class(4, 3, **{"activation": "relu", **(conv_kwargs or {})})
    pool = pool_class(**{"pool_size": 2, **(pool_kwargs or {})})
    return built(conv, pool, shape)


def built(first, second, shape, seed=0):
    """(first, second, x): both layers called once on a float32 batch x of ``shape``, which
    builds them."""
    x = convert_to_tensor(np.random.default_rng(seed).normal(size=shape).astype(np.float32))
    second(first(x))
    return first, second, x


class MyConv(layers.Conv2D):
    pass


def test_the_convnet_pair_is_fusable(fusion_on):
    for kwargs in [{}, {"padding": "same"}, {"use_bias": False}, {"strides": 2},
                   {"dilation_rate": 2}]:
        conv, pool, x = pair(kwargs)
        assert fusion.fusable(conv, pool, x), kwargs


@pytest.mark.parametrize("conv_kwargs, pool_kwargs, conv_class, pool_class", [
    ({"activation": None}, {}, layers.Conv2D, layers.MaxPooling2D),
    ({"activation": "tanh"}, {}, layers.Conv2D, layers.MaxPooling2D),
    ({"activity_regularizer": regularizers.L2(0.1)}, {}, layers.Conv2D, layers.MaxPooling2D),
    ({}, {"pool_size": 3}, layers.Conv2D, layers.MaxPooling2D),
    ({}, {"strides": 1}, layers.Conv2D, layers.MaxPooling2D),
    ({}, {"padding": "same"}, layers.Conv2D, layers.MaxPooling2D),
    ({}, {}, MyConv, layers.MaxPooling2D),
    ({}, {}, layers.Conv2D, layers.AveragePooling2D),
], ids=["linear", "tanh", "activity_regularizer", "pool 3", "pool strides 1", "pool same",
        "subclass", "average pool"])
def test_other_pairs_are_not(fusion_on, conv_kwargs, pool_kwargs, conv_class, pool_class):
    conv, pool, x = pair(conv_kwargs, pool_kwargs, conv_class, pool_class)
    assert not fusion.fusable(conv, pool, x)


def test_not_with_fusion_off_unbuilt_layers_or_other_inputs(fusion_on):
    conv, pool, x = pair()
    assert not fusion.fusable(conv, pool, x.numpy())                      # not a Tensor
    assert not fusion.fusable(conv, pool, convert_to_tensor(x.numpy().astype(np.float64)))
    assert not fusion.fusable(layers.Conv2D(4, 3, activation="relu"), pool, x)  # not built
    assert not fusion.fusable(layers.Dense(3), pool, x)
    fused.set_mode("off")
    assert not fusion.fusable(conv, pool, x)


def test_same_output_as_the_two_layers_and_the_same_input_check(fusion_on):
    conv, pool, x = pair({"bias_initializer": "random_normal"}, shape=(2, 11, 9, 3))
    np.testing.assert_allclose(fusion.conv_relu_max_pool(conv, pool, x).numpy(),
                               pool(conv(x)).numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="incompatible with the layer"):
        fusion.conv_relu_max_pool(conv, pool, convert_to_tensor(np.zeros((2, 10, 10, 5),
                                                                         np.float32)))


def dense_dropout_pair(dense_kwargs=None, dropout_kwargs=None, dense_class=layers.Dense,
                       dropout_class=layers.Dropout, shape=(8, 5)):
    dense = dense_class(6, **{"activation": "relu", **(dense_kwargs or {})})
    dropout = dropout_class(**{"rate": 0.25, **(dropout_kwargs or {})})
    return built(dense, dropout, shape, seed=1)


class MyDense(layers.Dense):
    pass


def test_the_tutorial_pair_is_fusable(fusion_on):
    dense, dropout, x = dense_dropout_pair()
    assert fusion.dense_dropout_fusable(dense, dropout, x)


@pytest.mark.parametrize("dense_kwargs, dropout_kwargs, dense_class, dropout_class, shape", [
    ({"activation": None}, None, layers.Dense, layers.Dropout, (8, 5)),
    ({"use_bias": False}, None, layers.Dense, layers.Dropout, (8, 5)),
    ({"activity_regularizer": regularizers.L2(0.1)}, None, layers.Dense, layers.Dropout, (8, 5)),
    (None, {"noise_shape": (1, 6)}, layers.Dense, layers.Dropout, (8, 5)),
    (None, {"rate": 0.0}, layers.Dense, layers.Dropout, (8, 5)),
    (None, None, MyDense, layers.Dropout, (8, 5)),
    (None, None, layers.Dense, layers.Dropout, (2, 4, 5)),
])
def test_other_dense_dropout_pairs_are_not(fusion_on, dense_kwargs, dropout_kwargs,
                                           dense_class, dropout_class, shape):
    dense, dropout, x = dense_dropout_pair(dense_kwargs, dropout_kwargs, dense_class,
                                           dropout_class, shape)
    assert not fusion.dense_dropout_fusable(dense, dropout, x)


def test_dense_relu_dropout_gives_the_two_layers_output(fusion_on):
    from tomei import config
    dense, dropout, x = dense_dropout_pair()
    fused.kernels()
    config.set_seed(5)
    expected = dropout(dense(x), training=True).numpy()
    config.set_seed(5)
    np.testing.assert_array_equal(fusion.dense_relu_dropout(dense, dropout, x).numpy(), expected)
    with pytest.raises(ValueError, match="expected axis -1"):
        fusion.dense_relu_dropout(dense, dropout, convert_to_tensor(np.zeros((2, 4), np.float32)))


def test_a_sequential_model_trains_the_pair_as_one_op(fusion_on):
    """model(x, training=True) gives the layers' output and one tape entry for the pair;
    outside training Dropout is not run at all."""
    from tomei import config
    from tomei.engine.tensor import GradientTape
    from tomei.keras import models
    model = models.Sequential([layers.Input((5,)), layers.Dense(6, activation="relu"),
                               layers.Dropout(0.25), layers.Dense(2)])
    x = np.random.default_rng(2).normal(size=(8, 5)).astype(np.float32)
    model(x)
    fused.kernels()
    dense, dropout, last = model.layers
    config.set_seed(9)
    with GradientTape() as tape:
        out = model(x, training=True)
    config.set_seed(9)
    expected = last(dropout(dense(convert_to_tensor(x)), training=True))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    if fused.loaded() is not None:  # without numba the op is the two ops (its reference)
        assert len(out._parents[0]._parents) == 3  # x, kernel, bias: Dense and Dropout in one
    assert all(g is not None for g in tape.gradient(out, model.trainable_variables))


def test_a_nan_weight_is_not_hidden_by_the_fused_pairs(fusion_on):
    """A NaN in a kernel reaches the output as NaN, fused or not (ReLU of NaN is NaN): the
    loss becomes NaN rather than training on with the NaN unit silently at 0."""
    from tomei.keras import models
    pytest.importorskip("numba")
    fused.kernels()
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Dense(4, activation="relu"), layers.Dropout(0.25),
                               layers.Dense(2)])
    x = np.ones((3, 6, 6, 1), np.float32)
    for layer in (model.layers[0], model.layers[3]):  # the conv kernel, then the Dense one
        clean = layer.kernel.numpy()
        poisoned = clean.copy()
        poisoned.flat[0] = np.nan
        layer.kernel.assign(poisoned)
        for training in (False, True):
            assert np.isnan(model(x, training=training).numpy()).all(), (layer.name, training)
        layer.kernel.assign(clean)
    assert np.isfinite(model(x, training=True).numpy()).all()
