"""Adamax and Nadam (Keras 3 update forms), names, configs, weight decay, and the same steps
whether the weights share one buffer (Model) or not (plain Variables)."""
import numpy as np
import pytest

import tomei
from tomei.keras import Input, Sequential, layers, optimizers

G = [np.array([0.5, -1.0, 2.0], np.float32), np.array([-0.3, 0.2, 0.0], np.float32),
     np.array([1.0, 1.0, -4.0], np.float32)]
W0 = np.array([1.0, 2.0, -1.0], np.float32)


def _run(opt, grads=G):
    var = tomei.Variable(W0.copy())
    for g in grads:
        opt.apply_gradients([(g, var)])
    return var.numpy()


def _adamax_reference(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    w, m, u = W0.astype(np.float64), np.zeros(3), np.zeros(3)
    for t, g in enumerate(G, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1 ** t) * (u + eps))
    return w


def _nadam_reference(lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, product = W0.astype(np.float64), np.zeros(3), np.zeros(3), 1.0
    mu = [b1 * (1 - 0.5 * 0.96 ** t) for t in range(len(G) + 2)]
    for t, g in enumerate(G, start=1):
        product *= mu[t]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu[t + 1] * m / (1 - product * mu[t + 1]) + (1 - mu[t]) * g / (1 - product)
        w = w - lr * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


@pytest.mark.parametrize("make, reference", [
    (lambda: optimizers.Adamax(), _adamax_reference),
    (lambda: optimizers.Adamax(0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-3),
     lambda: _adamax_reference(0.1, 0.8, 0.9, 1e-3)),
    (lambda: optimizers.Nadam(), _nadam_reference),
    (lambda: optimizers.Nadam(0.1, beta_1=0.8, beta_2=0.9, epsilon=1e-3),
     lambda: _nadam_reference(0.1, 0.8, 0.9, 1e-3)),
])
def test_update_rules_against_a_float64_reference(make, reference):
    np.testing.assert_allclose(_run(make()), reference(), rtol=1e-5, atol=1e-7)


def test_defaults_names_and_registry():
    for name, cls in (("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam)):
        opt = optimizers.get(name)
        assert isinstance(opt, cls) and opt.name == name
        assert optimizers.get(name.upper()).__class__ is cls
        cfg = opt.get_config()
        assert (cfg["learning_rate"], cfg["beta_1"], cfg["beta_2"], cfg["epsilon"]) == \
            (0.001, 0.9, 0.999, 1e-7)
        again = cls.from_config(cfg)
        assert again.get_config() == cfg
    assert optimizers.Adamax.slot_names == ("momentum", "norm")


def test_nadam_variables_end_with_the_momentum_product():
    opt = optimizers.Nadam()
    _run(opt)
    variables = opt.variables
    assert len(variables) == 2 + 2 + 1  # iteration, learning rate, m, v, product
    mu = [0.9 * (1 - 0.5 * 0.96 ** t) for t in (1, 2, 3)]
    np.testing.assert_allclose(variables[-1], np.prod(mu), rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam"])
def test_model_buffer_path_equals_per_variable_path(name):
    """Model packs its weights into one buffer and steps once; plain Variables step one by one.
    Both must give the same numbers (Nadam's product must advance once per step)."""
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((4,)), layers.Dense(3, activation="tanh"), layers.Dense(2)])
    twin = [tomei.Variable(w) for w in model.get_weights()]
    model.compile(optimizers.get(name), "mse")
    twin_opt = optimizers.get(name)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    for _ in range(3):
        with tomei.GradientTape() as tape:
            h = tomei.nn.tanh(tomei.matmul(x, twin[0]) + twin[1])
            loss = tomei.reduce_mean(tomei.square(tomei.matmul(h, twin[2]) + twin[3] - y))
        twin_opt.apply_gradients(zip(tape.gradient(loss, twin), twin))
        model.train_on_batch(x, y)
    for got, expected in zip(model.get_weights(), twin):
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-7)


def test_weight_decay_is_decoupled_and_applied_before_the_step():
    var = tomei.Variable(np.array([1.0, -2.0], np.float32))
    optimizers.SGD(0.1, weight_decay=0.5).apply_gradients([(np.zeros(2, np.float32), var)])
    np.testing.assert_allclose(var.numpy(), [1.0 * (1 - 0.05), -2.0 * (1 - 0.05)])
    var = tomei.Variable(np.array([1.0], np.float32))
    optimizers.AdamW(0.1, weight_decay=0.5).apply_gradients([(np.zeros(1, np.float32), var)])
    np.testing.assert_allclose(var.numpy(), [0.95])  # zero gradient: only the decay moves it


def test_apply_gradients_skips_none_and_checks_shapes():
    var = tomei.Variable(np.ones(3, np.float32))
    other = tomei.Variable(np.ones(2, np.float32))
    opt = optimizers.Nadam()
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, var)])  # as Keras: all None is an error, not a no-op
    assert opt.iterations == 0
    opt.apply_gradients([(None, var), (np.ones(2, np.float32), other)])  # some None: skipped
    assert opt.iterations == 1 and np.all(var.numpy() == 1) and np.all(other.numpy() < 1)
    with pytest.raises(ValueError, match=r"shape \(2,\); the variable has shape \(3,\)"):
        opt.apply_gradients([(np.ones(2, np.float32), var)])


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_keras2_lr_argument_names_learning_rate(name):
    with pytest.raises(TypeError, match=rf"no argument 'lr'; Keras 3 calls it learning_rate: "
                                        rf"{name}\(learning_rate=0.001\)"):
        getattr(optimizers, name)(lr=0.001)
