"""TensorFlow's "quickstart for experts" with only the imports changed to tomei.

The tutorial subclasses ``Model`` (Conv2D 32 3x3 relu, Flatten, Dense 128 relu, Dense 10),
feeds ``tf.data`` pipelines (``from_tensor_slices(...).shuffle(10000).batch(32)``) to
``@tf.function`` train and test steps written with ``GradientTape``, and tracks
``tf.keras.metrics.Mean`` / ``SparseCategoricalAccuracy``. Here it runs on a small image set
these tests make (the label is which of ten horizontal bands is bright), so it is quick and
needs no download; the real-MNIST convnet is tests/test_convnet_mnist.py.
"""
import numpy as np
from threadpoolctl import threadpool_limits

import tomei as tf
from tomei.keras import Model
from tomei.keras.layers import Conv2D, Dense, Flatten


def band_images(n, seed):
    """uint8 (n, 28, 28) noise with rows 4+2k, 5+2k bright for label k, and the labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.uint8)
    x = rng.integers(0, 100, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(y):
        x[i, 4 + 2 * k:6 + 2 * k] += 150
    return x, y


class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(32, 3, activation="relu")
        self.flatten = Flatten()
        self.d1 = Dense(128, activation="relu")
        self.d2 = Dense(10)

    def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


def test_the_experts_quickstart_runs_and_learns():
    # A custom loop runs outside fit's BLAS-thread rule; one thread keeps this test's time
    # steady on a shared machine (it changes no result).
    with threadpool_limits(limits=1, user_api="blas"):
        quickstart()


def quickstart():
    tf.keras.backend.clear_session()  # automatic names start again at "conv2d"
    tf.keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = band_images(640, 1), band_images(160, 2)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train = x_train[..., tf.newaxis].astype("float32")
    x_test = x_test[..., tf.newaxis].astype("float32")

    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

    model = MyModel()
    loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.Adam()
    train_loss = tf.keras.metrics.Mean(name="train_loss")
    train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
    test_loss = tf.keras.metrics.Mean(name="test_loss")
    test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_object(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)
        train_accuracy(labels, predictions)

    @tf.function
    def test_step(images, labels):
        predictions = model(images, training=False)
        t_loss = loss_object(labels, predictions)
        test_loss(t_loss)
        test_accuracy(labels, predictions)

    lines = []
    for epoch in range(2):
        train_loss.reset_state()
        train_accuracy.reset_state()
        test_loss.reset_state()
        test_accuracy.reset_state()
        for images, labels in train_ds:
            train_step(images, labels)
        for test_images, test_labels in test_ds:
            test_step(test_images, test_labels)
        lines.append(f"Epoch {epoch + 1}, Loss: {train_loss.result():0.2f}, "
                     f"Accuracy: {train_accuracy.result() * 100:0.2f}, "
                     f"Test Loss: {test_loss.result():0.2f}, "
                     f"Test Accuracy: {test_accuracy.result() * 100:0.2f}")

    assert [w.path for w in model.trainable_variables][:2] == ["conv2d/kernel", "conv2d/bias"]
    assert model.conv1.kernel.shape == (3, 3, 1, 32)
    assert [w.shape for w in model.trainable_variables][2] == (26 * 26 * 32, 128)
    assert lines[0].startswith("Epoch 1, Loss: ") and len(lines) == 2
    assert float(test_accuracy.result()) > 0.9, lines
    assert float(train_loss.result()) < 1.0, lines
