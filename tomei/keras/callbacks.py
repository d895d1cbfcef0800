"""Callbacks: code that runs at points of ``fit``/``evaluate``/``predict``.

Hooks (all optional): on_train_begin/end, on_epoch_begin/end(epoch, logs),
on_train_batch_begin/end(batch, logs), on_test_*/on_predict_* likewise. ``logs`` is a dict
of the current values ("loss", "accuracy", and "val_..." at epoch end).
"""
from __future__ import annotations

import numpy as np

from tomei.keras.arguments import one_of, verbose_argument


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


def callbacks_argument(callbacks) -> list:
    """The ``callbacks`` argument of fit/evaluate/predict as a list: None, one Callback (Keras 3
    takes a single one too) or a list/tuple of them.

    Raises:
        TypeError: anything else, or an entry that is not a Callback (naming its type).
    """
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of Callback instances, e.g. "
                        f"callbacks=[EarlyStopping()]; received {type(callbacks).__name__}.")
    return list(callbacks)


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

    def _call(self, hook, *args):
        """Runs ``hook`` on the callbacks that define it (the base class's no-ops are skipped,
        so a hook nobody uses costs nothing per batch). Like Keras, every hook receives a
        logs dict, ``{}`` when there is none."""
        for run in self._hook_runners(hook):
            run(*args)

    def _hook_runners(self, hook):
        runners = self._runners.get(hook)
        if runners is None:
            runners = self._runners[hook] = [getattr(cb, hook) for cb in self.callbacks
                                             if _defines(cb, hook)]
        return runners

    def listens(self, hook) -> bool:
        """True if some callback does something in ``hook`` (e.g. "on_test_batch_begin")."""
        return bool(self._hook_runners(hook))

    @property
    def _runners(self):
        if "_runner_cache" not in self.__dict__:
            self._runner_cache = {}
        return self._runner_cache

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs or {})
    def on_train_end(self, logs=None): self._call("on_train_end", logs or {})
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs or {})
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs or {})
    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs or {})
    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs or {})
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs or {})
    def on_test_end(self, logs=None): self._call("on_test_end", logs or {})
    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs or {})
    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs or {})
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs or {})
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs or {})
    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs or {})
    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs or {})


def _defines(callback, hook) -> bool:
    """True if ``callback`` does something in ``hook`` (its own method or a function set on
    the instance, as LambdaCallback does), not just the base class's no-op."""
    return hook in callback.__dict__ or getattr(type(callback), hook) is not getattr(Callback, hook)


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
        import sys

        from tomei.keras.utils.progbar import Progbar, _is_dynamic
        verbose = self.params.get("verbose", 1)
        self._bar = Progbar(target, verbose=verbose, stateful_metrics=None, unit_name="step")
        self._bar.stateful_metrics = _AllNames()  # every value given is already a running mean
        self._seen = 0
        # Only a bar redrawn in place (a terminal, a notebook) shows each batch. Elsewhere it
        # prints one line at the end, so it hears only of the first batch (for the time per
        # step, which leaves the first step out, as Keras does) and of the last.
        self._live = verbose == 1 and _is_dynamic(sys.stdout)

    def _tell(self, batch, logs):
        if self._live or batch == 0:
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        if self.params.get("verbose") and epochs > 1:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        self._new_bar(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._tell(batch, logs)

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
            self._tell(batch, logs)

    def on_test_end(self, logs=None):
        if self._bar is not None and not getattr(self.model, "_in_fit", False):
            self._bar.update(self.params.get("test_steps", self.params.get("steps")),
                             list((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._tell(batch, None)

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


# --- monitoring callbacks: EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, CSVLogger

# a callback's verbose: 0 silent, 1 a message per event (2, accepted by Keras, acts as 1)
_CALLBACK_VERBOSE = (0, 1, 2)
_UP_WORDS = ("accuracy", "acc", "auc", "precision", "recall")
_DOWN_WORDS = ("loss", "error", "crossentropy", "mse", "mae", "hinge", "divergence")


class _MonitorCallback(Callback):
    """Shared logic of callbacks that watch one logged value ("val_loss" by default).

    ``mode`` 'min' wants it lower, 'max' higher; 'auto' decides from the name: "...loss",
    errors and cross-entropies go down, accuracies go up. An improvement means beating the
    best value by more than ``min_delta``.
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        super().__init__()
        # Keras warns and falls back to 'auto'; a typo ('maximum') is refused here instead
        mode = one_of(mode, "mode", f"{type(self).__name__}()", ("auto", "min", "max"))
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(min_delta)
        self.best = None
        self._lower_is_better = None

    def _decide_direction(self):
        if self.mode != "auto":
            self._lower_is_better = self.mode == "min"
            return
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        words = name.lower().split("_")
        if name.endswith("loss") or any(w in _DOWN_WORDS for w in words):
            self._lower_is_better = True
        elif any(w in _UP_WORDS for w in words):
            self._lower_is_better = False
        else:
            raise ValueError(
                f"{type(self).__name__} received monitor={self.monitor!r}, and cannot tell "
                f"whether it should be minimized or maximized. Pass mode='min' or mode='max'.")

    def _is_improvement(self, value, reference):
        if self._lower_is_better is None:
            self._decide_direction()
        if reference is None:
            return True
        if self._lower_is_better:
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def _monitored(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            import warnings
            warnings.warn(f"{what} conditioned on metric `{self.monitor}`, which is not "
                          f"available. Available metrics are: {','.join(logs or {})}.",
                          stacklevel=3)
        return value


class EarlyStopping(_MonitorCallback):
    """Stops training when a monitored value has stopped improving.

    At each epoch end, if ``monitor`` improved on the best value so far (by more than
    ``min_delta``), the wait counter restarts; otherwise it grows, and once it reaches
    ``patience`` training stops (``model.stop_training = True``). So with no baseline,
    training stops at epoch ``best_epoch + patience`` (0-based).

    Args:
        monitor: logged value to watch, default "val_loss".
        min_delta: float >= 0, default 0: smaller changes do not count as improvement.
        patience: int, default 0: epochs without improvement before stopping.
        verbose: 0 (default) silent; 1 prints "Epoch N: early stopping".
        mode: 'auto' (default), 'min' or 'max'.
        baseline: optional value the monitor must beat; until it does, the wait counter is
            not restarted by improvements.
        restore_best_weights: default False; if True, the weights of the best epoch are
            restored at the end of training (even when it did not stop early).
        start_from_epoch: int, default 0: epochs to wait before monitoring starts.

    Attributes:
        stopped_epoch: the 0-based epoch at which training stopped (0 if it did not).
        best, best_epoch, wait.

    Raises:
        ValueError: mode='auto' with a monitor name whose direction is unknown; a mode
            other than 'auto', 'min', 'max', or a verbose other than 0, 1, 2.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        verbose = verbose_argument(verbose, "EarlyStopping()", _CALLBACK_VERBOSE)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiplies the learning rate by ``factor`` when a monitored value stops improving.

    After ``patience`` epochs without improvement (by more than ``min_delta``):
    new_lr = max(lr * factor, min_lr), then ``cooldown`` epochs pass before counting again.
    It also logs the current rate as "learning_rate" at each epoch end.

    Args:
        monitor: default "val_loss". factor: float < 1, default 0.1.
        patience: int, default 10. verbose: default 0. mode: 'auto' (default), 'min', 'max'.
        min_delta: default 1e-4. cooldown: int, default 0. min_lr: float, default 0.0.

    Raises:
        ValueError: factor >= 1.0; a mode other than 'auto', 'min', 'max', or a verbose
            other than 0, 1, 2.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0; received "
                             f"factor={factor}.")
        self.factor, self.min_lr, self.patience = factor, min_lr, patience
        verbose = verbose_argument(verbose, "ReduceLROnPlateau()", _CALLBACK_VERBOSE)
        self.verbose, self.cooldown = verbose, cooldown
        self.cooldown_counter = self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = self._monitored(logs, "Learning rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter, self.wait = self.cooldown, 0

    def _reduce(self, epoch):
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        if old <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from ``schedule``.

    Args:
        schedule: function ``(epoch, lr) -> new lr`` (epoch 0-based, lr the current rate);
            a one-argument ``(epoch) -> lr`` also works. Must return a float.
        verbose: 0 (default) silent; 1 prints the rate set.

    It also logs the rate as "learning_rate" at each epoch end.

    Raises:
        ValueError: ``schedule`` returned something that is not a float; a verbose other
            than 0, 1, 2.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        verbose = verbose_argument(verbose, "LearningRateScheduler()", _CALLBACK_VERBOSE)
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the LearningRateScheduler schedule must be a "
                             f"float; received {lr!r} of type {type(lr).__name__} at epoch "
                             f"{epoch}.")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Writes one CSV row per epoch: "epoch", then every logged value.

    Columns are the log names sorted alphabetically (as Keras 3); if no "val_" values are
    logged in the first epoch, "val_<name>" columns are added for each name anyway, filled
    with "NA" when missing. The file is flushed after each row and closed at the end.

    Args:
        filename: path of the CSV file.
        separator: default ",". append: default False (overwrite); True appends, writing
            the header only if the file is empty or new.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        import os
        self.filename = os.fspath(filename)
        self.sep, self.append = separator, append
        self.keys, self._writer, self._file = None, None, None

    def on_train_begin(self, logs=None):
        import os
        self._write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self._write_header = not f.readline()
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self._writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        import csv
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self.keys,
                                          delimiter=self.sep)
            if self._write_header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._writer = None


# --- saving during training: ModelCheckpoint, BackupAndRestore -------------------------------


class ModelCheckpoint(_MonitorCallback):
    """Saves the model (or its weights) during training, as ``keras.callbacks.ModelCheckpoint``.

    Args:
        filepath: file name; may contain ``{epoch:02d}`` (1-based), ``{batch}`` (with an
            integer save_freq) and any logged value, e.g.
            ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.
            Must end in ``.keras`` (whole model) or, with save_weights_only, ``.weights.h5``.
        monitor: the logged value save_best_only compares (default "val_loss").
        verbose: 0 (silent, default) or 1 (a line per save).
        save_best_only: default False; True saves only when ``monitor`` improves (so a fixed
            file name always holds the best model).
        save_weights_only: default False; True writes ``model.save_weights(filepath)``.
        mode: 'auto' (default: accuracies up, losses down), 'min' or 'max'.
        save_freq: 'epoch' (default) or an int: save every that many batches.
        initial_value_threshold: optional float the first value must beat to be saved.

    Raises:
        ValueError: a file name with the wrong extension (naming the right one), a bad
            save_freq, or a file name whose ``{placeholder}`` names no logged value; a mode
            other than 'auto', 'min', 'max', or a verbose other than 0, 1, 2.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor=monitor, mode=mode)
        import os
        self.filepath = os.fspath(filepath)
        verbose = verbose_argument(verbose, "ModelCheckpoint()", _CALLBACK_VERBOSE)
        self.verbose, self.save_best_only = verbose, save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, (int, np.integer)) or
                                     isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint expects save_freq='epoch' or a positive number of "
                             f"batches; received save_freq={save_freq!r}.")
        self.save_freq = save_freq
        lower = self.filepath.lower()
        stem = self.filepath[:-len(".weights.h5")] if lower.endswith(".weights.h5") else \
            os.path.splitext(self.filepath)[0]
        if save_weights_only and not lower.endswith(".weights.h5"):
            raise ValueError(f"ModelCheckpoint(save_weights_only=True): the file name must end "
                             f"in '.weights.h5'; received filepath={self.filepath!r}. Use "
                             f"ModelCheckpoint('{stem}.weights.h5', save_weights_only=True).")
        if not save_weights_only and not lower.endswith(".keras"):
            raise ValueError(f"ModelCheckpoint: the file name must end in '.keras' to save the "
                             f"whole model; received filepath={self.filepath!r}. Use "
                             f"ModelCheckpoint('{stem}.keras'), or "
                             f"ModelCheckpoint('{stem}.weights.h5', save_weights_only=True).")
        self.best = initial_value_threshold
        self._batches_seen = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen >= self.save_freq:
            self._batches_seen = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch, batch, logs):
        values = dict(logs or {})
        values["epoch"] = epoch + 1
        if batch is not None and "batch" not in values:
            values["batch"] = batch + 1
        try:
            return self.filepath.format(**values)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"ModelCheckpoint cannot fill in filepath={self.filepath!r} "
                             f"({type(err).__name__}: {err}). Placeholders may use epoch"
                             f"{', batch' if batch is not None else ''} and the logged values: "
                             f"{', '.join(sorted(logs or {})) or 'none yet'}.") from None

    def _save(self, epoch, batch, logs):
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = self._monitored(logs, "Can save best model only")
            if current is None:
                return
            if not self._is_improvement(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self._best_text()}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self._best_text()} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = float(current)
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    def _best_text(self):
        if self.best is not None:
            return f"{self.best:.5f}"
        if self._lower_is_better is None:
            self._decide_direction()
        return "inf" if self._lower_is_better else "-inf"


class BackupAndRestore(Callback):
    """Backs up a training run so that, when the process dies (a kill, a crash, a closed
    notebook), running the same ``fit`` again continues where the backup was taken and ends
    with exactly the weights an uninterrupted run would have.

    The backup ``<backup_dir>/latest.weights.h5`` holds the weights, the optimizer state,
    tomei's random generator state (shuffling, dropout) and the epoch and batch reached; it is
    replaced atomically, so a kill during a backup keeps the previous one (see
    :mod:`tomei.keras.saving.training_state`).

    Args:
        backup_dir: folder for the backup (created if missing). Use one folder per run.
        save_freq: 'epoch' (default) backs up after every epoch; an int also backs up every
            that many batches, and the run then resumes mid-epoch, skipping the batches done.
        delete_checkpoint: default True: remove the backup when training ends normally, and
            then the backup folder when it is left empty and was created for the backup (by
            this run, or by the interrupted run it resumed); other content is left alone.

    Raises:
        ValueError: an empty backup_dir or a bad save_freq. ModelFileError (when training
            starts): a damaged backup or one from a different model.

    Only the History of the resumed run starts afresh; the epoch in which a mid-epoch resume
    happens reports running metrics over the batches after the resume.
    """

    BACKUP_NAME = "latest.weights.h5"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        import os
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a folder: backup_dir must be a non-empty "
                             f"path; received backup_dir={backup_dir!r}.")
        if save_freq != "epoch" and (not isinstance(save_freq, (int, np.integer)) or
                                     isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"BackupAndRestore expects save_freq='epoch' or a positive number "
                             f"of batches; received save_freq={save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._path = os.path.join(self.backup_dir, self.BACKUP_NAME)
        self._batches_seen = 0
        self._epoch = 0
        self._epoch_rng = None
        self._resume = None  # (step, generator state) to apply when a mid-epoch resume starts
        self._own_folders = []  # folders to remove when training ends, deepest first

    def on_train_begin(self, logs=None):
        import os

        from tomei.keras.saving import training_state
        folder = os.path.abspath(self.backup_dir)
        created = []  # the folders os.makedirs is about to create, deepest first
        while not os.path.exists(folder):
            created.append(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        os.makedirs(self.backup_dir, exist_ok=True)
        self._resume = None
        resumed = os.path.exists(self._path)
        if resumed and not created:  # the folder of an interrupted run's backup
            created = [os.path.abspath(self.backup_dir)]
        self._own_folders = created
        if not resumed:
            return
        state = training_state.read_backup(self._path, self.model)
        step = int(state["step"])
        training_state.restore_generators(self.model, state, use_epoch_start=step > 0)
        self.model._initial_epoch_override = int(state["epoch"])
        self.model._initial_step_override = step
        if step > 0:
            self._resume = (step, state["rng"])

    def on_epoch_begin(self, epoch, logs=None):
        from tomei import config
        from tomei.keras.saving import training_state
        self._epoch = epoch
        self._epoch_rng = training_state.generator_state(config.rng())

    def on_train_batch_begin(self, batch, logs=None):
        if self._resume is not None and batch == self._resume[0]:
            from tomei import config
            from tomei.keras.saving import training_state
            training_state.set_generator_state(config.rng(), self._resume[1])
            self._resume = None

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        last = batch + 1 >= (self.params.get("steps") or float("inf"))
        if self._batches_seen >= self.save_freq and not last:  # the epoch end backs up the last
            self._batches_seen = 0
            self._backup(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._backup(epoch + 1, 0)
        self._batches_seen = 0  # count batches since this backup

    def on_train_end(self, logs=None):
        import glob
        import os
        if not self.delete_checkpoint:
            return
        if os.path.exists(self._path):
            os.remove(self._path)
        # temporary files of backups cut short by a kill (see utils.atomic_write)
        from tomei.keras.utils.atomic_write import is_our_temp_name
        for leftover in glob.glob(os.path.join(glob.escape(self.backup_dir),
                                               f".{self.BACKUP_NAME}.*")):
            if is_our_temp_name(os.path.basename(leftover)) is not None:
                os.remove(leftover)
        for folder in self._own_folders:  # as Keras 3 removes backup_dir; only empty folders
            try:
                os.rmdir(folder)
            except OSError:  # other content (or already gone): leave it and its parents
                break
        self._own_folders = []

    def _backup(self, epoch, step):
        from tomei.keras.saving import training_state
        training_state.write_backup(self._path, self.model, epoch, step,
                                    epoch_rng=self._epoch_rng if step else None)


# --- TensorBoard ---------------------------------------------------------------------------


class TensorBoard(Callback):
    """Writes training curves (and optionally weight histograms) as TensorBoard event files.

    The files are written by the ``tensorboardX`` package (install ``tomei[tensorboard]``, or
    ``pip install tensorboardX``), in TensorBoard's event format; open them with
    ``tensorboard --logdir <log_dir>``. The layout and names follow Keras 3:

    - ``<log_dir>/train`` and ``<log_dir>/validation``, one ``events.out.tfevents.*`` file each;
    - every epoch: ``epoch_<name>`` for each logged value (``val_`` values go to validation
      without the prefix), plus ``epoch_learning_rate``, at step = epoch (from 0);
    - with ``update_freq='batch'`` or an int n: ``batch_<name>`` every n training batches,
      at step = the batch count since training began;
    - after each validation inside ``fit``: ``evaluation_<name>_vs_iterations`` in
      validation, at step = optimizer iterations.

    Args:
        log_dir: folder for the event files (default "logs").
        histogram_freq: every this many epochs (0: never, the default), a histogram of each
            weight, tag ``<weight path>/histogram``.
        write_graph: default True: writes the model's JSON config as a text summary, tag
            ``keras/text_summary`` (Keras writes the same config under ``keras`` for its
            graph view; tomei has no op graph to add).
        write_steps_per_second: also log ``steps_per_second`` (epoch) and
            ``batch_steps_per_second`` (batch, with update_freq).
        update_freq: 'epoch' (default), 'batch', or an int n (every n batches).
        write_images, profile_batch, embeddings_freq, embeddings_metadata: not supported:
            anything but their defaults raises NotImplementedError.

    Raises:
        ImportError: tensorboardX is not installed (the message says what to install).
        ValueError: a bad update_freq or histogram_freq.
        NotImplementedError: write_images=True, profile_batch, embeddings.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        try:
            import tensorboardX
        except ImportError:
            raise ImportError(
                "callbacks.TensorBoard writes its event files with the tensorboardX package, "
                "which is not installed. Install it with: pip install 'tomei[tensorboard]' "
                "(or pip install tensorboardX).") from None
        self._writer_class = tensorboardX.SummaryWriter
        for name, value, default in (("write_images", write_images, False),
                                     ("profile_batch", profile_batch, 0),
                                     ("embeddings_freq", embeddings_freq, 0),
                                     ("embeddings_metadata", embeddings_metadata, None)):
            if value != default:
                raise NotImplementedError(f"TensorBoard({name}=...) is not supported by tomei; "
                                          f"received {name}={value!r}. Leave it at {default!r}.")
        if update_freq != "epoch" and update_freq != "batch" and not (
                isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool)
                and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"int; received update_freq={update_freq!r}.")
        if not isinstance(histogram_freq, (int, np.integer)) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0; received "
                             f"histogram_freq={histogram_freq!r}.")
        import os
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = False
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers = {}
        self._global_train_batch = 0

    def _writer(self, which):
        """The SummaryWriter of '<log_dir>/train' or '/validation', made on first use."""
        if which not in self._writers:
            import os
            self._writers[which] = self._writer_class(os.path.join(self.log_dir, which))
        return self._writers[which]

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        if self.write_graph and model is not None:
            import json
            from tomei.keras.saving.model_config import model_to_config
            try:
                config = json.dumps(model_to_config(model))
            except (TypeError, ValueError, AttributeError):
                return  # a model that has no config (e.g. not built yet): nothing to show
            self._writer("train").add_text("keras", config, 0)

    def on_train_begin(self, logs=None):
        import time
        self._global_train_batch = 0
        self._epoch_start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        import time
        self._epoch_start = time.time()
        self._epoch_first_iteration = self._iterations()

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def on_train_batch_begin(self, batch, logs=None):
        import time
        self._global_train_batch += 1
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        import time
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._batch_start, 1e-9)
            writer.add_scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        self._write_evaluation(logs)

    def _write_evaluation(self, logs):
        """``evaluation_<name>_vs_iterations`` once per optimizer step count (fit's validation
        reaches a callback through on_test_end or, where the trainer runs it without the
        user's callbacks, through the epoch's val_ logs)."""
        step = self._iterations()
        if getattr(self, "_evaluated_at", None) == step:
            return
        self._evaluated_at = step
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        import time
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_first_iteration) / elapsed
        if val and optimizer is not None:
            self._write_evaluation(val)
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in self.model.layers:
                for weight in layer.weights:
                    writer.add_histogram(f"{weight.path.replace(':', '_')}/histogram",
                                         np.asarray(weight.numpy()), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        self._close_writers()

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
