"""The keras-io "Simple MNIST convnet" learns real digits: one epoch on the first 30,000
MNIST training images gives >= 0.97 test accuracy on all 10,000 test images.

(The full recipe, 15 epochs at batch 128 on 54,000 images, reaches >= 0.99: that figure comes
from ``benchmarks/convnet_bench.py --frameworks tomei --epochs 15``; docs/benchmarks.md.)

Data: the IDX files in ``$TOMEI_MNIST_DIR`` when it is set, else
``tomei.keras.datasets.mnist.load_data()``. When neither gives MNIST the test skips, except
under TOMEI_REQUIRE_REAL_DATA=1 (CI), where it fails.
"""
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import tomei as tf

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")


def _read_idx_folder(folder):
    """The four uncompressed IDX files (the npm package's layout) as Keras's four arrays."""
    arrays = []
    for name in FILES:
        raw = np.fromfile(os.path.join(folder, name), dtype=np.uint8)
        ndim = raw[3]
        dims = raw[4:4 + 4 * ndim].view(">u4").astype(int)
        arrays.append(raw[4 + 4 * ndim:].reshape(dims))
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


@pytest.fixture(scope="module")
def mnist():
    folder = os.environ.get("TOMEI_MNIST_DIR")
    if folder:
        return _read_idx_folder(folder)
    try:
        return tf.keras.datasets.mnist.load_data()
    except Exception as exc:  # noqa: BLE001 - any failure to obtain the data is reported
        if os.environ.get("TOMEI_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"TOMEI_REQUIRE_REAL_DATA=1 but real MNIST could not be loaded: {exc}")
        pytest.skip(f"real MNIST is not available here ({exc}); set TOMEI_MNIST_DIR")


def convnet():
    keras, layers = tf.keras, tf.keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def test_one_epoch_on_30000_images_reaches_097(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    x_train = np.expand_dims(x_train[:30000].astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train = tf.keras.utils.to_categorical(y_train[:30000], 10)
    y_test = tf.keras.utils.to_categorical(y_test, 10)
    tf.keras.utils.set_random_seed(0)
    model = convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    # One BLAS thread keeps the time steady on a shared machine; it changes no result.
    with threadpool_limits(limits=1, user_api="blas"):
        history = model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert history.history["accuracy"][0] > 0.85  # the running mean over the epoch, dropout on
    assert accuracy >= 0.97, (loss, accuracy)
    assert loss < 0.12
