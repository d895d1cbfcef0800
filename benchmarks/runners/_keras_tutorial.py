"""The TensorFlow beginner tutorial, written once against a module called ``tf``.

``tomei_run.py`` passes ``tomei`` (``import tomei as tf``), ``tf_run.py`` passes
``tensorflow`` and ``keras_run.py`` a stand-in holding Keras 3 (on JAX or torch); every call
below is the tutorial's own (quickstart for beginners), plus a callback that reads the clock
at the start and end of each epoch, ``verbose=0``, and the seed. NumPy is imported here,
after the runner has timed the framework import.
"""
from __future__ import annotations

import _common as C


def build_model(tf, hidden: int = 128, depth: int = 1):
    """The tutorial's model; ``depth`` > 1 (scaling only) repeats Dense(hidden, relu) +
    Dropout(0.2)."""
    hidden_layers = []
    for _ in range(depth):
        hidden_layers += [tf.keras.layers.Dense(hidden, activation='relu'),
                          tf.keras.layers.Dropout(0.2)]
    return tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        *hidden_layers,
        tf.keras.layers.Dense(10)
    ])


def epoch_timer(tf):
    """A Keras callback recording the wall time of each epoch (on_epoch_begin to _end)."""

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []
            self._start = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = C.now()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(C.now() - self._start)

    return EpochTimer()


def optimizer_config(model) -> dict:
    """The Adam settings the model was compiled with (checks 'adam' means the same thing)."""
    opt = model.optimizer
    out = {"class": type(opt).__name__}
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon"):
        value = getattr(opt, key, None)
        try:
            out[key] = float(value.numpy() if hasattr(value, "numpy") else value)
        except (TypeError, ValueError):
            out[key] = None
    return out


def load(tf, cfg, tomei_loader):
    """The tutorial's data lines: load, then ``x / 255.0`` (float64, as the tutorial does)."""
    if cfg["data"] == "synthetic":
        data = C.synthetic_fashion_mnist(cfg["n_train"], cfg["n_test"], seed=12345)
    elif tomei_loader and cfg["data"] == "fashion-mnist":
        data_dir = cfg.get("data_dir")
        fashion_mnist = tf.keras.datasets.fashion_mnist
        if data_dir and data_dir != C.DEBIAN_DIR:
            data = fashion_mnist.load_data(path=data_dir)    # tomei extension
        else:
            data = fashion_mnist.load_data()
    else:
        data = C.load_for_peer(cfg)
    (x_train, y_train), (x_test, y_test) = C.subset(data, cfg)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    return (x_train, y_train), (x_test, y_test)


def tensor_numpy(t):
    """``t.numpy()``, as the tutorial writes it (TensorFlow and tomei tensors)."""
    return t.numpy()


def run_tutorial(tf, cfg: dict, import_s: float, tomei_loader: bool,
                 to_numpy=tensor_numpy) -> dict:
    import numpy as np

    result = {"import_s": import_s}
    t = C.now()
    (x_train, y_train), (x_test, y_test) = load(tf, cfg, tomei_loader)
    result["load_s"] = C.now() - t
    result["x_dtype"] = str(x_train.dtype)
    result["n_train"], result["n_test"] = int(len(x_train)), int(len(x_test))

    tf.keras.utils.set_random_seed(cfg["seed"])
    t = C.now()
    model = build_model(tf, cfg.get("hidden", 128))

    # The tutorial's first look at the untrained model.
    predictions = to_numpy(model(x_train[:1]))
    to_numpy(tf.nn.softmax(predictions))
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    to_numpy(loss_fn(y_train[:1], predictions))

    model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
    result["build_compile_s"] = C.now() - t
    result["optimizer"] = optimizer_config(model)

    timer = epoch_timer(tf)
    t = C.now()
    history = model.fit(x_train, y_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                        verbose=0, callbacks=[timer])
    result["fit_total_s"] = C.now() - t
    result["epoch_s"] = list(timer.seconds)
    result["fit_s_per_epoch"] = sum(timer.seconds) / len(timer.seconds)
    hist = history.history
    result["train_loss"] = float(hist["loss"][-1])
    result["train_accuracy"] = float(hist["accuracy"][-1])

    t = C.now()
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    result["evaluate_s"] = C.now() - t
    result["test_loss"], result["test_accuracy"] = float(test_loss), float(test_acc)

    # predict twice: the first call includes any one-off set-up (TensorFlow traces a
    # function); the second is the steady-state throughput reported in the table.
    t = C.now()
    model.predict(x_test, verbose=0)
    result["predict_first_s"] = C.now() - t
    t = C.now()
    probs = model.predict(x_test, verbose=0)
    result["predict_s"] = C.now() - t
    result["predict_images_per_s"] = len(x_test) / result["predict_s"]
    predicted = np.argmax(probs, axis=-1)
    result["predict_accuracy"] = float(np.mean(predicted == np.asarray(y_test)))

    result.update(C.peak_rss())
    result.update(C.cpu_times())
    return result


def run_scaling(tf, cfg: dict, import_s: float, tomei_loader: bool,
                to_numpy=tensor_numpy) -> dict:
    """fit s/epoch for each (hidden width, batch size, hidden layers) cell, on a subset, in
    one process."""
    result = {"import_s": import_s, "cells": []}
    t = C.now()
    (x_train, y_train), _ = load(tf, cfg, tomei_loader)
    result["load_s"] = C.now() - t
    result["n_train"] = int(len(x_train))
    clear = getattr(getattr(tf.keras, "backend", None), "clear_session", None)
    for hidden, batch, depth in cfg["cells"]:
        if clear is not None:
            clear()
        tf.keras.utils.set_random_seed(cfg["seed"])
        model = build_model(tf, hidden, depth)
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
        timer = epoch_timer(tf)
        model.fit(x_train, y_train, epochs=cfg["epochs"], batch_size=batch, verbose=0,
                  callbacks=[timer])
        result["cells"].append({"hidden": hidden, "batch_size": batch, "depth": depth,
                                "epoch_s": list(timer.seconds)})
    result.update(C.peak_rss())
    return result
