"""Float64 gradient checks of every op and every layer against central differences.

``check_gradients`` reduces the output with random weights (a plain sum would hide errors in
ops whose outputs sum to a constant, like softmax) and compares the tape's gradients with
(f(x + h) - f(x - h)) / 2h for every input entry. Inputs are kept away from kinks (relu, abs,
max ties) so that the finite differences are meaningful.
"""
import numpy as np
import pytest

from tomei.engine import nn_ops, ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.tensor import Tensor, record
from tomei.keras import layers, losses


def rand(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.normal(size=shape)


def away_from_zero(*shape, seed=0, margin=0.1):
    """Normal samples with |x| >= margin (for relu, abs and other kinks at 0)."""
    x = rand(*shape, seed=seed)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * (margin + np.abs(x)), x)


def probs(*shape, seed=0):
    z = rand(*shape, seed=seed)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --- elementwise arithmetic with broadcasting -----------------------------------------

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                 ((4,), (2, 3, 4)), ((), (3, 4))]


@pytest.mark.parametrize("op", [ops.add, ops.subtract, ops.multiply])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_arithmetic_broadcasting(op, shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    check_gradients(op, a, b)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_divide_broadcasting(shapes):
    a = rand(*shapes[0], seed=1)
    b = rand(*shapes[1], seed=2, low=0.5, high=2.0) * np.where(rand(*shapes[1], seed=3) > 0, 1, -1)
    check_gradients(ops.divide, a, b)


def test_operators_match_ops():
    a, b = rand(3, 4, seed=1), rand(4, seed=2, low=0.5, high=2.0)
    check_gradients(lambda x, y: (x + y) * x - y / 3.0 + (-x) / y, a, b)
    check_gradients(lambda x: 2.0 - x * 3.0 + 1.0 / (x * x + 1.0), a)


def test_negative():
    check_gradients(ops.negative, rand(3, 4))


def test_power_both_inputs():
    a = rand(3, 4, seed=1, low=0.5, high=2.0)
    b = rand(4, seed=2, low=-1.5, high=2.5)
    check_gradients(ops.power, a, b)


def test_power_constant_exponent():
    check_gradients(lambda x: ops.power(x, 3.0), rand(3, 4))
    check_gradients(lambda x: x ** 2.5, rand(3, 4, low=0.5, high=2.0))


@pytest.mark.parametrize("op", [ops.maximum, ops.minimum])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4))], ids=str)
def test_maximum_minimum(op, shapes):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    assert np.min(np.abs(a - b)) > 1e-3  # no ties: the derivative exists everywhere here
    check_gradients(op, a, b)


# --- elementwise functions ----------------------------------------------------------------

@pytest.mark.parametrize("fn, data", [
    (ops.exp, rand(3, 4)),
    (ops.log, rand(3, 4, low=0.2, high=3.0)),
    (ops.sqrt, rand(3, 4, low=0.2, high=3.0)),
    (ops.square, rand(3, 4)),
    (ops.abs, away_from_zero(3, 4)),
], ids=["exp", "log", "sqrt", "square", "abs"])
def test_unary(fn, data):
    check_gradients(fn, data)


def test_clip():
    x = rand(4, 5, seed=3) * 2
    lo, hi = -0.5, 0.7
    assert np.min(np.abs(x - lo)) > 1e-3 and np.min(np.abs(x - hi)) > 1e-3
    assert (x < lo).any() and (x > hi).any() and ((x > lo) & (x < hi)).any()
    check_gradients(lambda t: ops.clip(t, lo, hi), x)


# --- linear algebra and shapes ----------------------------------------------------------

@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (3, 4, 2))], ids=str)
def test_matmul(shapes):
    check_gradients(ops.matmul, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2))


def test_matmul_operator():
    check_gradients(lambda a, b: a @ b, rand(3, 4, seed=1), rand(4, 2, seed=2))


@pytest.mark.parametrize("shape", [(12,), (3, 4), (2, -1), (4, 1, 3)], ids=str)
def test_reshape(shape):
    check_gradients(lambda t: ops.reshape(t, shape), rand(2, 6))


@pytest.mark.parametrize("perm", [None, (1, 0, 2), (2, 0, 1), (0, 2, 1)], ids=str)
def test_transpose(perm):
    check_gradients(lambda t: ops.transpose(t, perm), rand(2, 3, 4))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    shapes = {0: [(2, 3), (1, 3), (3, 3)], 1: [(2, 1), (2, 3), (2, 2)],
              -1: [(2, 1), (2, 3), (2, 2)]}[axis]
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    check_gradients(lambda *ts: ops.concat(list(ts), axis=axis), *arrays)


@pytest.mark.parametrize("index", [
    (slice(1, 3),),
    (slice(None), slice(None, None, 2)),
    (slice(None, None, -1), 1),
    (Ellipsis, -1),
    2,
    ([0, 2, 0, 3],),  # fancy index with a repeat: gradients accumulate
    (np.array([[0, 1], [3, 3]]),),
    (np.array([0, 1, 3]), np.array([4, 0, 4])),
    (slice(None), np.array([1, 1, 2])),
    (np.array([True, False, True, True]),),
], ids=lambda i: repr(i)[:40])
def test_getitem(index):
    check_gradients(lambda t: ops.getitem(t, index), rand(4, 5))


def test_getitem_operator():
    check_gradients(lambda t: t[1:, [0, 0, 2]] * t[0, 1], rand(3, 4))


# --- reductions -----------------------------------------------------------------------------

REDUCE_AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2), [1, 2]]


@pytest.mark.parametrize("op", [ops.reduce_sum, ops.reduce_mean, ops.reduce_max])
@pytest.mark.parametrize("axis", REDUCE_AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(op, axis, keepdims):
    x = rand(2, 3, 4, seed=5)
    check_gradients(lambda t: op(t, axis=axis, keepdims=keepdims), x)


def test_reduce_min():
    check_gradients(lambda t: ops.reduce_min(t, axis=1), rand(3, 4))


# --- activations ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    nn_ops.relu,
    nn_ops.leaky_relu,
    lambda t: nn_ops.leaky_relu(t, 0.01),
    nn_ops.sigmoid,
    nn_ops.tanh,
    nn_ops.softplus,
    nn_ops.softsign,
    nn_ops.elu,
    lambda t: nn_ops.elu(t, 0.5),
    nn_ops.selu,
    lambda t: nn_ops.gelu(t, approximate=False),
    lambda t: nn_ops.gelu(t, approximate=True),
    nn_ops.silu,
], ids=["relu", "leaky_relu", "leaky_relu_0.01", "sigmoid", "tanh", "softplus", "softsign",
        "elu", "elu_0.5", "selu", "gelu_exact", "gelu_tanh", "silu"])
def test_activations(fn):
    x = away_from_zero(4, 5, seed=7) * 2.5  # both signs and a wide range (gelu's two erf pieces)
    check_gradients(fn, x)


def test_sigmoid_large_inputs():
    check_gradients(nn_ops.sigmoid, np.array([-30.0, -8.0, -1.0, 0.5, 8.0, 30.0]))


def test_gelu_beyond_erf_split():
    # x / sqrt(2) crosses the erf piece boundary at 2 and the tail end at 6
    x = np.array([-9.0, -4.0, -2.9, -2.7, -1.0, 1.0, 2.7, 2.9, 4.0, 9.0])
    check_gradients(nn_ops.gelu, x)


@pytest.mark.parametrize("fn", [nn_ops.softmax, nn_ops.log_softmax])
@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_family(fn, axis):
    check_gradients(lambda t: fn(t, axis=axis), rand(2, 3, 4, seed=11) * 3)


# --- fused losses --------------------------------------------------------------------------------

def test_sparse_softmax_cross_entropy():
    labels = np.array([0, 3, 2, 3, 1])
    check_gradients(lambda z: nn_ops.sparse_softmax_cross_entropy(labels, z), rand(5, 4) * 3)


def test_sparse_softmax_cross_entropy_3d():
    labels = np.array([[0, 2, 1], [1, 1, 0]])
    check_gradients(lambda z: nn_ops.sparse_softmax_cross_entropy(labels, z), rand(2, 3, 3))


def test_softmax_cross_entropy():
    targets = probs(5, 4, seed=3)
    check_gradients(lambda z: nn_ops.softmax_cross_entropy(targets, z), rand(5, 4) * 3)
    # soft targets that do not sum to 1 (the gradient has the sum(targets) factor)
    check_gradients(lambda z: nn_ops.softmax_cross_entropy(2 * targets, z), rand(5, 4) * 3)


def test_sigmoid_cross_entropy():
    targets = rand(4, 3, seed=4, low=0, high=1)
    check_gradients(lambda z: nn_ops.sigmoid_cross_entropy(targets, z), away_from_zero(4, 3) * 4)


def test_bias_relu():
    x = away_from_zero(5, 4, seed=6, margin=0.5)
    bias = rand(4, seed=7) * 0.1                      # |x + bias| stays away from the kink
    assert np.abs(x + bias).min() > 0.1
    check_gradients(nn_ops.bias_relu, x, bias)


def test_bias_add():
    check_gradients(nn_ops.bias_add, rand(5, 4, seed=8), rand(4, seed=9))
    check_gradients(nn_ops.bias_add, rand(2, 3, 4, seed=10), rand(4, seed=11))


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3)], ids=str)
def test_dense(relu, x_shape):
    x, kernel, bias = rand(*x_shape, seed=12), rand(3, 4, seed=13), rand(4, seed=14)
    if relu:  # keep every x @ kernel + bias away from ReLU's kink
        assert np.abs(x @ kernel + bias).min() > 0.05
    check_gradients(lambda a, k, b: nn_ops.dense(a, k, b, relu=relu), x, kernel, bias)
    check_gradients(lambda a, k: nn_ops.dense(a, k, relu=relu), x, kernel)  # no bias


# --- dropout --------------------------------------------------------------------------------------

@pytest.mark.parametrize("noise_shape", [None, (1, 5), (4, 1)], ids=str)
def test_dropout_fixed_mask(noise_shape):
    def fn(t):  # a fresh generator per evaluation: the same mask every time
        return nn_ops.dropout(t, 0.4, rng=np.random.default_rng(0), noise_shape=noise_shape)
    out = np.asarray(fn(Tensor(np.ones((4, 5)))))
    assert (out == 0).any() and (out != 0).any()  # the mask really drops and keeps
    check_gradients(fn, rand(4, 5))


# --- layers, w.r.t. inputs and weights -----------------------------------------------------------

ACTIVATIONS = ["linear", None, "relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus",
               "softsign", "elu", "selu", "gelu", "leaky_relu", "silu", "swish", "exponential"]


def dense_fn(layer):
    """fn(x, kernel, bias): the layer's output with the given weights in place of its own."""
    def fn(x, kernel, bias):
        layer.kernel, layer.bias = kernel, bias
        return layer(x)
    return fn


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_dense_float64(activation):
    layer = layers.Dense(4, activation=activation, dtype="float64")
    x = rand(3, 5, seed=1)
    out = layer(x)
    assert out.dtype == np.float64
    assert [w.dtype for w in layer.weights] == [np.float64, np.float64]
    kernel, bias = layer.kernel.numpy().copy(), rand(4, seed=2) * 0.1
    if activation == "relu":  # keep every pre-activation away from the kink at 0
        z = x @ kernel + bias
        bias = bias + np.where(np.abs(z).min(0) < 0.05, 0.1, 0.0)
        assert np.abs(x @ kernel + bias).min() > 1e-3
    check_gradients(dense_fn(layer), x, kernel, bias)


def test_dense_3d_input():
    layer = layers.Dense(3, activation="tanh", dtype="float64")
    x = rand(2, 4, 5)
    layer(x)
    check_gradients(dense_fn(layer), x, rand(5, 3, seed=1), rand(3, seed=2))


def test_dense_without_bias():
    layer = layers.Dense(3, use_bias=False, activation="sigmoid", dtype="float64")
    x = rand(4, 5)
    layer(x)

    def fn(x, kernel):
        layer.kernel = kernel
        return layer(x)
    check_gradients(fn, x, rand(5, 3, seed=1))


def test_dense_float64_end_to_end_gradient_of_own_weights():
    """The layer's own Variables (float64) receive tape gradients equal to central differences."""
    from tomei.engine.tensor import GradientTape
    layer = layers.Dense(3, activation="tanh", dtype="float64")
    x = rand(4, 5)
    w = rand(4, 3, seed=9)
    layer(x)
    with GradientTape() as tape:
        target = ops.reduce_sum(ops.multiply(layer(x), w))
    gk, gb = tape.gradient(target, [layer.kernel, layer.bias])
    assert gk.dtype == np.float64
    kernel = layer.kernel.numpy().copy()
    eps = 1e-6

    def f(k):
        return np.sum(np.tanh(x @ k + layer.bias.numpy()) * w)
    for idx in [(0, 0), (2, 1), (4, 2)]:
        k_up, k_down = kernel.copy(), kernel.copy()
        k_up[idx] += eps
        k_down[idx] -= eps
        assert abs(gk.numpy()[idx] - (f(k_up) - f(k_down)) / (2 * eps)) < 1e-7
    out = np.tanh(x @ kernel + layer.bias.numpy())
    np.testing.assert_allclose(gb.numpy(), ((1 - out * out) * w).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: layers.Flatten(dtype="float64"),
    lambda: layers.Reshape((4, 3), dtype="float64"),
    lambda: layers.Reshape((-1, 2), dtype="float64"),
    lambda: layers.Activation("tanh", dtype="float64"),
    lambda: layers.Activation("softmax", dtype="float64"),
    lambda: layers.Softmax(dtype="float64"),
    lambda: layers.Softmax(axis=1, dtype="float64"),
    lambda: layers.ReLU(dtype="float64"),
    lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.25, dtype="float64"),
    lambda: layers.LeakyReLU(dtype="float64"),
    lambda: layers.LeakyReLU(negative_slope=0.05, dtype="float64"),
    lambda: layers.ELU(dtype="float64"),
    lambda: layers.ELU(alpha=0.3, dtype="float64"),
], ids=["Flatten", "Reshape", "Reshape-1", "Activation_tanh", "Activation_softmax", "Softmax",
        "Softmax_axis1", "ReLU", "ReLU_options", "LeakyReLU", "LeakyReLU_0.05", "ELU", "ELU_0.3"])
def test_weightless_layers(make):
    layer = make()
    x = away_from_zero(2, 3, 4, seed=4)
    x = np.where(np.abs(x - 0.25) < 0.02, 0.3, x)  # ReLU's threshold
    x = np.where(np.abs(x - 0.8) < 0.02, 0.9, x)  # ReLU's max_value
    out = layer(x)
    assert out.dtype == np.float64
    check_gradients(lambda t: layer(t), x)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_layer_training_seeded(rate):
    x = rand(4, 6)

    def fn(t):  # a new layer with the same seed draws the same first mask
        return layers.Dropout(rate, seed=3, dtype="float64")(t, training=True)
    out = np.asarray(fn(Tensor(np.ones((4, 6)))))
    assert (out == 0).any() and np.allclose(out[out != 0], 1 / (1 - rate))
    check_gradients(fn, x)


def test_dropout_layer_inference_is_identity_gradient():
    layer = layers.Dropout(0.5, dtype="float64")
    check_gradients(lambda t: layer(t, training=False), rand(3, 4))


def test_small_model_gradients_wrt_input_and_weights():
    """Flatten -> Dense(relu) -> Dropout(seeded) -> Dense: the tutorial's stack, in float64."""
    d1 = layers.Dense(5, activation="tanh", dtype="float64")
    d2 = layers.Dense(3, dtype="float64")
    flat = layers.Flatten(dtype="float64")
    x = rand(4, 2, 3)
    d2(d1(flat(x)))

    def fn(x, k1, b1, k2, b2):
        d1.kernel, d1.bias, d2.kernel, d2.bias = k1, b1, k2, b2
        h = layers.Dropout(0.3, seed=1, dtype="float64")(d1(flat(x)), training=True)
        return nn_ops.log_softmax(d2(h))
    check_gradients(fn, x, d1.kernel.numpy().copy(), rand(5, seed=1) * 0.1,
                    d2.kernel.numpy().copy(), rand(3, seed=2) * 0.1)


# --- losses as functions of y_pred ---------------------------------------------------------------

SAMPLE_WEIGHT = np.array([0.5, 2.0, 0.0, 1.5, 1.0])


def loss_cases():
    y_sparse = np.array([1, 0, 3, 2, 3])
    y_onehot = np.eye(4)[y_sparse]
    y_soft = probs(5, 4, seed=8)
    y_binary = (rand(5, 3, seed=9) > 0).astype(np.float64)
    logits = rand(5, 4, seed=1) * 2
    p = probs(5, 4, seed=2)
    return [
        ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True), y_sparse, logits),
        ("scce_probs", losses.SparseCategoricalCrossentropy(from_logits=False), y_sparse, p),
        ("scce_labels_n1", losses.SparseCategoricalCrossentropy(from_logits=True),
         y_sparse[:, None], logits),
        ("scce_ignore", losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3),
         y_sparse, logits),
        ("cce_logits", losses.CategoricalCrossentropy(from_logits=True), y_onehot, logits),
        ("cce_probs", losses.CategoricalCrossentropy(from_logits=False), y_soft, p),
        ("cce_smooth", losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
         y_onehot, logits),
        ("bce_logits", losses.BinaryCrossentropy(from_logits=True), y_binary,
         away_from_zero(5, 3) * 2),
        ("bce_probs", losses.BinaryCrossentropy(from_logits=False), y_binary,
         rand(5, 3, seed=3, low=0.05, high=0.95)),
        ("bce_smooth", losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.2), y_binary,
         rand(5, 3, seed=3, low=0.05, high=0.95)),
        ("mse", losses.MeanSquaredError(), rand(5, 3, seed=4), rand(5, 3, seed=5)),
        ("mae", losses.MeanAbsoluteError(), rand(5, 3, seed=4), rand(5, 3, seed=4) +
         away_from_zero(5, 3, seed=6)),
        *regression_loss_cases(),
    ]


def away_from(x, kinks, margin=0.05):
    """x with every entry at least ``margin`` from each kink (moved up past it)."""
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        x = np.where(np.abs(x - k) < margin, k + margin + np.abs(x - k), x)
    assert all(np.abs(x - k).min() >= margin * 0.999 for k in kinks)
    return x


def regression_loss_cases():
    """The Huber ... Poisson losses, with inputs away from their kinks (|err| = 0 or delta,
    hinge margin 0, categorical-hinge ties and margin 0, MSLE's eps clip)."""
    y_reg = rand(5, 3, seed=4)
    err = away_from(rand(5, 3, seed=12) * 2, [-1.0, 0.0, 1.0])  # Huber's delta = 1
    err_half = away_from(rand(5, 3, seed=13), [-0.5, 0.0, 0.5])
    assert (np.abs(err) < 1).any() and (np.abs(err) > 1).any()
    y_binary = (rand(5, 3, seed=9) > 0).astype(np.float64)
    y_pm1 = 2 * y_binary - 1
    hinge_pred = away_from(rand(5, 3, seed=14) * 2, [-1.0, 1.0])  # margin 1 - t*p != 0
    assert ((1 - y_pm1 * hinge_pred) > 0).any() and ((1 - y_pm1 * hinge_pred) < 0).any()
    y_sparse = np.array([1, 0, 3, 2, 3])
    y_onehot = np.eye(4)[y_sparse]
    cat_pred = np.array([[0.3, 1.2, -0.4, 0.9], [2.5, -1.0, 0.1, -0.3], [0.2, 0.5, -0.7, 0.4],
                         [-0.6, -0.2, 1.1, -0.9], [-1.5, -0.8, -1.2, 0.7]])
    neg = ((1 - y_onehot) * cat_pred).max(-1)
    margin = neg - (y_onehot * cat_pred).sum(-1) + 1
    assert (margin > 0.05).any() and (margin < -0.05).any() and np.abs(margin).min() > 0.05
    y_pos = rand(5, 3, seed=15, low=0.0, high=3.0)
    mape_true = away_from_zero(5, 3, seed=16, margin=0.3)
    return [
        ("huber", losses.Huber(), y_reg, y_reg + err),
        ("huber_delta", losses.Huber(delta=0.5), y_reg, y_reg + err_half),
        ("kld", losses.KLDivergence(), probs(5, 4, seed=8), probs(5, 4, seed=2)),
        ("hinge_01", losses.Hinge(), y_binary, hinge_pred),
        ("hinge_pm1", losses.Hinge(), y_pm1, hinge_pred),
        ("squared_hinge", losses.SquaredHinge(), y_binary, hinge_pred),
        ("categorical_hinge", losses.CategoricalHinge(), y_onehot, cat_pred),
        ("log_cosh", losses.LogCosh(), y_reg, rand(5, 3, seed=5) * 3),
        ("mape", losses.MeanAbsolutePercentageError(), mape_true,
         mape_true + away_from_zero(5, 3, seed=17)),
        ("msle", losses.MeanSquaredLogarithmicError(), y_pos,
         rand(5, 3, seed=18, low=0.1, high=3.0)),
        ("poisson", losses.Poisson(), rand(5, 3, seed=19).round() ** 2,
         rand(5, 3, seed=20, low=0.2, high=3.0)),
    ]


@pytest.mark.parametrize("case", loss_cases(), ids=lambda c: c[0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight",
                                       "none"])
def test_losses(case, weighted, reduction):
    _, loss, y_true, y_pred = case
    loss.reduction = reduction
    sw = SAMPLE_WEIGHT if weighted else None
    value = loss(y_true, Tensor(y_pred), sample_weight=sw)
    assert value.dtype == np.float64
    assert value.shape == ((5,) if reduction == "none" else ())
    check_gradients(lambda t: loss(y_true, t, sample_weight=sw), y_pred)


# --- the negative control -------------------------------------------------------------------------

def test_negative_control_wrong_gradient_fails():
    """A deliberately wrong backward (2*g instead of g) must be caught."""
    def bad_identity_times_sin(x):
        x = ops.convert_to_tensor(x)
        out = np.sin(x.value)
        return record(out, (x,), lambda g: (2 * g * np.cos(x.value),))  # true: g * cos x

    with pytest.raises(AssertionError, match="gradient of input 0 differs"):
        check_gradients(bad_identity_times_sin, rand(3, 4))

    def good(x):  # the same op with the right derivative passes
        x = ops.convert_to_tensor(x)
        return record(np.sin(x.value), (x,), lambda g: (g * np.cos(x.value),))
    check_gradients(good, rand(3, 4))


def test_negative_control_wrong_second_input():
    """An error in the gradient of the second input only is also caught, and named."""
    def bad_multiply(a, b):
        a, b = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
        return record(a.value * b.value, (a, b),
                      lambda g: (g * b.value, g * a.value + 1e-3))

    with pytest.raises(AssertionError, match="gradient of input 1 differs"):
        check_gradients(bad_multiply, rand(3), rand(3, seed=1))
