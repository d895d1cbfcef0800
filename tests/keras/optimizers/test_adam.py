"""Adam and AdamW: steps against the formulas (Kingma & Ba, 2015; decoupled weight decay,
Loshchilov & Hutter, 2019), written out here in NumPy."""
import numpy as np

import tomei as tf
from tomei.keras import optimizers

G = np.array([0.5, -1.0, 2.0], np.float32)


def _adam(lr, steps, b1=0.9, b2=0.999, eps=1e-7, decay=0.0):
    var, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t in range(1, steps + 1):
        var = var - var * decay * lr
        m = m + (G - m) * (1 - b1)
        v = v + (G * G - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        var = var - alpha * m / (np.sqrt(v) + eps)
    return var


def _run(opt, steps):
    var = tf.Variable(np.array([1.0, -2.0, 0.5], np.float32))
    for _ in range(steps):
        opt.apply_gradients([(G, var)])
    return var.numpy()


def test_adam_three_steps():
    np.testing.assert_allclose(_run(optimizers.Adam(0.01), 3), _adam(0.01, 3), rtol=1e-5)


def test_adamw_decays_the_weights_before_the_adam_step():
    np.testing.assert_allclose(_run(optimizers.AdamW(0.01, weight_decay=0.1), 3),
                               _adam(0.01, 3, decay=0.1), rtol=1e-5)


def test_defaults():
    opt = optimizers.Adam()
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.get("adam").name == "adam"
