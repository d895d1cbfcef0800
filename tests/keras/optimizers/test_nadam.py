"""Nadam (Dozat, 2016) in Keras 3's form, against its formula written out here."""
import numpy as np

import tomei as tf
from tomei.keras import optimizers


def test_nadam_three_steps():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    g = np.array([0.5, -1.0], np.float32)
    var, m, v, product = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2), 1.0

    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** t)
    for t in range(1, 4):
        product *= mu(t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = mu(t + 1) * m / (1 - product * mu(t + 1)) + (1 - mu(t)) * g / (1 - product)
        var = var - lr * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps)
    opt, w = optimizers.Nadam(lr), tf.Variable(np.array([1.0, 2.0], np.float32))
    for _ in range(3):
        opt.apply_gradients([(g, w)])
    np.testing.assert_allclose(w.numpy(), var, rtol=1e-5)
    assert len(opt.variables) == 2 + 2 + 1  # iteration, lr, two slots, the product last
