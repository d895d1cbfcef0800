"""Convolution and pooling ops: forward against a direct loop, gradients against central
differences (float64, random output weighting: tomei.engine.gradcheck), and their errors."""
import itertools

import numpy as np
import pytest

from tomei.engine import conv_ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.tensor import GradientTape, Variable


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def distinct(*shape, seed=0):
    """Values at least 0.01 apart, so a max-pooling window never has a near-tie."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) * 0.01 - n * 0.005).reshape(shape)


def direct_conv2d(x, f, strides, pads, dilations):
    """The definition, one output pixel at a time: sum over the window times the filters."""
    (sh, sw), (dh, dw) = strides, dilations
    kh, kw, _, o = f.shape
    xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, o))
    for i, j in itertools.product(range(oh), range(ow)):
        patch = xp[:, i * sh:i * sh + (kh - 1) * dh + 1:dh, j * sw:j * sw + (kw - 1) * dw + 1:dw, :]
        out[:, i, j, :] = np.einsum("nabc,abco->no", patch, f)
    return out


def same_pads(n, k, s, d=1):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return (total // 2, total - total // 2)


# (input shape, kernel (KH, KW), strides, padding, dilations): odd sizes, batch 1, both paddings
CONV_CASES = [
    ((2, 5, 7, 2), (3, 3), 1, "VALID", 1),
    ((1, 5, 7, 2), (3, 3), 1, "SAME", 1),
    ((2, 7, 6, 3), (3, 2), 2, "SAME", 1),
    ((1, 7, 7, 2), (3, 3), (2, 1), "VALID", 1),
    ((2, 8, 7, 2), (3, 3), 1, "SAME", 2),
    ((1, 9, 8, 1), (2, 3), 1, "VALID", (2, 3)),
    ((2, 6, 5, 2), (1, 1), 2, "VALID", 1),
    ((1, 5, 5, 2), (3, 3), 3, "SAME", 1),
    ((2, 5, 6, 2), (2, 2), 1, [[0, 0], [1, 2], [0, 1], [0, 0]], 1),
    ((1, 4, 4, 1), (4, 4), 1, "VALID", 1),
]


@pytest.mark.parametrize("shape, k, strides, padding, dilations", CONV_CASES, ids=str)
def test_conv2d_forward_matches_the_definition(shape, k, strides, padding, dilations):
    x, f = rand(*shape, seed=1), rand(*k, shape[3], 3, seed=2)
    s = conv_ops._spatial(strides, "strides", "t")
    d = conv_ops._spatial(dilations, "dilations", "t")
    if padding == "SAME":
        pads = [same_pads(n, kk, ss, dd) for n, kk, ss, dd in zip(shape[1:3], k, s, d)]
    elif padding == "VALID":
        pads = [(0, 0), (0, 0)]
    else:
        pads = padding[1:3]
    out = conv_ops.conv2d(x, f, strides, padding, dilations=dilations).numpy()
    np.testing.assert_allclose(out, direct_conv2d(x, f, s, pads, d), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, k, strides, padding, dilations", CONV_CASES, ids=str)
def test_conv2d_gradients(shape, k, strides, padding, dilations):
    x, f = rand(*shape, seed=3), rand(*k, shape[3], 3, seed=4)
    check_gradients(lambda a, b: conv_ops.conv2d(a, b, strides, padding, dilations=dilations), x, f)


@pytest.mark.parametrize("out_shape, k, strides, padding", [
    ((2, 7, 9, 3), (3, 3), 1, "VALID"),
    ((1, 7, 9, 3), (3, 3), 2, "SAME"),
    ((2, 8, 6, 2), (2, 2), 2, "VALID"),
    ((1, 9, 8, 2), (3, 2), (2, 3), "SAME"),
    ((1, 8, 8, 2), (3, 3), 2, "VALID"),   # the last row and column get no contribution
], ids=str)
@pytest.mark.parametrize("dilations", [1, 2])
def test_conv2d_transpose_is_the_adjoint_of_conv2d_and_has_gradients(out_shape, k, strides,
                                                                      padding, dilations):
    c_out = out_shape[3]
    probe = conv_ops.conv2d(np.zeros(out_shape), np.zeros(k + (c_out, 4)), strides, padding,
                            dilations=dilations)
    x, f = rand(*probe.shape, seed=5), rand(*k, c_out, 4, seed=6)
    # <conv2d(y, f), x> == <y, conv2d_transpose(x, f)> for every y: the defining property
    y = rand(*out_shape, seed=7)
    lhs = np.sum(conv_ops.conv2d(y, f, strides, padding, dilations=dilations).numpy() * x)
    up = conv_ops.conv2d_transpose(x, f, out_shape, strides, padding, dilations=dilations)
    assert up.shape == out_shape
    np.testing.assert_allclose(lhs, np.sum(y * up.numpy()), rtol=1e-10)
    check_gradients(lambda a, b: conv_ops.conv2d_transpose(a, b, out_shape, strides, padding,
                                                           dilations=dilations), x, f)


POOL_CASES = [
    ((2, 6, 6, 2), 2, 2, "VALID"),
    ((1, 7, 5, 2), 2, 2, "SAME"),
    ((2, 5, 7, 1), 3, 1, "SAME"),
    ((1, 7, 7, 3), 3, 2, "VALID"),
    ((1, 7, 6, 2), (2, 3), (1, 2), "SAME"),
    ((2, 5, 5, 1), 3, 2, "SAME"),
]


@pytest.mark.parametrize("op", [conv_ops.max_pool2d, conv_ops.avg_pool2d])
@pytest.mark.parametrize("shape, ksize, strides, padding", POOL_CASES, ids=str)
def test_pooling_gradients(op, shape, ksize, strides, padding):
    check_gradients(lambda a: op(a, ksize, strides, padding), distinct(*shape, seed=8))


def test_max_pool_forward_and_where_the_gradient_goes():
    x = np.array([[1., 5., 2., 0.], [3., 4., 7., 1.], [0., 2., 6., 8.], [9., 1., 3., 2.]])
    x = x[None, :, :, None]
    out = conv_ops.max_pool2d(x, 2, 2, "VALID").numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out, [[5., 7.], [9., 8.]])
    v = Variable(x, dtype=np.float64)
    with GradientTape() as tape:
        y = conv_ops.max_pool2d(v, 2, 2, "VALID")
    g = tape.gradient(y, v).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(g, [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]])


def test_avg_pool_same_padding_leaves_padding_out_of_the_mean():
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    out = conv_ops.avg_pool2d(x, 2, 2, "SAME").numpy()[0, :, :, 0]
    np.testing.assert_allclose(out, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]])


@pytest.mark.parametrize("padding", ["VALID", "SAME", [[0, 0], [2, 0], [0, 0]]])
@pytest.mark.parametrize("stride, dilations", [(1, 1), (2, 1), (1, 2)])
def test_conv1d(padding, stride, dilations):
    x, f = rand(2, 9, 2, seed=9), rand(3, 2, 3, seed=10)
    out = conv_ops.conv1d(x, f, stride, padding, dilations=dilations)
    pad2d = padding if isinstance(padding, str) else [[0, 0], [0, 0], padding[1], [0, 0]]
    expected = conv_ops.conv2d(x[:, None], f[None], (1, stride), pad2d, dilations=(1, dilations))
    np.testing.assert_allclose(out.numpy(), expected.numpy()[:, 0])
    check_gradients(lambda a, b: conv_ops.conv1d(a, b, stride, padding, dilations=dilations), x, f)


@pytest.mark.parametrize("op", [conv_ops.max_pool1d, conv_ops.avg_pool1d])
@pytest.mark.parametrize("ksize, strides, padding", [(2, 2, "VALID"), (3, 1, "SAME"), (2, 2, "SAME")])
def test_pool1d(op, ksize, strides, padding):
    check_gradients(lambda a: op(a, ksize, strides, padding), distinct(2, 7, 3, seed=11))


def test_upsample_nearest_and_pad():
    x = rand(2, 3, 2, 2, seed=12)
    up = conv_ops.upsample_nearest2d(x, (2, 3)).numpy()
    np.testing.assert_array_equal(up, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))
    check_gradients(lambda a: conv_ops.upsample_nearest2d(a, (2, 3)), x)
    padded = conv_ops.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]))
    check_gradients(lambda a: conv_ops.pad(a, [[0, 0], [1, 2], [0, 1], [0, 0]]), x)


def test_float32_stays_float32():
    x, f = rand(1, 5, 5, 2).astype(np.float32), rand(3, 3, 2, 4).astype(np.float32)
    assert conv_ops.conv2d(x, f, 1, "SAME").dtype == np.float32
    assert conv_ops.max_pool2d(x, 2, 2, "SAME").dtype == np.float32
    assert conv_ops.avg_pool2d(x, 2, 2, "SAME").dtype == np.float32
    assert conv_ops.conv2d_transpose(x, f.transpose(0, 1, 3, 2), (1, 10, 10, 4), 2).dtype == np.float32


@pytest.mark.parametrize("call, error, words", [
    (lambda: conv_ops.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((3, 3, 2, 4)), 1, "SAME",
                             data_format="NCHW"), NotImplementedError, "data_format='NCHW'"),
    (lambda: conv_ops.max_pool2d(np.zeros((1, 2, 5, 5)), 2, 2, "SAME", data_format="NCHW"),
     NotImplementedError, "channels last"),
    (lambda: conv_ops.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4)), 1, "SAME"),
     ValueError, "3 channels but the filters expect 2"),
    (lambda: conv_ops.conv2d(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 2, 4)), 1, "SAME"),
     NotImplementedError, "grouped"),
    (lambda: conv_ops.conv2d(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1)), 1, "VALID"),
     ValueError, "empty"),
    (lambda: conv_ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), [2, 2, 2, 2], "SAME"),
     ValueError, "batch and channel"),
    (lambda: conv_ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), 0, "SAME"),
     ValueError, "strides must be positive"),
    (lambda: conv_ops.conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), 1, "FULL"),
     ValueError, "padding must be"),
    (lambda: conv_ops.conv2d(np.zeros((5, 5, 1)), np.zeros((3, 3, 1, 1)), 1, "SAME"),
     ValueError, "4-D input"),
    (lambda: conv_ops.conv2d_transpose(np.zeros((1, 3, 3, 2)), np.zeros((3, 3, 4, 2)),
                                       (1, 9, 9, 4), 2, "SAME"), ValueError, "output_shape"),
    (lambda: conv_ops.max_pool2d(np.zeros((1, 5, 5, 1)), 2, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]),
     NotImplementedError, "explicit padding"),
    (lambda: conv_ops.pad(np.zeros((2, 3)), [[1, 1]]), ValueError, "2 pairs"),
])
def test_errors_name_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_a_wrong_backward_is_caught():
    """Negative control: a conv whose filter gradient is off by a factor fails the check."""
    from tomei.engine.tensor import record

    def broken(a, b):
        out = conv_ops.conv2d(a, b, 1, "VALID")
        inner = out._backward
        return record(out.value, out._parents, lambda g: (inner(g)[0], 1.01 * inner(g)[1]))
    with pytest.raises(AssertionError, match="input 1"):
        check_gradients(broken, rand(1, 4, 4, 1, seed=1), rand(2, 2, 1, 2, seed=2))


@pytest.mark.parametrize("name, args", [
    ("conv2d", (np.ones((1, 1, 1, 1)), 1, "VALID")), ("conv1d", (np.ones((1, 1, 1)), 1, "VALID")),
    ("conv2d_transpose", (np.ones((1, 1, 1, 1)), (1, 1, 1, 1), 1)),
    ("max_pool2d", (1, 1, "VALID")), ("avg_pool2d", (1, 1, "VALID")),
    ("max_pool1d", (1, 1, "VALID")), ("avg_pool1d", (1, 1, "VALID"))])
def test_convolution_and_pooling_name_a_text_input(name, args):
    image = np.full((1, 1, 1, 1) if "2d" in name else (1, 1, 1), "a")
    with pytest.raises(TypeError, match=rf"^{name}: argument 'input' must hold numbers.*text"):
        getattr(conv_ops, name)(image, *args)


def test_convolution_names_text_filters():
    with pytest.raises(TypeError, match="^conv2d: argument 'filters' .*text"):
        conv_ops.conv2d(np.ones((1, 1, 1, 1)), np.full((1, 1, 1, 1), "w"), 1, "VALID")
