"""Adamax (Kingma & Ba, 2015, section 7.1) against its formula, by hand."""
import numpy as np

import tomei as tf
from tomei.keras import optimizers


def test_adamax_three_steps():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    grads = [np.array([0.5, -1.0], np.float32), np.array([-2.0, 0.1], np.float32),
             np.array([0.3, 0.3], np.float32)]
    var, m, u = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate(grads, 1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        var = var - lr * m / ((1 - b1 ** t) * (u + eps))
    opt, v = optimizers.Adamax(lr), tf.Variable(np.array([1.0, 2.0], np.float32))
    for g in grads:
        opt.apply_gradients([(g, v)])
    np.testing.assert_allclose(v.numpy(), var, rtol=1e-5)
    assert optimizers.get("adamax").name == "adamax"
