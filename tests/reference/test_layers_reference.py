"""Forward outputs of every tomei layer, and of the tutorial model, against real Keras 3.

Each test builds the same layer in both libraries, copies Keras's (randomly initialised,
then perturbed) weights into tomei with get_weights/set_weights, and compares outputs on
the same inputs to 1e-5.
"""
import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [
    pytest.mark.reference,
    # numpy 2 warns about torch's __array__ inside Keras; not ours, and it floods the output
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

RTOL = ATOL = 1e-5
ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "softplus", "softsign", "elu", "selu",
               "gelu", "leaky_relu", "silu", "swish", "exponential", "linear"]


def _x(shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).normal(0.0, scale, shape).astype(np.float32)


def _perturbed_weights(layer, seed=1):
    """Keras's weights plus noise, so that zeros/ones initialisers do not hide mistakes."""
    rng = np.random.default_rng(seed)
    return [w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()]


def _compare_layer(keras, to_np, make, input_shapes, training=False, weights=None, seed=0):
    """Builds ``make(lib)`` in both libraries on the same inputs and compares the outputs."""
    inputs = [_x(s, seed + i) for i, s in enumerate(input_shapes)]
    arg = inputs if len(inputs) > 1 else inputs[0]
    k_layer, t_layer = make(keras), make(tk)
    k_out = k_layer(arg, training=training)
    t_layer(arg)  # builds
    values = weights(k_layer) if weights else _perturbed_weights(k_layer)
    assert [v.shape for v in values] == [w.shape for w in t_layer.get_weights()]
    k_layer.set_weights(values)
    t_layer.set_weights(values)
    k_out = to_np(k_layer(arg, training=training))
    t_out = t_layer(arg, training=training).numpy()
    assert t_out.dtype == np.float32
    np.testing.assert_allclose(t_out, k_out, rtol=RTOL, atol=ATOL)
    return k_layer, t_layer


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_functions_by_name_and_callable(keras, to_np, name):
    x = _x((6, 7), scale=3.0)
    expected = to_np(keras.activations.get(name)(keras.ops.convert_to_tensor(x)))
    by_name = tk.activations.get(name)(x).numpy()
    as_callable = getattr(tk.activations, name)(x).numpy()
    np.testing.assert_allclose(by_name, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(as_callable, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_both_forms(keras, to_np, approximate):
    x = np.linspace(-8, 8, 1001).astype(np.float32)
    expected = to_np(keras.activations.gelu(keras.ops.convert_to_tensor(x),
                                            approximate=approximate))
    np.testing.assert_allclose(tk.activations.gelu(x, approximate=approximate).numpy(),
                               expected, rtol=RTOL, atol=1e-6)


def test_gelu_default_is_exact_in_both(keras):
    import inspect
    assert inspect.signature(keras.activations.gelu).parameters["approximate"].default is False
    assert inspect.signature(tk.activations.gelu).parameters["approximate"].default is False


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_activation(keras, to_np, activation):
    _compare_layer(keras, to_np, lambda L: L.layers.Dense(5, activation=activation), [(4, 3)])


def test_dense_on_3d_input_and_without_bias(keras, to_np):
    _compare_layer(keras, to_np, lambda L: L.layers.Dense(4, use_bias=False), [(2, 3, 6)])
    _compare_layer(keras, to_np, lambda L: L.layers.Dense(4, activation="relu"), [(2, 3, 6)])


@pytest.mark.parametrize("make, shape", [
    (lambda L: L.layers.Flatten(), (3, 4, 5)),
    (lambda L: L.layers.Reshape((5, 4)), (3, 4, 5)),
    (lambda L: L.layers.Reshape((-1, 2)), (3, 4, 5)),
    (lambda L: L.layers.Activation("tanh"), (3, 4)),
    (lambda L: L.layers.Activation("gelu"), (3, 4)),
    (lambda L: L.layers.Softmax(), (3, 4)),
    (lambda L: L.layers.Softmax(axis=1), (3, 4, 5)),
    (lambda L: L.layers.ReLU(), (3, 4)),
    (lambda L: L.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2), (3, 4)),
    (lambda L: L.layers.LeakyReLU(), (3, 4)),
    (lambda L: L.layers.LeakyReLU(negative_slope=0.05), (3, 4)),
    (lambda L: L.layers.ELU(), (3, 4)),
    (lambda L: L.layers.ELU(alpha=0.5), (3, 4)),
], ids=["flatten", "reshape", "reshape_-1", "activation_tanh", "activation_gelu", "softmax",
        "softmax_axis1", "relu", "relu_options", "leaky_relu", "leaky_relu_0.05", "elu",
        "elu_0.5"])
def test_weightless_layers(keras, to_np, make, shape):
    _compare_layer(keras, to_np, make, [shape])


@pytest.mark.parametrize("make", [lambda L: L.layers.Dropout(0.3),
                                  lambda L: L.layers.GaussianNoise(0.5)],
                         ids=["dropout", "gaussian_noise"])
def test_noise_layers_are_the_identity_at_inference(keras, to_np, make):
    _compare_layer(keras, to_np, make, [(5, 4)], training=False)


def test_dropout_rate_zero_is_identity_while_training(keras, to_np):
    _compare_layer(keras, to_np, lambda L: L.layers.Dropout(0.0), [(5, 4)], training=True)


@pytest.mark.parametrize("make, shapes", [
    (lambda L: L.layers.Add(), [(4, 3), (4, 3)]),
    (lambda L: L.layers.Add(), [(4, 3), (4, 3), (4, 3)]),
    (lambda L: L.layers.Multiply(), [(4, 3), (4, 3)]),
    (lambda L: L.layers.Multiply(), [(4, 3), (4, 3), (4, 3)]),
    (lambda L: L.layers.Concatenate(), [(4, 3), (4, 5)]),
    (lambda L: L.layers.Concatenate(axis=1), [(4, 2, 3), (4, 1, 3)]),
    (lambda L: L.layers.Concatenate(axis=-1), [(4, 2, 3), (4, 2, 1), (4, 2, 2)]),
], ids=["add2", "add3", "multiply2", "multiply3", "concat", "concat_axis1", "concat3"])
def test_merging_layers(keras, to_np, make, shapes):
    _compare_layer(keras, to_np, make, shapes)


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (5, 6)),
    ({"epsilon": 1e-5}, (5, 6)),
    ({"axis": -1}, (3, 4, 5)),  # (Keras-torch itself fails on a lone middle axis)
    ({"axis": [1, 2]}, (3, 4, 5)),
    ({"center": False}, (5, 6)),
    ({"scale": False}, (5, 6)),
])
@pytest.mark.parametrize("training", [False, True])
def test_layer_normalization(keras, to_np, kwargs, shape, training):
    _compare_layer(keras, to_np, lambda L: L.layers.LayerNormalization(**kwargs), [shape],
                   training=training)


@pytest.mark.parametrize("kwargs, shape", [({}, (5, 6)), ({"axis": [1, 2]}, (3, 4, 5)),
                                           ({"axis": 1}, (3, 4, 5))])
def test_unit_normalization(keras, to_np, kwargs, shape):
    _compare_layer(keras, to_np, lambda L: L.layers.UnitNormalization(**kwargs), [shape])
    zeros = np.zeros((2,) + shape[1:], np.float32)  # the 1e-12 floor: zeros, not NaN
    np.testing.assert_array_equal(tk.layers.UnitNormalization(**kwargs)(zeros).numpy(),
                                  to_np(keras.layers.UnitNormalization(**kwargs)(zeros)))


def _bn_weights(layer, seed=1):
    w = _perturbed_weights(layer, seed)
    w[-1] = np.abs(w[-1]) + 0.5  # a moving variance must be positive
    return w


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (8, 6)),
    ({"momentum": 0.9, "epsilon": 1e-5}, (8, 6)),
    ({"axis": 1}, (4, 3, 5)),
    ({"center": False, "scale": False}, (8, 6)),
])
@pytest.mark.parametrize("training", [False, True])
def test_batch_normalization_outputs_and_moving_statistics(keras, to_np, kwargs, shape,
                                                           training):
    k_layer, t_layer = _compare_layer(keras, to_np,
                                      lambda L: L.layers.BatchNormalization(**kwargs),
                                      [shape], training=training, weights=_bn_weights)
    x = _x(shape, seed=9)
    for _ in range(3):  # further training calls keep the moving averages in step
        np.testing.assert_allclose(t_layer(x, training=training).numpy(),
                                   to_np(k_layer(x, training=training)), rtol=RTOL, atol=ATOL)
    for t_w, k_w in zip(t_layer.get_weights(), k_layer.get_weights()):
        np.testing.assert_allclose(t_w, k_w, rtol=RTOL, atol=ATOL)
    assert len(t_layer.non_trainable_weights) == len(k_layer.non_trainable_weights) == 2


def test_batch_normalization_frozen_runs_in_inference_mode(keras, to_np):
    k_layer, t_layer = _compare_layer(keras, to_np, lambda L: L.layers.BatchNormalization(),
                                      [(8, 6)], weights=_bn_weights)
    k_layer.trainable = t_layer.trainable = False
    x = _x((8, 6), seed=4)
    np.testing.assert_allclose(t_layer(x, training=True).numpy(),
                               to_np(k_layer(x, training=True)), rtol=RTOL, atol=ATOL)
    for t_w, k_w in zip(t_layer.get_weights(), k_layer.get_weights()):
        np.testing.assert_array_equal(t_w, k_w)


def _tutorial(L):
    return L.Sequential([L.Input((28, 28)), L.layers.Flatten(),
                         L.layers.Dense(128, activation="relu"), L.layers.Dropout(0.2),
                         L.layers.Dense(10)])


def test_tutorial_model_forward(keras, to_np):
    k_model, t_model = _tutorial(keras), _tutorial(tk)
    t_model.set_weights(k_model.get_weights())
    x = np.random.default_rng(0).integers(0, 256, (64, 28, 28)) / 255.0  # float64, as the tutorial
    np.testing.assert_allclose(t_model(x).numpy(), to_np(k_model(x)), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(t_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(t_model.predict_on_batch(x), k_model.predict_on_batch(x),
                               rtol=RTOL, atol=ATOL)


def test_functional_model_forward_with_every_layer_kind(keras, to_np):
    def build(L):
        a = L.Input((6,), name="a")
        b = L.Input((4, 3), name="b")
        h = L.layers.Dense(8, activation="gelu")(a)
        h = L.layers.LayerNormalization()(h)
        g = L.layers.Reshape((12,))(b)
        g = L.layers.Dense(8, activation="tanh")(g)
        g = L.layers.BatchNormalization()(g)
        s = L.layers.Add()([h, g])
        m = L.layers.Multiply()([h, L.layers.Activation("sigmoid")(g)])
        c = L.layers.Concatenate()([s, m, L.layers.Flatten()(b)])
        out1 = L.layers.Dense(3, name="out1")(L.layers.Dropout(0.5)(c))
        out2 = L.layers.Softmax(name="out2")(L.layers.Dense(2)(c))
        return L.Model([a, b], [out1, out2])

    k_model, t_model = build(keras), build(tk)
    values = _perturbed_weights(k_model)
    for i, w in enumerate(k_model.weights):
        if "moving_variance" in w.path:
            values[i] = np.abs(values[i]) + 0.5
    k_model.set_weights(values)
    t_model.set_weights(values)
    xs = [_x((5, 6), 1), _x((5, 4, 3), 2)]
    for k_out, t_out in zip(k_model(xs), t_model(xs)):
        np.testing.assert_allclose(t_out.numpy(), to_np(k_out), rtol=RTOL, atol=ATOL)
    assert [w.shape for w in t_model.weights] == [tuple(w.shape) for w in k_model.weights]


def test_normalization_with_set_weights(keras, to_np):
    # more in test_preprocessing_reference.py (adapt, invert, config, files)
    def stats(layer):
        mean, variance, count = layer.get_weights()
        rng = np.random.default_rng(4)
        return [rng.normal(0, 2, mean.shape).astype(np.float32),
                rng.uniform(0.1, 4, variance.shape).astype(np.float32), count]
    _compare_layer(keras, to_np, lambda lib: lib.layers.Normalization(axis=(1, 2)), [(4, 3, 5)],
                   weights=stats)


def test_embedding_outputs_gradients_and_config(keras, to_np, torch, fresh_names):
    import tomei
    ids = np.random.default_rng(5).integers(0, 11, (4, 6))  # repeats: rows used several times
    k_layer, t_layer = keras.layers.Embedding(11, 3), tk.layers.Embedding(11, 3)
    k_layer(ids)
    t_layer(ids)
    table = _perturbed_weights(k_layer)
    k_layer.set_weights(table)
    t_layer.set_weights(table)
    np.testing.assert_allclose(t_layer(ids).numpy(), to_np(k_layer(ids)), rtol=RTOL, atol=ATOL)
    # gradient of sum(w * output) with respect to the table; Keras's through torch autograd
    w = np.random.default_rng(6).normal(size=(4, 6, 3)).astype(np.float32)
    (k_layer(ids) * torch.from_numpy(w)).sum().backward()
    k_grad = to_np(k_layer.embeddings.value.grad)
    with tomei.GradientTape() as tape:
        loss = tomei.reduce_sum(tomei.multiply(t_layer(ids), w))
    t_grad = tape.gradient(loss, t_layer.embeddings).numpy()
    assert np.any(k_grad == 0) and np.any(k_grad != 0)  # unused rows get zero
    np.testing.assert_allclose(t_grad, k_grad, rtol=RTOL, atol=ATOL)
    assert t_layer.get_config() == k_layer.get_config() | {"name": t_layer.name}
    assert tk.layers.Embedding.from_config(k_layer.get_config()).get_config() == \
        k_layer.get_config()


# TextVectorization: in test_text_vectorization_reference.py
COMPARED = {"InputLayer", "Normalization", "Embedding", "TextVectorization", "Dense", "Flatten",
            "Reshape", "Activation", "Softmax", "ReLU",
            "LeakyReLU", "ELU", "Dropout", "GaussianNoise", "Add", "Multiply", "Concatenate",
            "LayerNormalization", "BatchNormalization", "UnitNormalization",
            # compared in test_conv_reference.py:
            "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPooling1D", "MaxPooling2D",
            "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
            "GlobalMaxPooling2D", "UpSampling2D", "ZeroPadding2D", "SpatialDropout2D",
            # Keras's other names for those classes (test_conv_reference.py checks them):
            "Convolution1D", "Convolution2D", "Convolution2DTranspose", "MaxPool1D", "MaxPool2D",
            "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool2D"}


def test_every_exported_layer_is_compared_here():
    exported = {name for name, obj in vars(tk.layers).items()
                if isinstance(obj, type) and issubclass(obj, tk.layers.Layer)
                and obj is not tk.layers.Layer}
    missing = exported - COMPARED
    assert not missing, f"add a Keras reference test for: {sorted(missing)}"
