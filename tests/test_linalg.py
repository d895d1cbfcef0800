"""tf.linalg: products and helpers against NumPy, with gradients where TensorFlow has them."""
import numpy as np
import pytest

import tomei as tf
from tomei.engine.gradcheck import check_gradients


def test_matmul_of_python_lists_is_int32():
    x = tf.linalg.matmul([[1]], [[2, 3]])
    assert str(x) == "tf.Tensor([[2 3]], shape=(1, 2), dtype=int32)"
    assert x.shape == (1, 2) and x.dtype == np.int32


def test_helpers_match_numpy():
    a = np.random.default_rng(1).normal(size=(3, 3))
    np.testing.assert_allclose(tf.linalg.inv(a).numpy(), np.linalg.inv(a))
    np.testing.assert_allclose(tf.linalg.det(a).numpy(), np.linalg.det(a))
    np.testing.assert_allclose(tf.linalg.trace(a).numpy(), np.trace(a))
    np.testing.assert_allclose(tf.linalg.norm(a).numpy(), np.linalg.norm(a))
    np.testing.assert_allclose(tf.linalg.matvec(a, a[0]).numpy(), a @ a[0])
    np.testing.assert_array_equal(tf.linalg.transpose(np.ones((2, 3, 4))).shape, (2, 4, 3))
    np.testing.assert_array_equal(tf.linalg.eye(2).numpy(), np.eye(2))
    np.testing.assert_array_equal(tf.linalg.diag_part(a).numpy(), np.diag(a))


def test_gradients():
    a = np.random.default_rng(2).normal(size=(3, 4))
    check_gradients(lambda t: tf.linalg.trace(t), a[:, :3])
    check_gradients(lambda t: tf.linalg.norm(t, axis=1), a)
    check_gradients(lambda t: tf.linalg.matvec(t, np.ones(4)), a)


def test_inv_refuses_a_gradient_instead_of_returning_none():
    v = tf.Variable(np.eye(2))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.linalg.inv(v))
    with pytest.raises(NotImplementedError, match="no gradient for tf.linalg.inv"):
        tape.gradient(y, v)
