"""The *_on_batch calls, sample_weight, class_weight and loss_weights, checked against the
numbers they must produce by hand."""
import warnings

import numpy as np
import pytest

import tomei
from tomei.keras import Input, Model, Sequential, layers, losses, optimizers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 12)


def _model():
    tomei.keras.utils.set_random_seed(0)
    m = Sequential([Input((4,)), layers.Dense(3)])
    m.compile(optimizers.SGD(0.1), losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


def _per_sample_loss(model, x=X, y=Y):
    z = model.predict_on_batch(x).astype(np.float64)
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def test_predict_on_batch_and_test_on_batch():
    m = _model()
    logits = m.predict_on_batch(X)
    assert isinstance(logits, np.ndarray) and logits.shape == (12, 3)
    np.testing.assert_allclose(logits, X @ m.layers[0].kernel.numpy() + m.layers[0].bias.numpy(),
                               rtol=1e-5)
    loss, acc = m.test_on_batch(X, Y)
    np.testing.assert_allclose(loss, _per_sample_loss(m).mean(), rtol=1e-5)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == Y))
    assert m.test_on_batch(X, Y, return_dict=True) == {"loss": loss, "accuracy": acc}
    before = m.get_weights()
    m.test_on_batch(X, Y)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)  # no update


def test_train_on_batch_returns_the_loss_before_its_update():
    m = _model()
    expected = _per_sample_loss(m).mean()
    loss, _ = m.train_on_batch(X, Y)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert m.test_on_batch(X, Y)[0] < loss


def test_sample_weight_scales_each_sample_and_divides_by_the_batch_size():
    m = _model()
    w = np.linspace(0, 2, 12).astype(np.float32)
    loss = m.test_on_batch(X, Y, sample_weight=w)[0]
    np.testing.assert_allclose(loss, np.sum(w * _per_sample_loss(m)) / 12, rtol=1e-5)
    loss = m.evaluate(X, Y, sample_weight=w, batch_size=5, verbose=0)[0]
    # batches of 5, 5, 2, each averaged over its size, then averaged weighted by size
    per = w * _per_sample_loss(m)
    batch_means = [per[:5].mean(), per[5:10].mean(), per[10:].mean()]
    np.testing.assert_allclose(loss, np.average(batch_means, weights=[5, 5, 2]), rtol=1e-5)


def test_class_weight_equals_the_matching_sample_weight():
    class_weight = {0: 0.5, 1: 2.0, 2: 1.5}
    a, b = _model(), _model()
    a.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0, class_weight=class_weight)
    b.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0,
          sample_weight=np.array([class_weight[int(c)] for c in Y], np.float32))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    loss_a = _model().train_on_batch(X, Y, class_weight=class_weight)[0]
    m = _model()
    np.testing.assert_allclose(
        loss_a, np.mean([class_weight[int(c)] for c in Y] * _per_sample_loss(m)), rtol=1e-5)
    with pytest.raises(ValueError, match="either class_weight or sample_weight"):
        _model().fit(X, Y, verbose=0, class_weight=class_weight, sample_weight=np.ones(12))


def test_loss_weights_scale_each_output():
    tomei.keras.utils.set_random_seed(0)
    a = Input((4,))
    h = layers.Dense(5)(a)
    model = Model(a, [layers.Dense(1, name="o1")(h), layers.Dense(2, name="o2")(h)])
    y = [RNG.normal(size=(12, 1)).astype(np.float32), RNG.normal(size=(12, 2)).astype(np.float32)]
    model.compile("sgd", ["mse", "mae"], loss_weights=[2.0, 0.25])
    p1, p2 = model.predict_on_batch(X)
    mse, mae = np.mean((p1 - y[0]) ** 2), np.mean(np.abs(p2 - y[1]))
    logs = model.test_on_batch(X, y, return_dict=True)
    np.testing.assert_allclose([logs["loss"], logs["o1_loss"], logs["o2_loss"]],
                               [2.0 * mse + 0.25 * mae, mse, mae], rtol=1e-5)
    model.compile("sgd", {"o2": "mae", "o1": "mse"}, loss_weights={"o1": 0.5})
    np.testing.assert_allclose(model.test_on_batch(X, y)[0], 0.5 * mse + mae, rtol=1e-5)


def test_to_categorical_with_categorical_crossentropy():
    onehot = tomei.keras.utils.to_categorical(Y, 3)
    assert onehot.shape == (12, 3) and onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot.argmax(1), Y)
    m = _model()
    sparse = m.test_on_batch(X, Y)[0]
    m.compile(optimizers.SGD(0.1), losses.CategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    np.testing.assert_allclose(m.test_on_batch(X, onehot)[0], sparse, rtol=1e-6)


# --- issue 13 item 5: Keras 3 step signatures, as the guide "Customizing what happens in fit()"

class _Recorder(tomei.keras.callbacks.Callback):
    """Records every batch hook as (hook, batch, a copy of the logs)."""

    def __init__(self, hooks=("on_train_batch_end", "on_test_batch_end",
                              "on_predict_batch_end")):
        super().__init__()
        self.calls = []
        for hook in hooks:
            setattr(self, hook, self._recorder(hook))

    def _recorder(self, hook):
        def record(batch, logs=None):
            self.calls.append((hook, batch, dict(logs or {})))
        return record


def _regression_data(n=24):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32) + 0.3)


def _functional(cls=Model):
    tomei.keras.utils.set_random_seed(3)
    inputs = Input((4,))
    return cls(inputs, layers.Dense(1)(layers.Dense(6, activation="relu")(inputs)))


def _guide_metric_loop(model, loss, y, y_pred):
    """The guide's metric update: the loss tracker gets the loss, every other metric in
    model.metrics (the compile_metrics container) gets (y, y_pred); returns the results."""
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return {m.name: m.result() for m in model.metrics}


class GuideModel(Model):
    """The guide's first example, in our words: tape, compute_loss, optimizer.apply, and the
    metrics updated by a loop over self.metrics."""

    def train_step(self, data):
        x, y = data
        with tomei.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return _guide_metric_loop(self, loss, y, y_pred)


def test_guide_train_step_subclass_of_functional_model_matches_default_fit():
    x, y = _regression_data()
    runs = []
    for cls in (Model, GuideModel):
        model = _functional(cls)
        assert isinstance(model, cls) and model.layers
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        runs.append((model, model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)))
    (plain, h_plain), (custom, h_custom) = runs
    assert list(h_custom.history) == ["loss", "mae"] == list(h_plain.history)
    for key in h_plain.history:
        np.testing.assert_allclose(h_custom.history[key], h_plain.history[key], rtol=1e-6)
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_own_metrics_listed_by_the_metrics_property_and_compile_without_a_loss():
    class OwnMetrics(Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = tomei.keras.metrics.Mean(name="loss")
            self.mae_metric = tomei.keras.metrics.MeanAbsoluteError(name="mae")

        def train_step(self, data):
            x, y = data
            with tomei.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = tomei.reduce_mean(tomei.square(y_pred - y))
            variables = self.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]  # reset at each epoch's start

    x, y = _regression_data()
    model = _functional(OwnMetrics)
    model.compile(optimizer=optimizers.SGD(0.01))
    recorder = _Recorder(("on_train_batch_end",))
    history = model.fit(x, y, epochs=2, batch_size=12, shuffle=False, verbose=0,
                        callbacks=[recorder])
    assert list(history.history) == ["loss", "mae"]
    # reset at the start of epoch 2: its first batch's running mean is that batch's loss
    second_epoch_first = recorder.calls[2][2]
    assert second_epoch_first["loss"] != pytest.approx(
        np.mean([recorder.calls[1][2]["loss"], second_epoch_first["loss"]]))
    assert history.history["loss"][1] == pytest.approx(recorder.calls[3][2]["loss"])


def test_sample_weight_reaches_train_step_as_a_third_entry():
    class Weighted(Model):
        def train_step(self, data):
            x, y, sample_weight = data if len(data) == 3 else (*data, None)
            with tomei.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            variables = self.trainable_variables
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            self._loss_tracker.update_state(loss, sample_weight=len(x))
            return self.compute_metrics(x, y, y_pred, sample_weight)

    x, y = _regression_data()
    w = np.linspace(0.1, 2.0, len(x)).astype(np.float32)
    results = []
    for cls in (Model, Weighted):
        model = _functional(cls)
        model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
        results.append(model.fit(x, y, sample_weight=w, epochs=2, batch_size=8,
                                 shuffle=False, verbose=0).history)
    assert results[0].keys() == results[1].keys()
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-6)


def test_own_test_step_and_predict_step_are_used_by_evaluate_and_predict():
    class Own(Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            return _guide_metric_loop(self, loss, y, y_pred)

        def predict_step(self, data):
            return self(data, training=False) * 2.0

    x, y = _regression_data()
    plain, own = _functional(), _functional(Own)
    for m in (plain, own):
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    logs = own.evaluate(x, y, batch_size=24, verbose=0, return_dict=True)
    assert logs == pytest.approx(plain.evaluate(x, y, batch_size=24, verbose=0,
                                                return_dict=True), rel=1e-6)
    np.testing.assert_allclose(own.predict(x, verbose=0), 2 * plain.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras2_compiled_loss_and_compiled_metrics_give_a_clear_message():
    class Keras2Style(Model):
        def train_step(self, data):
            x, y = data
            with tomei.GradientTape():
                y_pred = self(x, training=True)
                return self.compiled_loss(y, y_pred, regularization_losses=self.losses)

    model = _functional(Keras2Style)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _regression_data()
    with pytest.raises(AttributeError, match=r"compute_loss\(x=x, y=y, y_pred=y_pred"):
        model.fit(x, y, verbose=0)
    with pytest.raises(AttributeError, match=r"compute_metrics\(x, y, y_pred"):
        model.compiled_metrics.update_state(y, y)


def test_gan_style_model_with_its_own_compile_and_no_targets():
    """The guide's GAN shape: two sub-models, compile(d_optimizer, g_optimizer, loss_fn),
    fit on images alone (train_step receives x itself)."""

    class GAN(Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator, self.generator = discriminator, generator
            self.latent_dim = latent_dim
            self.d_loss_tracker = tomei.keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = tomei.keras.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, real):
            n = real.shape[0]
            noise = np.random.default_rng(0).normal(size=(n, self.latent_dim)).astype("float32")
            fake = self.generator(noise)
            both = tomei.concat([fake, tomei.constant(real)], axis=0)
            labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype("float32")
            with tomei.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(both))
            d_vars = self.discriminator.trainable_weights
            self.d_optimizer.apply(tape.gradient(d_loss, d_vars), d_vars)
            with tomei.GradientTape() as tape:
                g_loss = self.loss_fn(np.zeros((n, 1), "float32"),
                                      self.discriminator(self.generator(noise)))
            g_vars = self.generator.trainable_weights
            self.g_optimizer.apply(tape.gradient(g_loss, g_vars), g_vars)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    tomei.keras.utils.set_random_seed(0)
    disc = Sequential([Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    gen = Sequential([Input((3,)), layers.Dense(6)])
    gan = GAN(disc, gen, latent_dim=3)
    gan.compile(optimizers.Adam(1e-3), optimizers.Adam(1e-3),
                losses.BinaryCrossentropy(from_logits=True))
    before = [w.copy() for w in gen.get_weights()]
    images = np.random.default_rng(1).normal(size=(16, 6)).astype("float32")
    history = gan.fit(images, epochs=2, batch_size=8, verbose=0)
    assert list(history.history) == ["d_loss", "g_loss"]
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert any(not np.allclose(a, b) for a, b in zip(before, gen.get_weights()))


def test_default_fit_still_needs_targets_and_a_loss():
    model = _functional()
    model.compile(optimizer="sgd")
    x, y = _regression_data()
    with pytest.raises(RuntimeError, match="compile\\(\\) with a loss"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="fit needs targets"):
        model.fit(x, verbose=0)


# --- issue 13 item 3: evaluate/predict merging is invisible to callbacks ----------------------

class MyDense(layers.Dense):
    """The same maths as Dense: inherits Dense's rows_independent declaration."""


class BatchCentered(layers.Layer):
    """Subtracts the batch mean: each row depends on the others (rows_independent False)."""

    def call(self, inputs):
        return inputs - tomei.reduce_mean(inputs, axis=0, keepdims=True)


def _evaluate_batches(model, x, y, callback, batch_size=4):
    model.evaluate(x, y, batch_size=batch_size, verbose=0, callbacks=[callback])
    return [(batch, logs["loss"]) for hook, batch, logs in callback.calls
            if hook == "on_test_batch_end"]


@pytest.mark.parametrize("dense", [layers.Dense, MyDense])
def test_evaluate_callbacks_see_the_values_of_a_batch_by_batch_run(dense):
    assert MyDense.rows_independent and not layers.Layer.rows_independent
    x, y = _regression_data(64)
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((4,)), dense(5, activation="relu"), layers.Dropout(0.3),
                        dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = _evaluate_batches(model, x, y, _Recorder(), batch_size=32)
    assert [b for b, _ in seen] == [0, 1]
    # by hand: the running mean of each batch's mse, weighted by batch size
    pred = model.predict_on_batch(x)
    per_batch = [np.mean((pred[i:i + 32] - y[i:i + 32]) ** 2) for i in (0, 32)]
    np.testing.assert_allclose([v for _, v in seen], [per_batch[0], np.mean(per_batch)],
                               rtol=1e-5)


def test_row_mixing_layer_is_evaluated_batch_by_batch():
    x, y = _regression_data(24)
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((4,)), BatchCentered(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = _evaluate_batches(model, x, y, _Recorder(), batch_size=8)
    losses_by_hand = [np.mean((model.predict_on_batch(x[i:i + 8]) - y[i:i + 8]) ** 2)
                      for i in (0, 8, 16)]
    np.testing.assert_allclose([v for _, v in seen], np.cumsum(losses_by_hand) / [1, 2, 3],
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0),
                               np.concatenate([model.predict_on_batch(x[i:i + 8])
                                               for i in (0, 8, 16)]), rtol=1e-6)


def test_on_test_batch_begin_runs_before_its_batch_is_computed():
    class ZeroKernelAtBatchOne(tomei.keras.callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            if batch == 1:
                for w in self.model.weights:
                    w.assign(np.zeros(w.shape, np.float32))

    x, y = _regression_data(16)
    model = _functional()
    model.compile(optimizer="sgd", loss="mse")
    first = float(np.mean((model.predict_on_batch(x[:8]) - y[:8]) ** 2))
    recorder = _Recorder(("on_test_batch_end",))
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[ZeroKernelAtBatchOne(), recorder])
    second = float(np.mean(y[8:] ** 2))  # all weights zero: the prediction is 0
    assert recorder.calls[1][2]["loss"] == pytest.approx((first + second) / 2, rel=1e-5)


def test_predict_batch_end_receives_each_batchs_outputs():
    x, _ = _regression_data(20)
    model = _functional()
    recorder = _Recorder(("on_predict_batch_end",))
    out = model.predict(x, batch_size=8, verbose=0, callbacks=[recorder])
    assert [b for _, b, _ in recorder.calls] == [0, 1, 2]
    np.testing.assert_allclose(np.concatenate([logs["outputs"] for _, _, logs in recorder.calls]),
                               out)


def test_steps_per_execution_groups_batches_between_callback_calls():
    x, y = _regression_data(20)
    model = _functional()
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    recorder = _Recorder(("on_train_batch_begin", "on_train_batch_end", "on_test_batch_end",
                          "on_predict_batch_end"))
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[recorder], shuffle=False)
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[recorder])
    model.predict(x, batch_size=4, verbose=0, callbacks=[recorder])
    calls = [(hook, batch) for hook, batch, _ in recorder.calls]
    assert calls == [("on_train_batch_begin", 0), ("on_train_batch_end", 1),
                     ("on_train_batch_begin", 2), ("on_train_batch_end", 3),
                     ("on_train_batch_begin", 4), ("on_train_batch_end", 5),
                     ("on_test_batch_end", 1), ("on_test_batch_end", 3), ("on_test_batch_end", 5),
                     ("on_predict_batch_end", 1), ("on_predict_batch_end", 3),
                     ("on_predict_batch_end", 5)]
    assert [len(logs["outputs"]) for hook, _, logs in recorder.calls
            if hook == "on_predict_batch_end"] == [8, 8, 4]
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)
    with pytest.raises(NotImplementedError, match="jit_compile"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)


# --- issue 13 item 9: steps_per_epoch with arrays ------------------------------------------

def _sizes_model():
    class Recording(Model):
        """Records the first input column of every batch train_step receives."""

        def train_step(self, data):
            self.batches.append(data[0][:, 0].copy())
            return super().train_step(data)

    model = _functional(Recording)
    model.batches = []
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_steps_per_epoch_alone_sets_the_batch_size():
    x, y = _regression_data(10)
    model = _sizes_model()
    model.fit(x, y, steps_per_epoch=2, verbose=0)
    assert [len(b) for b in model.batches] == [5, 5]


def test_steps_per_epoch_beyond_the_data_warns_and_stops_the_epoch():
    x, y = _regression_data(10)
    model = _sizes_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(x, y, batch_size=5, steps_per_epoch=3, verbose=0)
    assert [len(b) for b in model.batches] == [5, 5]


def test_steps_per_epoch_below_the_data_continues_the_pass_next_epoch():
    x, y = _regression_data(10)
    model = _sizes_model()
    with pytest.warns(UserWarning, match="ran out of data"):  # epoch 3 gets one batch of two
        model.fit(x, y, batch_size=2, steps_per_epoch=2, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_array_equal(np.concatenate(model.batches), x[:, 0])


# --- the same loops in real Keras 3 (torch backend) ------------------------------------------

def _hook_log(base):
    class HookLog(base):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_batch_begin(self, batch, logs=None):
            self.calls.append(("train_begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(("train_end", batch, round(float(logs["loss"]), 5)))

        def on_test_batch_end(self, batch, logs=None):
            self.calls.append(("test_end", batch, round(float(logs["loss"]), 5)))

        def on_predict_batch_end(self, batch, logs=None):
            self.calls.append(("predict_end", batch, len(logs["outputs"])))

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(("epoch_end", epoch))
    return HookLog()


_KERAS_RUN = """
import json, sys, warnings
import numpy as np
import keras
compile_kw, fit_kw, x, y = json.loads(sys.argv[1])
x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
calls = []
class Log(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None): calls.append(("train_begin", batch))
    def on_train_batch_end(self, batch, logs=None):
        calls.append(("train_end", batch, round(float(logs["loss"]), 5)))
    def on_test_batch_end(self, batch, logs=None):
        calls.append(("test_end", batch, round(float(logs["loss"]), 5)))
    def on_predict_batch_end(self, batch, logs=None):
        calls.append(("predict_end", batch, len(logs["outputs"])))
    def on_epoch_end(self, epoch, logs=None): calls.append(("epoch_end", epoch))
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.set_weights([np.linspace(-1, 1, 4, dtype=np.float32).reshape(4, 1),
                   np.array([0.1], np.float32)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **compile_kw)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.fit(x, y, shuffle=False, verbose=0, callbacks=[Log()], **fit_kw)
ran_out = any("ran out of data" in str(w.message) for w in caught)
model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[Log()])
model.predict(x, batch_size=4, verbose=0, callbacks=[Log()])
print(json.dumps([calls, ran_out, [np.asarray(w).tolist() for w in model.get_weights()]]))
"""


def _keras_run(compile_kw, fit_kw, x, y, backend):
    """The run in real Keras 3 in a fresh process on ``backend`` (the torch backend refuses
    steps_per_execution > 1; JAX allows it)."""
    import json
    import os
    import subprocess
    import sys
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", _KERAS_RUN,
                          json.dumps([compile_kw, fit_kw, x.tolist(), y.tolist()])],
                         env=env, capture_output=True, text=True, timeout=300, check=True)
    calls, ran_out, weights = json.loads(out.stdout.strip().splitlines()[-1])
    return [tuple(c) for c in calls], ran_out, [np.asarray(w) for w in weights]


@pytest.mark.reference
@pytest.mark.parametrize("compile_kw, fit_kw, backend", [
    ({}, dict(steps_per_epoch=2), "torch"),
    ({}, dict(batch_size=5, steps_per_epoch=3), "torch"),
    ({}, dict(batch_size=2, steps_per_epoch=2, epochs=3), "torch"),
    ({}, dict(batch_size=3, steps_per_epoch=2, epochs=2), "torch"),
    (dict(steps_per_execution=2), dict(batch_size=2, epochs=2), "jax"),
    (dict(steps_per_execution=3), dict(batch_size=2, steps_per_epoch=3, epochs=2), "jax"),
], ids=["steps_only", "more_steps_than_data", "continues_pass", "uneven", "spe2", "spe3_steps"])
def test_fit_evaluate_predict_steps_match_keras(compile_kw, fit_kw, backend):
    x, y = _regression_data(10)
    k_calls, k_out, k_w = _keras_run(compile_kw, fit_kw, x, y, backend)
    model = tomei.keras.Sequential([Input((4,)), layers.Dense(1)])
    model.set_weights([np.linspace(-1, 1, 4, dtype=np.float32).reshape(4, 1),
                       np.array([0.1], np.float32)])
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse", **compile_kw)
    log = _hook_log(tomei.keras.callbacks.Callback)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, shuffle=False, verbose=0, callbacks=[log], **fit_kw)
    t_out = any("ran out of data" in str(w.message) for w in caught)
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[log])
    model.predict(x, batch_size=4, verbose=0, callbacks=[log])
    assert log.calls == k_calls
    if backend == "torch":  # Keras on JAX fetches an execution's batches its own way, and
        assert t_out == k_out  # does not warn when the last one comes up short
    for a, b in zip(model.get_weights(), k_w):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --- enumerated arguments of fit/evaluate/predict are checked before any work -------------

def _small_model():
    model = Sequential([Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("kwargs, message", [
    ({"verbose": "yes"}, r"^Model.fit\(\): verbose must be one of 'auto', 0, 1, 2.*'yes'"),
    ({"verbose": 3}, r"verbose=3"),
    ({"shuffle": "batch"}, r"^Model.fit\(\): shuffle must be True or False; received "
                           r"shuffle='batch'"),
    ({"initial_epoch": -1}, r"initial_epoch must be an int >= 0"),
    ({"initial_epoch": 1.5}, r"initial_epoch must be an int >= 0"),
    ({"validation_freq": 0}, r"validation_freq must be an int >= 1"),
    ({"validation_freq": "2"}, r"validation_freq must be an int >= 1"),
    ({"validation_steps": 0}, r"validation_steps must be a positive integer"),
    ({"validation_batch_size": 0}, r"batch_size must be a positive integer"),
])
def test_fit_refuses_a_bad_enumerated_argument_before_training(kwargs, message):
    model = _small_model()
    model.build((None, 3))
    before = [w.numpy() for w in model.weights]
    with pytest.raises(ValueError, match=message):
        model.fit(np.ones((8, 3)), np.ones((8, 2)), **kwargs)
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_evaluate_and_predict_check_verbose_and_return_dict():
    model = _small_model()
    x, y = np.ones((4, 3)), np.ones((4, 2))
    with pytest.raises(ValueError, match=r"^Model.evaluate\(\): verbose must be one of"):
        model.evaluate(x, y, verbose="yes")
    with pytest.raises(ValueError, match=r"^Model.evaluate\(\): return_dict must be True or False"):
        model.evaluate(x, y, verbose=0, return_dict="yes")
    with pytest.raises(ValueError, match=r"^Model.predict\(\): verbose must be one of"):
        model.predict(x, verbose=-1)
    with pytest.raises(ValueError, match=r"^Model.train_on_batch\(\): return_dict"):
        model.train_on_batch(x, y, return_dict=1)
    with pytest.raises(ValueError, match=r"^Model.test_on_batch\(\): return_dict"):
        model.test_on_batch(x, y, return_dict=1)


def test_verbose_true_and_false_still_work():
    model = _small_model()
    assert len(model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=False).history["loss"]) == 1
    assert model.predict(np.ones((2, 3)), verbose=False).shape == (2, 2)


def test_compile_checks_run_eagerly_and_jit_compile():
    model = Sequential([Input((3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"^Model.compile\(\): run_eagerly must be True or False"):
        model.compile("sgd", "mse", run_eagerly="yes")
    with pytest.raises(ValueError, match=r"^Model.compile\(\): jit_compile must be one of 'auto', "
                                         r"False, True; received jit_compile='xla'"):
        model.compile("sgd", "mse", jit_compile="xla")
    model.compile("sgd", "mse", run_eagerly=True, jit_compile=False)


@pytest.mark.parametrize("call", [
    lambda m: m.compile(optimzer="adam"), lambda m: m.fit(np.ones((2, 3)), np.ones((2, 2)), epoch=5),
    lambda m: m.evaluate(np.ones((2, 3)), np.ones((2, 2)), verbos=0),
    lambda m: m.predict(np.ones((2, 3)), batch=2),
    lambda m: m.train_on_batch(np.ones((2, 3)), np.ones((2, 2)), weights=None)])
def test_a_mistyped_keyword_names_the_model_method(call):
    model = Sequential([Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match=r"^Model\.\w+\(\) got an unexpected keyword argument"):
        call(model)


# --- issue 16: evaluate/predict in whole blocks when no callback listens per batch ----------

def _classifier_data(n=200, seed=2):
    rng = np.random.default_rng(seed)
    return rng.random((n, 5)), rng.integers(0, 3, n)  # x float64, as x / 255.0 is


def _classifier(loss=None, metrics=("accuracy",)):
    tomei.keras.utils.set_random_seed(4)
    m = Sequential([Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    m.compile("adam", loss or losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=list(metrics))
    return m


def _listener():
    """A callback that listens to on_test_batch_end: evaluate then scores batch by batch."""
    return _Recorder(("on_test_batch_end",))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("score_bytes", [1, 1000, None], ids=["each-block", "3-blocks", "all"])
def test_evaluate_in_whole_blocks_equals_batch_by_batch(weighted, score_bytes):
    x, y = _classifier_data()
    w = np.linspace(0.0, 2.0, len(y)) if weighted else None
    model = _classifier(metrics=["accuracy", "sparse_top_k_categorical_accuracy",
                                 tomei.keras.metrics.SparseCategoricalCrossentropy(
                                     from_logits=True)])
    model.ROWS_PER_CALL = 28  # forward calls of 4 batches of 7 rows
    if score_bytes is not None:  # outputs of 28 rows x 3 logits: 336 bytes
        model.SCORE_BYTES = score_bytes
    assert model._scores_whole_blocks(tomei.keras.callbacks.CallbackList([]))
    fast = model.evaluate(x, y, sample_weight=w, batch_size=7, verbose=0, return_dict=True)
    slow = model.evaluate(x, y, sample_weight=w, batch_size=7, verbose=0, return_dict=True,
                          callbacks=[_listener()])
    assert fast.keys() == slow.keys()
    for key in fast:
        assert fast[key] == pytest.approx(slow[key], rel=1e-6), key
    # and by hand: the mean over all rows of w * per-sample loss
    per_sample = _per_sample_loss(model, x, y)
    expected = np.mean(per_sample * (w if weighted else 1.0))
    assert fast["loss"] == pytest.approx(expected, rel=1e-5)


def test_evaluate_keeps_batch_semantics_where_blocks_would_differ():
    """reduction='sum' (batch sums, averaged over batches) and a metric function returning
    one number per batch depend on the batch size: they are scored batch by batch."""
    x, y = _classifier_data(50)
    model = _classifier(loss=losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="sum"),
                        metrics=[lambda t, p: np.float32(np.max(p))])
    assert not model._scores_whole_blocks(tomei.keras.callbacks.CallbackList([]))
    loss, peak = model.evaluate(x, y, batch_size=8, verbose=0)
    per_sample = _per_sample_loss(model, x, y)
    sums = [per_sample[i:i + 8].sum() for i in range(0, 50, 8)]
    assert loss == pytest.approx(np.average(sums, weights=[8] * 6 + [2]), rel=1e-5)
    pred = model.predict(x, verbose=0)
    assert peak == pytest.approx(np.mean([pred[i:i + 8].max() for i in range(0, 50, 8)]),
                                 rel=1e-6)


@pytest.mark.parametrize("listen", [False, True])
def test_predict_of_a_model_whose_output_is_its_input_survives_the_reused_buffer(listen):
    """Flatten's output is a view of its input, the reused float32 block: each block's
    outputs are copied out before the next block is read."""
    x = np.random.default_rng(5).random((1500, 2, 3))
    model = Sequential([Input((2, 3)), layers.Flatten()])
    callbacks = [_Recorder(("on_predict_batch_end",))] if listen else []
    out = model.predict(x, batch_size=32, verbose=0, callbacks=callbacks)
    np.testing.assert_array_equal(out, x.reshape(1500, 6).astype(np.float32))


def test_predict_and_evaluate_never_hold_a_float32_copy_of_all_of_x():
    """Structural memory check (tracemalloc sees NumPy's allocations): a float64 x of
    4,000 x 784 (25 MB; float32 copy 12.5 MB) is read in blocks of ROWS_PER_CALL rows."""
    import tracemalloc

    rng = np.random.default_rng(6)
    x, y = rng.random((4000, 784)), rng.integers(0, 10, 4000)
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((784,)), layers.Dense(16, activation="relu"), layers.Dense(10)])
    model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.predict(x[:10], verbose=0)  # built
    whole_copy = x.size * 4

    def peak_of(call):
        tracemalloc.start()
        try:
            call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for call in (lambda: model.predict(x, verbose=0),
                 lambda: model.evaluate(x, y, verbose=0)):
        assert peak_of(call) < whole_copy / 2, (peak_of(call), whole_copy)
    # the probe sees a whole copy when there is one: all 4,000 rows in one block
    model.ROWS_PER_CALL = 4000
    assert peak_of(lambda: model.predict(x, verbose=0)) > whole_copy


@pytest.mark.parametrize("call, message", [
    (lambda m: m.fit(None, np.ones((2, 2))), r"^Model.fit\(\) received x=None.*model.fit\(x_train, y_train\)"),
    (lambda m: m.evaluate(None, np.ones((2, 2))), r"^Model.evaluate\(\) received x=None"),
    (lambda m: m.predict(None), r"^Model.predict\(\) received x=None.*model.predict\(x_train\)"),
    (lambda m: m.train_on_batch(None, np.ones((2, 2))), r"^Model.train_on_batch\(\) received x=None")])
def test_x_none_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(_small_model())


def test_validation_data_is_checked_before_the_first_epoch():
    model = _small_model()
    model.build((None, 3))
    before = [w.numpy() for w in model.weights]
    x, y = np.ones((8, 3)), np.ones((8, 2))
    for val, message in [((np.ones((4, 5)), np.ones((4, 2))), r"validation_data\[0\] has samples of "
                          r"shape \(5,\), but the training x has samples of shape \(3,\)"),
                         ((np.ones((4, 3)), np.ones((4,))), r"validation_data\[1\] has samples of "
                          r"shape \(\), but the training y has samples of shape \(2,\)"),
                         ((np.ones((4, 3)), np.ones((3, 2))), r"validation_data\[0\]: \[4\], "
                          r"validation_data\[1\]: \[3\]")]:
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, validation_data=val, verbose=0)
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new.numpy())
    # a trailing axis of size 1 is the same labels: (N,) against (N, 1)
    sparse = Sequential([Input((3,)), layers.Dense(4)])
    sparse.compile("sgd", losses.SparseCategoricalCrossentropy(from_logits=True))
    sparse.fit(x, np.zeros(8), validation_data=(x[:4], np.zeros((4, 1))), verbose=0)


def test_validation_images_may_differ_in_size_where_the_model_says_none():
    model = Sequential([Input((None, None, 1)), layers.Conv2D(2, 1),
                        layers.GlobalAveragePooling2D(), layers.Dense(2)])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((8, 4, 4, 1)), np.ones((8, 2)),
                        validation_data=(np.ones((4, 6, 6, 1)), np.ones((4, 2))), verbose=0)
    assert "val_loss" in history.history
