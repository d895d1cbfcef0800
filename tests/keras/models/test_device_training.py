"""Training on a GPU, checked on the CPU with the strict stand-in for CuPy
(tests/engine/strict_device.py): the same numbers as on the host, data and weights kept on
the device, host arrays out of every public call."""
import numpy as np
import pytest

import tomei as tf

from ...engine.strict_device import StrictArray




def tutorial_model():
    return tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])


def convnet():
    return tf.keras.Sequential([
        tf.keras.Input((12, 12, 1)),
        tf.keras.layers.Conv2D(4, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dropout(0.5),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])


def data(shape, n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + shape), rng.integers(0, 10, n)


def train(build, shape, loss, on_gpu, y_onehot=False, **fit):
    tf.keras.utils.set_random_seed(0)
    x, y = data(shape)
    if y_onehot:
        y = np.eye(10, dtype=np.float32)[y]
    model = build()
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    if on_gpu:
        with tf.device("/GPU:0"):
            history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, **fit)
    else:
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, **fit)
    return model, history, x, y


@pytest.mark.parametrize("build, shape, loss, onehot", [
    (tutorial_model, (28, 28),
     tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), False),
    (convnet, (12, 12, 1), "categorical_crossentropy", True),
], ids=["tutorial", "convnet"])
def test_fit_on_the_device_gives_the_host_numbers(gpu, build, shape, loss, onehot):
    host_model, host_hist, x, y = train(build, shape, loss, False, onehot,
                                        validation_split=0.25)
    dev_model, dev_hist, _, _ = train(build, shape, loss, True, onehot, validation_split=0.25)
    assert all(isinstance(v.value, StrictArray) for v in dev_model.trainable_variables)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(dev_hist.history[key], host_hist.history[key], rtol=1e-5,
                                   err_msg=key)
    for a, b in zip(dev_model.get_weights(), host_model.get_weights()):
        assert type(a) is np.ndarray
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    out = dev_model.predict(x[:5], verbose=0)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, host_model.predict(x[:5], verbose=0), rtol=1e-5, atol=1e-6)
    ev = dev_model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ev, host_model.evaluate(x, y, verbose=0), rtol=1e-5)
    assert type(dev_model(x[:2]).numpy()) is np.ndarray


def test_a_model_saved_on_the_device_loads_on_the_host(gpu, tmp_path):
    model, _, x, _ = train(tutorial_model, (28, 28),
                           tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), True)
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    assert all(type(v.value) is np.ndarray for v in loaded.variables)
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0),
                               rtol=1e-6)
    with tf.device("/GPU:0"):  # and back onto the device, where training goes on
        loaded.fit(x, np.zeros(len(x), int), epochs=1, verbose=0)
    assert all(isinstance(v.value, StrictArray) for v in loaded.trainable_variables)
