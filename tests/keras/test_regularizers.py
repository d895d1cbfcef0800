"""Regularizers (L1, L2, L1L2) and constraints (MaxNorm, NonNeg, UnitNorm), and how training
uses them: the loss fit minimises is the data loss plus every penalty, computed as Keras 3
does (activity penalties divided by the batch size)."""
import numpy as np
import pytest

import tomei
from tomei.keras import Sequential, constraints, layers, losses, optimizers, regularizers

W = np.array([[1.0, -2.0], [0.5, 0.0], [-3.0, 4.0]], np.float32)


@pytest.mark.parametrize("reg, expected", [
    (regularizers.L1(), 0.01 * 10.5),
    (regularizers.L2(), 0.01 * 30.25),
    (regularizers.L1(0.3), 0.3 * 10.5),
    (regularizers.L2(l2=0.2), 0.2 * 30.25),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * 10.5 + 0.2 * 30.25),
    (regularizers.L1L2(), 0.0),
    (regularizers.get("l2"), 0.01 * 30.25),
    (regularizers.get("l1_l2"), 0.0),
])
def test_penalty_values(reg, expected):
    np.testing.assert_allclose(float(reg(tomei.constant(W))), expected, rtol=1e-6)


def test_penalty_gradients():
    w = tomei.Variable(W)
    with tomei.GradientTape() as tape:
        p = regularizers.L1L2(l1=0.1, l2=0.2)(w)
    np.testing.assert_allclose(tape.gradient(p, w).numpy(), 0.1 * np.sign(W) + 0.4 * W,
                               rtol=1e-6)


def test_config_round_trip_and_unknown_names():
    for reg in (regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.2)):
        again = type(reg).from_config(reg.get_config())
        assert (again.l1, again.l2) == (reg.l1, reg.l2)
    assert regularizers.L2(0.2).get_config() == {"l2": 0.2}
    with pytest.raises(ValueError, match="Unknown regularizer"):
        regularizers.get("l3")


def _model(**dense_kwargs):
    tomei.keras.utils.set_random_seed(0)
    m = Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh", **dense_kwargs),
                    layers.Dense(2)])
    m.compile(optimizers.SGD(0.1), "mse")
    return m


def test_training_loss_is_data_loss_plus_penalties_exactly():
    x = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(8, 2)).astype(np.float32)
    m = _model(kernel_regularizer=regularizers.L2(0.05), bias_regularizer=regularizers.L1(0.1),
               activity_regularizer=regularizers.L1(0.2))
    m.layers[0].bias.assign(np.array([0.5, -0.5, 1.0, 0.0], np.float32))
    kernel, bias = m.layers[0].kernel.numpy(), m.layers[0].bias.numpy()
    hidden = np.tanh(x @ kernel + bias)
    data_loss = np.mean((hidden @ m.layers[1].kernel.numpy() + m.layers[1].bias.numpy() - y) ** 2)
    penalty = (0.05 * np.sum(kernel ** 2) + 0.1 * np.sum(np.abs(bias))
               + 0.2 * np.sum(np.abs(hidden)) / len(x))  # activity: divided by the batch size
    np.testing.assert_allclose(m.test_on_batch(x, y), data_loss + penalty, rtol=1e-5)
    np.testing.assert_allclose(m.train_on_batch(x, y), data_loss + penalty, rtol=1e-5)
    assert len(m.losses) == 3


def test_regularizer_pulls_weights_towards_zero():
    x = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(64, 2)).astype(np.float32)
    plain, penalised = _model(), _model(kernel_regularizer=regularizers.L2(1.0))
    plain.fit(x, y, epochs=5, verbose=0, shuffle=False)
    penalised.fit(x, y, epochs=5, verbose=0, shuffle=False)
    assert np.sum(penalised.layers[0].kernel.numpy() ** 2) < \
        0.5 * np.sum(plain.layers[0].kernel.numpy() ** 2)


def test_constraints_on_arrays():
    m = constraints.MaxNorm(max_value=2.0)(W)
    norms = np.sqrt((m ** 2).sum(axis=0))
    np.testing.assert_allclose(norms, [2.0, 2.0], rtol=1e-6)  # both columns had norm > 2
    small = W * 0.1
    np.testing.assert_allclose(constraints.MaxNorm(2.0)(small), small, rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))
    np.testing.assert_allclose(np.sqrt((constraints.UnitNorm()(W) ** 2).sum(axis=0)), 1.0,
                               rtol=1e-6)
    np.testing.assert_allclose(np.sqrt((constraints.UnitNorm(axis=1)(W) ** 2).sum(axis=1)),
                               [1, 1, 1], rtol=1e-6)


@pytest.mark.parametrize("constraint, check", [
    (constraints.NonNeg(), lambda k: (k >= 0).all()),
    (constraints.MaxNorm(0.5), lambda k: (np.sqrt((k ** 2).sum(0)) <= 0.5 + 1e-6).all()),
    (constraints.UnitNorm(), lambda k: np.allclose(np.sqrt((k ** 2).sum(0)), 1, atol=1e-5)),
])
def test_constraints_hold_after_every_update(constraint, check):
    m = _model(kernel_constraint=constraint, bias_constraint=constraints.get("non_neg"))
    x = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(16, 2)).astype(np.float32) * 5
    for _ in range(3):
        m.train_on_batch(x, y)
        assert check(m.layers[0].kernel.numpy())
        assert (m.layers[0].bias.numpy() >= 0).all()


def test_regularizers_and_constraints_serialize_in_the_layer_config():
    layer = layers.Dense(2, kernel_regularizer="l2", kernel_constraint="max_norm")
    cfg = layer.get_config()
    assert cfg["kernel_regularizer"]["class_name"] == "L2"
    assert cfg["kernel_constraint"]["class_name"] == "MaxNorm"
    again = layers.Dense.from_config(cfg)
    assert isinstance(again.kernel_regularizer, regularizers.L2)
    assert isinstance(again.kernel_constraint, constraints.MaxNorm)


def test_losses_module_is_untouched_by_penalties():
    # the compiled loss function itself stays the plain data loss
    assert float(losses.MeanSquaredError()(np.zeros((2, 2)), np.ones((2, 2)))) == 1.0
