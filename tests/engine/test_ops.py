"""Shape ops, reduce_prod and gather: values against NumPy, gradients against central
differences."""
import inspect

import numpy as np
import pytest

from tomei.engine import ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.tensor import GradientTape, Tensor, Variable


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def test_squeeze_expand_dims_stack_values():
    x = rand(2, 1, 3)
    assert ops.squeeze(x).shape == (2, 3) and ops.squeeze(x, axis=1).shape == (2, 3)
    assert ops.expand_dims(x, -1).shape == (2, 1, 3, 1) and ops.expand_dims(x, 0).shape == (1, 2, 1, 3)
    np.testing.assert_array_equal(ops.stack([x, x + 1], axis=1).numpy(), np.stack([x, x + 1], 1))
    np.testing.assert_array_equal(ops.add_n([x, x, x]).numpy(), 3 * x)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
def test_reduce_prod_values_and_gradient(axis):
    x = rand(3, 4, 2, seed=1)
    np.testing.assert_allclose(ops.reduce_prod(x, axis=axis).numpy(), np.prod(x, axis=axis))
    check_gradients(lambda t: ops.reduce_prod(t, axis=axis), x)


def test_reduce_prod_gradient_with_a_zero():
    v = Tensor(np.array([[2.0, 0.0, 3.0]]))
    from tomei.engine.tensor import GradientTape
    with GradientTape() as tape:
        tape.watch(v)
        y = ops.reduce_prod(v)
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [[0.0, 6.0, 0.0]])


def test_reduce_sum_keeps_int32():
    assert ops.reduce_sum(Tensor([1, 2, 3])).dtype == np.int32


def test_shape_op_gradients():
    check_gradients(lambda t: ops.squeeze(t, axis=1), rand(2, 1, 3))
    check_gradients(lambda t: ops.expand_dims(t, 1), rand(2, 3))
    check_gradients(lambda a, b: ops.stack([a, b], axis=-1), rand(2, 3), rand(2, 3, seed=2))
    check_gradients(lambda a, b: ops.add_n([a, b, a]), rand(2, 3), rand(2, 3, seed=2))


def test_integer_operators():
    t = Tensor([5, 6, 7])
    assert (t % 2).numpy().tolist() == [1, 0, 1] and (t // 2).numpy().tolist() == [2, 3, 3]
    assert (~(t > 5)).numpy().tolist() == [True, False, False]


def test_shape_op_errors():
    with pytest.raises(ValueError, match="axis 0 of a tensor of shape"):
        ops.squeeze(rand(2, 1), axis=0)
    with pytest.raises(ValueError, match="out of range"):
        ops.expand_dims(rand(2), 3)
    with pytest.raises(ValueError, match="one shape"):
        ops.stack([rand(2), rand(3)])
    with pytest.raises(ValueError, match="at least one"):
        ops.add_n([])


def test_gather_forward_picks_rows():
    table = np.arange(12.0).reshape(4, 3)
    out = ops.gather(table, np.array([[3, 0], [3, 1]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), table[[[3, 0], [3, 1]]])


def test_gather_gradient_is_a_scatter_add_and_matches_central_differences():
    ids = np.array([[1, 4, 1], [0, 1, 4]])  # id 1 three times, 2 and 3 never
    check_gradients(lambda t: ops.gather(t, ids), np.random.default_rng(0).normal(size=(5, 3)))
    table = Variable(np.zeros((5, 2), np.float32))
    with GradientTape() as tape:
        y = ops.reduce_sum(ops.gather(table, ids))
    grad = tape.gradient(y, table).numpy()
    np.testing.assert_array_equal(grad[:, 0], [1, 3, 0, 0, 2])  # how often each row was used


def test_gather_rejects_bad_indices():
    with pytest.raises(IndexError, match="index 5 is outside"):
        ops.gather(np.zeros((5, 2)), np.array([0, 5]))
    with pytest.raises(IndexError, match="index -1"):
        ops.gather(np.zeros((5, 2)), np.array([-1]))
    with pytest.raises(TypeError, match="integer indices"):
        ops.gather(np.zeros((5, 2)), np.array([0.5]))


# --- text and other non-numbers get one clear error, naming the op and the argument ----------

_UNARY = ["negative", "exp", "sin", "cos", "log", "sqrt", "square", "abs", "reduce_sum", "reduce_mean",
          "reduce_max", "reduce_prod", "reduce_min"]
_BINARY = ["subtract", "multiply", "divide", "power", "maximum", "minimum", "matmul"]


@pytest.mark.parametrize("name", _UNARY + ["clip"])
def test_an_op_of_numbers_names_its_argument_when_given_text(name):
    args = (0, 1) if name == "clip" else ()
    arg = next(iter(inspect.signature(getattr(ops, name)).parameters))  # x, or a for negative
    with pytest.raises(TypeError, match=rf"^{name}: argument '{arg}' must hold numbers .*received "
                                        rf"text \(dtype string, shape \(1, 2\)\).*to_number\({arg}\)"):
        getattr(ops, name)([["a", "b"]], *args)


@pytest.mark.parametrize("name", _BINARY)
@pytest.mark.parametrize("text_side", ["a", "b", "both"])
def test_a_binary_op_refuses_text_on_either_side(name, text_side):
    text, num = Tensor([["a"]]), Tensor([[1.0]])
    a, b = {"a": (text, num), "b": (num, text), "both": (text, text)}[text_side]
    with pytest.raises(TypeError, match="string|text"):
        getattr(ops, name)(a, b)


def test_add_still_joins_two_strings_as_tensorflow_does():
    assert ops.add(Tensor("ab"), Tensor("c")).numpy() == b"abc"


@pytest.mark.parametrize("name", ["subtract", "negative", "reduce_min"])
def test_ops_numpy_cannot_run_on_booleans_say_so(name):
    args = (np.array([True]),) * (2 if name == "subtract" else 1)
    with pytest.raises(TypeError, match=rf"^{name}: .*\(float or int\); received booleans.*tf.cast"):
        getattr(ops, name)(*args)


def test_booleans_still_add_and_sum():
    assert ops.reduce_sum(np.array([True, True, False])).numpy() == 2
    np.testing.assert_array_equal(ops.add(np.array([True]), np.array([False])).numpy(), [True])


def test_objects_and_ragged_lists_are_named():
    with pytest.raises(TypeError, match="^exp: argument 'x': Cannot convert list.*object array"):
        ops.exp([None, 1.0])
    with pytest.raises(ValueError, match="^exp: argument 'x': .*rows have different lengths"):
        ops.exp([[1.0, 2.0], [3.0]])


def test_numbers_passes_a_number_tensor_through_unchanged():
    t = Tensor([1.0, 2.0])
    assert ops.numbers(t, "op") is t
    assert ops.numbers([1, 2], "op").dtype == np.int32


def test_shape_errors_name_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"^matmul: a has shape \(2, 3\) and b has shape \(2, 3\)"):
        ops.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^reshape: a tensor of shape \(3,\) \(3 values\) cannot "
                                         r"take the shape \(2, 2\)"):
        ops.reshape(np.ones(3), (2, 2))


def test_where_picks_and_sends_the_gradient_to_the_picked_side():
    cond = np.array([[True, False, True]])
    x, y = rand(2, 3), rand(1, 3, seed=1)  # broadcast: y's gradient sums over the rows
    out = ops.where(cond, Tensor(x), Tensor(y))
    assert np.array_equal(out.numpy(), np.where(cond, x, y))
    check_gradients(lambda a, b: ops.where(cond, a, b), x, y)  # float64 central differences
    with pytest.raises(TypeError, match="'condition' must hold booleans"):
        ops.where(np.array([1, 0]), x[0, :2], y[0, :2])
    with pytest.raises(ValueError, match=r"where: shapes \(4,\) and \(2, 3\)"):
        ops.where(np.ones(4, bool), x, y)


@pytest.mark.parametrize("op", [ops.add, ops.subtract, ops.multiply, ops.divide, ops.maximum,
                                ops.minimum, ops.power])
def test_elementwise_ops_name_themselves_and_both_shapes_when_they_cannot_broadcast(op):
    with pytest.raises(ValueError, match=rf"{op.__name__}: shapes \(3,\) and \(2,\) are "
                                         r"incompatible.*broadcasting") as err:
        op(np.ones(3), np.ones(2))
    assert "operands could not be broadcast" not in str(err.value)  # not NumPy's words
    assert op(np.ones((2, 3)), np.ones(3)).shape == (2, 3)  # broadcasting itself still works


@pytest.mark.parametrize("reduce", [ops.reduce_sum, ops.reduce_mean, ops.reduce_max,
                                    ops.reduce_min, ops.reduce_prod])
@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_reductions_name_an_axis_out_of_range(reduce, axis):
    with pytest.raises(ValueError, match=rf"{reduce.__name__}: axis=.* out of range for a "
                                         r"tensor of rank 2; each axis must be in \[-2, 2\)"):
        reduce(np.ones((2, 3)), axis=axis)


def test_cast_names_an_unknown_dtype_and_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"cast: argument 'dtype'.*'flaot32'.*float32, float64"):
        ops.cast(np.ones(2), "flaot32")
    assert ops.cast(np.ones(2), np.float64).dtype == np.float64


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_values_and_gradient(exclusive, reverse):
    x = rand(3, 4)
    out = ops.cumsum(x, 1, exclusive, reverse).numpy()
    flipped = x[:, ::-1] if reverse else x
    expected = np.cumsum(flipped, 1) - (flipped if exclusive else 0)
    np.testing.assert_allclose(out, expected[:, ::-1] if reverse else expected)
    check_gradients(lambda t: ops.cumsum(t, 1, exclusive, reverse), x)


def test_tile_log1p_identity_gradients():
    check_gradients(lambda t: ops.tile(t, [2, 3]), rand(2, 3))
    check_gradients(ops.log1p, np.abs(rand(4)) + 0.1)
    check_gradients(ops.identity, rand(2, 2))
    assert ops.tile(np.ones((2, 3)), [2, 1]).shape == (4, 3)
    with pytest.raises(ValueError, match="one int >= 0 per axis"):
        ops.tile(np.ones((2, 3)), [2])


def test_sin_cos_values_and_float64_gradients():
    x = rand(3, 4)
    np.testing.assert_allclose(ops.sin(x).numpy(), np.sin(x))
    np.testing.assert_allclose(ops.cos(x).numpy(), np.cos(x))
    assert ops.sin(x.astype(np.float32)).dtype == np.float32
    check_gradients(ops.sin, x)
    check_gradients(ops.cos, x)
