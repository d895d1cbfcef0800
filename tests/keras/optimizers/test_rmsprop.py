"""RMSprop (plain, centered, with momentum) and Adagrad against their formulas."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import optimizers

G = np.array([0.5, -1.0], np.float32)


def _run(opt, steps=3):
    var = tf.Variable(np.array([1.0, 2.0], np.float32))
    for _ in range(steps):
        opt.apply_gradients([(G, var)])
    return var.numpy()


@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.0), (False, 0.5)])
def test_rmsprop_three_steps(centered, momentum):
    lr, rho, eps = 0.01, 0.9, 1e-7
    var, v, mean_g, m = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2), np.zeros(2)
    for _ in range(3):
        v = rho * v + (1 - rho) * G * G
        if centered:
            mean_g = rho * mean_g + (1 - rho) * G
        step = lr * G / np.sqrt(v - mean_g ** 2 + eps)
        m = momentum * m + step
        var = var - m
    opt = optimizers.RMSprop(lr, rho=rho, momentum=momentum, centered=centered)
    np.testing.assert_allclose(_run(opt), var, rtol=1e-5)


def test_adagrad_three_steps():
    lr, eps = 0.1, 1e-7
    var, acc = np.array([1.0, 2.0]), np.full(2, 0.1)
    for _ in range(3):
        acc = acc + G * G
        var = var - lr * G / np.sqrt(acc + eps)
    np.testing.assert_allclose(_run(optimizers.Adagrad(lr)), var, rtol=1e-5)
