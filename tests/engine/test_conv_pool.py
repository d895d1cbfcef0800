"""conv2d_bias_relu_max_pool: the same numbers as conv2d, bias_relu and max_pool2d in turn
(values and gradients), central-difference gradient checks (float64, random output
weighting), the compiled schedules against the NumPy one (1e-6), and the errors."""
import numpy as np
import pytest

from tomei.engine import conv_ops, conv_pool, fused, nn_ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.ops import multiply, reduce_sum
from tomei.engine.tensor import GradientTape, Variable


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def layer_by_layer(x, f, b, strides, padding, dilations):
    y = conv_ops.conv2d(x, f, strides, padding, dilations=dilations)
    y = nn_ops.bias_relu(y, b) if b is not None else nn_ops.relu(y)
    return conv_ops.max_pool2d(y, 2, 2, "VALID")


def fused_op(x, f, b, strides, padding, dilations):
    return conv_pool.conv2d_bias_relu_max_pool(x, f, b, strides, padding, dilations)


def value_and_grads(op, x, f, b, args, dtype, track_x=True):
    """The op's output and the gradients of sum(weights * output) for x (if tracked), f, b."""
    xs = Variable(x.astype(dtype)) if track_x else x.astype(dtype)
    fs, bs = Variable(f.astype(dtype)), None if b is None else Variable(b.astype(dtype))
    with GradientTape() as tape:
        out = op(xs, fs, bs, *args)
        weights = np.random.default_rng(5).normal(size=out.shape).astype(dtype)
        loss = reduce_sum(multiply(out, weights))
    sources = ([xs] if track_x else []) + [fs] + ([bs] if bs is not None else [])
    grads = tape.gradient(loss, sources)
    return [out.numpy()] + [np.zeros(s.shape) if g is None else g.numpy()
                            for s, g in zip(sources, grads)]


# (input shape, kernel (KH, KW), out channels, strides, padding, dilations, bias)
CASES = [
    ((2, 8, 8, 1), (3, 3), 4, 1, "VALID", 1, True),     # 6x6 conv -> 3x3 pool
    ((1, 9, 9, 2), (3, 3), 3, 1, "VALID", 1, True),     # batch 1, odd 7x7 -> 3x3 (last row/col out)
    ((2, 7, 6, 3), (3, 3), 2, 1, "SAME", 1, False),     # 'same', no bias, odd height
    ((2, 9, 8, 2), (2, 3), 3, 2, "VALID", 1, True),     # strides 2
    ((1, 10, 9, 1), (3, 2), 2, 1, "VALID", 2, True),    # dilation 2
    ((2, 7, 7, 5), (3, 3), 3, 1, "SAME", 1, True),      # 45 window values: im2col schedule
    ((2, 6, 7, 4), (3, 3), 2, 1, "VALID", 1, False),    # 36 window values, no bias
]


@pytest.fixture
def numpy_only(fused_mode):
    fused_mode("off")


@pytest.mark.parametrize("shape, k, o, strides, padding, dilations, use_bias", CASES, ids=str)
def test_same_as_layer_by_layer(numpy_only, shape, k, o, strides, padding, dilations, use_bias):
    x, f = rand(*shape, seed=1), rand(*k, shape[3], o, seed=2)
    b = rand(o, seed=3) * 0.5 if use_bias else None
    args = (strides, padding, dilations)
    expected = value_and_grads(layer_by_layer, x, f, b, args, np.float64)
    result = value_and_grads(fused_op, x, f, b, args, np.float64)
    assert result[0].shape == expected[0].shape
    for want, got in zip(expected, result):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert (expected[0] == 0).any() and (expected[0] > 0).any()  # ReLU's both sides were used


@pytest.mark.parametrize("shape, k, o, strides, padding, dilations, use_bias", CASES, ids=str)
def test_gradients_match_central_differences(numpy_only, shape, k, o, strides, padding,
                                             dilations, use_bias):
    x, f = rand(*shape, seed=4), rand(*k, shape[3], o, seed=5)
    if use_bias:
        check_gradients(lambda a, w, b: fused_op(a, w, b, strides, padding, dilations),
                        x, f, rand(o, seed=6) * 0.5)
    else:
        check_gradients(lambda a, w: fused_op(a, w, None, strides, padding, dilations), x, f)


def test_odd_conv_output_gives_the_dropped_row_and_column_no_gradient(numpy_only):
    x = Variable(rand(1, 7, 7, 1, seed=7) + 3.0)  # conv 5x5 (all > 0) -> pool 2x2
    f = Variable(np.ones((3, 3, 1, 1)))
    with GradientTape() as tape:
        out = conv_pool.conv2d_bias_relu_max_pool(x, f, None)
    grad_x = tape.gradient(out, x).numpy()[0, :, :, 0]
    assert out.shape == (1, 2, 2, 1)
    # input row/column 6 is read by conv output row/column 4 only, which no window holds
    assert np.all(grad_x[6:, :] == 0) and np.all(grad_x[:, 6:] == 0)
    assert grad_x.sum() == 4 * 9  # each of the 4 pooled values: 9 weights of 1


# --- the compiled schedules against NumPy -----------------------------------------------------

@pytest.fixture
def kernels():
    pytest.importorskip("numba")
    before = fused._mode
    fused.set_mode("auto")
    assert fused.kernels() is not None, fused.status()
    yield
    fused._mode = before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("track_x", [False, True])
@pytest.mark.parametrize("shape, k, o, strides, padding, dilations, use_bias", CASES, ids=str)
def test_compiled_equals_numpy(kernels, dtype, track_x, shape, k, o, strides, padding,
                               dilations, use_bias):
    x, f = rand(*shape, seed=8), rand(*k, shape[3], o, seed=9)
    b = rand(o, seed=10) * 0.5 if use_bias else None
    args = (strides, padding, dilations)
    fused.set_mode("off")
    reference = value_and_grads(fused_op, x, f, b, args, dtype, track_x)
    fused.set_mode("auto")
    result = value_and_grads(fused_op, x, f, b, args, dtype, track_x)
    for want, got in zip(reference, result):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_compiled_large_batch_in_parts_equals_numpy(kernels):
    """A batch large enough to be cut in parts over the cores: partial sums added in order."""
    b = rand(8, seed=13)
    for shape in [(64, 14, 14, 1), (16, 14, 14, 4)]:  # the direct and the im2col schedule
        x, f = rand(*shape, seed=11), rand(3, 3, shape[3], 8, seed=12)
        fused.set_mode("off")
        reference = value_and_grads(fused_op, x, f, b, (1, "VALID", 1), np.float32, False)
        fused.set_mode("auto")
        result = value_and_grads(fused_op, x, f, b, (1, "VALID", 1), np.float32, False)
        for want, got in zip(reference, result):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, padding", [((3, 13, 13, 8), "VALID"), ((2, 7, 9, 4), "SAME")],
                         ids=str)
def test_winograd_schedule_equals_numpy(kernels, monkeypatch, dtype, shape, padding):
    """The im2col schedule's convolution by Winograd's F(2x2, 3x3) (conv_ops._conv_forward;
    forced here at a small size): the three ops' numbers, to float rounding. An odd conv
    output (11x11) computes only the 10x10 the pool reads."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_WORK", 0)
    calls = []
    original = conv_ops._winograd_forward
    monkeypatch.setattr(conv_ops, "_winograd_forward",
                        lambda k, xp, w, out_hw: calls.append(out_hw) or original(k, xp, w, out_hw))
    x, f, b = rand(*shape, seed=14), rand(3, 3, shape[3], 6, seed=15), rand(6, seed=16) * 0.5
    args = (1, padding, 1)
    fused.set_mode("off")
    reference = value_and_grads(layer_by_layer, x, f, b, args, dtype)
    fused.set_mode("auto")
    result = value_and_grads(fused_op, x, f, b, args, dtype)
    assert calls == [(10, 10) if padding == "VALID" else (6, 8)]
    for want, got in zip(reference, result):
        assert got.dtype == want.dtype
        scale = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(got, want, rtol=scale, atol=scale * np.abs(want).max())


def test_first_layer_input_gets_no_gradient(kernels):
    """The input of a network's first layer is not tracked: its gradient is not computed."""
    x, f = rand(2, 8, 8, 1).astype(np.float32), Variable(rand(3, 3, 1, 4).astype(np.float32))
    with GradientTape() as tape:
        out = conv_pool.conv2d_bias_relu_max_pool(x, f)
    assert tape.gradient(out, f).shape == (3, 3, 1, 4)


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, f_shape, b_shape, padding, error, words", [
    ((2, 8, 8), (3, 3, 1, 4), None, "VALID", ValueError, "4-D input"),
    ((2, 8, 8, 2), (3, 3, 3, 4), None, "VALID", ValueError, "expect 3"),
    ((2, 8, 8, 4), (3, 3, 2, 4), None, "VALID", NotImplementedError, "grouped"),
    ((2, 8, 8, 1), (3, 3, 1, 4), (3,), "VALID", ValueError, "'bias'"),
    ((2, 3, 5, 1), (3, 3, 1, 4), None, "VALID", ValueError, "smaller than the 2x2 pool"),
    ((2, 8, 8, 1), (3, 3, 1, 4), None, "FULL", ValueError, "padding"),
])
def test_errors(x_shape, f_shape, b_shape, padding, error, words):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(error, match=words):
        conv_pool.conv2d_bias_relu_max_pool(np.zeros(x_shape), np.zeros(f_shape), b,
                                            padding=padding)
