"""compile / fit / evaluate / predict: the Keras training loop, in plain Python.

One training step is the TensorFlow custom-loop recipe, nothing hidden::

    with GradientTape() as tape:
        y_pred = model(x, training=True)          # forward, recorded
        loss = loss_fn(y, y_pred) + penalties     # one number
    grads = tape.gradient(loss, model.trainable_variables)    # backward
    optimizer.apply_gradients(zip(grads, model.trainable_variables))  # update

evaluate and predict run the forward pass without a tape, so they build no graph.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import warnings

import numpy as np

from tomei.engine import device, ops
from tomei.engine.tensor import GradientTape
from tomei.keras import losses as losses_mod
from tomei.keras import metrics as metrics_mod
from tomei.keras import optimizers as optimizers_mod
from tomei.keras.callbacks import CallbackList, History, ProgbarLogger
from tomei.keras.layers.layer import all_sublayers
from tomei.keras.models import data as data_mod


class Trainer:
    """Mixin giving a Model compile, fit, evaluate, predict and the *_on_batch calls."""

    compiled = False

    # --- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configures training.

        Args:
            optimizer: name ('adam', 'sgd', 'rmsprop', ...) or Optimizer; default 'rmsprop'.
            loss: name, Loss or function; a list/dict gives one per model output.
            loss_weights: optional list/dict of floats weighting each output's loss.
            metrics: list of names ('accuracy'), Metric objects or functions.
            weighted_metrics: metrics that also use ``sample_weight``.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for
                compatibility; tomei always runs eagerly.

        Raises:
            ValueError: unknown optimizer, loss or metric names (listing the valid ones).
        """
        if metrics is None and loss_weights is not None and not all(
                isinstance(w, (int, float, np.number)) for w in _flat_specs(loss_weights)):
            # Keras 2 order, compile(optimizer, loss, metrics): loss weights are numbers, so
            # names or Metric objects in the third positional argument are the metrics.
            metrics, loss_weights = loss_weights, None
        if not all(isinstance(w, (int, float, np.number)) for w in _flat_specs(loss_weights)):
            raise ValueError(f"loss_weights must be numbers (one per output); received "
                             f"loss_weights={loss_weights!r}. Metrics go in metrics=[...].")
        self.optimizer = optimizers_mod.get(optimizer)
        self._loss_spec = loss
        self.loss = loss
        self._losses_per_output = self._resolve_losses(loss)
        self._loss_weights = loss_weights
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics
        self._compiled_metrics = None  # resolved on the first batch (shapes decide 'accuracy')
        self._output_loss_trackers = {}  # "<output>_loss" running means, several outputs only
        for spec in _flat_specs(metrics) + _flat_specs(weighted_metrics):
            if isinstance(spec, str) and spec.lower() not in metrics_mod.ACCURACY_STRINGS:
                metrics_mod.get(spec)  # raises now, at compile, for an unknown name
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.compiled = True
        self.stop_training = False
        self._warn_softmax_with_logits()

    def _resolve_losses(self, loss):
        if loss is None:
            return None
        if isinstance(loss, dict):
            return {k: losses_mod.get(v) for k, v in loss.items()}
        if isinstance(loss, (list, tuple)):
            return [losses_mod.get(v) for v in loss]
        return losses_mod.get(loss)

    def _warn_softmax_with_logits(self):
        loss = self._losses_per_output
        last = self._last_layer() if hasattr(self, "_last_layer") else None
        act = getattr(last, "activation", None)
        if getattr(loss, "from_logits", False) and (
                getattr(act, "__name__", "") == "softmax" or type(last).__name__ == "Softmax"):
            warnings.warn(
                f'"`{type(loss).__name__}` received `from_logits=True`, but the model ends in a '
                f'softmax, so its outputs are probabilities, not logits." Use from_logits=False, '
                f'or remove the softmax from the last layer.', UserWarning, stacklevel=3)

    def _takes_text(self) -> bool:
        """True when x may be strings: an input declared dtype 'string', or a first layer
        that reads text (TextVectorization), also inside a nested Sequential."""
        model = self
        while True:
            entry = getattr(model, "_input_layer", None)
            if entry is not None and entry.dtype == "string":
                return True
            layers = list(getattr(model, "layers", []) or [])
            if any(type(layer).__name__ == "InputLayer" and layer.dtype == "string"
                   for layer in layers):
                return True
            first = next((layer for layer in layers if type(layer).__name__ != "InputLayer"),
                         None)
            if first is None:
                return False
            if getattr(first, "_takes_strings", False):
                return True
            if not hasattr(first, "layers"):
                return False
            model = first

    def _require_compiled(self, what):
        if not self.compiled or self._losses_per_output is None:
            raise RuntimeError(f"You must call compile() with a loss before {what}(); e.g. "
                               f"model.compile(optimizer='adam', loss='sparse_categorical_"
                               f"crossentropy', metrics=['accuracy']).")

    # --- loss and metrics ----------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``y_pred`` against ``y`` plus the layers' penalties."""
        spec = self._losses_per_output
        outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        targets = y if isinstance(y, (list, tuple)) else [y]
        if isinstance(spec, dict):
            names = self.output_names
            spec = [spec.get(n) for n in names]
            if isinstance(y, dict):
                targets = [y[n] for n in names]
        elif not isinstance(spec, list):
            spec = [spec] * len(outputs)
        if len(targets) != len(outputs):
            raise ValueError(f"The model has {len(outputs)} outputs but received {len(targets)} "
                             f"target arrays in y.")
        weights = self._loss_weights
        if isinstance(weights, dict):
            weights = [weights.get(n, 1.0) for n in self.output_names]
        total = None
        self._output_loss_values = []  # (output name, unweighted loss) when several outputs
        for k, (fn, target, pred) in enumerate(zip(spec, targets, outputs)):
            if fn is None:
                continue
            value = fn(target, pred, sample_weight)
            if len(outputs) > 1:
                self._output_loss_values.append((self.output_names[k], value))
            if weights is not None:
                value = ops.multiply(value, np.float32(weights[k]))
            total = value if total is None else ops.add(total, value)
        for penalty in self.losses:
            total = ops.add(total, penalty)
        return total

    def _build_metrics(self, y, y_pred):
        """Resolves metric specs (``'accuracy'`` by shapes) once the first batch is seen.

        Log names follow Keras 3: a string keeps the name given ('mae' stays "mae"), an
        object keeps its own name; with several outputs each is prefixed by the output
        name ("cls_accuracy"); a weighted metric whose name is taken becomes "weighted_...".
        """
        outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        targets = y if isinstance(y, (list, tuple)) else [y]
        compiled, taken = [], set()
        for weighted, specs_all in ((False, self._metric_specs),
                                    (True, self._weighted_metric_specs)):
            per_output = self._metric_specs_per_output(len(outputs), specs_all)
            for k, (specs, target, pred) in enumerate(zip(per_output, targets, outputs)):
                prefix = f"{self.output_names[k]}_" if len(outputs) > 1 else ""
                for spec in _flat_specs(specs):
                    if isinstance(spec, str) and spec.lower() in metrics_mod.ACCURACY_STRINGS:
                        metric = metrics_mod.resolve_accuracy(spec, np.shape(target),
                                                              tuple(pred.shape))
                    else:
                        metric = metrics_mod.get(spec)
                        if isinstance(spec, str):
                            metric.name = spec
                    name = prefix + metric.name
                    if weighted and name in taken:
                        name = prefix + "weighted_" + metric.name
                    base, n = name, 1
                    while name in taken:
                        name, n = f"{base}_{n}", n + 1
                    taken.add(name)
                    compiled.append((k, metric, weighted, name))
        self._compiled_metrics = compiled

    def _metric_specs_per_output(self, n_outputs, specs):
        if n_outputs == 1:
            return [specs]
        if isinstance(specs, dict):
            return [specs.get(name) for name in self.output_names]
        if isinstance(specs, (list, tuple)) and len(specs) == n_outputs and all(
                s is None or isinstance(s, (list, tuple)) for s in specs):
            return list(specs)
        return [specs] * n_outputs  # the same metrics for every output

    def _update_metrics(self, y, y_pred, sample_weight):
        if self._compiled_metrics is None:
            self._build_metrics(y, y_pred)
        outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        targets = y if isinstance(y, (list, tuple)) else [y]
        for k, metric, weighted, _ in self._compiled_metrics:
            metric.update_state(targets[k], outputs[k].value,
                                sample_weight if weighted else None)

    def _update_output_losses(self, batch_size):
        """Running means of each output's unweighted loss (several outputs only)."""
        trackers = self.__dict__.setdefault("_output_loss_trackers", {})
        for name, value in getattr(self, "_output_loss_values", []):
            if name not in trackers:
                trackers[name] = metrics_mod.Mean(name=f"{name}_loss")
            trackers[name].update_state(value.value, sample_weight=batch_size)

    @property
    def metrics(self) -> list:
        """The loss tracker, each output's loss tracker (several outputs), then the compiled
        metrics (after the first batch)."""
        tracked = [self._loss_tracker] if self.compiled else []
        tracked += list(self.__dict__.get("_output_loss_trackers", {}).values())
        return tracked + [m for _, m, _, _ in (self._compiled_metrics or [])]

    @property
    def metrics_names(self) -> list:
        return list(self._logs())

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _logs(self) -> dict:
        """Loss first, then each output's loss, then the metrics in compile order (the Keras 2
        display order), under their log names."""
        compiled = self._compiled_metrics or []
        logs = {m.name: float(m.result()) for m in self.metrics[:len(self.metrics) - len(compiled)]}
        logs.update({name: float(m.result()) for _, m, _, name in compiled})
        return logs

    # --- single steps ---------------------------------------------------------------------
    def train_step(self, x, y, sample_weight=None):
        """One optimizer step on a batch; updates the running loss and metrics."""
        variables = self._train_variables or self.trainable_variables
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        value = float(loss.value)  # (from the GPU: one wait for the step to finish)
        self._loss_tracker.update_state(value, sample_weight=_batch_len(x))
        self._update_output_losses(_batch_len(x))
        self._update_metrics(y, y_pred, sample_weight)
        return value

    def test_step(self, x, y, sample_weight=None):
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss.value, sample_weight=_batch_len(x))
        self._update_output_losses(_batch_len(x))
        self._update_metrics(y, y_pred, sample_weight)

    def predict_step(self, x):
        out = self(x, training=False)
        return [o.value for o in out] if isinstance(out, (list, tuple)) else out.value

    # --- fit ---------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains the model for ``epochs`` passes over (x, y).

        Args:
            x: inputs, array of shape (N, ...) (or a list/dict for several inputs). float64
                and uint8 arrays are accepted and cast to float32 per batch.
            y: targets, (N,) integer labels or (N, C) arrays.
            batch_size: default 32. epochs: default 1. verbose: 'auto' (=1), 0, 1 or 2.
            callbacks: list of Callback. validation_split: fraction of the LAST samples held
                out (before shuffling). validation_data: (x_val, y_val[, sample_weight]).
            shuffle: re-permute the samples every epoch (default True).
            class_weight: {class index: weight} for sparse or one-hot targets.
            sample_weight: (N,) weights. initial_epoch: epoch to start counting from.
            steps_per_epoch: limit the batches per epoch. validation_freq: validate every
                this many epochs.

        Returns:
            A ``History``: ``history.history['loss']`` etc., one float per epoch.

        Raises:
            RuntimeError: not compiled. ValueError: mismatched sample counts, labels out of
            range, NaN/inf inputs, input shapes that do not fit the model.
        """
        self._require_compiled("fit")
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer; received epochs={epochs!r}.")
        weigh = None if class_weight is None else (
            lambda y_batch, w_batch: self._class_weights_to_samples(y_batch, class_weight, w_batch))
        stream = data_mod.as_stream(x, y, sample_weight, batch_size, "fit", steps_per_epoch,
                                    shuffle, weigh)
        val = None
        if validation_data is not None:
            val = _unpack_validation(validation_data)
        if stream is not None:
            if validation_split:
                raise ValueError("validation_split works with arrays only; with a dataset or "
                                 "generator pass validation_data=<another dataset> instead.")
            steps, epoch_batches = stream.steps, stream.epoch
            batch_size = 32  # only sizes the BLAS thread choice; batches come from the stream
            self._fit_input_range = None
            self._place_for_training(batch_size)
        else:
            batch_size = _check_batch_size(batch_size)
            x, y = data_mod.to_arrays(x, "x", self._takes_text()), data_mod.to_arrays(y, "y")
            sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
            if y is None:
                raise ValueError("fit needs targets: call fit(x, y, ...); received y=None.")
            if val is None and validation_split:
                (x, y, sample_weight), val = data_mod.split_validation(x, y, sample_weight,
                                                                       validation_split)
            n = data_mod.num_samples(("x", x), ("y", y))
            self._prepare_for_data(x, y)
            if class_weight is not None:
                sample_weight = self._class_weights_to_samples(y, class_weight, sample_weight)
            self._fit_input_range = data_mod.value_range(x)
            if self._place_for_training(batch_size) == "gpu":
                x, y, sample_weight = data_mod.to_device((x, y, sample_weight))
                val = None if val is None else data_mod.to_device(val)
            steps = math.ceil(n / batch_size)
            if steps_per_epoch:
                steps = min(steps, int(steps_per_epoch))

            def epoch_batches():
                for index in itertools.islice(data_mod.batches(n, batch_size, shuffle), steps):
                    yield (data_mod.take(x, index), data_mod.take(y, index),
                           data_mod.take(sample_weight, index))
        prepared = stream is None
        verbose = 1 if verbose == "auto" else verbose
        history = History()
        cbs = CallbackList(list(callbacks or []) + ([ProgbarLogger()] if verbose else []) +
                           [history], model=self, verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._in_fit = True
        logs = {}
        with self._blas_threads(batch_size):
            cbs.on_train_begin()
            # BackupAndRestore sets these in on_train_begin to resume an interrupted run.
            resume_epoch = self.__dict__.pop("_initial_epoch_override", None)
            initial_epoch = initial_epoch if resume_epoch is None else resume_epoch
            skip_steps = self.__dict__.pop("_initial_step_override", 0)
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                step = -1
                for step, (x_batch, y_batch, w_batch) in enumerate(epoch_batches()):
                    if step < skip_steps:
                        continue  # done before the interruption; same shuffle order
                    if not prepared:  # a stream: build the model from its first batch
                        self._prepare_for_data(x_batch, y_batch)
                        prepared = True
                    cbs.on_train_batch_begin(step)
                    loss = self.train_step(x_batch, y_batch, w_batch)
                    logs = self._logs()
                    cbs.on_train_batch_end(step, logs)
                    if not np.isfinite(loss):
                        self._stop_on_nan(epoch, step, loss)
                    if self.stop_training:
                        break
                skip_steps = 0
                logs = self._logs()
                if step < 0 and stream is not None:
                    break  # the stream gave not one batch this epoch: nothing left to train on
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_is_stream = data_mod.is_stream(val[0])
                    val_logs = self.evaluate(
                        *val[:2], sample_weight=val[2], verbose=0, return_dict=True,
                        batch_size=None if val_is_stream else validation_batch_size or batch_size,
                        steps=validation_steps)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            self._in_fit = False
            cbs.on_train_end(logs)
        self._in_fit = False
        self.history = history
        return history

    def _warn_if_scaled_differently(self, x, call):
        """Warns when x's values span a range 10x larger or smaller than the training data's
        (the classic slip: x_train / 255.0 but raw 0-255 x_test, or the reverse)."""
        trained, now = getattr(self, "_fit_input_range", None), data_mod.value_range(x)
        if trained is None or now is None:
            return
        top_trained, top_now = max(abs(v) for v in trained), max(abs(v) for v in now)
        if max(top_trained, top_now) > 2 and (top_now > 10 * top_trained or
                                              top_trained > 10 * top_now):
            warnings.warn(
                f"x given to {call}() has values up to {top_now:g}, but the data fit() trained "
                f"on went up to {top_trained:g}. Scale both the same way (for images, "
                f"x / 255.0 for training and test data alike), or the model sees inputs "
                f"it never learned from.", UserWarning, stacklevel=3)

    def _stop_on_nan(self, epoch, step, loss):
        warnings.warn(
            f"Training stopped: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}. "
            f"The weights are no longer usable numbers. Common causes: a learning rate that is "
            f"too high, unscaled inputs (divide pixels by 255), or log(0) in a custom loss.",
            RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _prepare_for_data(self, x, y):
        """Builds the model for x and checks the labels once."""
        first = data_mod.take(x, slice(0, 1))
        if not self.built:
            self._build_from_batch(first)
        self._check_targets(y)
        self._train_variables = self.trainable_variables

    # --- where training runs ------------------------------------------------------------------
    def flops_per_step(self, batch_size=32) -> float:
        """Estimated floating-point operations of one training step on ``batch_size``
        samples: 2 per kernel weight and output position (one multiply-add) in the forward
        pass, times 3 (the backward pass runs two products of the same size)."""
        per_sample = 0
        for layer in all_sublayers(self):
            kernel = getattr(layer, "kernel", None)
            if kernel is None:
                continue
            shape = getattr(layer, "_output_shape", None) or ()
            positions = math.prod(d for d in shape[1:-1] if d) if len(shape) > 2 else 1
            per_sample += 2 * math.prod(kernel.shape) * positions
        return 3.0 * per_sample * batch_size

    def _place_for_training(self, batch_size) -> str:
        """Moves the weights and optimizer state to the GPU or the host, by
        :func:`tomei.engine.device.should_use_gpu`; returns ``"gpu"`` or ``"cpu"``."""
        flops = self.flops_per_step(batch_size)
        where = "gpu" if device.should_use_gpu(flops) else "cpu"
        on_gpu_now = any(device.is_device_array(v.value) for v in self.variables)
        if where == "cpu" and not on_gpu_now:
            return where
        if device.current_device() == "auto":
            device.announce(f"training on the {where.upper()}: about {flops / 1e9:.2f} GFLOP "
                            f"a step, the GPU is used from {device.GPU_MIN_FLOPS_PER_STEP / 1e9:g}"
                            f" GFLOP (TOMEI_DEVICE=cpu or gpu to choose)")
        for v in self.variables:
            v.to(where)
        if self.optimizer is not None:
            self.optimizer.move_to(where)
        return where

    def _check_targets(self, y):
        loss = self._losses_per_output
        if isinstance(loss, losses_mod.SparseCategoricalCrossentropy) and isinstance(y, np.ndarray):
            num_classes = self.compute_output_shape_for_data()[-1]
            labels = y[..., 0] if y.ndim > 1 and y.shape[-1] == 1 else y
            if loss.ignore_class is not None:
                labels = labels[labels != loss.ignore_class]
            losses_mod.check_sparse_labels(labels, num_classes, argument="y")

    def compute_output_shape_for_data(self):
        out = self._output_shape_cache
        return out[0] if isinstance(out, list) else out

    @contextlib.contextmanager
    def _blas_threads(self, batch_size):
        """One BLAS thread while the matrix products are small: for a batch of 32 against
        a 784x128 kernel, waking a second thread costs more than it saves (72 us with one
        thread, 198 us with two; docs/benchmarks.md). Large batches or large kernels
        (from 784x512 up) keep every core."""
        largest = max((w.value.size for w in self.weights), default=0)
        if batch_size > 256 or largest >= 400_000:
            yield
            return
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            yield
            return
        with threadpool_limits(limits=1, user_api="blas"):
            yield

    # --- evaluate / predict ----------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics of the model on (x, y), in batches, with no gradient graph.

        Returns:
            ``[loss, metric1, ...]`` as Python floats (just the loss float when there are no
            metrics), or a dict ``{'loss': ..., 'accuracy': ...}`` if ``return_dict``.
        """
        self._require_compiled("evaluate")
        steps = data_mod.check_steps(steps)
        stream = data_mod.as_stream(x, y, sample_weight, batch_size, "evaluate", steps)
        if stream is not None:
            total_steps, rows = stream.steps, 32
            calls = ((range(k, k + 1),) + batch for k, batch in enumerate(stream.epoch()))
        else:
            batch_size = _check_batch_size(batch_size)
            x, y = data_mod.to_arrays(x, "x", self._takes_text()), data_mod.to_arrays(y, "y")
            self._warn_if_scaled_differently(x, "evaluate")
            sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
            n = data_mod.num_samples(("x", x), ("y", y))
            if not self.built:
                self._build_from_batch(data_mod.take(x, slice(0, 1)))
            self._check_targets(y)
            total_steps = math.ceil(n / batch_size) if steps is None else \
                min(int(steps), math.ceil(n / batch_size))
            rows = self._rows_per_call(batch_size, evaluating=True)
            calls = ((steps_done, data_mod.take(x, index), data_mod.take(y, index),
                      data_mod.take(sample_weight, index))
                     for steps_done, index in self._inference_calls(n, batch_size, rows,
                                                                    total_steps))
        verbose = 1 if verbose == "auto" else verbose
        in_fit = getattr(self, "_in_fit", False)
        cbs = CallbackList(list(callbacks or []) + ([ProgbarLogger()] if verbose and not in_fit
                                                     else []),
                           model=self, verbose=verbose, epochs=1, steps=total_steps)
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        with self._blas_threads(rows):
            for steps_done, x_batch, y_batch, w_batch in calls:
                if stream is not None and not self.built:
                    self._build_from_batch(x_batch)
                self.test_step(x_batch, y_batch, w_batch)
                logs = self._logs()
                for step in steps_done:
                    cbs.on_test_batch_begin(step)
                    cbs.on_test_batch_end(step, logs)
        logs = self._logs()
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` as a float32 NumPy array (a list for several outputs).

        Runs in batches (default 32) with training=False (dropout off) and no tape.
        """
        steps = data_mod.check_steps(steps)
        stream = data_mod.as_stream(x, None, None, batch_size, "predict", steps)
        if stream is not None:
            total_steps, rows = stream.steps, 32
            calls = ((range(k, k + 1), batch[0]) for k, batch in enumerate(stream.epoch()))
        else:
            batch_size = _check_batch_size(batch_size)
            x = data_mod.to_arrays(x, "x", self._takes_text())
            self._warn_if_scaled_differently(x, "predict")
            n = data_mod.num_samples(("x", x))
            total_steps = math.ceil(n / batch_size)
            if steps is not None:
                total_steps = min(total_steps, int(steps))
            rows = self._rows_per_call(batch_size)
            calls = ((steps_done, data_mod.take(x, index)) for steps_done, index in
                     self._inference_calls(n, batch_size, rows, total_steps))
        verbose = 1 if verbose == "auto" else verbose
        cbs = CallbackList(list(callbacks or []) + ([ProgbarLogger()] if verbose else []),
                           model=self, verbose=verbose, epochs=1, steps=total_steps)
        cbs.on_predict_begin()
        outputs = []
        with self._blas_threads(rows):
            for steps_done, x_batch in calls:
                outputs.append(self.predict_step(x_batch))
                for step in steps_done:
                    cbs.on_predict_batch_begin(step)
                    cbs.on_predict_batch_end(step, {})
        cbs.on_predict_end()
        if outputs and isinstance(outputs[0], list):
            return [device.to_host(np.concatenate(parts)) for parts in zip(*outputs)]
        return device.to_host(np.concatenate(outputs)) if outputs else np.zeros((0,), np.float32)

    # --- several batches per forward call in evaluate/predict -----------------------------
    ROWS_PER_CALL = 1024

    def _rows_per_call(self, batch_size, evaluating=False):
        """How many rows evaluate/predict send through one forward call.

        Like Keras's ``steps_per_execution``, several batches go through the model at once
        (up to ROWS_PER_CALL rows), so the matrix products are large enough to be efficient.
        The results are those of batch-by-batch evaluation: every built-in layer treats rows
        independently at inference, and a mean-type loss weighted by batch size (how Keras
        averages over an epoch) gives the same average over any grouping of the rows.
        Models with layers of your own, or losses with a "sum" or "none" reduction, keep
        one batch per call.
        """
        if batch_size >= self.ROWS_PER_CALL or not all(
                type(layer).__module__.startswith("tomei.") for layer in all_sublayers(self)):
            return batch_size
        if evaluating:
            losses = self._losses_per_output
            losses = losses.values() if isinstance(losses, dict) else \
                losses if isinstance(losses, list) else [losses]
            if any(getattr(fn, "reduction", None) not in ("sum_over_batch_size", "mean")
                   for fn in losses if fn is not None):
                return batch_size
        return batch_size * (self.ROWS_PER_CALL // batch_size)

    @staticmethod
    def _inference_calls(n, batch_size, rows, total_steps):
        """Yields (the batch numbers covered, row slice) for each forward call."""
        end = min(n, total_steps * batch_size)
        for start in range(0, end, rows):
            stop = min(start + rows, end)
            first = start // batch_size
            yield range(first, math.ceil(stop / batch_size)), slice(start, stop)

    def _class_weights_to_samples(self, y, class_weight, sample_weight):
        """Per-sample weights from {class index: weight} (sparse labels or one-hot rows);
        classes not in the dict weigh 1.0, as in Keras.

        Raises:
            ValueError: several outputs, class_weight together with sample_weight, a key that
                is not a class index of this model's output, or a negative or non-finite
                weight.
        """
        if not isinstance(y, np.ndarray):
            raise ValueError("class_weight is supported for a single output only.")
        if sample_weight is not None:  # Keras 3 refuses the pair too
            raise ValueError("Pass either class_weight or sample_weight, not both: received "
                             "both. To combine them, multiply the class weights into "
                             "sample_weight.")
        if not isinstance(class_weight, dict):
            raise ValueError(f"class_weight must be a dict {{class index: weight}}; received "
                             f"{type(class_weight).__name__}.")
        one_hot = y.ndim > 1 and y.shape[-1] > 1
        outputs = int(self.compute_output_shape_for_data()[-1])
        num_classes = y.shape[-1] if one_hot else max(2, outputs)
        for cls, w in class_weight.items():
            if not isinstance(cls, (int, np.integer)) or isinstance(cls, bool) or \
                    not 0 <= cls < num_classes:
                raise ValueError(f"class_weight keys must be class indices 0..{num_classes - 1} "
                                 f"(the model has {num_classes} classes); received key {cls!r}.")
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(w) or w < 0:
                raise ValueError(f"class_weight[{cls}] must be a finite number >= 0; received "
                                 f"{w!r}.")
        labels = np.argmax(y, axis=-1) if one_hot else y.reshape(len(y))
        weights = np.ones(len(labels), dtype=np.float32)
        for cls, w in class_weight.items():
            weights[labels == cls] = w
        return weights

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on exactly this batch. Returns [loss, *metrics] of that batch."""
        self._require_compiled("train_on_batch")
        x, y = data_mod.to_arrays(x, "x", self._takes_text()), data_mod.to_arrays(y, "y")
        self._prepare_for_data(x, y)
        if class_weight is not None:
            sample_weight = self._class_weights_to_samples(y, class_weight, sample_weight)
        self.reset_metrics()
        n = data_mod.num_samples(("x", x), ("y", y))
        batch = slice(0, n)
        self.train_step(data_mod.take(x, batch), data_mod.take(y, batch),
                        data_mod.take(data_mod.to_weights(sample_weight, "sample_weight"), batch))
        return self._batch_result(return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on exactly this batch, without updating weights."""
        self._require_compiled("test_on_batch")
        x, y = data_mod.to_arrays(x, "x", self._takes_text()), data_mod.to_arrays(y, "y")
        if not self.built:
            self._build_from_batch(data_mod.take(x, slice(0, 1)))
        self.reset_metrics()
        n = data_mod.num_samples(("x", x), ("y", y))
        self.test_step(data_mod.take(x, slice(0, n)), data_mod.take(y, slice(0, n)),
                       data_mod.to_weights(sample_weight, "sample_weight"))
        return self._batch_result(return_dict)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as NumPy."""
        x = data_mod.to_arrays(x, "x", self._takes_text())
        return self.predict_step(data_mod.take(x, slice(None)))

    def _batch_result(self, return_dict):
        logs = self._logs()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


def _flat_specs(specs):
    if specs is None:
        return []
    if isinstance(specs, (list, tuple)):
        return [s for spec in specs for s in _flat_specs(spec)]
    if isinstance(specs, dict):
        return [s for v in specs.values() for s in _flat_specs(v)]
    return [specs]


def _batch_len(x):
    first = data_mod.flat(x)[0]
    return len(first)


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; received batch_size={batch_size!r}.")
    return int(batch_size)


def _unpack_validation(validation_data):
    if data_mod.is_stream(validation_data):
        return validation_data, None, None
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         "(x_val, y_val, sample_weight_val); received "
                         f"{type(validation_data).__name__} of length "
                         f"{len(validation_data) if hasattr(validation_data, '__len__') else '?'}.")
    x, y = validation_data[0], validation_data[1]
    w = validation_data[2] if len(validation_data) == 3 else None
    return (data_mod.to_arrays(x, "validation_data[0]"), data_mod.to_arrays(y, "validation_data[1]"),
            data_mod.to_weights(w, "validation_data[2]"))
