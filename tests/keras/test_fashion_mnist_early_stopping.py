"""End to end on REAL Fashion-MNIST (Debian's dataset-fashion-mnist): a functional-API model
with an L2 kernel regularizer trains until EarlyStopping sees the validation loss stop
improving, and the history shows exactly that."""
import os
import time

import numpy as np
import pytest

import tomei.keras as tk

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
pytestmark = [
    pytest.mark.slow,
    # tests/conftest.py turns a missing package into an error when TOMEI_REQUIRE_REAL_DATA=1
    pytest.mark.skipif(not os.path.isfile(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")),
                       reason=f"needs Debian's dataset-fashion-mnist in {FASHION_DIR}"),
]
MAX_EPOCHS, PATIENCE = 40, 3


def test_early_stopping_on_the_validation_curve():
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = tk.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    x_train, y_train = x_train[:10000] / 255.0, y_train[:10000]
    x_val, y_val = x_test[:2000] / 255.0, y_test[:2000]

    tk.utils.set_random_seed(0)
    inputs = tk.Input(shape=(28, 28), name="image")
    h = tk.layers.Flatten()(inputs)
    h = tk.layers.Dense(256, activation="relu",
                        kernel_regularizer=tk.regularizers.L2(1e-4), name="hidden")(h)
    outputs = tk.layers.Dense(10, name="logits")(h)
    model = tk.Model(inputs, outputs, name="fashion")
    model.compile(optimizer=tk.optimizers.Adam(2e-3),
                  loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    stop = tk.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE,
                                      restore_best_weights=True)
    history = model.fit(x_train, y_train, batch_size=64, epochs=MAX_EPOCHS, verbose=0,
                        validation_data=(x_val, y_val), callbacks=[stop])
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))

    # It stopped early, PATIENCE epochs after the best validation loss ...
    assert 0 < stop.stopped_epoch < MAX_EPOCHS - 1
    assert stop.best_epoch == best and stop.best == val_loss[best]
    assert stop.stopped_epoch == stop.best_epoch + PATIENCE
    assert history.epoch == list(range(stop.stopped_epoch + 1))
    # ... because no later epoch beat it: the validation curve stopped improving,
    assert val_loss[stop.stopped_epoch] >= val_loss[best]
    assert min(val_loss[best + 1:]) >= val_loss[best]
    # while the training loss (penalty included) kept going down: overfitting.
    assert history.history["loss"][-1] < history.history["loss"][best]
    assert history.history["val_accuracy"][best] > 0.82
    # restore_best_weights put the best epoch's weights back
    np.testing.assert_allclose(model.evaluate(x_val, y_val, verbose=0)[0], val_loss[best],
                               rtol=1e-5)
    assert time.perf_counter() - start < 60
