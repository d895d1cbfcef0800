"""One run of the keras-io "Simple MNIST convnet" with a Keras API: tomei, TensorFlow's
tf.keras, or Keras 3 on the backend KERAS_BACKEND names (the orchestrator sets ``jax``).

Started by ``benchmarks/convnet_bench.py`` as ``python convnet_run.py '<config JSON>'`` in a
fresh process; prints one ``@@BENCH@@ {json}`` line. The model, data preparation and calls
are the keras-io example's (Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu,
MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10 softmax; ``x / 255`` as float32 with a
channel axis; one-hot labels; Adam; categorical cross-entropy; batch 128;
``validation_split=0.1``), written once against a module called ``keras``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

FRAMEWORK = C.config_from_argv()["framework"]
os.environ.setdefault("TOMEI_OFFLINE", "1")  # never download inside a benchmark

_t0 = C.now()
if FRAMEWORK == "tomei":
    import tomei as _lib  # noqa: E402
    keras = _lib.keras
elif FRAMEWORK == "tf":
    import tensorflow as _lib  # noqa: E402
    keras = _lib.keras
else:  # "keras": Keras 3 on os.environ["KERAS_BACKEND"]
    import keras  # noqa: E402
IMPORT_S = C.now() - _t0


def versions():
    import numpy as np
    out = {"numpy": np.__version__, "keras": getattr(keras, "__version__", None)}
    if FRAMEWORK == "tomei":
        out["tomei"] = _lib.__version__
    elif FRAMEWORK == "tf":
        out["tensorflow"] = _lib.__version__
    else:
        out["keras_backend"] = keras.backend.backend()
        if out["keras_backend"] == "jax":
            import jax
            out["jax"] = jax.__version__
    return out


def main():
    import numpy as np

    cfg = C.config_from_argv()
    t = C.now()
    (x_train, y_train), (x_test, y_test) = C.subset(C.load_for_peer(cfg), cfg)
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    load_s = C.now() - t

    keras.utils.set_random_seed(cfg["seed"])
    model = C.convnet_model(keras)

    epoch_s, begin = [], {}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            begin["t"] = C.now()

        def on_epoch_end(self, epoch, logs=None):  # after the validation pass, as Keras logs it
            epoch_s.append(C.now() - begin["t"])

    t = C.now()
    history = model.fit(x_train, y_train, batch_size=cfg["batch_size"], epochs=cfg["epochs"],
                        validation_split=0.1, verbose=0, callbacks=[Clock()])
    fit_total_s = C.now() - t
    t = C.now()
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    evaluate_s = C.now() - t
    return {
        "framework": FRAMEWORK, "versions": versions(), "import_s": IMPORT_S, "load_s": load_s,
        "epoch_s": epoch_s, "fit_total_s": fit_total_s, "evaluate_s": evaluate_s,
        "test_loss": float(loss), "test_accuracy": float(accuracy),
        "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
        "n_train": int(len(x_train)), "n_test": int(len(x_test)), **C.peak_rss(),
        **C.cpu_times(),
    }


if __name__ == "__main__":
    C.run_guarded(main)
