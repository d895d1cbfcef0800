"""tf.math: TensorFlow's dtypes for Python numbers, comparisons, reductions, gradients."""
import numpy as np
import pytest

import tomei as tf
from tomei.engine.gradcheck import check_gradients


def test_python_numbers_keep_tensorflow_dtypes():
    assert str(tf.math.add(1, 2)) == "tf.Tensor(3, shape=(), dtype=int32)"
    assert str(tf.math.add([1, 2], [3, 4])) == "tf.Tensor([4 6], shape=(2,), dtype=int32)"
    assert str(tf.math.square(5)) == "tf.Tensor(25, shape=(), dtype=int32)"
    assert str(tf.math.reduce_sum([1, 2, 3])) == "tf.Tensor(6, shape=(), dtype=int32)"
    assert str(tf.math.square(2) + tf.math.square(3)) == "tf.Tensor(13, shape=(), dtype=int32)"
    assert tf.math.multiply(np.ones([3, 3]), 42).dtype == np.float64  # arrays keep theirs
    assert tf.math.reduce_prod((28, 28)).numpy() == 784


def test_comparisons_and_logic_are_bool_without_gradient():
    loss = tf.constant([0.1, 0.5, 0.9])
    assert tf.math.less(loss, 0.5).numpy().tolist() == [True, False, False]
    assert tf.math.greater_equal(loss, 0.5).numpy().tolist() == [False, True, True]
    assert tf.math.logical_not(tf.math.equal(loss, 0.5)).numpy().tolist() == [True, False, True]
    assert tf.math.argmax([[1, 5], [7, 2]]).numpy().tolist() == [1, 0]  # TF's default axis 0
    assert int(tf.math.count_nonzero([0, 3, 0, 1])) == 2
    assert tf.math.round([0.5, 1.5, 2.5]).numpy().tolist() == [0.0, 2.0, 2.0]


def test_variance_and_std_match_numpy_and_differentiate():
    x = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_allclose(tf.math.reduce_variance(x, axis=1).numpy(), x.var(axis=1))
    np.testing.assert_allclose(tf.math.reduce_std(x).numpy(), x.std())
    check_gradients(lambda t: tf.math.reduce_std(t, axis=0), x)
    check_gradients(tf.math.log_sigmoid, x)
    check_gradients(tf.math.reciprocal, x + 3.0)


def test_errors():
    with pytest.raises(ValueError, match="clip_value_min"):
        tf.clip_by_value([1.0], clip_value_min=2.0, clip_value_max=1.0)


@pytest.mark.parametrize("fn", ["argmax", "argmin", "reduce_all", "reduce_any", "count_nonzero"])
def test_an_axis_out_of_range_is_named(fn):
    with pytest.raises(ValueError, match=rf"tf.math.{fn}: axis=3 is out of range for a "
                                         r"tensor of rank 2"):
        getattr(tf.math, fn)(np.ones((2, 3), bool if fn.startswith("reduce") else float), axis=3)


def test_comparisons_name_both_shapes_and_take_x_y_by_name(tensorflow):
    with pytest.raises(ValueError, match=r"tf.math.less: shapes \(3,\) and \(2,\)"):
        tf.math.less([1, 2, 3], [1, 2])
    np.testing.assert_array_equal(tf.math.less(x=[1, 2, 3], y=2).numpy(),
                                  tensorflow.math.less(x=[1, 2, 3], y=2).numpy())
    assert tf.math.logical_not(x=[True]).numpy().tolist() == [False]


def test_more_math_matches_tensorflow_and_is_differentiable(tensorflow):
    x = np.array([[0.5, 1.5, 3.0], [0.2, 800.0, 2.0]], np.float32)
    for name, args in [("log1p", (x,)), ("erf", (x / 100,)), ("rsqrt", (x,)),
                       ("cumsum", (x, 1, True, True)), ("reduce_logsumexp", (x, 1)),
                       ("reduce_logsumexp", (x,)), ("l2_normalize", (x, 0))]:
        ours, theirs = getattr(tf.math, name)(*args), getattr(tensorflow.math, name)(*args)
        assert ours.dtype == theirs.dtype.as_numpy_dtype, name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6, err_msg=name)
    x64 = np.array([[0.5, 1.5, 3.0], [0.2, 1.0, 2.0]])
    for fn in (lambda t: tf.math.reduce_logsumexp(t, axis=1), tf.math.rsqrt,
               lambda t: tf.math.l2_normalize(t, axis=1)):
        check_gradients(fn, x64)


def test_sin_cos_match_tensorflow_at_both_levels(tensorflow):
    x = np.array([[0.0, 0.5, -3.0], [1e-3, 2.0, 100.0]], np.float32)
    for name in ("sin", "cos"):
        for ours, theirs in [(getattr(tf.math, name), getattr(tensorflow.math, name)),
                             (getattr(tf, name), getattr(tensorflow, name))]:
            assert ours(x).dtype == theirs(x).dtype.as_numpy_dtype, name
            np.testing.assert_allclose(ours(x=x).numpy(), theirs(x=x).numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=name)
    x64 = x.astype(np.float64)
    with tf.GradientTape() as tape:
        t = tf.Variable(x64)
        y = tf.reduce_sum(tf.sin(t) * tf.cos(t))
    np.testing.assert_allclose(tape.gradient(y, t).numpy(), np.cos(2 * x64), rtol=1e-12)


def test_sort_and_argsort_match_tensorflow_and_are_stable(tensorflow):
    x = np.array([[3, 1, 2, 1, 3], [0, -2, 5, 5, 0]], np.float32)
    for direction in ("ASCENDING", "DESCENDING"):
        for axis in (-1, 0):
            ours = tf.sort(x, axis=axis, direction=direction)
            theirs = tensorflow.sort(x, axis=axis, direction=direction)
            assert ours.dtype == theirs.dtype.as_numpy_dtype
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            ours = tf.argsort(x, axis=axis, direction=direction, stable=True)
            theirs = tensorflow.argsort(x, axis=axis, direction=direction, stable=True)
            assert ours.dtype == theirs.dtype.as_numpy_dtype == np.int32
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ints = np.array([5, -1, 3], np.int32)
    assert tf.sort(ints).dtype == np.int32 and tf.sort(ints).numpy().tolist() == [-1, 3, 5]
    check_gradients(lambda t: tf.sort(t, axis=0, direction="DESCENDING"),
                    np.random.default_rng(1).normal(size=(4, 3)))
    with pytest.raises(ValueError, match="argument 'direction' must be 'ASCENDING' or"):
        tf.sort(x, direction="desc")
    with pytest.raises(TypeError, match="tf.argsort: argument 'values'"):
        tf.argsort(np.array([True, False]))


def test_top_k_matches_tensorflow_and_sends_gradients_to_the_chosen(tensorflow):
    x = np.array([[3, 1, 2, 1, 3], [0, -2, 5, 5, 0]], np.float32)
    for k in (0, 1, 3, 5):
        ours, theirs = tf.math.top_k(x, k=k), tensorflow.math.top_k(x, k=k)
        assert ours._fields == theirs._fields == ("values", "indices")
        assert ours.indices.dtype == theirs.indices.dtype.as_numpy_dtype
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert tf.nn.top_k(x, 2, index_type="int64").indices.dtype == np.int64
    check_gradients(lambda t: tf.math.top_k(t, k=2).values,
                    np.random.default_rng(2).normal(size=(3, 5)))
    with pytest.raises(ValueError, match=r"argument 'k' must be in \[0, 5\]"):
        tf.math.top_k(x, k=6)


def test_unique_matches_tensorflow(tensorflow):
    for x in (np.array([4, 2, 4, 7, 2, 9], np.int64), np.array([1.5, -1.0, 1.5], np.float32),
              np.array([], np.int32)):
        ours, theirs = tf.unique(x), tensorflow.unique(x)
        assert ours._fields == theirs._fields == ("y", "idx")
        assert ours.y.dtype == theirs.y.dtype.as_numpy_dtype
        assert ours.idx.dtype == theirs.idx.dtype.as_numpy_dtype
        np.testing.assert_array_equal(ours.y.numpy(), theirs.y.numpy())
        np.testing.assert_array_equal(ours.idx.numpy(), theirs.idx.numpy())
    assert tf.unique([3, 3], out_idx="int64").idx.dtype == np.int64
    with pytest.raises(ValueError, match=r"argument 'x' must be 1-D; received shape \(2, 2\)"):
        tf.unique(np.ones((2, 2)))
