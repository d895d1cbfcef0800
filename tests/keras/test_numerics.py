"""Numerics that must match Keras: optimizer steps, initializers, dropout, epoch-loss
averaging, cross-entropy values, reductions and the softmax/from_logits warning.

Expected values are computed by hand in each test (NumPy, float64) from the formulas in
docs/keras_facts.md and Keras's source, never by the code under test.
"""
import math
import warnings

import numpy as np
import pytest

import tomei as tf
from tomei.engine.tensor import Variable
from tomei.keras import callbacks, initializers, layers, losses, metrics, optimizers

G = [np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]]),
     np.array([[-0.3, 0.2, 1.0], [0.1, -2.0, 0.7]]),
     np.array([[1.5, 0.0, -0.5], [-1.0, 0.4, 0.05]])]
W0 = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])


def run_steps(optimizer, grads=G, w0=W0):
    """Applies each gradient in turn to a float32 variable; returns the values after each."""
    var = Variable(w0.astype(np.float32))
    other = Variable(np.zeros(4, np.float32))  # a second variable, as in a real model
    out = []
    for g in grads:
        optimizer.apply_gradients([(g.astype(np.float32), var),
                                   (np.ones(4, np.float32), other)])
        out.append(var.numpy().astype(np.float64).copy())
    return out


# --- optimizers ------------------------------------------------------------------------------

@pytest.mark.parametrize("lr, b1, b2, eps", [(0.001, 0.9, 0.999, 1e-7), (0.1, 0.8, 0.99, 1e-3)])
def test_adam_matches_keras_formula(lr, b1, b2, eps):
    opt = optimizers.Adam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    got = run_steps(opt)
    m = np.zeros_like(W0)
    v = np.zeros_like(W0)
    w = W0.copy()
    for t, g in enumerate(G, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - alpha * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(got[t - 1], w, rtol=0, atol=1e-6, err_msg=f"step t={t}")
    assert opt.iterations == 3


def test_adam_defaults_are_keras():
    opt = optimizers.get("adam")
    assert isinstance(opt, optimizers.Adam)
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon, opt.amsgrad) == \
        (0.001, 0.9, 0.999, 1e-7, False)


def test_adam_first_step_moves_each_weight_by_about_lr():
    """At t=1 the update is lr * g / (|g| + eps'), i.e. ~lr * sign(g): a known Adam property."""
    got = run_steps(optimizers.Adam(learning_rate=0.01), grads=G[:1])[0]
    g = G[0]
    moved = W0.astype(np.float32).astype(np.float64) - got
    np.testing.assert_allclose(moved[g != 0], 0.01 * np.sign(g[g != 0]), rtol=1e-4)
    assert moved[g == 0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True),
                                                (0.5, True)])
def test_sgd_matches_keras_formula(momentum, nesterov):
    lr = 0.05
    got = run_steps(optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=nesterov))
    w, m = W0.copy(), np.zeros_like(W0)
    for k, g in enumerate(G):
        if momentum == 0:
            w = w - lr * g
        else:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
        np.testing.assert_allclose(got[k], w, rtol=0, atol=1e-6, err_msg=f"step {k + 1}")


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.7, False), (0.0, True),
                                                (0.5, True)])
def test_rmsprop_matches_keras_formula(momentum, centered):
    lr, rho, eps = 0.01, 0.9, 1e-7
    got = run_steps(optimizers.RMSprop(learning_rate=lr, rho=rho, momentum=momentum,
                                       centered=centered))
    w = W0.copy()
    v, mg, m = np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for k, g in enumerate(G):
        v = rho * v + (1 - rho) * g * g
        denominator = v
        if centered:
            mg = rho * mg + (1 - rho) * g
            denominator = v - mg * mg
        step = lr * g / np.sqrt(denominator + eps)
        if momentum:
            m = momentum * m + step
            w = w - m
        else:
            w = w - step
        np.testing.assert_allclose(got[k], w, rtol=0, atol=1e-6, err_msg=f"step {k + 1}")


def test_none_gradients_are_skipped():
    var = Variable(W0.astype(np.float32))
    frozen = Variable(np.ones(3, np.float32))
    opt = optimizers.SGD(learning_rate=0.1)
    opt.apply_gradients([(G[0].astype(np.float32), var), (None, frozen)])
    np.testing.assert_allclose(var.numpy(), W0 - 0.1 * G[0], atol=1e-6)
    np.testing.assert_array_equal(frozen.numpy(), np.ones(3))


def test_optimizer_rejects_a_gradient_of_the_wrong_shape():
    var = Variable(W0.astype(np.float32))
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*shape \(2, 3\)"):
        optimizers.SGD().apply_gradients([(np.zeros((3, 2), np.float32), var)])


# --- initializers ------------------------------------------------------------------------------

@pytest.mark.parametrize("fan_in, fan_out", [(784, 128), (128, 10), (300, 300)])
def test_glorot_uniform_limits(fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    raw = initializers.GlorotUniform(seed=1)((fan_in, fan_out))
    assert raw.shape == (fan_in, fan_out) and raw.dtype == np.float32
    w = raw.astype(np.float64)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.98 * limit  # the samples fill the whole interval
    n = w.size
    # U(-L, L): mean 0, variance L^2 / 3; allow 5 standard errors
    assert abs(w.mean()) < 5 * limit / math.sqrt(3 * n)
    var_se = limit ** 2 * math.sqrt(4 / 45 / n)  # sd of the sample variance of U(-L, L)
    assert abs(w.var() - limit ** 2 / 3) < 5 * var_se


def test_dense_uses_glorot_uniform_and_zero_bias():
    tf.keras.utils.set_random_seed(0)
    layer = layers.Dense(128)
    layer.build((None, 784))
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    limit = math.sqrt(6.0 / (784 + 128))
    assert limit == pytest.approx(0.0811107, abs=1e-7)  # docs/keras_facts.md, 'Initializers'
    assert kernel.dtype == np.float32 and bias.dtype == np.float32
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    np.testing.assert_array_equal(bias, np.zeros(128))


def test_seeded_initializer_repeats():
    a = initializers.GlorotUniform(seed=5)((20, 30))
    b = initializers.GlorotUniform(seed=5)((20, 30))
    np.testing.assert_array_equal(a, b)


# --- dropout -------------------------------------------------------------------------------------

def test_dropout_is_identity_outside_training():
    x = np.random.default_rng(0).normal(size=(64, 50)).astype(np.float32)
    layer = layers.Dropout(0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    model = tf.keras.Sequential([layers.Input(shape=(50,)), layers.Dropout(0.5)])
    np.testing.assert_array_equal(model(x).numpy(), x)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_in_training_is_inverted_and_drops_rate(rate):
    x = np.random.default_rng(1).uniform(0.5, 2.0, size=(200, 500)).astype(np.float32)
    out = layers.Dropout(rate, seed=0)(x, training=True).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-6)
    dropped = 1 - kept.mean()
    assert abs(dropped - rate) < 0.01  # 100,000 draws: standard error < 0.0016
    assert out.dtype == np.float32


def test_dropout_rate_zero_and_masks_change_between_calls():
    x = np.ones((10, 100), np.float32)
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(), x)
    layer = layers.Dropout(0.5, seed=3)
    first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert not np.array_equal(first, second)


# --- the epoch loss is the batch-size-weighted mean ----------------------------------------------

class RecordingLoss(losses.SparseCategoricalCrossentropy):
    """Records (batch size, loss value) of every batch the model trains on."""

    def __init__(self):
        super().__init__(from_logits=True)
        self.seen = []

    def __call__(self, y_true, y_pred, sample_weight=None):
        value = super().__call__(y_true, y_pred, sample_weight)
        self.seen.append((len(y_true), float(value.numpy())))
        return value


class BatchLogs(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


def test_epoch_loss_is_batch_size_weighted():
    x = np.linspace(-1, 1, 30).reshape(10, 3).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
    model = tf.keras.Sequential([layers.Input(shape=(3,)), layers.Dense(3)])
    model.set_weights([np.array([[3.0, -2.0, 0.5], [1.0, 0.0, -4.0], [-2.0, 2.5, 1.0]]),
                       np.array([0.5, -0.5, 0.0])])
    loss = RecordingLoss()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss=loss)
    recorder = BatchLogs()
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
                        callbacks=[recorder])
    sizes = [n for n, _ in loss.seen]
    values = np.array([v for _, v in loss.seen])
    assert sizes == [4, 4, 2]
    # the weights did not move, so each batch loss is also the loss of that slice now
    for (start, stop), value in zip([(0, 4), (4, 8), (8, 10)], values):
        logits = x[start:stop].astype(np.float64) @ model.get_weights()[0] + model.get_weights()[1]
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        assert value == pytest.approx(-logp[np.arange(stop - start), y[start:stop]].mean(),
                                      rel=1e-5)
    weighted = float((values * np.array(sizes)).sum() / 10)
    plain = float(values.mean())
    assert abs(weighted - plain) > 0.05  # the data tells the two apart
    assert history.history["loss"][0] == pytest.approx(weighted, rel=1e-6)
    assert history.history["loss"][0] != pytest.approx(plain, rel=1e-3)
    # the running value logged after each batch is the weighted mean so far
    for k, logs in enumerate(recorder.logs):
        n = np.array(sizes[:k + 1])
        assert logs["loss"] == pytest.approx(float((values[:k + 1] * n).sum() / n.sum()),
                                             rel=1e-6)
    # evaluate averages the same way
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(weighted, rel=1e-5)


# --- cross-entropy values -------------------------------------------------------------------------

LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [-1.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
LABELS = np.array([0, 2, 2, 1])


def hand_log_softmax(z):
    z = np.asarray(z, np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_sparse_cce_from_logits_by_hand():
    per_sample = -hand_log_softmax(LOGITS)[np.arange(4), LABELS]
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    value = loss(LABELS, LOGITS.astype(np.float32))
    assert value.dtype == np.float32 and value.shape == ()
    assert float(value) == pytest.approx(per_sample.mean(), rel=1e-6)
    # labels of shape (N, 1) and float labels are accepted
    assert float(loss(LABELS[:, None], LOGITS.astype(np.float32))) == pytest.approx(
        per_sample.mean(), rel=1e-6)
    assert float(loss(LABELS.astype(np.float64), LOGITS.astype(np.float32))) == pytest.approx(
        per_sample.mean(), rel=1e-6)


def test_sparse_cce_from_logits_is_stable_for_large_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], np.float32)
    value = losses.SparseCategoricalCrossentropy(from_logits=True)([0, 0], z)
    assert float(value) == pytest.approx((0.0 + 1000.0) / 2, rel=1e-6)


def test_sparse_cce_from_probabilities_by_hand():
    e = np.exp(LOGITS)
    p = e / e.sum(1, keepdims=True)
    p[3] = [0.0, 1.0, 0.0]  # exact 0 and 1: clipped to [1e-7, 1 - 1e-7]
    picked = np.clip(p[np.arange(4), LABELS], 1e-7, 1 - 1e-7)
    per_sample = -np.log(picked)
    loss = losses.SparseCategoricalCrossentropy(from_logits=False)
    assert float(loss(LABELS, p.astype(np.float32))) == pytest.approx(per_sample.mean(),
                                                                       rel=1e-5)
    p0 = p.copy()
    p0[3] = [1.0, 0.0, 0.0]  # the label's probability is 0: clipped to 1e-7, not inf
    per_sample0 = per_sample.copy()
    per_sample0[3] = -np.log(1e-7)
    assert float(loss(LABELS, p0.astype(np.float32))) == pytest.approx(per_sample0.mean(),
                                                                        rel=1e-4)


def test_sparse_cce_renormalizes_unnormalized_probabilities_and_warns():
    q = np.array([[0.2, 0.2, 0.4], [0.1, 0.6, 0.1]])  # rows sum to 0.8
    per_sample = -np.log(np.array([0.2 / 0.8, 0.6 / 0.8]))
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.warns(UserWarning, match="from_logits=True"):
        value = loss([0, 1], q.astype(np.float32))
    assert float(value) == pytest.approx(per_sample.mean(), rel=1e-5)


def test_logits_given_as_probabilities_warn_once():
    loss = losses.SparseCategoricalCrossentropy()  # from_logits=False
    with pytest.warns(UserWarning, match="does not look like probabilities") as record:
        loss(LABELS, LOGITS.astype(np.float32))
        loss(LABELS, LOGITS.astype(np.float32))
    assert len([w for w in record if "probabilities" in str(w.message)]) == 1


def test_accuracy_is_identical_for_logits_and_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 10)).astype(np.float32) * 3
    labels = rng.integers(0, 10, 200)
    probs = tf.nn.softmax(logits).numpy()
    by_hand = float(np.mean(logits.argmax(1) == labels))
    for y_pred in (logits, probs):
        metric = metrics.SparseCategoricalAccuracy()
        metric.update_state(labels, y_pred)
        assert float(metric.result()) == pytest.approx(by_hand, abs=1e-7)
    # the same through compile(metrics=['accuracy']) and evaluate
    x = rng.normal(size=(200, 5)).astype(np.float32)
    w = rng.normal(size=(5, 10)).astype(np.float32)
    results = []
    for last, from_logits in ((None, True), ("softmax", False)):
        model = tf.keras.Sequential([layers.Input(shape=(5,)), layers.Dense(10, activation=last)])
        model.set_weights([w, np.zeros(10, np.float32)])
        model.compile("sgd", losses.SparseCategoricalCrossentropy(from_logits=from_logits),
                      metrics=["accuracy"])
        results.append(model.evaluate(x, labels, verbose=0))
    assert results[0][1] == results[1][1]
    assert results[0][1] == pytest.approx(float(np.mean((x @ w).argmax(1) == labels)))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-4)


# --- reductions ----------------------------------------------------------------------------------

def test_reduction_modes_by_hand():
    per_sample = -hand_log_softmax(LOGITS)[np.arange(4), LABELS]
    w = np.array([1.0, 0.5, 0.0, 2.0])
    z = LOGITS.astype(np.float32)

    def value(reduction, sample_weight=None):
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        return np.asarray(loss(LABELS, z, sample_weight=sample_weight), np.float64)

    assert value("sum_over_batch_size") == pytest.approx(per_sample.mean(), rel=1e-6)
    assert value("mean") == pytest.approx(per_sample.mean(), rel=1e-6)
    assert value("sum") == pytest.approx(per_sample.sum(), rel=1e-6)
    np.testing.assert_allclose(value("none"), per_sample, rtol=1e-6)
    np.testing.assert_allclose(value(None), per_sample, rtol=1e-6)
    # with sample weights: sum_over_batch_size divides by the number of samples
    assert value("sum_over_batch_size", w) == pytest.approx((w * per_sample).sum() / 4, rel=1e-6)
    assert value("sum", w) == pytest.approx((w * per_sample).sum(), rel=1e-6)
    assert value("mean_with_sample_weight", w) == pytest.approx(
        (w * per_sample).sum() / w.sum(), rel=1e-6)
    np.testing.assert_allclose(value("none", w), w * per_sample, rtol=1e-6)
    # zero total weight: 0, not NaN (divide_no_nan)
    assert value("mean_with_sample_weight", np.zeros(4)) == 0.0


def test_default_reduction_and_invalid_reduction():
    assert losses.SparseCategoricalCrossentropy().reduction == "sum_over_batch_size"
    with pytest.raises(ValueError, match="reduction.*'average'"):
        losses.SparseCategoricalCrossentropy(reduction="average")


def test_mse_mae_bce_by_hand():
    t = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    p = np.array([[0.1, 0.8], [0.6, 0.9], [0.3, 0.05]])
    assert float(losses.MeanSquaredError()(t, p.astype(np.float32))) == pytest.approx(
        ((p - t) ** 2).mean(), rel=1e-6)
    assert float(losses.MeanAbsoluteError()(t, p.astype(np.float32))) == pytest.approx(
        np.abs(p - t).mean(), rel=1e-6)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert float(losses.BinaryCrossentropy()(t, p.astype(np.float32))) == pytest.approx(bce,
                                                                                        rel=1e-5)
    z = np.log(p / (1 - p))
    assert float(losses.BinaryCrossentropy(from_logits=True)(t, z.astype(np.float32))) == \
        pytest.approx(bce, rel=1e-5)


# --- the softmax + from_logits=True warning (a user report) ----------------------------------

@pytest.mark.parametrize("last", [
    lambda: layers.Dense(10, activation="softmax"),
    lambda: layers.Softmax(),
    lambda: layers.Activation("softmax"),
], ids=["Dense_softmax", "Softmax", "Activation_softmax"])
def test_softmax_model_with_from_logits_warns_once(last):
    model = tf.keras.Sequential([layers.Input(shape=(4,)), layers.Dense(10), last()])
    with pytest.warns(UserWarning, match="from_logits=True.*softmax") as record:
        model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len([w for w in record if "from_logits" in str(w.message)]) == 1
    x = np.random.default_rng(0).normal(size=(16, 4))
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        model.fit(x, np.arange(16) % 10, epochs=2, verbose=0)
        model.evaluate(x, np.arange(16) % 10, verbose=0)
    assert not [w for w in later if "from_logits" in str(w.message)]


def test_no_warning_when_from_logits_matches_the_model():
    x = np.random.default_rng(0).normal(size=(16, 4))
    cases = [(None, True), ("softmax", False)]
    for activation, from_logits in cases:
        model = tf.keras.Sequential([layers.Input(shape=(4,)),
                                     layers.Dense(10, activation=activation)])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=from_logits))
            model.fit(x, np.arange(16) % 10, epochs=1, verbose=0)
