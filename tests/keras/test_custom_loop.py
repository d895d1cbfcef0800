"""The TensorFlow custom training loop, written against ``import tomei as tf``:

    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

It must train the tutorial model exactly as ``fit`` does (same seed, same batches)."""
import numpy as np

import tomei as tf


def _synthetic_digits(n, seed):
    """28x28 'images': each class lights up its own band of rows, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.random((n, 28, 28)) * 0.6
    for c in range(10):
        x[y == c, 2 * c + 4:2 * c + 7, :] += 0.5
    return np.clip(x, 0, 1), y  # float64, as the tutorial's x / 255.0


X_TRAIN, Y_TRAIN = _synthetic_digits(1024, 0)
X_TEST, Y_TEST = _synthetic_digits(512, 1)
BATCH, EPOCHS = 32, 2


def _tutorial_model():
    tf.keras.utils.set_random_seed(42)
    return tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])


def _train_with_fit():
    model = _tutorial_model()
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(X_TRAIN, Y_TRAIN, batch_size=BATCH, epochs=EPOCHS, shuffle=False,
                        verbose=0)
    return model, history.history


def _train_with_custom_loop():
    model = _tutorial_model()
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = tf.keras.optimizers.Adam()
    train_acc = tf.keras.metrics.SparseCategoricalAccuracy()
    loss_mean = tf.keras.metrics.Mean()
    history = {"loss": [], "accuracy": []}
    for _ in range(EPOCHS):
        train_acc.reset_state()
        loss_mean.reset_state()
        for start in range(0, len(X_TRAIN), BATCH):
            x = X_TRAIN[start:start + BATCH].astype("float32")
            y = Y_TRAIN[start:start + BATCH]
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loss_fn(y, logits)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            train_acc.update_state(y, logits)
            loss_mean.update_state(loss, sample_weight=len(y))
        history["loss"].append(float(loss_mean.result()))
        history["accuracy"].append(float(train_acc.result()))
    return model, history


def _test_accuracy(model):
    return float(np.mean(model.predict(X_TEST, verbose=0).argmax(1) == Y_TEST))


def test_custom_loop_trains_like_fit():
    fit_model, fit_history = _train_with_fit()
    loop_model, loop_history = _train_with_custom_loop()
    fit_acc, loop_acc = _test_accuracy(fit_model), _test_accuracy(loop_model)
    assert fit_acc > 0.9 and loop_acc > 0.9  # both really learned the task
    assert abs(fit_acc - loop_acc) < 0.02
    # Same seed, same batches, same dropout draws: the same numbers, up to float32 rounding
    # (fit runs BLAS on one thread, which changes the order of the sums in a matmul).
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(loop_history[name], fit_history[name], rtol=1e-5)
    for a, b in zip(loop_model.get_weights(), fit_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_gradients_are_none_for_unused_variables_and_minimize_works():
    model = _tutorial_model()
    unused = tf.Variable(np.ones(3, np.float32))
    x, y = X_TRAIN[:8].astype("float32"), Y_TRAIN[:8]
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=False))
    grads = tape.gradient(loss, model.trainable_variables + [unused])
    assert grads[-1] is None
    assert [g.shape for g in grads[:-1]] == [v.shape for v in model.trainable_variables]
    optimizer = tf.keras.optimizers.SGD(0.1)
    optimizer.apply_gradients(zip(grads, model.trainable_variables + [unused]))  # None skipped
    with tf.GradientTape() as tape:
        after = loss_fn(y, model(x))
    optimizer.minimize(after, model.trainable_variables, tape=tape)
    assert float(loss_fn(y, model(x))) < float(after) < float(loss)
