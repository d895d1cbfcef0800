"""Tensor, Variable and GradientTape: the TensorFlow eager API and its semantics.

Plus hypothesis property tests: broadcasting (forward equals NumPy; gradients have the input
shapes and equal central differences), reductions over random axes, and shape errors.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tomei
from tomei.engine import ops
from tomei.engine.tensor import GradientTape, Tensor, Variable
from tomei.keras import layers

# --- Tensor API ----------------------------------------------------------------------------

def test_numpy_and_asarray_give_the_values():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tomei.constant(data)
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), data)
    np.testing.assert_array_equal(np.asarray(t), data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert t.shape == (2, 3) and isinstance(t.shape, tuple)
    assert t.dtype == np.float32 and t.ndim == 2 and len(t) == 2


def test_scalar_results_convert_like_arrays():
    """A full reduction is a 0-d tensor: .numpy() a NumPy scalar, np.asarray a 0-d array."""
    t = ops.reduce_sum(tomei.constant([1.0, 2.0, 3.5]))
    assert t.shape == ()
    assert t.numpy() == np.float32(6.5) and np.ndim(t.numpy()) == 0
    arr = np.asarray(t)
    assert isinstance(arr, np.ndarray) and arr.shape == () and arr.dtype == np.float32
    assert float(t) == 6.5 and isinstance(float(t), float)
    assert int(tomei.constant(3)) == 3


def test_dtypes_follow_tensorflow():
    assert tomei.constant(1.5).dtype == np.float32  # Python floats become float32
    assert tomei.constant([1.0, 2.0]).dtype == np.float32
    assert tomei.constant(np.zeros(2)).dtype == np.float64  # NumPy arrays keep their dtype
    assert tomei.constant(np.zeros(2, np.uint8)).dtype == np.uint8
    assert tomei.constant([1, 2]).dtype.kind == "i"
    assert tomei.constant([1, 2], dtype="float64").dtype == np.float64


def test_object_arrays_are_rejected():
    with pytest.raises(TypeError, match="object array"):
        Tensor(np.array([1, "a", None], dtype=object))


def test_operators_broadcast_like_numpy():
    a = np.arange(12, dtype=np.float64).reshape(3, 4) + 1
    b = np.array([1.0, -2.0, 3.0, 0.5])
    ta, tb = Tensor(a), Tensor(b)
    cases = [(ta + tb, a + b), (ta - tb, a - b), (ta * tb, a * b), (ta / tb, a / b),
             (ta ** 2, a ** 2), (-ta, -a), (abs(tb), np.abs(b)), (ta @ a.T, a @ a.T),
             (2.0 * ta, 2 * a), (1.0 - ta, 1 - a), (3.0 / ta, 3 / a), (2.0 ** tb, 2 ** b),
             (b + ta, a + b), (a * tb, a * b)]  # ndarray on the left gives a Tensor too
    for got, want in cases:
        assert isinstance(got, Tensor)
        np.testing.assert_allclose(got.numpy(), want)
        assert got.dtype == np.float64


def test_python_scalars_keep_the_tensor_dtype():
    t = tomei.constant([1.0, 2.0])
    for out in (t + 1.5, 1.5 + t, t * 2, 2 * t, t / 3.0, 3.0 / t, t - 1, 1 - t):
        assert out.dtype == np.float32


def test_comparisons_return_boolean_tensors():
    t = tomei.constant([1.0, 2.0, 3.0])
    for got, want in [(t < 2, [True, False, False]), (t <= 2, [True, True, False]),
                      (t > 2, [False, False, True]), (t >= 2, [False, True, True]),
                      (t == 2, [False, True, False]), (t != 2, [True, False, True]),
                      (t > np.array([0.0, 5.0, 3.0]), [True, False, False])]:
        assert isinstance(got, Tensor) and got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), want)


def test_indexing():
    data = np.arange(24.0).reshape(2, 3, 4)
    t = Tensor(data)
    for index in [0, (1, 2), (slice(None), 1), (Ellipsis, -1), (slice(None, None, -1),),
                  ([1, 0, 1],), (0, [2, 0], slice(1, 3)), (data > 10,)]:
        got = t[index]
        assert isinstance(got, Tensor)
        np.testing.assert_array_equal(got.numpy(), data[index])
    np.testing.assert_array_equal(t[Tensor(np.array([1, 0]))].numpy(), data[[1, 0]])


def test_repr():
    t = tomei.constant([[1.0, 2.0]])
    r = repr(t)
    assert r.startswith("<tomei.Tensor: shape=(1, 2), dtype=float32, numpy=")
    assert "array([[1., 2.]], dtype=float32)" in r
    # a scalar result prints like a scalar built directly
    assert repr(ops.reduce_sum(tomei.constant([1.0, 2.0]))) == repr(tomei.constant(3.0))
    v = Variable(np.zeros(2, np.float32), name="kernel")
    assert "kernel" in repr(v) and "shape=(2,)" in repr(v)


def test_reshape_and_transpose_methods():
    t = Tensor(np.arange(6.0))
    assert t.reshape(2, 3).shape == (2, 3)
    assert t.reshape((3, 2)).T.shape == (2, 3)
    np.testing.assert_array_equal(t.reshape(2, 3).T.numpy(), np.arange(6.0).reshape(2, 3).T)


# --- Variable --------------------------------------------------------------------------------

def test_variable_assign_is_in_place():
    v = Variable(np.zeros((2, 3), np.float32))
    storage = v.value
    before = v.numpy()
    v.assign(np.ones((2, 3)))
    assert v.value is storage  # written into the same array
    np.testing.assert_array_equal(before, np.zeros((2, 3)))  # numpy() was a copy (issue 13)
    v.assign_add(np.full((2, 3), 2.0))
    v.assign_sub(0.5)
    np.testing.assert_array_equal(v.numpy(), np.full((2, 3), 2.5))
    assert v.dtype == np.float32
    v.assign(Tensor(np.full((2, 3), 7.0)))
    assert v.numpy()[0, 0] == 7.0


def test_variable_copies_its_initial_value():
    data = np.zeros(3, np.float32)
    v = Variable(data)
    v.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(data, np.zeros(3))


def test_variable_assign_shape_error():
    v = Variable(np.zeros((2, 3), np.float32), name="kernel")
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*shape \(3, 2\)"):
        v.assign(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"kernel"):
        v.assign(np.zeros(6))
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))  # unchanged after the error


def test_variable_defaults():
    v = Variable(1.0)
    assert v.trainable and v.dtype == np.float32 and v.shape == ()
    assert Variable(np.zeros(2), dtype="float64").dtype == np.float64
    assert not Variable(0.0, trainable=False).trainable


# --- GradientTape semantics -----------------------------------------------------------------------

def test_simple_gradient():
    x = Variable(3.0)
    with GradientTape() as tape:
        y = x * x + 2.0 * x
    g = tape.gradient(y, x)
    assert isinstance(g, Tensor) and g.dtype == np.float32
    assert g.numpy() == pytest.approx(8.0)


def test_unconnected_source_gives_none():
    x, z = Variable(3.0), Variable(4.0)
    with GradientTape() as tape:
        y = x * 2.0
    assert tape.gradient(y, z) is None
    with GradientTape(persistent=True) as tape:
        y = x * 2.0
    assert tape.gradient(y, [x, z])[1] is None
    assert tape.gradient(y, [x, z])[0].numpy() == pytest.approx(2.0)


def test_non_persistent_tape_raises_on_second_gradient():
    x = Variable(3.0)
    with GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="only once.*persistent=True"):
        tape.gradient(y, x)


def test_persistent_tape_works_twice():
    x = Variable(3.0)
    with GradientTape(persistent=True) as tape:
        y = x * x
        z = y * x
    assert tape.gradient(y, x).numpy() == pytest.approx(6.0)
    assert tape.gradient(z, x).numpy() == pytest.approx(27.0)
    assert tape.gradient(y, x).numpy() == pytest.approx(6.0)


def test_constants_need_watch():
    c = tomei.constant(3.0)
    with GradientTape() as tape:
        y = c * c
    assert tape.gradient(y, c) is None
    with GradientTape() as tape:
        tape.watch(c)
        y = c * c
    assert tape.gradient(y, c).numpy() == pytest.approx(6.0)


def test_watch_rejects_arrays():
    with GradientTape() as tape:
        with pytest.raises(TypeError, match="Tensor or Variable"):
            tape.watch(np.zeros(3))


def test_non_trainable_variables_are_not_watched():
    v = Variable(2.0, trainable=False)
    with GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with GradientTape(watch_accessed_variables=False) as tape:
        w = Variable(2.0)
        y = w * w
    assert tape.gradient(y, w) is None


def test_reused_node_accumulates():
    x = Variable(np.array([1.0, -2.0, 0.5]), dtype="float64")
    with GradientTape() as tape:
        y = x * x + x  # x reaches y along three paths
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2 * x.numpy() + 1)
    with GradientTape() as tape:
        h = x * 3.0
        y = ops.reduce_sum(h * h + h)  # an intermediate reused twice
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 18 * x.numpy() + 3)


def test_gradient_of_a_non_scalar_target_is_of_its_sum():
    x = Variable(np.array([1.0, 2.0]), dtype="float64")
    with GradientTape() as tape:
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])


def test_output_gradients():
    x = Variable(np.array([1.0, 2.0, 3.0]), dtype="float64")
    with GradientTape() as tape:
        y = x * x
    g = tape.gradient(y, x, output_gradients=np.array([1.0, 0.0, -2.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 0.0, -12.0])


def test_sources_structure_is_kept():
    a, b = Variable(1.0), Variable(2.0)
    with GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "pair": (a, b)})
    assert set(grads) == {"a", "pair"} and isinstance(grads["pair"], tuple)
    assert grads["a"].numpy() == pytest.approx(2.0)
    assert grads["pair"][1].numpy() == pytest.approx(1.0)


def test_tape_does_not_record_outside_its_context():
    x = Variable(3.0)
    with GradientTape() as tape:
        inside = x * x
    outside = x * x  # after the block: not recorded
    assert outside._parents == () and outside._backward is None
    assert tape.gradient(outside, x) is None
    assert inside._parents != ()


def test_nested_tapes_each_see_their_own_block():
    x = Variable(2.0)
    with GradientTape() as outer:
        a = x * x
        with GradientTape() as inner:
            b = x * x * x
        c = b * x  # after the inner block: only the outer tape records
    assert inner.gradient(b, x).numpy() == pytest.approx(12.0)
    assert outer.gradient(c, x).numpy() == pytest.approx(32.0)  # d x^4 = 4 x^3
    with GradientTape(persistent=True) as outer:
        with GradientTape() as inner:
            b = x * x
    assert outer.gradient(b, x).numpy() == pytest.approx(4.0)
    assert outer.gradient(a, x) is not None


def test_nested_tapes_watch_separately():
    """A constant watched by the inner tape only is not a source for the outer tape."""
    c = tomei.constant(3.0)
    with GradientTape() as outer:
        with GradientTape() as inner:
            inner.watch(c)
            y = c * c
        z = y * c
    assert inner.gradient(y, c).numpy() == pytest.approx(6.0)
    assert outer.gradient(z, c) is None


def test_model_call_outside_a_tape_builds_no_graph():
    model = tomei.keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(3, 5))
    out = model(x)
    assert out._parents == () and out._backward is None
    with GradientTape() as tape:
        out = model(x)
    assert out._parents != ()
    grads = tape.gradient(out, model.trainable_variables)
    assert [g.shape for g in grads] == [v.shape for v in model.trainable_variables]


def test_gradient_of_intermediate_tensor():
    x = Variable(np.array([1.0, 2.0]), dtype="float64")
    with GradientTape() as tape:
        h = x * 3.0
        y = ops.reduce_sum(h * h)
    np.testing.assert_allclose(tape.gradient(y, h).numpy(), 2 * h.numpy())


# --- property tests ------------------------------------------------------------------------------

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BINARY = {"add": (ops.add, np.add), "subtract": (ops.subtract, np.subtract),
          "multiply": (ops.multiply, np.multiply), "divide": (ops.divide, np.divide),
          "maximum": (ops.maximum, np.maximum)}


def finite_difference(fn, arrays, k, index, weights, eps=1e-6):
    def f():
        return np.sum(weights * np.asarray(fn(*[Tensor(a) for a in arrays])))
    a = arrays[k]
    saved = a[index]
    a[index] = saved + eps
    up = f()
    a[index] = saved - eps
    down = f()
    a[index] = saved
    return (up - down) / (2 * eps)


@FAST
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16), data=st.data())
def test_broadcasting_property(shapes, name, seed, data):
    op, np_op = BINARY[name]
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shapes.input_shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes.input_shapes[1])
    b = b * rng.choice([-1, 1], shapes.input_shapes[1])  # away from 0: divide is smooth
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = op(Tensor(a), Tensor(b))
    np.testing.assert_allclose(out.numpy(), np_op(a, b), rtol=1e-12)
    assert out.shape == shapes.result_shape

    va, vb = Variable(a, dtype="float64"), Variable(b, dtype="float64")
    weights = rng.normal(size=shapes.result_shape)
    with GradientTape() as tape:
        target = ops.reduce_sum(ops.multiply(op(va, vb), Tensor(weights)))
    ga, gb = tape.gradient(target, [va, vb])
    assert ga.shape == a.shape and gb.shape == b.shape
    arrays = [a.copy(), b.copy()]
    for k, grad in enumerate((ga, gb)):
        for _ in range(2):  # a few entries each
            index = tuple(data.draw(st.integers(0, n - 1)) for n in arrays[k].shape)
            numeric = finite_difference(op, arrays, k, index, weights)
            np.testing.assert_allclose(grad.numpy()[index], numeric, rtol=1e-5, atol=1e-7)


@st.composite
def array_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-100, 100, allow_nan=False,
                                                               allow_infinity=False)))
    axes = draw(st.one_of(
        st.none(),
        st.integers(-len(shape), len(shape) - 1),
        st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                 unique=True).map(tuple)))
    return x, axes


@FAST
@given(case=array_and_axis(), keepdims=st.booleans(),
       name=st.sampled_from(["reduce_sum", "reduce_mean", "reduce_max", "reduce_min"]))
def test_reduction_property(case, keepdims, name):
    x, axis = case
    np_fn = {"reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_max": np.max,
             "reduce_min": np.min}[name]
    op = getattr(ops, name)
    out = op(Tensor(x), axis=axis, keepdims=keepdims)
    want = np_fn(x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(want)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-12, atol=1e-12)

    v = Variable(x, dtype="float64")
    with GradientTape() as tape:
        y = ops.reduce_sum(op(v, axis=axis, keepdims=keepdims))
    g = tape.gradient(y, v).numpy()
    assert g.shape == x.shape
    if name == "reduce_sum":
        np.testing.assert_allclose(g, np.ones_like(x))
    elif name == "reduce_mean":
        np.testing.assert_allclose(g * x.size / np.size(want), np.ones_like(x))
    else:  # each reduced group hands out a total gradient of exactly 1
        np.testing.assert_allclose(g.sum(), np.size(want))
        assert (g[g != 0] > 0).all()


@st.composite
def incompatible_shapes(draw):
    a = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=5))
    b = list(draw(hnp.broadcastable_shapes(a, min_dims=1, max_dims=len(a), min_side=2)))
    axis = draw(st.integers(0, len(b) - 1))
    b[axis] = draw(st.integers(2, 6).filter(lambda n: n != a[len(a) - len(b) + axis]))
    return a, tuple(b)


@FAST
@given(shapes=incompatible_shapes(), name=st.sampled_from(sorted(BINARY)))
def test_incompatible_shapes_raise_value_error(shapes, name):
    a, b = shapes
    op = BINARY[name][0]
    with pytest.raises(ValueError, match="broadcast"):
        op(Tensor(np.ones(a)), Tensor(np.ones(b)))


@FAST
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5), extra=st.integers(1, 3))
def test_matmul_shape_errors(n, k, m, extra):
    with pytest.raises(ValueError):
        ops.matmul(Tensor(np.ones((n, k))), Tensor(np.ones((k + extra, m))))
    assert ops.matmul(Tensor(np.ones((n, k))), Tensor(np.ones((k, m)))).shape == (n, m)


def test_other_shape_errors():
    with pytest.raises(ValueError, match="reshape"):
        ops.reshape(Tensor(np.ones(12)), (5, 3))
    with pytest.raises(ValueError):
        ops.concat([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))], axis=0)
    with pytest.raises(ValueError, match=r"\(2,\s?3\).*\(3,\s?2\)"):  # both shapes shown
        ops.add(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2))))


# --- TensorFlow's printing and dtypes -------------------------------------------------------

def test_str_is_tensorflows_form():
    assert str(tomei.constant(3)) == "tf.Tensor(3, shape=(), dtype=int32)"
    assert str(tomei.constant([1.5, 2.0])) == "tf.Tensor([1.5 2. ], shape=(2,), dtype=float32)"
    assert str(tomei.constant(np.ones((2, 2)))) == (
        "tf.Tensor(\n[[1. 1.]\n [1. 1.]], shape=(2, 2), dtype=float64)")
    assert str(tomei.constant("Line 1")) == "tf.Tensor(b'Line 1', shape=(), dtype=string)"
    assert f"{tomei.constant(0.12345):0.2f}" == "0.12"


def test_python_ints_become_int32_unless_too_large():
    assert tomei.constant(1).dtype == np.int32 and tomei.constant([1, 2]).dtype == np.int32
    assert tomei.constant(2**40).dtype == np.int64
    assert tomei.constant(np.arange(3)).dtype == np.int64  # NumPy arrays keep their dtype


def test_text_becomes_utf8_bytes_and_device_is_cpu():
    t = tomei.constant(["été", "b"])
    assert t.numpy().tolist() == ["été".encode(), b"b"] and t.dtype.kind == "S"
    assert t.device.endswith("CPU:0")


# --- issue 13 item 1: copies, not aliases ----------------------------------------------------

def test_variable_numpy_is_a_copy():
    """TensorFlow: a = tf.Variable([1., 2.]).numpy(); a[0] = 5 leaves the variable [1, 2]."""
    v = tomei.Variable([1.0, 2.0])
    a = v.numpy()
    a[0] = 5
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    snapshot = np.asarray(v)
    v.assign([7.0, 8.0])
    np.testing.assert_array_equal(snapshot, [1.0, 2.0])
    np.testing.assert_array_equal(a, [5.0, 2.0])


def test_changing_numpy_of_a_result_changes_neither_it_nor_its_gradient():
    x = tomei.Variable([[-1.0, 2.0, 3.0]])
    with GradientTape() as tape:
        y = tomei.nn.relu(x)
        y.numpy()[:] = 100.0
        loss = tomei.reduce_sum(y * y)
    np.testing.assert_array_equal(y.numpy(), [[0.0, 2.0, 3.0]])
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [[0.0, 4.0, 6.0]])
    view = np.asarray(y)
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0] = 1.0


def test_views_of_a_variable_are_snapshots():
    v = tomei.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    reshaped, transposed, row = tomei.reshape(v, [-1]), tomei.transpose(v), v[0]
    v.assign(np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(reshaped.numpy(), np.arange(6))
    np.testing.assert_array_equal(transposed.numpy(), np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(row.numpy(), [0, 1, 2])


def test_constant_does_not_follow_the_array_it_was_made_from():
    a = np.array([1.0, 2.0], np.float32)
    c = tomei.constant(a)
    a[0] = 9.0
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])


def test_kernel_snapshots_kept_by_a_callback_differ_epoch_to_epoch():
    """The reported case: a callback keeping model.layers[0].kernel.numpy() after each epoch
    found every snapshot equal to the current kernel."""
    class Snapshots(tomei.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.kernels = []

        def on_epoch_end(self, epoch, logs=None):
            self.kernels.append(self.model.layers[0].kernel.numpy())

    model = tomei.keras.Sequential([tomei.keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    keep = Snapshots()
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    model.fit(x, x[:, :2] * 3.0, epochs=3, verbose=0, callbacks=[keep])
    assert not np.allclose(keep.kernels[0], keep.kernels[1])
    assert not np.allclose(keep.kernels[1], keep.kernels[2])
    np.testing.assert_array_equal(keep.kernels[2], model.layers[0].kernel.numpy())
    weights = model.get_weights()
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    assert not np.allclose(weights[0], model.get_weights()[0])


def test_a_ragged_list_says_its_rows_differ():
    with pytest.raises(ValueError, match="rows have different lengths.*one length"):
        Tensor([[1, 2], [3]])


def test_as_dtype_takes_names_and_types_and_names_what_is_wrong():
    from tomei.engine.tensor import as_dtype
    assert as_dtype("float32", "op") == np.float32 and as_dtype(np.int64, "op") == np.int64
    assert as_dtype("string", "op").kind == "S"
    with pytest.raises(TypeError, match=r"tf.constant: argument 'dtype'.*'flaot32'.*bool"):
        as_dtype("flaot32", "tf.constant")
    with pytest.raises(TypeError, match=r"tf.convert_to_tensor: argument 'dtype'"):
        Tensor([1.0], "flaot32")
