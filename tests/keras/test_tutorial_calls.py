"""The TensorFlow beginner tutorial's calls, on a small dataset these tests make.

The images are 28x28 uint8 noise with one bright horizontal band; the label is the band's
index, i.e. the argmax of ten band means, which a linear model can represent. Scaled by
/255.0 (float64), exactly as the tutorial does.
"""
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tomei as tf

BAR_LINE = re.compile(r"^\d+/\d+ \[=+\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - "
                      r"accuracy: \d\.\d{4}$")


def make_images(n=512, seed=0):
    """uint8 images (n, 28, 28) and uint8 labels: label k <=> rows 4+2k, 5+2k are bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.uint8)
    x = rng.integers(0, 100, size=(n, 28, 28)).astype(np.uint8)
    for i in range(n):
        x[i, 4 + 2 * y[i]: 6 + 2 * y[i], :] += 150
    bands = x[:, 4:24, :].reshape(n, 10, 2 * 28).mean(axis=2)
    assert (bands.argmax(axis=1) == y).all()  # the label is a function of the pixels
    return x, y


X_UINT8, Y_TRAIN = make_images()
X_TRAIN = X_UINT8 / 255.0  # float64, as in the tutorial


def tutorial_model(seed=None):
    if seed is not None:
        tf.keras.utils.set_random_seed(seed)
    return tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])


def compiled_model(seed=0):
    model = tutorial_model(seed)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    return model


# --- before training ------------------------------------------------------------------------

def test_prediction_of_one_image():
    model = tutorial_model(0)
    predictions = model(X_TRAIN[:1]).numpy()
    assert isinstance(predictions, np.ndarray)
    assert predictions.dtype == np.float32 and predictions.shape == (1, 10)


def test_softmax_of_predictions():
    predictions = tutorial_model(0)(X_TRAIN[:4]).numpy()
    probs = tf.nn.softmax(predictions).numpy()
    assert probs.dtype == np.float32 and probs.shape == (4, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert (probs > 0).all()
    e = np.exp(predictions.astype(np.float64))
    np.testing.assert_allclose(probs, e / e.sum(1, keepdims=True), rtol=1e-5)


def test_untrained_loss_is_near_ln10():
    model = tutorial_model(0)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss = loss_fn(Y_TRAIN[:32], model(X_TRAIN[:32]))
    value = loss.numpy()
    assert loss.shape == () and isinstance(value, np.float32)
    assert abs(float(value) - np.log(10)) < 0.5
    # also the tutorial's exact call, on the numpy predictions of one image
    one = loss_fn(Y_TRAIN[:1], model(X_TRAIN[:1]).numpy()).numpy()
    assert isinstance(one, np.float32) and np.isfinite(one)


def test_compile_with_positional_metrics():
    """compile('adam', loss_fn, ['accuracy']) works (Keras 2's positional order)."""
    model = tutorial_model(0)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss_fn, ["accuracy"])
    history = model.fit(X_TRAIN[:64], Y_TRAIN[:64], epochs=1, verbose=0)
    assert list(history.history) == ["loss", "accuracy"]


# --- fit and its output -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """The tutorial model after fit(epochs=2), with what fit printed."""
    import contextlib
    import io
    model = compiled_model(0)
    out = io.StringIO()  # not a terminal, like a pipe
    with contextlib.redirect_stdout(out):
        history = model.fit(X_TRAIN, Y_TRAIN, epochs=2)
    return model, history, out.getvalue()


def test_fit_output_is_one_clean_line_per_epoch(trained):
    _, _, text = trained
    assert "\b" not in text and "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert "Epoch 2/2" in lines
    bars = [line for line in lines if BAR_LINE.match(line)]
    assert len(bars) == 2, text
    assert all(line.startswith("16/16 ") for line in bars)  # ceil(512 / 32) steps
    assert lines == ["Epoch 1/2", bars[0], "Epoch 2/2", bars[1]]


def test_fit_learns_and_history_matches_the_output(trained):
    model, history, text = trained
    assert list(history.history) == ["loss", "accuracy"]
    assert history.epoch == [0, 1]
    assert model.history is history
    losses, accs = history.history["loss"], history.history["accuracy"]
    assert all(isinstance(v, float) for v in losses + accs)
    assert losses[1] < losses[0] and accs[1] > 0.8
    shown = [re.search(r"loss: (\d\.\d{4}) - accuracy: (\d\.\d{4})", line).groups()
             for line in text.splitlines() if BAR_LINE.match(line)]
    assert shown == [(f"{lo:.4f}", f"{ac:.4f}") for lo, ac in zip(losses, accs)]


def test_fit_output_through_a_real_pipe():
    code = textwrap.dedent("""
        import numpy as np, tomei as tf
        rng = np.random.default_rng(0)
        x, y = rng.random((100, 28, 28)), rng.integers(0, 10, 100)
        tf.keras.utils.set_random_seed(0)
        model = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                            tf.keras.layers.Dense(10)])
        model.compile(optimizer='adam', metrics=['accuracy'],
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=3)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,  # stdout is a pipe
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "\b" not in text and "\r" not in text
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/3", "Epoch 2/3",
                                                                   "Epoch 3/3"]
    assert sum(bool(BAR_LINE.match(line)) for line in lines) == 3
    assert len(lines) == 6, text


def test_history_keys_with_validation_split():
    model = compiled_model(0)
    history = model.fit(X_TRAIN[:200], Y_TRAIN[:200], epochs=2, validation_split=0.2, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 2 for v in history.history.values())
    assert all(isinstance(v, float) for vs in history.history.values() for v in vs)


def test_evaluate_returns_loss_and_accuracy(trained, capsys):
    model, history, _ = trained
    result = model.evaluate(X_TRAIN, Y_TRAIN, verbose=2)
    assert isinstance(result, list) and len(result) == 2
    loss, acc = result
    assert type(loss) is float and type(acc) is float
    assert 0.0 <= acc <= 1.0 and acc > 0.8 and loss < history.history["loss"][0]
    assert acc == pytest.approx(np.mean(model.predict(X_TRAIN, verbose=0).argmax(1) == Y_TRAIN))
    out = capsys.readouterr().out
    assert re.fullmatch(r"16/16 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - "
                        r"\d+(us|ms|s)/epoch - \d+(us|ms|s)/step\n", out), out
    as_dict = model.evaluate(X_TRAIN, Y_TRAIN, verbose=0, return_dict=True)
    assert as_dict == {"loss": loss, "accuracy": acc}


def test_predict_is_float32_and_ignores_dropout(trained):
    model, _, _ = trained
    first = model.predict(X_TRAIN[:100], verbose=0)
    second = model.predict(X_TRAIN[:100], verbose=0)
    assert isinstance(first, np.ndarray)
    assert first.dtype == np.float32 and first.shape == (100, 10)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, model(X_TRAIN[:100]).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first, model(X_TRAIN[:100], training=False).numpy(),
                               rtol=1e-5, atol=1e-6)
    training = model(X_TRAIN[:100], training=True).numpy()  # dropout on: different
    assert not np.allclose(training, first)


def test_summary_total_params(capsys):
    tf.keras.backend.clear_session()  # layer names start again at "dense"
    model = tutorial_model(0)
    model.summary()
    out = capsys.readouterr().out
    assert out.startswith('Model: "sequential"\n')
    assert "Total params: 101,770 (397.54 KB)" in out
    assert " Trainable params: 101,770 (397.54 KB)" in out
    assert " Non-trainable params: 0 (0.00 B)" in out
    rows = [("flatten (Flatten)", "(None, 784)", "0"), ("dense (Dense)", "(None, 128)", "100,480"),
            ("dropout (Dropout)", "(None, 128)", "0"), ("dense_1 (Dense)", "(None, 10)", "1,290")]
    for name, shape, params in rows:
        row = rf"│ {re.escape(name)} +│ {re.escape(shape)} +│ +{params} │"
        assert re.search(row, out), name
    assert model.count_params() == 784 * 128 + 128 + 128 * 10 + 10


# --- reproducibility and input dtypes -------------------------------------------------------------

def test_set_random_seed_repeats_weights_and_training():
    runs = []
    for _ in range(2):
        model = compiled_model(seed=42)
        initial = model.get_weights()
        history = model.fit(X_TRAIN[:128], Y_TRAIN[:128], epochs=2, batch_size=32, verbose=0)
        runs.append((initial, model.get_weights(), history.history))
    (init_a, final_a, hist_a), (init_b, final_b, hist_b) = runs
    for a, b in zip(init_a, init_b):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(final_a, final_b):
        np.testing.assert_array_equal(a, b)
    assert hist_a == hist_b
    other = compiled_model(seed=43).get_weights()  # a different seed gives different weights
    assert not np.array_equal(other[0], init_a[0])


def fit_weights(x, seed=7):
    model = compiled_model(seed)
    model.fit(x, Y_TRAIN[:128], epochs=2, batch_size=32, verbose=0)
    return model.get_weights()


def test_float64_and_float32_inputs_train_alike_without_warnings():
    x64 = X_TRAIN[:128]
    x32 = x64.astype(np.float32)
    assert x64.dtype == np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        w64 = fit_weights(x64)
        w32 = fit_weights(x32)
    for a, b in zip(w64, w32):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_uint8_input_trains_as_floats(recwarn):
    x_uint8 = X_UINT8[:128]
    w_uint8 = fit_weights(x_uint8)
    w_float = fit_weights(x_uint8.astype(np.float32))  # same values, no integer arithmetic
    for a, b in zip(w_uint8, w_float):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    model = tutorial_model(0)
    out = model(x_uint8[:4]).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, model(x_uint8[:4].astype(np.float32)).numpy())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
