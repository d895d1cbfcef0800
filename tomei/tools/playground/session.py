"""The model side of ``tomei playground``: predicting a drawing, looking inside, training.

One :class:`Playground` holds one model, the data it trains on and the state of the one
training run that may be going on. The web server (:mod:`tomei.tools.playground.server`) turns
each request into one method call here and the result into JSON; nothing here knows HTTP.

Threads: requests run in several threads and training in one more. A lock is held around every
forward pass and around each training batch (taken in ``on_train_batch_begin``, released in
``on_train_batch_end``), so a drawing is always classified by a consistent set of weights and
waits at most one batch (about a millisecond) while training runs.

Everything uses the public surface: ``model.predict``/``model(x)``, ``model.fit`` with a
callback, ``tomei.inspect.layer_outputs`` / ``tomei.inspect.masks``, ``model.save``.
"""
from __future__ import annotations

import threading
import time

import numpy as np

import tomei
from tomei.tools.predict import fit_to_model, preprocess_digit, probabilities

__all__ = ["Playground", "PlaygroundError", "TrainingSettings"]

#: The largest drawing accepted, in pixels (a 512x512 canvas).
MAX_DRAWING_PIXELS = 512 * 512
#: How many test images the Learn view follows while training.
FIXED_IMAGES = 8
#: Validation images scored at each point of the live curve.
VALIDATION_SIZE = 1000
#: Units whose first-layer weights are shown as 28x28 pictures.
TOP_UNITS = 6

#: Japanese names of the Fashion-MNIST classes, in label order.
FASHION_NAMES_JA = ["Tシャツ/トップ", "ズボン", "プルオーバー", "ドレス", "コート",
                    "サンダル", "シャツ", "スニーカー", "バッグ", "アンクルブーツ"]


class PlaygroundError(ValueError):
    """A request the playground refuses; ``str(err)`` says which field and why."""


class TrainingSettings:
    """What the Learn view may ask for, checked.

    Args:
        epochs: int in [1, 50] (default 1).
        batch_size: int in [1, 4096] (default 32).
        learning_rate: float in (0, 1] (default 0.001, Adam's default).

    Raises:
        PlaygroundError: a value of the wrong type or outside its range, naming the field.
    """

    LIMITS = {"epochs": (int, 1, 50), "batch_size": (int, 1, 4096),
              "learning_rate": (float, 1e-7, 1.0)}

    def __init__(self, epochs=1, batch_size=32, learning_rate=0.001):
        self.epochs = self._check("epochs", epochs)
        self.batch_size = self._check("batch_size", batch_size)
        self.learning_rate = self._check("learning_rate", learning_rate)

    @classmethod
    def from_json(cls, body: dict) -> "TrainingSettings":
        """Settings from a request body; unknown fields are refused."""
        if not isinstance(body, dict):
            raise PlaygroundError(f"expected a JSON object; received {type(body).__name__}.")
        unknown = sorted(set(body) - set(cls.LIMITS))
        if unknown:
            raise PlaygroundError(f"unknown training settings {unknown}; expected some of "
                                  f"{sorted(cls.LIMITS)}.")
        return cls(**body)

    def _check(self, name, value):
        kind, low, high = self.LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (kind is int and float(value) != int(value)):
            raise PlaygroundError(f"{name}: expected {'an integer' if kind is int else 'a number'}"
                                  f" in [{low}, {high}]; received {value!r}.")
        value = kind(value)
        if not np.isfinite(value) or not low <= value <= high:
            raise PlaygroundError(f"{name}: expected a value in [{low}, {high}]; received "
                                  f"{value!r}.")
        return value


class _LiveCallback(tomei.keras.callbacks.Callback):
    """Holds the model lock during each batch and adds a point to the curve every ``tick``
    batches: the mean training loss/accuracy since the last point, and the validation ones."""

    def __init__(self, playground, tick):
        super().__init__()
        self.pg, self.tick = playground, tick
        self.holding = False  # True while this training thread holds the model lock
        self._n = 0

    def on_train_begin(self, logs=None):
        self.pg._add_point(None, None)  # where the validation curve starts

    def on_epoch_begin(self, epoch, logs=None):
        self.pg._progress.update(epoch=epoch + 1, batch=0)

    def on_train_batch_begin(self, batch, logs=None):
        self.pg._lock.acquire()
        self.holding = True

    def on_train_batch_end(self, batch, logs=None):
        self.release()
        self._n += 1
        self.pg._progress["batch"] = batch + 1
        if self._n >= self.tick:
            self._n = 0
            # The logs hold the running means since the epoch began, as the progress bar shows.
            logs = logs or {}
            self.pg._add_point(float(logs.get("loss", np.nan)),
                               float(logs.get("accuracy", np.nan)))
        if self.pg._stop.is_set():
            self.model.stop_training = True

    def release(self):
        """Releases the model lock if this training thread holds it."""
        if self.holding:
            self.holding = False
            self.pg._lock.release()


class Playground:
    """One model, its data and its training state, for the playground page.

    Args:
        model: a tomei.keras model mapping 28x28 images (any shape holding 784 values per
            sample) to class scores (logits or probabilities).
        class_names: names of the classes in label order (default: ``"0"`` ... ``"9"``).
        data: ``((x_train, y_train), (x_test, y_test))`` as ``load_data()`` returns them
            (uint8 0-255), or None: then the Learn view reports that there is no data.
        save_path: where "save" writes the model (only this path; the page never names one).
        lang: ``"en"`` or ``"ja"`` (Fashion-MNIST class names are translated for ``"ja"``).
        tick: batches between two points of the live curve (default 50).
    """

    def __init__(self, model, class_names=None, data=None, save_path=None, lang="en", tick=50):
        self.model = model
        self.class_names = list(class_names) if class_names else [str(i) for i in range(10)]
        if lang == "ja" and self.class_names == list(
                tomei.keras.datasets.fashion_mnist.CLASS_NAMES):
            self.class_names = list(FASHION_NAMES_JA)
        self.save_path = save_path
        self.tick = int(tick)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._progress = {"running": False, "stopped": False, "epoch": 0, "epochs": 0,
                          "batch": 0, "batches": 0, "error": None}
        self._curve = []
        self._started = time.monotonic()
        self._prepare_data(data)

    # --- data ---------------------------------------------------------------------------------
    def _prepare_data(self, data):
        self.x_train = self.y_train = self.x_val = self.y_val = None
        self.fixed = None
        if data is None:
            return
        (x_train, y_train), (x_test, y_test) = data
        x_train = np.asarray(x_train, np.float32) / 255.0
        x_test = np.asarray(x_test, np.float32) / 255.0
        # The last 5,000 training images are held out for the validation curve.
        self.x_train, self.y_train = x_train[:-5000], np.asarray(y_train[:-5000])
        self.x_val = x_train[-5000:][:VALIDATION_SIZE]
        self.y_val = np.asarray(y_train[-5000:][:VALIDATION_SIZE]).astype(np.int64)
        self.fixed = x_test[:FIXED_IMAGES]
        self.fixed_labels = np.asarray(y_test[:FIXED_IMAGES]).astype(np.int64)

    # --- one drawing --------------------------------------------------------------------------
    def _forward(self, images):
        with self._lock:
            return probabilities(self.model(fit_to_model(self.model, images)).numpy())

    def predict(self, gray, width: int, height: int) -> dict:
        """Classifies a drawing.

        Args:
            gray: ``width * height`` bytes (or uint8 values), row by row, 0 = black paper,
                255 = white ink, as the page's canvas gives them (either polarity works:
                :func:`tomei.tools.predict.preprocess_digit` detects the background).
            width, height: the drawing's size in pixels (each 1 to 512).

        Returns:
            dict with ``image`` (784 floats, the 28x28 input the model saw, row by row),
            ``probs`` (one per class), ``top`` (index of the most likely class),
            ``names`` (class names) and ``empty`` (True when nothing is drawn yet).

        Raises:
            PlaygroundError: sizes out of range or a pixel count that does not match.
        """
        pixels = self._drawing(gray, width, height)
        try:
            image = preprocess_digit(pixels)
        except ValueError:  # an empty canvas: nothing to classify yet
            return {"empty": True, "names": self.class_names}
        probs = self._forward(image[None])[0]
        return {"empty": False, "image": _rounded(image.ravel(), 3), "probs": _rounded(probs, 5),
                "top": int(np.argmax(probs)), "names": self.class_names}

    @staticmethod
    def _drawing(gray, width, height) -> np.ndarray:
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 512:
                raise PlaygroundError(f"{name}: expected an integer from 1 to 512; received "
                                      f"{value!r}.")
        pixels = np.frombuffer(bytes(gray), dtype=np.uint8) if isinstance(
            gray, (bytes, bytearray, memoryview)) else np.asarray(gray)
        if pixels.size != width * height:
            raise PlaygroundError(f"pixels: expected width*height = {width * height} values; "
                                  f"received {pixels.size}.")
        if pixels.dtype != np.uint8:
            if pixels.dtype.kind not in "iu" or pixels.min() < 0 or pixels.max() > 255:
                raise PlaygroundError("pixels: expected integers from 0 to 255.")
            pixels = pixels.astype(np.uint8)
        return pixels.reshape(height, width)

    def inside(self, gray, width: int, height: int) -> dict:
        """What the first hidden layer does with a drawing.

        Returns:
            dict with ``layer`` (its name), ``activations`` (one float per unit, after the
            activation function), ``dropped`` (one bool per unit: would the next ``Dropout``
            drop it in one training step, drawn fresh each call; absent without Dropout),
            ``rate`` (that dropout rate), and ``units``: for the ``TOP_UNITS`` most active
            units, ``{"unit": i, "activation": a, "weights": 784 floats}`` when the layer's
            kernel has 784 rows (its weights are 28x28 pictures), else no weights. ``empty``
            is True when nothing is drawn.

        Raises:
            PlaygroundError: as :meth:`predict`, or a model with no hidden Dense layer.
        """
        pixels = self._drawing(gray, width, height)
        try:
            image = preprocess_digit(pixels)
        except ValueError:
            return {"empty": True}
        x = fit_to_model(self.model, image[None])
        with self._lock:
            outputs = tomei.inspect.layer_outputs(self.model, x, training=False)
            masks = tomei.inspect.masks(self.model, x, training=True)
        hidden = self._hidden_layer()
        if hidden is None:
            raise PlaygroundError("this model has no hidden Dense layer to show.")
        acts = dict(outputs)[hidden.name][0].ravel()
        result = {"empty": False, "layer": hidden.name, "activations": _rounded(acts, 4)}
        dropout = next((m for name, m in masks.items() if "dropout" in name.lower()), None)
        if dropout is not None and np.asarray(dropout).size == acts.size:
            result["dropped"] = [not bool(v) for v in np.asarray(dropout).ravel()]
            rate = next((getattr(l, "rate", None) for l in self.model.layers
                         if type(l).__name__ == "Dropout"), None)
            result["rate"] = rate
        kernel = hidden.kernel.numpy()
        order = np.argsort(-acts, kind="stable")[:TOP_UNITS]
        result["units"] = [
            {"unit": int(i), "activation": round(float(acts[i]), 4),
             **({"weights": _rounded(kernel[:, i], 4)} if kernel.shape[0] == 784 else {})}
            for i in order]
        return result

    def _hidden_layer(self):
        """The first Dense layer that is not the last layer (the tutorial's Dense(128))."""
        layers = list(self.model.layers)
        dense = [l for l in layers if type(l).__name__ == "Dense"]
        return dense[0] if len(dense) >= 2 else None

    # --- training -----------------------------------------------------------------------------
    def start_training(self, settings: TrainingSettings) -> dict:
        """Starts training in a background thread; returns the status.

        Raises:
            PlaygroundError: training is already running, or there is no data.
        """
        if self.x_train is None:
            raise PlaygroundError("no training data: start the playground with a dataset.")
        if self._thread is not None and self._thread.is_alive():
            raise PlaygroundError("training is already running; stop it first.")
        self._stop.clear()
        batches = -(-len(self.x_train) // settings.batch_size)
        self._progress = {"running": True, "stopped": False, "epoch": 0,
                          "epochs": settings.epochs, "batch": 0, "batches": batches, "error": None}
        self._thread = threading.Thread(target=self._train, args=(settings,), daemon=True,
                                        name="tomei-playground-training")
        self._thread.start()
        return self.status()

    def _compile(self, learning_rate):
        if getattr(self.model, "optimizer", None) is None or \
                getattr(self.model, "loss", None) is None:
            last = self.model.layers[-1]
            activation = getattr(getattr(last, "activation", None), "__name__", "")
            from_logits = activation != "softmax" and type(last).__name__ != "Softmax"
            self.model.compile(
                optimizer=tomei.keras.optimizers.Adam(learning_rate=learning_rate),
                loss=tomei.keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
                metrics=["accuracy"])
        else:
            self.model.optimizer.learning_rate = learning_rate

    def _train(self, settings):
        live = _LiveCallback(self, self.tick)
        try:
            self._compile(settings.learning_rate)
            self.model.fit(self.x_train, self.y_train, epochs=settings.epochs,
                           batch_size=settings.batch_size, verbose=0, callbacks=[live])
        except Exception as exc:  # noqa: BLE001 - shown on the page, never a dead thread
            self._progress["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            live.release()
            self._progress["stopped"] = self._stop.is_set()
            self._progress["running"] = False

    def stop_training(self) -> dict:
        """Asks the running training to stop after the current batch; returns the status."""
        self._stop.set()
        return self.status()

    def _add_point(self, loss, acc):
        """One point of the live curve: ``loss``/``acc`` are the training means so far this
        epoch (None at the start); the validation ones are computed here."""
        probs = self._forward(self.x_val)
        val_loss = tomei.keras.losses.sparse_categorical_crossentropy(self.y_val, probs)
        point = {"t": round(time.monotonic() - self._started, 2),
                 "loss": None if loss is None else round(loss, 5),
                 "accuracy": None if acc is None else round(acc, 5),
                 "val_loss": round(float(np.mean(np.asarray(val_loss))), 5),
                 "val_accuracy": round(float(np.mean(probs.argmax(1) == self.y_val)), 5),
                 "epoch": self._progress.get("epoch", 0),
                 "batch": self._progress.get("batch", 0)}
        self._curve.append(point)

    def status(self) -> dict:
        """The training state: ``running``, ``stopped`` (the last run was stopped from the
        page), ``epoch``/``epochs``, ``batch``/``batches``,
        ``error`` (or None), ``curve`` (the points so far: loss, accuracy, val_loss,
        val_accuracy) and ``fixed``: the followed test images with their labels and the
        model's current prediction for each."""
        out = dict(self._progress)
        out["curve"] = list(self._curve)
        if self.fixed is not None:
            probs = self._forward(self.fixed)
            out["fixed"] = [
                {"image": _rounded(img.ravel(), 2), "label": int(label),
                 "pred": int(np.argmax(p)), "p": round(float(np.max(p)), 4)}
                for img, label, p in zip(self.fixed, self.fixed_labels, probs)]
        return out

    def save(self) -> str:
        """Saves the model to ``save_path`` (given on the command line); returns that path.

        Raises:
            PlaygroundError: no save path was given, or training is running.
        """
        if not self.save_path:
            raise PlaygroundError("no save path: start the playground with --save PATH.keras.")
        if self._thread is not None and self._thread.is_alive():
            raise PlaygroundError("training is running; stop it before saving.")
        with self._lock:
            self.model.save(self.save_path)
        return self.save_path


def _rounded(values, digits):
    return [round(float(v), digits) for v in np.asarray(values).ravel()]
