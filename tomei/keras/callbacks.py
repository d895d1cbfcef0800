"""Callbacks: code that runs at points of ``fit``/``evaluate``/``predict``.

Hooks (all optional): on_train_begin/end, on_epoch_begin/end(epoch, logs),
on_train_batch_begin/end(batch, logs), on_test_*/on_predict_* likewise. ``logs`` is a dict
of the current values ("loss", "accuracy", and "val_..." at epoch end).
"""
from __future__ import annotations

import numpy as np


class Callback:
    """Base class. ``self.model`` is set by ``fit``; ``self.params`` holds
    {'verbose', 'epochs', 'steps'}."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList(Callback):
    """Calls every hook on each callback in order."""

    def __init__(self, callbacks=(), model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances; received "
                                f"{type(cb).__name__}.")
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __getattribute__(self, name):
        if name.startswith("on_"):
            callbacks = object.__getattribute__(self, "callbacks")
            return lambda *args, **kwargs: [getattr(cb, name)(*args, **kwargs)
                                            for cb in callbacks] and None
        return object.__getattribute__(self, name)


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` is a list, one float per epoch.

    ``fit`` returns this object; ``history.epoch`` lists the 0-based epochs run.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/E`` and the Keras progress bar (see ``utils.progbar.Progbar``)."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._seen = 0

    def _new_bar(self, target):
        from tomei.keras.utils.progbar import Progbar
        verbose = self.params.get("verbose", 1)
        self._bar = Progbar(target, verbose=verbose, stateful_metrics=None, unit_name="step")
        self._bar.stateful_metrics = _AllNames()  # every value given is already a running mean
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if self.params.get("verbose") and epochs > 1:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self.params.get("steps") or self._bar_current(), list((logs or {}).items()),
                         finalize=True)

    def _bar_current(self):
        return getattr(self._bar, "_seen_so_far", 0) or 1

    def on_test_begin(self, logs=None):
        if self.model is not None and getattr(self.model, "_in_fit", False):
            return  # validation inside fit is silent; its values join the epoch line
        self._new_bar(self.params.get("test_steps", self.params.get("steps")))

    def on_test_batch_end(self, batch, logs=None):
        if self._bar is not None and not getattr(self.model, "_in_fit", False):
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if self._bar is not None and not getattr(self.model, "_in_fit", False):
            self._bar.update(self.params.get("test_steps", self.params.get("steps")),
                             list((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        self._bar.update(self.params.get("steps"), finalize=True)


class _AllNames:
    """A set that contains every name (all model metrics are running means already)."""

    def __contains__(self, name):
        return True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Args: on_epoch_begin, on_epoch_end, on_train_batch_begin, on_train_batch_end (each
    ``(index, logs)``), on_train_begin, on_train_end (each ``(logs)``).
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_batch_begin=None,
                 on_train_batch_end=None, on_train_begin=None, on_train_end=None,
                 on_batch_begin=None, on_batch_end=None):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_batch_begin=on_train_batch_begin or on_batch_begin,
                     on_train_batch_end=on_train_batch_end or on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, fn in given.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
