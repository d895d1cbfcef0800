"""Bad input gets a clear error naming the argument, what was expected and what was received;
training that diverges stops with a warning instead of carrying on with NaN."""
import warnings

import numpy as np
import pytest

import tomei as tf
from tomei.keras import activations, initializers, layers, losses, metrics, optimizers

RNG = np.random.default_rng(0)
X = RNG.random((16, 28, 28))
Y = np.arange(16) % 10


def tutorial_model(compile=True):
    model = tf.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                 layers.Dense(16, activation="relu"), layers.Dense(10)])
    if compile:
        model.compile(optimizer="adam", metrics=["accuracy"],
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


# --- labels outside [0, num_classes) ----------------------------------------------------------

@pytest.mark.parametrize("bad, index", [(10, 7), (-1, 3), (12, 0)])
@pytest.mark.parametrize("call", ["fit", "evaluate"])
def test_label_out_of_range(bad, index, call):
    y = Y.copy()
    y[index] = bad
    model = tutorial_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"label value of {bad}\b.*y\[{index}\].*\[0, 10\)"):
        getattr(model, call)(X, y, verbose=0)
    for a, b in zip(before, model.get_weights()):  # checked before the first step
        np.testing.assert_array_equal(a, b)


def test_label_out_of_range_suggests_a_fix():
    y = Y + 1  # 1-based labels 1..10
    with pytest.raises(ValueError, match=r"subtract 1.*Dense\(11\)"):
        tutorial_model().fit(X, y, verbose=0)


def test_label_out_of_range_in_the_loss_call():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"label value of 3 at y_true\[1\].*\[0, 3\)"):
        loss(np.array([0, 3]), np.zeros((2, 3), np.float32))


def test_float_labels_whole_numbers_accepted():
    y = Y.astype(np.float64)
    y[3] = 3.0
    history = tutorial_model().fit(X, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    z = RNG.normal(size=(3, 5)).astype(np.float32)
    assert float(loss(np.array([1.0, 3.0, 0.0]), z)) == pytest.approx(
        float(loss(np.array([1, 3, 0]), z)))


def test_float_labels_with_fractions_rejected():
    y = Y.astype(np.float64)
    y[5] = 3.5
    with pytest.raises(ValueError, match=r"whole numbers.*y\[5\] = 3\.5"):
        tutorial_model().fit(X, y, verbose=0)


def test_labels_of_the_wrong_shape():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"shape \(4,\).*received.*shape \(4, 2\)"):
        loss(np.zeros((4, 2)), np.zeros((4, 3), np.float32))


# --- input shapes --------------------------------------------------------------------------------

@pytest.mark.parametrize("call", ["fit", "evaluate", "predict", "call"])
def test_input_shape_that_does_not_fit_the_model(call):
    model = tutorial_model()
    x = np.zeros((32, 10, 10))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 28, 28\).*"
                                         r"found shape=\(None, 10, 10\)"):
        if call == "call":
            model(x)
        elif call == "predict":
            model.predict(x, verbose=0)
        else:
            getattr(model, call)(x, np.zeros(32), verbose=0)


def test_wrong_feature_count_for_dense():
    model = tf.keras.Sequential([layers.Input(shape=(5,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"\(None, 5\).*\(None, 7\)"):
        model.predict(np.zeros((4, 7)), verbose=0)


# --- NaN and inf ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_nan_or_inf_inputs(value, call):
    x = X.copy()
    x[3, 4, 5] = value
    model = tutorial_model()
    with pytest.raises(ValueError, match=r"^x contains NaN.*\(3, 4, 5\)"):
        if call == "predict":
            model.predict(x, verbose=0)
        else:
            getattr(model, call)(x, Y, verbose=0)


def test_nan_in_targets_and_validation_data():
    y = Y.astype(np.float64)
    y[2] = np.nan
    with pytest.raises(ValueError, match=r"^y contains NaN"):
        tutorial_model().fit(X, y, verbose=0)
    x_val = X[:4].copy()
    x_val[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"validation_data\[0\] contains NaN"):
        tutorial_model().fit(X, Y, validation_data=(x_val, Y[:4]), verbose=0)


# --- unknown names list the valid ones -----------------------------------------------------------

def test_unknown_optimizer():
    model = tutorial_model(compile=False)
    with pytest.raises(ValueError, match=r"Unknown optimizer.*'adamm'.*adam.*sgd"):
        model.compile(optimizer="adamm", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"'adamm'.*adam"):
        optimizers.get("adamm")


def test_unknown_loss():
    with pytest.raises(ValueError, match=r"Unknown loss.*'sparse_categorical_crossentopy'.*"
                                         r"sparse_categorical_crossentropy"):
        tutorial_model(compile=False).compile("adam", loss="sparse_categorical_crossentopy")


def test_unknown_metric():
    with pytest.raises(ValueError, match=r"Unknown metric.*'acuracy'.*accuracy"):
        tutorial_model(compile=False).compile("adam", "mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match=r"'acuracy'.*accuracy"):
        metrics.get("acuracy")


def test_unknown_activation():
    with pytest.raises(ValueError, match=r"Unknown activation.*'relux'.*relu.*softmax"):
        layers.Dense(4, activation="relux")
    with pytest.raises(ValueError, match=r"'sigmod'.*sigmoid"):
        activations.get("sigmod")
    with pytest.raises(ValueError, match=r"'relux'.*relu"):
        layers.Activation("relux")


def test_unknown_initializer():
    with pytest.raises(ValueError, match=r"Unknown initializer.*'glorot'.*glorot_uniform"):
        layers.Dense(4, kernel_initializer="glorot")
    with pytest.raises(ValueError, match=r"'he'.*he_normal"):
        initializers.get("he")


def test_loss_weights_that_are_not_numbers():
    model = tutorial_model(compile=False)
    with pytest.raises(ValueError, match=r"loss_weights.*numbers.*\['x'\]"):
        model.compile("adam", "mse", loss_weights=["x"], metrics=["accuracy"])


# --- data and arguments --------------------------------------------------------------------------

def test_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*x: \[16\].*y: \[15\]"):
        tutorial_model().fit(X, Y[:15], verbose=0)
    with pytest.raises(ValueError, match=r"x: \[16\].*y: \[17\]"):
        tutorial_model().evaluate(X, np.zeros(17), verbose=0)


@pytest.mark.parametrize("batch_size", [0, -4, 2.5, True])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_bad_batch_size(batch_size, call):
    model = tutorial_model()
    with pytest.raises(ValueError, match=rf"batch_size.*positive integer.*"
                                         rf"batch_size={batch_size!r}"):
        if call == "predict":
            model.predict(X, batch_size=batch_size, verbose=0)
        else:
            getattr(model, call)(X, Y, batch_size=batch_size, verbose=0)


@pytest.mark.parametrize("units", [0, -3, 2.5, "10", None])
def test_dense_units_must_be_positive_integers(units):
    with pytest.raises(ValueError, match=rf"units.*positive integer.*units={units!r}"):
        layers.Dense(units=units)


@pytest.mark.parametrize("rate", [1.5, -0.1, "0.2", True])
def test_dropout_rate_must_be_in_range(rate):
    with pytest.raises(ValueError, match=rf"rate in \[0, 1\].*rate={rate!r}"):
        layers.Dropout(rate=rate)


def test_dropout_rate_one_drops_everything_as_in_keras():
    x = np.ones((4, 3), np.float32)
    assert np.all(layers.Dropout(rate=1.0)(x, training=True).numpy() == 0)
    assert np.all(layers.Dropout(rate=1.0)(x).numpy() == 1)


def test_empty_data_is_refused():
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    for call in (lambda: model.fit(np.zeros((0, 3)), np.zeros((0, 2)), verbose=0),
                 lambda: model.evaluate(np.zeros((0, 3)), np.zeros((0, 2)), verbose=0),
                 lambda: model.predict(np.zeros((0, 3)), verbose=0)):
        with pytest.raises(ValueError, match="at least one sample"):
            call()


def test_string_labels_and_string_epochs_are_refused_clearly():
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="class indices"):
        model.fit(np.zeros((4, 3)), np.array(["a", "b", "a", "b"]), verbose=0)
    with pytest.raises(ValueError, match="epochs must be a non-negative integer.*'5'"):
        model.fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]), epochs="5", verbose=0)


def test_no_gradient_at_all_is_an_error_not_silent_training():
    class NumpyInside(layers.Layer):  # a learner's mistake: NumPy math the tape cannot see
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1], 2))

        def call(self, inputs):
            return tf.constant(np.tanh(np.asarray(inputs) @ self.w.numpy()))

    model = tf.keras.Sequential([NumpyInside(input_shape=(3,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)


def test_second_derivative_says_it_is_not_supported():
    x = tf.Variable(2.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    assert float(dy.numpy()) == pytest.approx(12.0)
    with pytest.raises(NotImplementedError, match="first-order gradients only"):
        outer.gradient(dy, x)


def test_gradient_of_a_numpy_value_names_the_mistake():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = np.square(x)
    with pytest.raises(TypeError, match="expects the target to be a tomei Tensor"):
        tape.gradient(y, x)


@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch"])
def test_training_before_compile(call):
    model = tutorial_model(compile=False)
    with pytest.raises(RuntimeError, match=rf"compile\(\).*before {call}\(\)"):
        if call == "train_on_batch":
            model.train_on_batch(X, Y)
        else:
            getattr(model, call)(X, Y, verbose=0)


def test_predict_before_compile_works():
    assert tutorial_model(compile=False).predict(X, verbose=0).shape == (16, 10)


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(4, activaton="relu"),
    lambda: layers.Flatten(input_shap=(28, 28)),
    lambda: layers.Dropout(0.2, rat=0.3),
    lambda: optimizers.Adam(learning_rat=0.1),
], ids=["Dense", "Flatten", "Dropout", "Adam"])
def test_unknown_keyword_argument(make):
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*(activaton|input_shap|rat|"
                                        r"learning_rat)"):
        make()


def test_validation_split_that_leaves_nothing():
    with pytest.raises(ValueError, match=r"validation_split=0\.99.*empty.*16 samples"):
        tutorial_model().fit(X, Y, validation_split=0.99, verbose=0)


@pytest.mark.parametrize("fraction", [1.0, 1.5, -0.2, "0.2"])
def test_validation_split_outside_zero_one(fraction):
    with pytest.raises(ValueError, match=rf"validation_split.*between 0 and 1.*"
                                         rf"validation_split={fraction!r}"):
        tutorial_model().fit(X, Y, validation_split=fraction, verbose=0)


def test_bad_learning_rate():
    with pytest.raises(ValueError, match=r"learning_rate.*non-negative.*-0\.1"):
        optimizers.SGD(learning_rate=-0.1)


# --- diverging training stops with a warning -----------------------------------------------------

def test_nan_loss_stops_training_with_a_warning():
    tf.keras.utils.set_random_seed(0)
    model = tutorial_model(compile=False)
    model.compile(optimizer=optimizers.SGD(learning_rate=1e30),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    seen = []
    tracker = tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(batch))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = model.fit(X, Y, epochs=5, batch_size=4, verbose=0, callbacks=[tracker])
    stops = [w for w in record if issubclass(w.category, RuntimeWarning)
             and "Training stopped" in str(w.message)]
    assert len(stops) == 1
    message = str(stops[0].message)
    last = seen[-1]
    assert f"epoch 1, batch {last + 1}" in message and "learning rate" in message
    assert len(history.epoch) == 1  # no further epochs after the NaN
    assert len(seen) < 4  # it stopped inside the first epoch (4 batches), at the NaN


def test_scaling_mismatch_between_fit_and_evaluate_warns():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 4)).astype(np.uint8)
    y = rng.integers(0, 2, 64)
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(4,))])
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x / 255.0, y, verbose=0)  # trained on [0, 1]
    with pytest.warns(UserWarning, match="values up to 255.*went up to 1"):
        model.evaluate(x, y, verbose=0)  # raw 0-255 pixels
    with pytest.warns(UserWarning, match="Scale both the same way"):
        model.predict(x.astype(np.float64), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same scale: no warning
        model.evaluate(x / 255.0, y, verbose=0)
        model.predict(x / 255.0, verbose=0)
