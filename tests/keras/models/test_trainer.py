"""The *_on_batch calls, sample_weight, class_weight and loss_weights, checked against the
numbers they must produce by hand."""
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
