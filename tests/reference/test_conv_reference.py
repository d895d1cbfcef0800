"""Convolution, pooling and image-reshaping layers against real Keras 3 (torch backend).

- the same (perturbed) weights give the same outputs to 1e-5, for every new layer and for
  stride / padding / dilation / output_padding variants, odd sizes and batch 1;
- small convnets built from each layer give the same loss at every one of 3 Adam steps and
  the same weights after them;
- the same layer names, weight names and shapes, configs and summary table.
"""
import re

import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [
    pytest.mark.reference,
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

RTOL = ATOL = 1e-5


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(0.0, 1.5, shape).astype(np.float32)


def _compare(keras, to_np, make, shape, training=False, seed=0):
    x = _x(shape, seed)
    k_layer, t_layer = make(keras), make(tk)
    k_layer(x)
    t_layer(x)
    rng = np.random.default_rng(seed + 1)
    values = [w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in k_layer.get_weights()]
    assert [v.shape for v in values] == [w.shape for w in t_layer.get_weights()]
    assert [w.path.split("/")[-1] for w in t_layer.weights] == \
        [w.path.split("/")[-1] for w in k_layer.weights]
    k_layer.set_weights(values)
    t_layer.set_weights(values)
    k_out = to_np(k_layer(x, training=training))
    t_out = t_layer(x, training=training).numpy()
    assert t_out.dtype == np.float32
    assert t_out.shape == k_out.shape == tuple(
        d if d is not None else x.shape[0] for d in t_layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(t_out, k_out, rtol=RTOL, atol=ATOL)


CONV2D = [
    ({"filters": 4, "kernel_size": 3}, (2, 9, 7, 3)),
    ({"filters": 4, "kernel_size": 3, "padding": "same"}, (1, 9, 7, 3)),
    ({"filters": 3, "kernel_size": (2, 3), "strides": (2, 1), "padding": "same"}, (2, 8, 7, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2}, (2, 9, 8, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 3, "padding": "same"}, (1, 10, 7, 2)),
    ({"filters": 5, "kernel_size": 3, "dilation_rate": 2}, (2, 9, 9, 2)),
    ({"filters": 5, "kernel_size": (3, 2), "dilation_rate": (2, 3), "padding": "same"}, (2, 8, 9, 2)),
    ({"filters": 4, "kernel_size": 1, "use_bias": False}, (2, 5, 5, 3)),
    ({"filters": 4, "kernel_size": 3, "activation": "relu"}, (2, 6, 6, 1)),
    ({"filters": 2, "kernel_size": 5, "activation": "tanh", "padding": "same"}, (1, 4, 4, 2)),
]
CONV1D = [
    ({"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ({"filters": 4, "kernel_size": 3, "padding": "same"}, (1, 8, 3)),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, (2, 8, 3)),
    ({"filters": 4, "kernel_size": 2, "padding": "causal", "dilation_rate": 3}, (2, 9, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2, "activation": "relu"}, (2, 10, 2)),
    ({"filters": 3, "kernel_size": 4, "strides": 3, "padding": "same", "use_bias": False}, (1, 11, 2)),
]
CONV2D_T = [
    ({"filters": 3, "kernel_size": 3}, (2, 5, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "padding": "same"}, (1, 5, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 5, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 5, 2)),
    ({"filters": 2, "kernel_size": (2, 3), "strides": (2, 3), "padding": "same"}, (1, 3, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 4, 4, 2)),
    ({"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
     (1, 4, 3, 2)),
    ({"filters": 3, "kernel_size": 3, "dilation_rate": 2}, (2, 4, 4, 2)),
    ({"filters": 2, "kernel_size": 2, "strides": 3}, (2, 3, 3, 3)),  # stride > kernel: gaps
    ({"filters": 2, "kernel_size": 3, "activation": "relu", "use_bias": False}, (2, 4, 4, 2)),
]


@pytest.mark.parametrize("kwargs, shape", CONV2D, ids=str)
def test_conv2d(keras, to_np, kwargs, shape):
    _compare(keras, to_np, lambda L: L.layers.Conv2D(**kwargs), shape)


@pytest.mark.parametrize("kwargs, shape", CONV1D, ids=str)
def test_conv1d(keras, to_np, kwargs, shape):
    _compare(keras, to_np, lambda L: L.layers.Conv1D(**kwargs), shape)


@pytest.mark.parametrize("kwargs, shape", CONV2D_T, ids=str)
def test_conv2d_transpose(keras, to_np, kwargs, shape):
    _compare(keras, to_np, lambda L: L.layers.Conv2DTranspose(**kwargs), shape)


# AveragePooling2D "same" cases keep to windows where Keras-on-torch agrees with TensorFlow:
# Keras's torch backend pads an uneven "same" border by repeating the edge pixel and then
# averages over it, while TensorFlow (and tomei) leave the padding out of the mean; the two
# only agree when the repeated pixel fills at most one slot of a size-2 window.
WEIGHTLESS = [
    ("MaxPooling2D", {}, (2, 8, 6, 3)),
    ("MaxPooling2D", {}, (1, 7, 5, 2)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 2)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": 1}, (2, 5, 7, 2)),
    ("MaxPooling2D", {"pool_size": 2, "padding": "same"}, (2, 7, 5, 2)),
    ("MaxPooling2D", {"pool_size": 3, "strides": (1, 2), "padding": "same"}, (1, 6, 7, 1)),
    ("AveragePooling2D", {"pool_size": 2}, (2, 8, 6, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2}, (1, 7, 8, 2)),
    ("AveragePooling2D", {"pool_size": 2, "padding": "same"}, (2, 7, 5, 2)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 5, 2)),
    ("AveragePooling2D", {"pool_size": (2, 3), "strides": (2, 1)}, (2, 5, 7, 2)),
    ("MaxPooling1D", {}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (1, 8, 2)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 2)),
    ("GlobalAveragePooling2D", {}, (2, 5, 7, 3)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (1, 5, 7, 3)),
    ("GlobalMaxPooling2D", {}, (2, 5, 7, 3)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (2, 4, 3, 2)),
    ("GlobalAveragePooling1D", {}, (2, 7, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (1, 7, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (3, 2)}, (1, 3, 5, 2)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": 2}, (1, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": (1, 3)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 3, 4, 2)),
    ("Reshape", {"target_shape": (6, 4)}, (2, 3, 4, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", WEIGHTLESS, ids=str)
def test_weightless_layers(keras, to_np, name, kwargs, shape):
    _compare(keras, to_np, lambda L: getattr(L.layers, name)(**kwargs), shape)


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_spatial_dropout_is_the_identity_at_inference(keras, to_np, rate):
    _compare(keras, to_np, lambda L: L.layers.SpatialDropout2D(rate), (2, 4, 5, 3))


def test_spatial_dropout_rate_zero_while_training(keras, to_np):
    _compare(keras, to_np, lambda L: L.layers.SpatialDropout2D(0.0), (2, 4, 5, 3), training=True)


# --- whole models: 3 Adam steps --------------------------------------------------------------

def _convnet(L, kind):
    layers = L.layers
    body = {
        "conv2d": [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                   layers.Conv2D(5, (2, 3), strides=(2, 1), padding="same"),
                   layers.GlobalAveragePooling2D()],
        "dilated": [layers.Conv2D(3, 3, dilation_rate=2, padding="same", activation="tanh"),
                    layers.AveragePooling2D(2), layers.Flatten()],
        "strided_same": [layers.ZeroPadding2D(((1, 0), (2, 1))),
                         layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                         layers.MaxPooling2D(3, strides=2, padding="same"),
                         layers.GlobalMaxPooling2D()],
        "transpose": [layers.Conv2D(3, 3, strides=2, activation="relu"),
                      layers.Conv2DTranspose(2, 3, strides=2, padding="same", activation="relu"),
                      layers.UpSampling2D(), layers.SpatialDropout2D(0.0),
                      layers.Conv2D(2, 3), layers.Flatten()],
        "conv1d": [layers.Reshape((81, 2)), layers.Conv1D(4, 3, padding="causal",
                                                         activation="relu"),
                   layers.MaxPooling1D(3), layers.Conv1D(3, 5, strides=2, padding="same"),
                   layers.GlobalAveragePooling1D()],
    }[kind]
    return L.Sequential([L.Input((9, 9, 2))] + body + [layers.Dense(3)])


@pytest.mark.parametrize("kind", ["conv2d", "dilated", "strided_same", "transpose", "conv1d"])
def test_three_adam_steps_give_the_same_losses_and_weights(keras, kind):
    # Keras's initial weights are copied into tomei; a fixed seed keeps them the same from
    # run to run, whatever ran before (a ReLU input or a pooling tie within float32 rounding
    # of zero can go either way in the two libraries and then move Adam's steps).
    keras.utils.set_random_seed(0)
    k_model, t_model = _convnet(keras, kind), _convnet(tk, kind)
    t_model.set_weights(k_model.get_weights())
    x = _x((24, 9, 9, 2), seed=3)
    y = np.random.default_rng(4).integers(0, 3, 24)
    for L, m in ((keras, k_model), (tk, t_model)):
        m.compile(L.optimizers.Adam(learning_rate=0.01),
                  L.losses.SparseCategoricalCrossentropy(from_logits=True))
    for step in range(3):
        batch = slice(8 * step, 8 * step + 8)
        k_loss = k_model.train_on_batch(x[batch], y[batch])
        t_loss = t_model.train_on_batch(x[batch], y[batch])
        np.testing.assert_allclose(t_loss, k_loss, rtol=1e-5, err_msg=f"step {step}")
    for t_w, k_w, var in zip(t_model.get_weights(), k_model.get_weights(), k_model.weights):
        np.testing.assert_allclose(t_w, k_w, rtol=1e-5, atol=1e-5, err_msg=var.path)
    np.testing.assert_allclose(t_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_mnist_convnet_gradients_match_torch_autograd(keras, torch):
    """The keras-io "Simple MNIST convnet": the loss and every weight's gradient."""
    import tomei

    def build(L):
        layers = L.layers
        return L.Sequential([L.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
                             layers.Dense(10, activation="softmax")])
    k_model, t_model = build(keras), build(tk)
    t_model.set_weights(k_model.get_weights())
    x = np.random.default_rng(5).random((16, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[np.random.default_rng(6).integers(0, 10, 16)]
    k_loss = keras.losses.CategoricalCrossentropy()(y, k_model(x, training=False))
    k_grads = torch.autograd.grad(k_loss, [v.value for v in k_model.trainable_variables])
    with tomei.GradientTape() as tape:
        t_loss = tk.losses.CategoricalCrossentropy()(y, t_model(x, training=False))
    t_grads = tape.gradient(t_loss, t_model.trainable_variables)
    np.testing.assert_allclose(float(t_loss), k_loss.item(), rtol=1e-6)
    for t_g, k_g, var in zip(t_grads, k_grads, k_model.trainable_variables):
        np.testing.assert_allclose(t_g.numpy(), k_g.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=var.path)


# --- names, configs, summary ------------------------------------------------------------------

CONFIG_CASES = [
    ("Conv2D", {"filters": 4, "kernel_size": 3}),
    ("Conv2D", {"filters": 4, "kernel_size": (2, 3), "strides": 2, "padding": "same",
                "activation": "relu", "use_bias": False}),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3}),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 1}),
    ("MaxPooling2D", {}),
    ("MaxPooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 2}),
    ("MaxPooling1D", {}),
    ("GlobalAveragePooling2D", {}),
    ("GlobalMaxPooling2D", {"keepdims": True}),
    ("GlobalAveragePooling1D", {}),
    ("UpSampling2D", {}),
    ("ZeroPadding2D", {"padding": (1, 2)}),
    ("SpatialDropout2D", {"rate": 0.3}),
]


def _without_axes(cfg):
    """Keras 3.15's variance-scaling initializers added ``input_axes``/``output_axes`` (None by
    default) to their configs; tomei's initializers (not this file's subject) do not have them."""
    out = dict(cfg)
    for key, value in cfg.items():
        if key.endswith("_initializer") and isinstance(value, dict):
            inner = {k: v for k, v in value["config"].items()
                     if k not in ("input_axes", "output_axes") or v is not None}
            out[key] = {**value, "config": inner}
    return out


@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=str)
def test_config_and_default_name(keras, fresh_names, name, kwargs):
    k_layer, t_layer = getattr(keras.layers, name)(**kwargs), getattr(tk.layers, name)(**kwargs)
    assert t_layer.name == k_layer.name
    k_cfg, t_cfg = _without_axes(k_layer.get_config()), t_layer.get_config()
    assert list(t_cfg) == list(k_cfg)
    assert t_cfg == k_cfg
    for L in (keras, tk):  # a config makes the same layer again in both libraries
        layer = getattr(L.layers, name).from_config(t_cfg)
        assert _without_axes(layer.get_config()) == k_cfg


def _summary_rows(model):
    lines = []
    model.summary(print_fn=lambda s, **kwargs: lines.append(s))
    text = "\n".join(lines)  # Keras prints the table in one call, tomei line by line
    return [[c.strip() for c in re.split("[┃│]", line)[1:-1]] for line in text.splitlines()
            if line and line[0] in "┃│"], text


def test_summary_of_the_mnist_convnet_and_every_new_layer(keras, fresh_names):
    def build(L):
        layers = L.layers
        return L.Sequential([
            L.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
            layers.ZeroPadding2D(), layers.UpSampling2D(), layers.SpatialDropout2D(0.1),
            layers.Conv2DTranspose(8, 3, strides=2, padding="same"),
            layers.AveragePooling2D(2), layers.GlobalMaxPooling2D(keepdims=True),
            layers.GlobalAveragePooling2D(), layers.Reshape((4, 2)), layers.Conv1D(3, 2),
            layers.MaxPooling1D(), layers.GlobalAveragePooling1D(), layers.Flatten(),
            layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    (k_rows, k_text), (t_rows, t_text) = _summary_rows(build(keras)), _summary_rows(build(tk))
    assert t_rows == k_rows
    assert t_text.strip() == k_text.strip()


ALIASES = ["Convolution1D", "Convolution2D", "Convolution2DTranspose", "MaxPool1D", "MaxPool2D",
           "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool2D"]


@pytest.mark.parametrize("alias", ALIASES)
def test_other_names_are_the_same_classes_as_in_keras(keras, alias):
    assert getattr(tk.layers, alias).__name__ == getattr(keras.layers, alias).__name__
