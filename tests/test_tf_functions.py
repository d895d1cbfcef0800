"""tf.constant, tf.zeros, tf.ones, tf.shape, tf.argmax and tf.random."""
import numpy as np

import tomei as tf


def test_constant_dtypes_and_shape():
    assert tf.constant(1.5).dtype == np.float32
    assert tf.constant([1, 2]).dtype.kind == "i"
    c = tf.constant(2.0, shape=(2, 3))
    assert c.shape == (2, 3) and np.all(c.numpy() == 2.0)


def test_zeros_ones_shape():
    z = tf.zeros((2, 3))
    assert z.dtype == np.float32 and np.all(z.numpy() == 0)
    assert tf.ones(tf.shape(z), dtype="int32").numpy().tolist() == [[1, 1, 1], [1, 1, 1]]
    s = tf.shape(np.zeros((4, 5)))
    assert s.dtype == np.int32 and s.numpy().tolist() == [4, 5]


def test_argmax_along_an_axis_and_output_type():
    x = np.array([[1, 9, 3], [7, 2, 8]])
    out = tf.argmax(x, axis=1)
    assert out.numpy().tolist() == [1, 2] and out.dtype == np.int64
    assert tf.argmax(x, axis=0, output_type="int32").numpy().tolist() == [1, 0, 1]


def test_random_is_seedable():
    a = tf.random.normal((3,), seed=1).numpy()
    b = tf.random.normal((3,), seed=1).numpy()
    np.testing.assert_array_equal(a, b)
    u = tf.random.uniform((1000,), minval=2.0, maxval=3.0, seed=0).numpy()
    assert u.dtype == np.float32 and u.min() >= 2.0 and u.max() < 3.0
