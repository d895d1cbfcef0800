"""SGD: plain, momentum and Nesterov steps against the formulas, by hand."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import optimizers

G = np.array([0.5, -1.0], np.float32)


def _run(opt, steps=2):
    v = tf.Variable(np.array([1.0, 2.0], np.float32))
    for _ in range(steps):
        opt.apply_gradients([(G, v)])
    return v.numpy()


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_two_steps(momentum, nesterov):
    lr, var, m = 0.1, np.array([1.0, 2.0]), np.zeros(2)
    for _ in range(2):
        m = momentum * m - lr * G
        var = var + (momentum * m - lr * G if nesterov else m)
    np.testing.assert_allclose(_run(optimizers.SGD(lr, momentum=momentum, nesterov=nesterov)),
                               var, rtol=1e-6)


def test_defaults_and_errors():
    opt = optimizers.SGD()
    assert (opt.learning_rate, opt.momentum, opt.nesterov) == (0.01, 0.0, False)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(learning_rate=-1.0)


@pytest.mark.parametrize("momentum", [1.5, -0.1, "0.9", True])
def test_momentum_outside_0_1_is_refused(momentum):
    with pytest.raises(ValueError, match=r"momentum in \[0, 1\].*received momentum="):
        optimizers.SGD(momentum=momentum)
