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
import inspect
import math
import warnings

import numpy as np

from tomei.engine import device, ops
from tomei.engine.tensor import GradientTape, Tensor
from tomei.keras import losses as losses_mod
from tomei.keras import metrics as metrics_mod
from tomei.keras import optimizers as optimizers_mod
from tomei.keras.arguments import flag, one_of, size_argument, verbose_argument
from tomei.keras.callbacks import CallbackList, History, ProgbarLogger, callbacks_argument
from tomei.keras.layers.layer import all_sublayers
from tomei.keras.models import data as data_mod


class Trainer:
    """Mixin giving a Model compile, fit, evaluate, predict and the *_on_batch calls."""

    compiled = False
    steps_per_execution = 1
    _compile_metrics = None

    # --- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configures training.

        Args:
            optimizer: name ('adam', 'sgd', 'rmsprop', ...) or Optimizer; default 'rmsprop'.
            loss: name, Loss or function; a list/dict gives one per model output.
            loss_weights: optional list/dict of floats weighting each output's loss.
            metrics: list (or tuple, or dict by output) of names ('accuracy'), Metric
                objects or functions; default None. A bare name such as 'accuracy' is
                refused, as in Keras 3: write ['accuracy'].
            weighted_metrics: metrics that also use ``sample_weight`` (same forms).
            run_eagerly: tomei always runs eagerly (each step is plain Python), so either
                value gives the same results.
            steps_per_execution: batches per callback call in fit/evaluate/predict (default
                1), as Keras 3: callbacks hear ``on_*_batch_begin(first)`` and
                ``on_*_batch_end(last, logs)`` once per that many batches.
            jit_compile: 'auto' (default) or False; tomei compiles nothing, so True raises
                NotImplementedError rather than being ignored.
            auto_scale_loss: Keras scales the loss only under a mixed-precision policy;
                tomei computes in float32 only, where Keras does no scaling either.

        Raises:
            ValueError: unknown optimizer, loss or metric names (listing the valid ones),
                metrics or weighted_metrics that is not a list, tuple or dict,
                steps_per_execution that is not a positive integer, run_eagerly that is not
                a bool, jit_compile other than 'auto', False, True.
            NotImplementedError: jit_compile=True.
        """
        flag(run_eagerly, "run_eagerly", "Model.compile()")  # either way: always eager
        if one_of(jit_compile, "jit_compile", "Model.compile()", ("auto", False, True)) is True:
            raise NotImplementedError(
                "compile(jit_compile=True): tomei has no compiler; every step runs eagerly as "
                "plain NumPy. Leave jit_compile at 'auto' (or False).")
        if not isinstance(steps_per_execution, (int, np.integer)) or \
                isinstance(steps_per_execution, bool) or steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be a positive integer; received "
                             f"steps_per_execution={steps_per_execution!r}.")
        if metrics is None and loss_weights is not None and not all(
                isinstance(w, (int, float, np.number)) for w in _flat_specs(loss_weights)):
            # Keras 2 order, compile(optimizer, loss, metrics): loss weights are numbers, so
            # names or Metric objects in the third positional argument are the metrics.
            metrics, loss_weights = loss_weights, None
        for argument, specs in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if specs is not None and not isinstance(specs, (list, tuple, dict)):
                # Keras 3 refuses a bare metric too: one name is not a list of them
                raise ValueError(
                    f"compile: {argument} must be a list, tuple or dict of metrics (as in "
                    f"Keras 3); received {argument}={specs!r} of type {type(specs).__name__}. "
                    f"Write {argument}=[{specs!r}].")
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
        # resolved on the first batch (shapes decide what 'accuracy' means)
        self._compile_metrics = CompileMetrics(self) if (metrics or weighted_metrics) else None
        self.steps_per_execution = int(steps_per_execution)
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

    def _require_compiled(self, what, needs_loss=True):
        """RuntimeError unless compiled (with a loss, when the default steps need one)."""
        if not self.compiled or (needs_loss and self._losses_per_output is None):
            raise RuntimeError(f"You must call compile() with a loss before {what}(); e.g. "
                               f"model.compile(optimizer='adam', loss='sparse_categorical_"
                               f"crossentropy', metrics=['accuracy']).")

    # --- loss and metrics ----------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``y_pred`` against ``y`` plus the layers' penalties
        (``self.losses``), as a scalar Tensor (Keras 3's signature; x and training unused).

        Raises:
            ValueError: nothing to compute (no loss in compile and no penalties).
        """
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
            total = penalty if total is None else ops.add(total, penalty)
        if total is None:
            raise ValueError("No loss to compute: give compile() a loss, e.g. "
                             "model.compile(optimizer='adam', loss='mse').")
        return total

    def _resolve_metrics(self, y, y_pred):
        """Resolves metric specs (``'accuracy'`` by shapes) once the first batch is seen.

        Log names follow Keras 3: a string keeps the name given ('mae' stays "mae"), an
        object keeps its own name; with several outputs each is prefixed by the output
        name ("cls_accuracy"); a weighted metric whose name is taken becomes "weighted_...".
        Returns a list of (output index, metric, weighted, log name).
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
        return compiled

    def _metric_specs_per_output(self, n_outputs, specs):
        if n_outputs == 1:
            return [specs]
        if isinstance(specs, dict):
            return [specs.get(name) for name in self.output_names]
        if isinstance(specs, (list, tuple)) and len(specs) == n_outputs and all(
                s is None or isinstance(s, (list, tuple)) for s in specs):
            return list(specs)
        return [specs] * n_outputs  # the same metrics for every output

    def _update_output_losses(self, batch_size):
        """Running means of each output's unweighted loss (several outputs only)."""
        trackers = self.__dict__.setdefault("_output_loss_trackers", {})
        for name, value in getattr(self, "_output_loss_values", []):
            if name not in trackers:
                trackers[name] = metrics_mod.Mean(name=f"{name}_loss")
            trackers[name].update_state(value.value, sample_weight=batch_size)

    @property
    def metrics(self) -> list:
        """The metrics fit/evaluate reset each epoch and report, as Keras 3 lists them: the
        loss tracker ("loss"), each output's loss tracker (several outputs), then the
        ``compile_metrics`` container of the metrics given to ``compile`` (its ``result()``
        is a dict, one entry per metric). A subclass may override this property to list
        metrics of its own (the Keras guide "Customizing what happens in fit()")."""
        if not self.compiled:
            return []
        tracked = [self._loss_tracker]
        tracked += list(self.__dict__.get("_output_loss_trackers", {}).values())
        if self._compile_metrics is not None:
            tracked.append(self._compile_metrics)
        return tracked

    @property
    def metrics_names(self) -> list:
        return list(self.get_metrics_result())

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict:
        """``{name: float}`` for every metric in ``self.metrics``; a metric whose result is a
        dict (``compile_metrics``) contributes each of its entries."""
        logs = {}
        for m in self.metrics:
            value = m.result()
            if isinstance(value, dict):
                logs.update({k: float(v) for k, v in value.items()})
            else:
                logs[m.name] = float(value)
        return logs

    _logs = get_metrics_result

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with this batch; returns ``get_metrics_result()``.

        Args: as Keras 3: the batch's inputs (unused here), targets, the model's outputs
        (Tensor(s)) and optional per-sample weights.
        """
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    @property
    def compiled_loss(self):
        raise AttributeError(
            "self.compiled_loss is Keras 2 (tf.keras) API, which Keras 3 and tomei do not have. "
            "In train_step, write loss = self.compute_loss(x=x, y=y, y_pred=y_pred, "
            "sample_weight=sample_weight): it adds the layers' penalties (self.losses) too.")

    @property
    def compiled_metrics(self):
        raise AttributeError(
            "self.compiled_metrics is Keras 2 (tf.keras) API, which Keras 3 and tomei do not "
            "have. In train_step, update the metrics with "
            "return self.compute_metrics(x, y, y_pred, sample_weight), or loop over "
            "self.metrics: metric.update_state(loss) for the one named 'loss', "
            "metric.update_state(y, y_pred) for the others.")

    # --- single steps (Keras 3 signatures; override them to customise fit/evaluate) ------
    def train_step(self, data):
        """One optimizer step on one batch; returns the logs (running metric values).

        Args:
            data: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` for one batch
                (``keras.utils.unpack_x_y_sample_weight`` takes it apart).

        Returns:
            ``{name: value}`` for the callbacks and the progress bar, e.g.
            ``{'loss': 0.31, 'accuracy': 0.9}``; nested dicts are flattened by fit.
        """
        x, y, sample_weight = data_mod.unpack_x_y_sample_weight(data)
        variables = self._train_variables or self.trainable_variables
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        value = float(loss.value)  # (from the GPU: one wait for the step to finish)
        self._loss_tracker.update_state(value, sample_weight=_batch_len(x))
        self._update_output_losses(_batch_len(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """Loss and metrics of one batch, weights unchanged; returns the logs (as train_step)."""
        x, y, sample_weight = data_mod.unpack_x_y_sample_weight(data)
        return self._score(x, y, self(x, training=False), sample_weight)

    def _score(self, x, y, y_pred, sample_weight, rows=None):
        """test_step after the forward pass (evaluate also calls it on rows of a merged one,
        with ``rows``, their number, and x None unless compute_loss/compute_metrics are
        your own)."""
        rows = _batch_len(x) if rows is None else rows
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss.value, sample_weight=rows)
        self._update_output_losses(rows)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs for one batch (``data`` as in train_step; only x is used)."""
        x, _, _ = data_mod.unpack_x_y_sample_weight(data)
        return _to_numpy(self(x, training=False))

    # --- fit ---------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains the model for ``epochs`` passes over (x, y).

        Args:
            x: inputs, array of shape (N, ...) (or a list/dict for several inputs). float64
                and uint8 arrays are accepted and cast to float32 per batch.
            y: targets, (N,) integer labels or (N, C) arrays. May be None only when
                ``train_step`` is your own (it then receives ``x`` alone).
            batch_size: default 32, or ceil(N / steps_per_epoch) when only steps_per_epoch
                is given (Keras 3). epochs: default 1. verbose: 'auto' (=1), 0, 1 or 2.
            callbacks: list of Callback. validation_split: fraction of the LAST samples held
                out (before shuffling). validation_data: (x_val, y_val[, sample_weight]).
            shuffle: re-permute the samples on every pass over the data (default True).
            class_weight: {class index: weight} for sparse or one-hot targets.
            sample_weight: (N,) weights. initial_epoch: epoch to start counting from.
            steps_per_epoch: batches per epoch. Fewer than the data holds: the next epoch
                continues where this one stopped, as Keras 3 does. More than the data holds:
                the epoch stops when the data runs out, with a warning.
            validation_freq: validate every this many epochs.

        ``compile(steps_per_execution=k)`` runs k batches between callback calls, as Keras:
        ``on_train_batch_begin(first)`` and ``on_train_batch_end(last, logs)`` once per k.

        Returns:
            A ``History``: ``history.history['loss']`` etc., one float per epoch.

        Raises:
            RuntimeError: not compiled. ValueError: mismatched sample counts, labels out of
            range, NaN/inf inputs, input shapes that do not fit the model.
        """
        own_step = self._uses_own("train_step")
        self._require_compiled("fit", needs_loss=not own_step)
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer; received epochs={epochs!r}.")
        steps_per_epoch = data_mod.check_steps(steps_per_epoch, "steps_per_epoch")
        # the other arguments are checked before any work, so a typo costs no training
        verbose = verbose_argument(verbose, "Model.fit()")
        shuffle = flag(shuffle, "shuffle", "Model.fit()")
        initial_epoch = size_argument(initial_epoch, "initial_epoch", "Model.fit()", none_ok=False)
        validation_freq = size_argument(validation_freq, "validation_freq", "Model.fit()",
                                        none_ok=False, minimum=1)
        validation_steps = data_mod.check_steps(validation_steps, "validation_steps")
        validation_batch_size = _check_batch_size(validation_batch_size, default=None)
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
            batch_size = _check_batch_size(batch_size, default=None)
            x, y = self._input_arrays(x, "fit"), data_mod.to_arrays(y, "y")
            sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
            if y is None and not own_step:
                raise ValueError("fit needs targets: call fit(x, y, ...); received y=None.")
            if val is None and validation_split:
                (x, y, sample_weight), val = data_mod.split_validation(x, y, sample_weight,
                                                                       validation_split)
            n = data_mod.num_samples(("x", x), ("y", y), ("sample_weight", sample_weight))
            self._prepare_for_data(x, y)
            if val is not None and not data_mod.is_stream(val[0]):
                _check_validation_like_training(val, x, y, self.built_input_shape)
            if class_weight is not None:
                sample_weight = self._class_weights_to_samples(y, class_weight, sample_weight)
            self._fit_input_range = data_mod.value_range(x)
            if self._place_for_training(batch_size or 32) == "gpu":
                x, y, sample_weight = data_mod.to_device((x, y, sample_weight))
                val = None if val is None else data_mod.to_device(val)
            rows = data_mod.EpochIterator(n, batch_size, steps_per_epoch, shuffle=shuffle,
                                          call="fit")
            steps, batch_size = rows.num_batches, rows.batch_size

            def epoch_batches():
                for index in rows.epoch():
                    yield (data_mod.take(x, index), data_mod.take(y, index),
                           data_mod.take(sample_weight, index))
        prepared = stream is None
        history = History()
        cbs = CallbackList(callbacks_argument(callbacks) + ([ProgbarLogger()] if verbose else []) +
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
                step_logs, trained = {}, False
                for begin, end, batches in _executions(epoch_batches(), self.steps_per_execution):
                    trained = True
                    if begin < skip_steps:
                        continue  # done before the interruption; same shuffle order
                    cbs.on_train_batch_begin(begin)
                    for x_batch, y_batch, w_batch in batches:
                        if not prepared:  # a stream: build the model from its first batch
                            self._prepare_for_data(x_batch, y_batch)
                            prepared = True
                        step_logs = self.train_step(
                            data_mod.pack_x_y_sample_weight(x_batch, y_batch, w_batch))
                    step_logs = _python_logs(step_logs)
                    cbs.on_train_batch_end(end, step_logs)
                    loss = step_logs.get("loss")
                    if loss is not None and not math.isfinite(loss):
                        self._stop_on_nan(epoch, end, loss)
                    if self.stop_training:
                        break
                skip_steps = 0
                logs = self._epoch_logs(step_logs)
                if not trained and stream is not None:
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

    def _epoch_logs(self, step_logs):
        """The epoch's logs, as Keras 3: the metrics' results when they name the same values
        as the last step's logs, else the last step's logs (a train_step of your own that
        returns values not in ``self.metrics``)."""
        result = self.get_metrics_result()
        if not step_logs or set(result) == set(step_logs):
            return result
        return dict(step_logs)

    def _uses_own(self, step_name) -> bool:
        """True when a subclass overrides train_step/test_step/predict_step."""
        return getattr(type(self), step_name) is not getattr(Trainer, step_name)

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
        if y is not None and isinstance(loss, losses_mod.SparseCategoricalCrossentropy) and isinstance(y, np.ndarray):
            num_classes = self.compute_output_shape_for_data()[-1]
            labels = y[..., 0] if y.ndim > 1 and y.shape[-1] == 1 else y
            if loss.ignore_class is not None:
                labels = labels[labels != loss.ignore_class]
            losses_mod.check_sparse_labels(labels, num_classes, argument="y")

    def compute_output_shape_for_data(self):
        out = self._output_shape_cache
        return out[0] if isinstance(out, list) else out

    @contextlib.contextmanager
    def _blas_threads(self, batch_size, forward_only=False):
        """One BLAS thread while the matrix products are small: for a batch of 32 against
        a 784x128 kernel, waking a second thread costs more than it saves (72 us with one
        thread, 198 us with two; docs/benchmarks.md). Large batches or large kernels
        (from 784x512 up) keep every core, and so do evaluate/predict's forward calls of
        ``ROWS_PER_CALL`` rows, one right after the other (256 x 784 by 784 x 128: 500 us
        on one thread, 260 us on two)."""
        largest = max((w.value.size for w in self.weights), default=0)
        if batch_size > 256 or largest >= 400_000 or (forward_only and batch_size >= 256):
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

        Args:
            batch_size: default 32, or ceil(N / steps) when only ``steps`` is given.
            steps: batches to evaluate (all by default); more than the data holds stops at
                its end with a warning.
            Others as in fit.

        Callbacks hear of every batch (or once per ``steps_per_execution`` batches, as in
        fit) with the running values a batch-by-batch evaluation gives.

        Returns:
            ``[loss, metric1, ...]`` as Python floats (just the loss float when there are no
            metrics), or a dict ``{'loss': ..., 'accuracy': ...}`` if ``return_dict``.
        """
        own_step = self._uses_own("test_step")
        self._require_compiled("evaluate", needs_loss=not own_step)
        steps = data_mod.check_steps(steps)
        verbose = verbose_argument(verbose, "Model.evaluate()")
        return_dict = flag(return_dict, "return_dict", "Model.evaluate()")
        stream = data_mod.as_stream(x, y, sample_weight, batch_size, "evaluate", steps)
        if stream is not None:
            total_steps, batch_size, items = stream.steps, 32, stream.epoch()
        else:
            batch_size = _check_batch_size(batch_size, default=None)
            x, y = self._input_arrays(x, "evaluate"), data_mod.to_arrays(y, "y")
            self._warn_if_scaled_differently(x, "evaluate")
            sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
            n = data_mod.num_samples(("x", x), ("y", y))
            if not self.built:
                self._build_from_batch(data_mod.take(x, slice(0, 1)))
            self._check_targets(y)
            rows = data_mod.EpochIterator(n, batch_size, steps, call="evaluate")
            total_steps, batch_size, items = rows.num_batches, rows.batch_size, rows.epoch()
        in_fit = getattr(self, "_in_fit", False)
        cbs = CallbackList(callbacks_argument(callbacks) + ([ProgbarLogger()] if verbose and not in_fit
                                                     else []),
                           model=self, verbose=verbose, epochs=1, steps=total_steps)
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        executions = _executions(items, self.steps_per_execution)
        whole_blocks = stream is None and self._scores_whole_blocks(cbs)
        # x of one batch is only read for its length once the outputs are computed, unless
        # compute_loss or compute_metrics is your own (then it receives the batch's x).
        own_scoring = self._uses_own("compute_loss") or self._uses_own("compute_metrics")
        pending = []  # merged blocks' outputs not scored yet (whole_blocks)

        def score_pending():
            span = slice(pending[0].span.start, pending[-1].span.stop)
            outputs = _Rows.join(pending)
            pending.clear()
            return self._score(None, data_mod.take(y, span), outputs,
                               data_mod.take(sample_weight, span), rows=span.stop - span.start)

        with self._blas_threads(self._rows_per_call(batch_size), forward_only=True):
            for group, outputs in self._inference_groups(executions, x, "test_step", cbs,
                                                         batch_size, stream is None):
                if outputs is not None and whole_blocks:
                    pending.append(outputs)  # scored together, SCORE_BYTES of outputs at most
                    if sum(r.nbytes for r in pending) >= self.SCORE_BYTES:
                        logs = score_pending()
                    continue
                if pending:  # merging stopped (a layer added a loss): score what was merged
                    logs = score_pending()
                for begin, end, batches in group:
                    cbs.on_test_batch_begin(begin)
                    for item in batches:
                        if stream is not None:
                            x_batch, y_batch, w_batch = item
                        else:
                            x_batch = data_mod.take(x, item) if outputs is None or \
                                own_scoring else None
                            y_batch, w_batch = (data_mod.take(d, item) for d in
                                                (y, sample_weight))
                        if not self.built:  # a stream: build the model from its first batch
                            self._build_from_batch(x_batch)
                        if outputs is None:
                            logs = self.test_step(
                                data_mod.pack_x_y_sample_weight(x_batch, y_batch, w_batch))
                        else:
                            logs = self._score(x_batch, y_batch, outputs.rows(item), w_batch,
                                               rows=item.stop - item.start)
                    logs = _python_logs(logs)
                    cbs.on_test_batch_end(end, logs)
            if pending:
                logs = score_pending()
        logs = self._epoch_logs(_python_logs(logs))
        cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` as a float32 NumPy array (a list for several outputs).

        Runs in batches (default 32, or ceil(N / steps) when only ``steps`` is given) with
        training=False (dropout off) and no tape. ``on_predict_batch_end`` receives
        ``{'outputs': ...}``, that batch's outputs (or those of its ``steps_per_execution``
        batches), as in Keras 3.
        """
        steps = data_mod.check_steps(steps)
        verbose = verbose_argument(verbose, "Model.predict()")
        stream = data_mod.as_stream(x, None, None, batch_size, "predict", steps)
        if stream is not None:
            total_steps, batch_size = stream.steps, 32
            items = (batch[0] for batch in stream.epoch())
        else:
            batch_size = _check_batch_size(batch_size, default=None)
            x = self._input_arrays(x, "predict")
            self._warn_if_scaled_differently(x, "predict")
            n = data_mod.num_samples(("x", x))
            rows = data_mod.EpochIterator(n, batch_size, steps, call="predict")
            total_steps, batch_size, items = rows.num_batches, rows.batch_size, rows.epoch()
        cbs = CallbackList(callbacks_argument(callbacks) + ([ProgbarLogger()] if verbose else []),
                           model=self, verbose=verbose, epochs=1, steps=total_steps)
        cbs.on_predict_begin()
        collected = []
        executions = _executions(items, self.steps_per_execution)
        # nobody listens per batch: a merged block's outputs are kept whole
        whole_blocks = not cbs.listens("on_predict_batch_end")
        with self._blas_threads(self._rows_per_call(batch_size), forward_only=True):
            for group, outputs in self._inference_groups(executions, x, "predict_step", cbs,
                                                         batch_size, stream is None):
                if outputs is not None and whole_blocks:
                    collected.append(_to_numpy(outputs.whole()))
                    continue
                for begin, end, batches in group:
                    cbs.on_predict_batch_begin(begin)
                    parts = []
                    for item in batches:
                        if outputs is not None:
                            parts.append(_to_numpy(outputs.rows(item)))
                        else:
                            x_batch = item if stream is not None else data_mod.take(x, item)
                            parts.append(_to_numpy(self.predict_step(x_batch)))
                    collected.append(_concatenate(parts))
                    cbs.on_predict_batch_end(end, {"outputs": collected[-1]})
        cbs.on_predict_end()
        if not collected:
            return np.zeros((0,), np.float32)
        return _concatenate(collected)

    # --- several batches per forward call in evaluate/predict -----------------------------
    ROWS_PER_CALL = 256  # 0.8 MB of float32 for a 784-pixel image: memory stays flat
    #: evaluate scores the outputs of consecutive forward calls together, up to this many
    #: bytes of outputs (6,553 rows of 10 float32 logits): fewer, larger loss/metric calls.
    SCORE_BYTES = 256 * 1024

    def _rows_per_call(self, batch_size):
        """How many rows evaluate/predict send through one forward call when they may merge
        batches (``_inference_groups``): as many whole batches as fit in ROWS_PER_CALL."""
        return max(batch_size, batch_size * (self.ROWS_PER_CALL // batch_size))

    def _merges_batches(self, step_name, cbs) -> bool:
        """Whether evaluate/predict may compute several batches in one forward call.

        Only when the result cannot tell: ``test_step``/``predict_step`` are the default
        ones; the model and every layer in it declare ``rows_independent`` (each output row
        depends on its own input row alone at inference: built-in layers do, and a subclass
        inherits its parent's declaration); and no callback listens to the batch-begin hook,
        which must run before its batch is computed. The loss and metrics are still
        computed batch by batch, so callbacks see the values of a batch-by-batch run.
        """
        hook = "on_test_batch_begin" if step_name == "test_step" else "on_predict_batch_begin"
        return (not self._uses_own(step_name) and self.rows_independent
                and all(layer.rows_independent for layer in all_sublayers(self))
                and not cbs.listens(hook))

    def _inference_groups(self, executions, x, step_name, cbs, batch_size, mergeable):
        """Yields (executions, outputs): consecutive executions and either the model's outputs
        for all their rows (one forward call; arrays only, where each batch is a row slice)
        or None (then each batch runs its own step). Merging stops for good if a layer adds
        a loss in call() (an activity penalty depends on which rows are in the batch).

        The rows of each forward call are cast to float32 into one buffer reused from call
        to call (``data.RowBlocks``), so evaluate/predict never hold a float32 copy of all
        of x; outputs that would share memory with that buffer are copied out of it."""
        merge = mergeable and self._merges_batches(step_name, cbs)
        rows = self._rows_per_call(batch_size)
        blocks = data_mod.RowBlocks(x) if merge else None
        group, size = [], 0
        for execution in executions:
            if not merge:
                yield [execution], None
                continue
            execution_rows = sum(i.stop - i.start for i in execution[2])
            if group and size + execution_rows > rows:
                outputs = self._merged_outputs(blocks, group)
                merge = outputs is not None
                yield group, outputs
                group, size = [], 0
            group.append(execution)
            size += execution_rows
        if group:
            yield group, self._merged_outputs(blocks, group)

    def _merged_outputs(self, blocks, group):
        span = slice(group[0][2][0].start, group[-1][2][-1].stop)
        out = self(blocks.read(span), training=False)
        if any(layer._losses for layer in [self, *all_sublayers(self)]):
            return None
        return _Rows(out, span, blocks.buffer)

    def _scores_whole_blocks(self, cbs) -> bool:
        """Whether evaluate may compute the loss and metrics of a merged block of rows in one
        go, instead of batch by batch, because the results cannot differ (beyond float
        rounding): no callback listens to ``on_test_batch_end`` (nobody sees the running
        values), ``compute_loss`` and ``compute_metrics`` are the default ones, every loss
        averages per-sample values over the rows (a built-in loss with reduction
        "sum_over_batch_size" and no ignore_class: the size-weighted mean of batch means
        is the mean over all rows), and every metric adds up per-sample values (a built-in
        metric, or a built-in function wrapped as one)."""
        if cbs.listens("on_test_batch_end") or self._uses_own("compute_loss") or \
                self._uses_own("compute_metrics"):
            return False
        losses = self._losses_per_output
        losses = list(losses.values()) if isinstance(losses, dict) else \
            list(losses) if isinstance(losses, (list, tuple)) else [losses]
        if not all(loss is None or _averages_rows(loss) for loss in losses):
            return False
        specs = _flat_specs(self._metric_specs) + _flat_specs(self._weighted_metric_specs)
        return all(_adds_up_rows(spec) for spec in specs)

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

    # --- one batch ---------------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on exactly this batch. Returns [loss, *metrics] of that batch."""
        self._require_compiled("train_on_batch", needs_loss=not self._uses_own("train_step"))
        return_dict = flag(return_dict, "return_dict", "Model.train_on_batch()")
        x, y = self._input_arrays(x, "train_on_batch"), data_mod.to_arrays(y, "y")
        self._prepare_for_data(x, y)
        if class_weight is not None:
            sample_weight = self._class_weights_to_samples(y, class_weight, sample_weight)
        self.reset_metrics()
        n = data_mod.num_samples(("x", x), ("y", y))
        sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
        logs = self.train_step(_batch(x, y, sample_weight, slice(0, n)))
        return self._batch_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on exactly this batch, without updating weights."""
        self._require_compiled("test_on_batch", needs_loss=not self._uses_own("test_step"))
        return_dict = flag(return_dict, "return_dict", "Model.test_on_batch()")
        x, y = self._input_arrays(x, "test_on_batch"), data_mod.to_arrays(y, "y")
        if not self.built:
            self._build_from_batch(data_mod.take(x, slice(0, 1)))
        self.reset_metrics()
        n = data_mod.num_samples(("x", x), ("y", y))
        sample_weight = data_mod.to_weights(sample_weight, "sample_weight")
        logs = self.test_step(_batch(x, y, sample_weight, slice(0, n)))
        return self._batch_result(logs, return_dict)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as NumPy."""
        x = self._input_arrays(x, "predict_on_batch")
        return _to_numpy(self.predict_step(data_mod.take(x, slice(None))))

    def _input_arrays(self, x, call):
        """``x`` as arrays (``data.to_arrays``); a ValueError naming ``call`` when it is None."""
        if x is None:
            raise ValueError(f"Model.{call}() received x=None; pass the input data, e.g. "
                             f"model.{call}(x_train{', y_train' if 'predict' not in call else ''}).")
        return data_mod.to_arrays(x, "x", self._takes_text())

    def _batch_result(self, logs, return_dict):
        logs = _python_logs(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values



# Python names a method after the class that defines it, so a mistyped keyword in
# model.fit(epoch=5) would read "Trainer.fit() got an unexpected keyword argument": users call
# these methods on a Model and have never met this mixin, so they carry Model's name.
for _name, _method in list(vars(Trainer).items()):
    if inspect.isfunction(_method) and not _name.startswith("_"):
        _method.__qualname__ = f"Model.{_name}"


class CompileMetrics(metrics_mod.Metric):
    """The metrics given to ``compile``, held as one metric named "compile_metrics", as in
    Keras 3: ``update_state(y, y_pred, sample_weight)`` updates each (resolving them from
    the first batch's shapes), ``result()`` is ``{log name: value}``, ``reset_state()``
    resets them all. ``metrics`` lists the individual metrics once resolved."""

    def __init__(self, model):
        super().__init__(name="compile_metrics")
        self._model = model
        self._entries = None  # (output index, metric, weighted, log name), after one batch

    @property
    def metrics(self) -> list:
        return [metric for _, metric, _, _ in self._entries or []]

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._entries is None:
            self._entries = self._model._resolve_metrics(y_true, y_pred)
        outputs = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        targets = y_true if isinstance(y_true, (list, tuple)) else [y_true]
        for k, metric, weighted, _ in self._entries:
            metric.update_state(_to_numpy(targets[k]), _to_numpy(outputs[k]),
                                sample_weight if weighted else None)

    def result(self) -> dict:
        return {name: metric.result() for _, metric, _, name in self._entries or []}

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()


class _Rows:
    """The outputs of one merged forward call over the rows ``span``; ``rows(batch slice)``
    gives one batch's, ``whole()`` all of them. An output that shares memory with
    ``buffer`` (the reused input block: a model whose output is its input, reshaped) is
    copied, as the next block overwrites the buffer."""

    def __init__(self, outputs, span, buffer=None):
        def own(t):
            if buffer is not None and isinstance(t.value, np.ndarray) and \
                    np.may_share_memory(t.value, buffer):
                return Tensor(t.value.copy())
            return t
        self.outputs = [own(o) for o in outputs] if isinstance(outputs, (list, tuple)) \
            else own(outputs)
        self.span, self.offset = span, span.start

    def rows(self, index):
        part = slice(index.start - self.offset, index.stop - self.offset)
        if isinstance(self.outputs, (list, tuple)):
            return [Tensor(o.value[part]) for o in self.outputs]
        return Tensor(self.outputs.value[part])

    def whole(self):
        return self.outputs

    @property
    def nbytes(self) -> int:
        outputs = self.outputs if isinstance(self.outputs, (list, tuple)) else [self.outputs]
        return sum(o.value.nbytes for o in outputs)

    @staticmethod
    def join(parts):
        """The outputs of consecutive ``_Rows`` as one Tensor (or list of Tensors)."""
        if len(parts) == 1:
            return parts[0].outputs
        if isinstance(parts[0].outputs, (list, tuple)):
            return [Tensor(np.concatenate([p.outputs[k].value for p in parts]))
                    for k in range(len(parts[0].outputs))]
        return Tensor(np.concatenate([p.outputs.value for p in parts]))


def _averages_rows(loss) -> bool:
    """True for a built-in loss whose value is the mean of per-sample values over the rows
    (see Trainer._scores_whole_blocks)."""
    if type(loss).__module__ != losses_mod.__name__ or \
            loss.reduction not in ("sum_over_batch_size", "mean") or \
            getattr(loss, "ignore_class", None) is not None:
        return False
    fn = getattr(loss, "fn", None)  # LossFunctionWrapper: only around a built-in function
    return fn is None or getattr(fn, "__module__", "") == losses_mod.__name__


def _adds_up_rows(spec) -> bool:
    """True for a metric spec whose state is a sum over rows: a name, a built-in metric
    class or instance, or a built-in function (see Trainer._scores_whole_blocks)."""
    if isinstance(spec, str):
        return True
    metric = spec
    if isinstance(spec, type) or not isinstance(spec, metrics_mod.Metric):
        return getattr(spec, "__module__", "") in (metrics_mod.__name__, losses_mod.__name__)
    if type(metric).__module__ != metrics_mod.__name__:
        return False
    fn = getattr(metric, "_fn", None)  # MeanMetricWrapper: only around a built-in function
    return fn is None or getattr(fn, "__module__", "") in (metrics_mod.__name__,
                                                          losses_mod.__name__)


def _executions(batches, k):
    """Groups one epoch's batches into executions of ``k`` (compile's steps_per_execution):
    yields (first step, last step, [batch, ...]); the last may hold fewer, as in Keras."""
    group, first = [], 0
    for batch in batches:
        group.append(batch)
        if len(group) == k:
            yield first, first + k - 1, group
            group, first = [], first + k
    if group:
        yield first, first + k - 1, group


def _batch(x, y, sample_weight, index):
    """One batch of the data, packed as train_step/test_step receive it."""
    return data_mod.pack_x_y_sample_weight(data_mod.take(x, index), data_mod.take(y, index),
                                           data_mod.take(sample_weight, index))


def _to_numpy(value):
    """A step's output (Tensor, array, or a list/tuple of them) as NumPy."""
    if type(value) is Tensor and type(value._value) is np.ndarray:
        return value._value  # the common case, first
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    return np.asarray(device.to_host(value.value if isinstance(value, Tensor) else value))


def _concatenate(parts):
    if isinstance(parts[0], list):
        return [np.concatenate(p) for p in zip(*parts)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _python_logs(logs) -> dict:
    """A step's returned logs as {name: float}: nested dicts (a ``compile_metrics`` result)
    flattened, Tensors and NumPy scalars made floats. Raises TypeError for anything else."""
    if logs is None:
        return {}
    if not isinstance(logs, dict):
        raise TypeError(f"train_step/test_step must return a dict of metric values, e.g. "
                        f"{{'loss': loss}}; received {type(logs).__name__}.")
    out = {}
    for key, value in logs.items():
        if type(value) is float:  # get_metrics_result's values already are
            out[key] = value
        elif isinstance(value, dict):
            out.update(_python_logs(value))
        else:
            out[key] = float(np.asarray(_to_numpy(value)))
    return out


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


def _check_batch_size(batch_size, default=32):
    if batch_size is None:
        return default
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; received batch_size={batch_size!r}.")
    return int(batch_size)


def _check_validation_like_training(val, x, y, declared=None):
    """validation_data checked against the training arrays before the first epoch (sample
    counts, and each sample's shape, a trailing axis of size 1 aside; an input axis the model
    declares None may differ), so that a mistake in it is not found after an epoch of training.

    Raises:
        ValueError: naming the validation array, its sample shape and the training one's.
    """
    vx, vy, vw = val
    data_mod.num_samples(("validation_data[0]", vx), ("validation_data[1]", vy),
                         ("validation_data[2]", vw))

    def sample_shape(a, free=()):
        shape = tuple(None if i in free else d for i, d in enumerate(np.shape(a)[1:]))
        return shape[:-1] if shape[-1:] == (1,) else shape
    free_x = {i for i, d in enumerate((declared or ())[1:]) if d is None}
    for name, given, ref, ref_name, free in (("validation_data[0]", vx, x, "x", free_x),
                                             ("validation_data[1]", vy, y, "y", ())):
        got_arrays, want_arrays = data_mod.flat(given), data_mod.flat(ref)
        if len(got_arrays) != len(want_arrays):
            continue  # another structure: evaluate says what it expects
        for got, want in zip(got_arrays, want_arrays):
            if sample_shape(got, free) != sample_shape(want, free):
                raise ValueError(
                    f"{name} has samples of shape {tuple(np.shape(got)[1:])}, but the training "
                    f"{ref_name} has samples of shape {tuple(np.shape(want)[1:])}; validation "
                    f"data must be shaped like the training data.")


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
