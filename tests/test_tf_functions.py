"""tf.constant, tf.zeros, tf.ones, tf.shape, tf.argmax and tf.random."""
import numpy as np
import pytest

import tomei as tf
from tomei.engine.gradcheck import check_gradients


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


# --- TensorFlow's parameter names (real TensorFlow is the reference) ----------------------
import inspect  # noqa: E402

from tomei.tf_functions import with_tf_names  # noqa: E402

# parameters TensorFlow has that tomei does not take: a call passing them raises TypeError
NOT_TAKEN = {
    "convert_to_tensor": {"dtype_hint"}, "gather": {"validate_indices", "axis", "batch_dims"},
    "matmul": {"transpose_a", "transpose_b", "adjoint_a", "adjoint_b", "a_is_sparse",
               "b_is_sparse", "output_type", "grad_a", "grad_b"},
    "transpose": {"conjugate"}, "zeros": {"layout"}, "ones": {"layout"}, "fill": {"layout"},
    "zeros_like": {"layout"}, "ones_like": {"layout"}, "bias_add": {"data_format"},
    "embedding_lookup": {"max_norm"},
}
NOT_TF = {"device", "function", "log"}  # tf.device's and tf.function's own; tf.log (TF 1)


def _functions(module):
    return [n for n in sorted(dir(module)) if not n.startswith("_")
            and inspect.isfunction(getattr(module, n)) or
            (not n.startswith("_") and callable(getattr(module, n)) and
             hasattr(getattr(module, n), "__signature__"))]


@pytest.mark.parametrize("namespace", ["", "nn", "math"])
def test_every_tf_function_takes_tensorflows_parameter_names(namespace, tensorflow):
    ours = tf if not namespace else getattr(tf, namespace)
    theirs = tensorflow if not namespace else getattr(tensorflow, namespace)
    checked, wrong = 0, []
    for n in _functions(ours):
        if n in NOT_TF or not hasattr(theirs, n) or inspect.isclass(getattr(ours, n)):
            continue
        tf_params = [p for p in inspect.signature(getattr(theirs, n)).parameters
                     if p not in NOT_TAKEN.get(n, ())]
        params = inspect.signature(getattr(ours, n)).parameters.values()
        our_params = [p.name for p in params if p.kind != p.KEYWORD_ONLY]  # tomei's extras
        if our_params != tf_params:
            wrong.append(f"{namespace}.{n}: tomei {our_params}, TensorFlow {tf_params}")
        checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= {"": 60, "nn": 20, "math": 45}[namespace]


def test_tf_names_as_keywords_and_the_positional_forms(tensorflow):
    x = np.array([[1.0, -2.0], [3.0, 4.0]], np.float32)
    pairs = [
        (lambda m: m.nn.softmax(logits=x, axis=0), None),
        (lambda m: m.nn.relu(features=x), None),
        (lambda m: m.nn.leaky_relu(features=x, alpha=0.1), None),
        (lambda m: m.reduce_sum(input_tensor=x, axis=1, keepdims=True), None),
        (lambda m: m.reduce_mean(x, 0, True), None),
        (lambda m: m.cast(x=x, dtype="int32"), None),
        (lambda m: m.math.add(x=x, y=1.0), None),
        (lambda m: m.transpose(a=x, perm=[1, 0]), None),
        (lambda m: m.expand_dims(input=x, axis=0), None),
        (lambda m: m.reshape(tensor=x, shape=[4]), None),
        (lambda m: m.math.equal(x=x, y=3.0), None),
        (lambda m: m.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=x), None),
    ]
    for call, _ in pairs:
        ours, theirs = call(tf), call(tensorflow)
        assert ours.dtype == theirs.dtype.as_numpy_dtype
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_with_tf_names_refuses_names_it_does_not_have():
    with pytest.raises(TypeError, match=r"tf.nn.relu\(features, name=None\).*'x'"):
        tf.nn.relu(x=[1.0])
    with pytest.raises(TypeError, match="argument 'name' must be a str"):
        tf.reduce_sum([1.0], None, False, 3)
    assert tf.reduce_sum([1.0, 2.0], name="total").numpy() == 3.0
    renamed = with_tf_names(lambda a, b=2: a * b, "x y", "tf.example")
    assert str(inspect.signature(renamed)) == "(x, y=2, name=None)"
    assert renamed(3) == 6 and renamed(x=3, y=4) == 12


@pytest.mark.parametrize("args,kwargs", [
    (([0, 2, 1], 3), {}), (([[0, 5], [-1, 2]], 3), {}), (([0, 2], 3), {"axis": 0}),
    (([0, 2], 4), {"on_value": 5, "off_value": -1}), (([1], 2), {"on_value": 2.5}),
    (([0, 1], 2), {"dtype": "int32"}), (([[0, 1]], 3), {"axis": 1}),
])
def test_one_hot_matches_tensorflow(args, kwargs, tensorflow):
    ours, theirs = tf.one_hot(*args, **kwargs), tensorflow.one_hot(*args, **kwargs)
    assert ours.dtype == theirs.dtype.as_numpy_dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_one_hot_refuses_float_indices():
    with pytest.raises(TypeError, match="'indices' must hold integers"):
        tf.one_hot([0.0, 1.0], 2)


@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}), ((1, 5, 0.5), {}), ((5.0,), {}), ((2, 10, 3), {}), ((5, 1, -1), {}),
    ((5,), {"dtype": "float64"}), ((np.int64(4),), {}), ((0, 1, np.float64(0.25)), {}),
])
def test_range_matches_tensorflow(args, kwargs, tensorflow):
    ours, theirs = tf.range(*args, **kwargs), tensorflow.range(*args, **kwargs)
    assert ours.dtype == theirs.dtype.as_numpy_dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("args", [(0, 5, 0), (5, 1), (1, 5, -1)])
def test_range_refuses_what_tensorflow_refuses(args, tensorflow):
    with pytest.raises(tensorflow.errors.InvalidArgumentError):
        tensorflow.range(*args)
    with pytest.raises(ValueError, match="tf.range"):
        tf.range(*args)


def test_like_fill_where_size_rank_match_tensorflow(tensorflow):
    x = [[1, 2, 3], [4, 5, 6]]
    for name, args in [("zeros_like", (x,)), ("ones_like", ([1.5],)), ("fill", ([2, 2], 7)),
                       ("where", ([True, False], [1.0, 2.0], [3.0, 4.0])),
                       ("where", ([[True, False], [False, True]],)), ("size", (x,)),
                       ("rank", (x,)), ("shape", (x,))]:
        ours, theirs = getattr(tf, name)(*args), getattr(tensorflow, name)(*args)
        assert ours.dtype == theirs.dtype.as_numpy_dtype, name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("fn", [tf.ones, tf.zeros])
@pytest.mark.parametrize("bad", ["3", 2.5, [2, "3"], [True]])
def test_a_shape_that_is_not_ints_is_refused(fn, bad):
    with pytest.raises(TypeError, match=rf"tf.{fn.__name__}: argument 'shape' must be an int"):
        fn(bad)


def test_a_negative_size_or_an_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="'shape' must hold sizes >= 0"):
        tf.zeros([2, -1])
    with pytest.raises(TypeError, match=r"tf.ones: argument 'dtype'.*'flaot32'.*float32"):
        tf.ones(2, "flaot32")
    assert tf.ones(tf.shape(np.zeros((2, 3)))).shape == (2, 3)  # an int Tensor is a shape


def test_argmax_defaults_to_axis_0_as_tensorflow(tensorflow):
    x = [[1, 5, 2], [4, 0, 3]]
    np.testing.assert_array_equal(tf.argmax(x).numpy(), tensorflow.argmax(x).numpy())


def test_tile_split_unstack_identity_eye_match_tensorflow(tensorflow):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    cases = [("tile", (x, [2, 1])), ("identity", (x,)), ("eye", (3, 2)),
             ("eye", (2,), {"batch_shape": [2], "dtype": "int32"})]
    for name, args, *kw in cases:
        ours, theirs = getattr(tf, name)(*args, **(kw[0] if kw else {})), \
            getattr(tensorflow, name)(*args, **(kw[0] if kw else {}))
        assert ours.dtype == theirs.dtype.as_numpy_dtype, name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for name, args in [("split", (x, 2, 1)), ("split", (x, [1, -1], 0)), ("unstack", (x, None, 1))]:
        ours, theirs = getattr(tf, name)(*args), getattr(tensorflow, name)(*args)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_split_and_unstack_are_differentiable():
    from tomei.engine.gradcheck import check_gradients
    x = np.random.default_rng(0).normal(size=(2, 6))
    check_gradients(lambda t: tf.split(t, [1, 2, 3], axis=1)[1] * tf.split(t, 3, axis=1)[2], x)
    check_gradients(lambda t: tf.unstack(t, axis=1)[4] * 2.0, x)
    with pytest.raises(ValueError, match="does not split into 4 equal pieces"):
        tf.split(x, 4, axis=1)
    with pytest.raises(ValueError, match=r"sizes \[2, 2\] must be >= 0 and add up to 6"):
        tf.split(x, [2, 2], axis=1)


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "symmetric"])
def test_pad_matches_tensorflow_in_each_mode(tensorflow, mode):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    pads = [[2, 1], [0, 3]]
    ours = tf.pad(x, pads, mode=mode, constant_values=7)
    theirs = tensorflow.pad(x, pads, mode=mode, constant_values=7)
    assert ours.dtype == theirs.dtype.as_numpy_dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ints = tf.pad(tensor=np.arange(3), paddings=tf.constant([[1, 1]]), constant_values=-1)
    np.testing.assert_array_equal(ints.numpy(), tensorflow.pad(np.arange(3), [[1, 1]],
                                                               constant_values=-1).numpy())


def test_pad_gradients_and_errors_name_the_argument():
    x = np.random.default_rng(0).normal(size=(3, 4))
    for mode in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        check_gradients(lambda t, m=mode: tf.pad(t, [[1, 2], [3, 0]], mode=m), x)
    with pytest.raises(ValueError, match="argument 'mode' must be one of"):
        tf.pad(x, [[1, 1], [0, 0]], mode="WRAP")
    with pytest.raises(ValueError, match="argument 'paddings' must be 2 pairs"):
        tf.pad(x, [[1, 1]])
    with pytest.raises(ValueError, match=r"argument 'paddings' \(3, 0\) on axis 0 is too large"):
        tf.pad(x, [[3, 0], [0, 0]], mode="REFLECT")


def test_random_shuffle_permutes_the_first_axis(tensorflow):
    x = np.arange(40, dtype=np.int64).reshape(20, 2)
    ours = tf.random.shuffle(x, seed=5).numpy()
    theirs = tensorflow.random.shuffle(x, seed=5).numpy()
    assert ours.dtype == theirs.dtype == np.int64 and ours.shape == theirs.shape
    for out in (ours, theirs):  # whole rows move; each row appears once
        assert (out[:, 1] == out[:, 0] + 1).all() and sorted(out[:, 0]) == list(x[:, 0])
    assert not (ours == x).all()
    np.testing.assert_array_equal(ours, tf.random.shuffle(x, seed=5).numpy())
    assert tf.random.shuffle(np.float32(3)).numpy() == 3
