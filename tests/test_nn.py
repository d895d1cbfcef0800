"""tf.nn: the three *_with_logits losses against their NumPy formulas, their gradients
(central differences in float64), and their argument handling."""
import numpy as np
import pytest

import tomei as tf
from tomei.engine.gradcheck import check_gradients


def _log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


rng = np.random.default_rng(0)
LOGITS = rng.normal(0, 3, (5, 4))
LABELS = np.array([0, 3, 1, 1, 2])
PROBS = rng.dirichlet(np.ones(4), size=5)


def test_sparse_softmax_cross_entropy_with_logits_values():
    out = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=LABELS, logits=LOGITS)
    expected = -_log_softmax(LOGITS)[np.arange(5), LABELS]
    assert out.shape == (5,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_sparse_softmax_cross_entropy_with_logits_rejects_a_label_out_of_range():
    with pytest.raises(ValueError, match="4"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([0, 4, 1, 1, 2]),
                                                       logits=LOGITS)


def test_softmax_cross_entropy_with_logits_values():
    out = tf.nn.softmax_cross_entropy_with_logits(labels=PROBS, logits=LOGITS)
    np.testing.assert_allclose(out.numpy(), -(PROBS * _log_softmax(LOGITS)).sum(-1), rtol=1e-12)


def test_softmax_cross_entropy_with_logits_on_another_axis():
    out = tf.nn.softmax_cross_entropy_with_logits(labels=PROBS.T, logits=LOGITS.T, axis=0)
    assert out.shape == (5,)
    np.testing.assert_allclose(out.numpy(), -(PROBS * _log_softmax(LOGITS)).sum(-1), rtol=1e-12)


def test_sigmoid_cross_entropy_with_logits_values_and_large_logits():
    z = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
    t = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
    out = tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=z).numpy()
    p = 1 / (1 + np.exp(-z[1:4]))
    np.testing.assert_allclose(out[1:4], -(t[1:4] * np.log(p) + (1 - t[1:4]) * np.log(1 - p)),
                               rtol=1e-12)
    assert out[0] == 0.0 and out[4] == 0.0  # exact, not inf or NaN, far out


@pytest.mark.parametrize("fn, labels", [
    (lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(LABELS, z), None),
    (lambda z: tf.nn.softmax_cross_entropy_with_logits(PROBS, z), None),
    (lambda z: tf.nn.sigmoid_cross_entropy_with_logits(PROBS, z), None),
])
def test_gradients_match_central_differences(fn, labels):
    check_gradients(fn, [LOGITS.copy()])


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("logits", [[1, 2, 3], np.array([[1, 2]], np.int64)])
def test_softmax_refuses_integer_logits_as_tensorflow(fn, logits, tensorflow):
    with pytest.raises(tensorflow.errors.InvalidArgumentError):
        getattr(tensorflow.nn, fn)(logits)
    with pytest.raises(TypeError, match=rf"tf.nn.{fn}: argument 'logits' must hold floats.*"
                                        r"tf.cast\(logits, tf.float32\)"):
        getattr(tf.nn, fn)(logits)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_takes_logits_and_axis_by_name(fn, tensorflow):
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], np.float32)
    ours = getattr(tf.nn, fn)(logits=z, axis=0, name="probs")
    np.testing.assert_allclose(ours.numpy(), getattr(tensorflow.nn, fn)(logits=z, axis=0),
                               rtol=1e-6)


def test_silu_beta_matches_tensorflow_and_is_differentiable(tensorflow):
    x = np.array([-2.0, -0.5, 0.3, 1.5], np.float32)
    np.testing.assert_allclose(tf.nn.silu(x, beta=2.0).numpy(),
                               tensorflow.nn.silu(x, beta=2.0).numpy(), rtol=1e-6)
    check_gradients(lambda t: tf.nn.silu(t, beta=0.5), x.astype(np.float64))


def test_elu_keeps_alpha_as_a_keyword_after_tensorflows_name():
    x = np.array([-1.0, 2.0], np.float32)
    np.testing.assert_allclose(tf.nn.elu(features=x, alpha=0.5).numpy(),
                               [0.5 * (np.exp(-1.0) - 1), 2.0], rtol=1e-6)
    with pytest.raises(TypeError, match="argument 'name' must be a str"):
        tf.nn.elu(x, 0.5)  # TensorFlow's second positional is name, not alpha


def test_more_nn_functions_match_tensorflow_and_are_differentiable(tensorflow):
    x = np.array([[-1.0, 2.5, 7.0], [0.5, -3.0, 4.0]], np.float32)
    b = np.array([0.1, 0.2, 0.3], np.float32)
    for name, args in [("relu6", (x,)), ("l2_loss", (x,)), ("bias_add", (x, b)),
                       ("embedding_lookup", (x, [1, 0, 1])), ("l2_normalize", (x, 1))]:
        ours, theirs = getattr(tf.nn, name)(*args), getattr(tensorflow.nn, name)(*args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)
    for ours, theirs in zip(tf.nn.moments(x, axes=[0]), tensorflow.nn.moments(x, axes=[0])):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    x64 = x.astype(np.float64) + 0.05  # away from relu6's kinks at 0 and 6
    check_gradients(tf.nn.relu6, x64)
    check_gradients(tf.nn.l2_loss, x64)
    check_gradients(lambda t: tf.nn.moments(t, axes=[1])[1], x64)


def test_dropout_scales_kept_values_like_tensorflow(tensorflow):
    x = np.ones((200, 50), np.float32)
    ours = tf.nn.dropout(x, rate=0.2, seed=3).numpy()
    theirs = tensorflow.nn.dropout(x, rate=0.2, seed=3).numpy()
    assert ours.dtype == theirs.dtype == np.float32
    for out in (ours, theirs):  # kept values are 1 / (1 - rate), the rest 0
        assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.8)}
    assert abs((ours == 0).mean() - 0.2) < 0.02
    np.testing.assert_array_equal(ours, tf.nn.dropout(x, 0.2, seed=3).numpy())
    channels = tf.nn.dropout(np.ones((4, 6, 30)), 0.5, noise_shape=[4, 1, 30], seed=1).numpy()
    assert (channels == channels[:, :1, :]).all() and channels.dtype == np.float64
    np.testing.assert_array_equal(tf.nn.dropout(x, 0.0).numpy(), x)
    with tf.GradientTape() as tape:
        v = tf.Variable(np.full((3, 4), 2.0))
        y = tf.reduce_sum(tf.nn.dropout(v, 0.5, seed=7))
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(),
                                  tf.nn.dropout(np.ones((3, 4)), 0.5, seed=7).numpy())


def test_dropout_errors_name_the_argument():
    with pytest.raises(ValueError, match="argument 'rate' must be a float in \\[0, 1\\)"):
        tf.nn.dropout(np.ones(3, np.float32), 1.0)
    with pytest.raises(ValueError, match="argument 'x' must hold floats"):
        tf.nn.dropout(np.ones(3, np.int32), 0.5)
    with pytest.raises(ValueError, match="argument 'noise_shape' must have one entry per"):
        tf.nn.dropout(np.ones((2, 3), np.float32), 0.5, noise_shape=[2, 2])
