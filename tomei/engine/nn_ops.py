"""Neural-network ops: activations, softmax, fused losses and dropout, with their gradients.

Fused ops (softmax cross-entropy from logits, dropout, Dense's bias-add + ReLU) exist
because their hand-written gradient is shorter, faster and numerically safer than the chain
of primitive ops. Each is written in NumPy; three of them can also run as one compiled
loop (tomei/engine/fused.py) when numba is installed, with the same numbers: the NumPy
lines here are the reference, and the ``k = fused.loaded()`` branch only reschedules them.
"""
from __future__ import annotations

import math

import numpy as np

from tomei import config
from tomei.engine import cores, device, fused
from tomei.engine.ops import (align, convert_to_tensor, numbers, reduce_mean, reshape,
                              unbroadcast)
from tomei.engine.tensor import Tensor, record


# --- activations ------------------------------------------------------------------

def relu(x) -> Tensor:
    """max(x, 0) (Nair & Hinton, 2010). At 0 the gradient is 0."""
    x = numbers(x, "relu", "x")
    out = np.maximum(x.value, 0)
    return record(out, (x,), lambda g: (g * (out > 0),))  # d relu/dx = [x > 0]


def dense(x, kernel, bias=None, relu=False) -> Tensor:
    """Dense's forward as one op: ``x @ kernel + bias``, then ReLU when ``relu``. One tape
    entry instead of two, with the numbers of ``ops.matmul`` followed by ``bias_add`` or
    ``bias_relu``.

    Args:
        x: Tensor of shape (..., K). kernel: Tensor of shape (K, U). bias: Tensor of shape
            (U,), or None. relu: bool, apply max(., 0) to the sum.

    Returns:
        Tensor of shape (..., U); dtypes as NumPy's ``matmul`` and ``+``.

    Gradients, with G = g * [out > 0] under ReLU (else G = g) and every leading axis of x
    taken as rows: d/dx = G kernel^T; d/dkernel = x^T G; d/dbias = G summed over the rows.
    """
    if bias is None:
        x, kernel = align(convert_to_tensor(x), convert_to_tensor(kernel))
    else:
        x, kernel, bias = align(convert_to_tensor(x), convert_to_tensor(kernel),
                                convert_to_tensor(bias))
    out = x.value @ kernel.value  # a new array: the bias and ReLU may write into it
    k = fused.loaded(out, bias.value) if relu and bias is not None else None
    if k is not None and _fusable(out, bias.value):
        k.bias_relu_forward(out, bias.value, out)  # in place: each value is read, then written
    elif bias is not None and type(out) is np.ndarray and out.dtype == bias.value.dtype:
        out += bias.value  # NumPy's out + bias, without a second array
        if relu:
            np.maximum(out, 0, out=out)
    elif bias is not None:
        out = np.maximum(out + bias.value, 0) if relu else out + bias.value
    elif relu:
        out = np.maximum(out, 0)

    def backward(g):
        grad_bias = None
        if k is not None and _fusable(g, out):  # G and its row sum in one pass
            grad_out, grad_bias = np.empty_like(g), np.empty_like(bias.value)
            k.bias_relu_backward(g, out, grad_out, grad_bias)
        else:
            grad_out = g * (out > 0) if relu else g
        rows = grad_out.reshape(-1, grad_out.shape[-1])
        if bias is None or not bias.tracked:
            grad_bias = None
        elif grad_bias is None:
            grad_bias = rows.sum(axis=0)
        return (grad_out @ kernel.value.T if x.tracked else None,
                x.value.reshape(-1, x.shape[-1]).T @ rows if kernel.tracked else None,
                grad_bias)
    return record(out, (x, kernel) if bias is None else (x, kernel, bias), backward)


def dense_relu_dropout(x, kernel, bias, rate, rng=None) -> Tensor:
    """``dropout(dense(x, kernel, bias, relu=True), rate, rng)``, the tutorial's
    ``Dense(128, activation="relu")`` then ``Dropout(0.2)`` while training, as one op.

    Args:
        x: Tensor (N, K). kernel: Tensor (K, U). bias: Tensor (U,). rate: float in (0, 1).
        rng: a NumPy Generator (default: tomei's); the keep mask's uniform numbers are drawn
            from it after the product, exactly as the two ops draw them.

    Returns:
        Tensor (N, U): ``max(x @ kernel + bias, 0) * scale``, scale 1/(1-rate) for kept
        units and 0 for dropped ones.

    The reference is the two ops, which is what runs when the fused kernels are off or do not
    apply. With them the forward is the same compiled loops (fused.bias_relu_forward, then
    fused.dropout_forward on the same draws) and the gradient the same arithmetic
    (``g * scale``, then fused.bias_relu_backward): the same numbers, with one tape entry
    instead of two. Gradients: with G = g * scale * [relu output > 0], d/dx = G kernel^T,
    d/dkernel = x^T G, d/dbias = G summed over the rows.
    """
    x, kernel, bias = align(convert_to_tensor(x), convert_to_tensor(kernel),
                            convert_to_tensor(bias))
    k = fused.loaded(x.value, kernel.value, bias.value)
    if k is None or x.ndim != 2 or not (kernel.dtype == bias.dtype == x.dtype) or \
            x.dtype not in fused.FLOAT_TYPES or not bias.value.flags.c_contiguous:
        return dropout(dense(x, kernel, bias, relu=True), rate, rng)
    out = x.value @ kernel.value
    k.bias_relu_forward(out, bias.value, out)  # in place, as dense() does
    keep = 1.0 - rate
    uniform = device.uniform(out.shape, out, rng or config.rng())
    dropped, scale = np.empty_like(out), np.empty_like(out)
    k.dropout_forward(out.reshape(-1), uniform.reshape(-1), np.float32(keep),
                      out.dtype.type(1.0 / keep), dropped.reshape(-1), scale.reshape(-1))

    def backward(g):  # dropout's g * scale, then dense's ReLU mask and bias sum in one pass
        g = g * scale
        if _fusable(g, out):
            grad_out, grad_bias = np.empty_like(out), np.empty_like(bias.value)
            k.bias_relu_backward(g, out, grad_out, grad_bias)
        else:
            grad_out = g * (out > 0)
            grad_bias = grad_out.sum(axis=0)
        return (grad_out @ kernel.value.T if x.tracked else None,
                x.value.T @ grad_out if kernel.tracked else None,
                grad_bias if bias.tracked else None)
    return record(dropped, (x, kernel, bias), backward)


def bias_add(x, bias) -> Tensor:
    """x + bias, the bias along the last axis (``tf.nn.bias_add``, channels last): Dense's
    and Conv's bias without ReLU.

    Args:
        x: Tensor of shape (..., U). bias: Tensor of shape (U,).

    Returns:
        Tensor of x's shape: x + bias (NumPy broadcasting and dtypes).

    Gradients: d/dx = g; d/dbias = g summed over every axis but the last (the broadcast).
    """
    x, bias = align(convert_to_tensor(x), convert_to_tensor(bias))

    def backward(g):
        return g, (g.sum(axis=tuple(range(g.ndim - 1))) if bias.tracked else None)
    return record(x.value + bias.value, (x, bias), backward)


def bias_relu(x, bias) -> Tensor:
    """relu(x + bias): Dense's bias-add and ReLU as one op (one tape entry instead of two).

    Args:
        x: Tensor of shape (..., U), e.g. ``inputs @ kernel``. bias: Tensor of shape (U,).

    Returns:
        Tensor of x's shape and dtype: max(x + bias, 0).

    Gradients: d/dx = [out > 0] (0 at 0, as ``relu``); d/dbias = that, summed over every
    axis but the last.
    """
    x, bias = align(convert_to_tensor(x), convert_to_tensor(bias))
    k = fused.loaded(x.value, bias.value)
    if k is not None and _fusable(_rows(x.value), bias.value):  # (N, ..., U) as (rows, U)
        out = np.empty(x.shape, x.dtype)
        rows, out_rows, b = _rows(x.value), _rows(out), bias.value

        def forward_part(lo, hi):  # large (a Conv2D's output): parts of the rows, every core
            k.bias_relu_forward(rows[lo:hi], b, out_rows[lo:hi])
        cores.over_batch(forward_part, len(rows), work=rows.size)
    else:
        out = np.maximum(x.value + bias.value, 0)

    def backward(g):
        if k is not None and _fusable(_rows(g), _rows(out)):
            grad_x, g_rows, out_rows, sums = np.empty(g.shape, g.dtype), _rows(g), _rows(out), {}

            def backward_part(lo, hi):  # each part's bias gradient, added below in order
                sums[lo] = np.empty_like(bias.value)
                k.bias_relu_backward(g_rows[lo:hi], out_rows[lo:hi], _rows(grad_x)[lo:hi], sums[lo])
            cores.over_batch(backward_part, len(g_rows), work=g_rows.size)
            grad_bias = sum(sums[lo] for lo in sorted(sums))
        else:
            grad_x = g * (out > 0)
            grad_bias = grad_x.sum(axis=tuple(range(g.ndim - 1)))
        return grad_x, (grad_bias if bias.tracked else None)
    return record(out, (x, bias), backward)


def _rows(a):
    """An array of rank >= 2 as a (rows, last axis) matrix: a view when it is C-contiguous
    (the image layers' (N, H, W, C) outputs are), a contiguous copy otherwise."""
    return a.reshape(-1, a.shape[-1]) if a.ndim > 2 else a


def _fusable(a, b) -> bool:
    """The fused kernels' 2-D case: a (N, U) and b (U,) or (N, U), C-contiguous, one
    float dtype."""
    return (a.ndim == 2 and a.dtype == b.dtype and a.dtype in fused.FLOAT_TYPES and b.shape[-1] ==
            a.shape[1] and a.flags.c_contiguous and b.flags.c_contiguous)


def leaky_relu(x, negative_slope=0.2) -> Tensor:
    """x if x > 0 else negative_slope * x (Maas et al., 2013). Keras default slope 0.2."""
    x = numbers(x, "leaky_relu", "x")
    slope = np.where(x.value > 0, 1, negative_slope).astype(x.dtype)
    return record(x.value * slope, (x,), lambda g: (g * slope,))  # d/dx = 1 or slope


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    x = numbers(x, "sigmoid", "x", bool_ok=False)
    out = np.empty_like(x.value)
    pos = x.value >= 0
    out[pos] = 1 / (1 + np.exp(-x.value[pos]))
    ex = np.exp(x.value[~pos])
    out[~pos] = ex / (1 + ex)
    return record(out, (x,), lambda g: (g * out * (1 - out),))  # d s/dx = s (1 - s)


def tanh(x) -> Tensor:
    """Hyperbolic tangent elementwise (``tf.tanh``), values in (-1, 1); same shape and dtype.
    Gradient: g * (1 - tanh(x)^2)."""
    x = numbers(x, "tanh", "x")
    out = np.tanh(x.value)
    return record(out, (x,), lambda g: (g * (1 - out * out),))  # d tanh/dx = 1 - tanh^2


def softplus(x) -> Tensor:
    """ln(1 + e^x), stable form max(x,0) + ln(1 + e^-|x|)."""
    x = numbers(x, "softplus", "x", bool_ok=False)
    out = np.maximum(x.value, 0) + np.log1p(np.exp(-np.abs(x.value)))
    # d softplus/dx = sigmoid(x)
    return record(out, (x,), lambda g: (g * (1 - np.exp(-out)),))


def softsign(x) -> Tensor:
    """x / (1 + |x|)."""
    x = numbers(x, "softsign", "x")
    den = 1 + np.abs(x.value)
    return record(x.value / den, (x,), lambda g: (g / (den * den),))  # d/dx = 1/(1+|x|)^2


def elu(x, alpha=1.0) -> Tensor:
    """x if x > 0 else alpha (e^x - 1) (Clevert et al., 2015, arXiv:1511.07289)."""
    x = numbers(x, "elu", "x")
    neg = alpha * np.expm1(np.minimum(x.value, 0))
    out = np.where(x.value > 0, x.value, neg)
    # d/dx = 1 if x > 0 else alpha e^x = out + alpha
    return record(out, (x,), lambda g: (g * np.where(x.value > 0, 1, neg + alpha),))


SELU_ALPHA = 1.6732632423543772  # Klambauer et al., 2017, arXiv:1706.02515
SELU_SCALE = 1.0507009873554805


def selu(x) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    x = numbers(x, "selu", "x")
    neg = SELU_ALPHA * np.expm1(np.minimum(x.value, 0))
    out = SELU_SCALE * np.where(x.value > 0, x.value, neg)
    slope = SELU_SCALE * np.where(x.value > 0, 1, neg + SELU_ALPHA)
    return record(out.astype(x.dtype), (x,), lambda g: (g * slope,))


# --- the error function, for exact GELU ---------------------------------------------
# NumPy has no erf, and np.vectorize(math.erf) is slow (a Python call per value). Once, at
# import, we interpolate the exact math.erf / math.erfc at Chebyshev nodes (Trefethen,
# "Approximation Theory and Approximation Practice", SIAM 2013, ch. 4) on two pieces:
#   |x| < 2:  erf(x) = x * P(x^2)                             P: degree 14 on [0, 4]
#   |x| >= 2: erf(x) = sign(x) * (1 - Q(|x|) e^(-x^2) / |x|)  Q: degree 12 on [2, 6]
# Q(x) = x e^(x^2) erfc(x) is smooth (it tends to 1/sqrt(pi)); past 6, erfc(x) < 3e-17.
# Both pieces agree with math.erf to about 2e-11 (tests/engine/test_erf.py checks 1e-10).
_ERF_SPLIT, _ERF_END = 2.0, 6.0
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _power_coefficients(fn, degree, lo, hi):
    from numpy.polynomial import Chebyshev, Polynomial
    cheb = Chebyshev.interpolate(lambda t: np.array([fn(float(v)) for v in t]), degree, [lo, hi])
    return cheb.convert(kind=Polynomial, domain=[lo, hi], window=[lo, hi]).coef


_ERF_P = _power_coefficients(
    lambda s: math.erf(math.sqrt(s)) / math.sqrt(s) if s > 0 else _TWO_OVER_SQRT_PI,
    14, 0.0, _ERF_SPLIT ** 2)
_ERF_Q = _power_coefficients(lambda x: x * math.erfc(x) * math.exp(x * x), 12,
                             _ERF_SPLIT, _ERF_END)


def _horner(x, coef):
    out = np.full_like(x, coef[-1])
    for c in coef[-2::-1]:
        out *= x
        out += c
    return out


def erf_array(v: np.ndarray) -> np.ndarray:
    """erf of a float64 array (no tape), by the two Chebyshev pieces above."""
    a = np.abs(v)
    out = v * _horner(np.minimum(v * v, _ERF_SPLIT ** 2), _ERF_P)
    idx = np.flatnonzero(a >= _ERF_SPLIT)
    if idx.size:
        big = np.minimum(a.flat[idx], _ERF_END)
        tail = _horner(big, _ERF_Q) * np.exp(-big * big) / big
        out.flat[idx] = np.copysign(1.0 - tail, v.flat[idx])
    return out


def erf(x) -> Tensor:
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt.

    Computed in float64 (absolute error < 1e-10) and returned in the input's dtype.
    """
    x = numbers(x, "erf", "x")
    v = x.value.astype(np.float64)
    out = erf_array(v).astype(x.dtype)
    # d erf/dx = 2/sqrt(pi) e^(-x^2)
    return record(out, (x,), lambda g: (g * (_TWO_OVER_SQRT_PI * np.exp(-v * v)).astype(x.dtype),))


def gelu(x, approximate=False) -> Tensor:
    """x * Phi(x) (Hendrycks & Gimpel, 2016, arXiv:1606.08415); tanh form if approximate.

    Phi(x) = (1 + erf(x / sqrt 2)) / 2 is the standard normal CDF. Keras 3's default is the
    exact form (approximate=False); the tanh form is
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    """
    x = numbers(x, "gelu", "x")
    v = x.value.astype(np.float64)
    if approximate:
        c = math.sqrt(2 / math.pi)
        inner = c * (v + 0.044715 * v ** 3)
        t = np.tanh(inner)
        out = 0.5 * v * (1 + t)
        slope = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v)
    else:
        phi = 0.5 * (1 + erf_array(v / math.sqrt(2)))
        out = v * phi
        slope = phi + v * np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)  # Phi + x phi(x)
    return record(out.astype(x.dtype), (x,), lambda g: (g * slope.astype(x.dtype),))


def silu(x) -> Tensor:
    """x * sigmoid(x), a.k.a. swish (Ramachandran et al., 2017, arXiv:1710.05941)."""
    x = numbers(x, "silu", "x", bool_ok=False)
    s = sigmoid(x).value
    # d/dx = s + x s (1 - s)
    return record(x.value * s, (x,), lambda g: (g * (s + x.value * s * (1 - s)),))


# --- softmax family -----------------------------------------------------------------

def softmax(x, axis=-1) -> Tensor:
    """e^x / sum(e^x) along ``axis``; rows sum to 1. Shifted by the max for stability."""
    x = numbers(x, "softmax", "x", bool_ok=False)
    e = np.exp(x.value - x.value.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(g):  # J^T g = s * (g - sum(g * s))
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)
    return record(out, (x,), backward)


def log_softmax(x, axis=-1) -> Tensor:
    """x - max - ln(sum(e^(x - max))) along ``axis``."""
    x = numbers(x, "log_softmax", "x", bool_ok=False)
    shifted = x.value - x.value.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):  # J^T g = g - softmax(x) * sum(g)
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)
    return record(out, (x,), backward)


def sparse_softmax_cross_entropy(labels, logits) -> Tensor:
    """Per-sample -log softmax(logits)[label], fused with its gradient.

    Args:
        labels: int array of shape (N,) (or the leading shape of ``logits``), values in
            [0, C). Not differentiated.
        logits: float Tensor of shape (N, C).

    Returns:
        Tensor of shape (N,): the loss of each sample.

    The gradient with respect to the logits is softmax(logits) - onehot(label).
    """
    logits = numbers(logits, "sparse_softmax_cross_entropy", "logits", bool_ok=False)
    z = logits.value
    if z.ndim != 2:  # (..., C): work on rows, give back the leading shape
        flat = sparse_softmax_cross_entropy(np.reshape(labels, -1), reshape(logits, (-1, z.shape[-1])))
        return reshape(flat, z.shape[:-1])
    labels = device.like(labels, z)
    k = fused.loaded(z)
    if k is not None and z.dtype in fused.FLOAT_TYPES and z.flags.c_contiguous and \
            labels.shape == (len(z),) and labels.dtype.kind in "iu":
        out = _sparse_softmax_cross_entropy_fused(k, labels.astype(np.intp, copy=False), logits)
        if out is not None:
            return out
    rows = device.like(np.arange(len(z)), z)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1)
    out = np.log(total) - shifted[rows, labels]

    def backward(g):  # d loss_i / d z_ij = softmax_ij - [j == label_i]
        grad = e / total[:, None]
        grad[rows, labels] -= 1
        return (grad * g[:, None],)
    return record(out, (logits,), backward)


def _sparse_softmax_cross_entropy_fused(k, labels, logits) -> Tensor:
    """The same op and gradient as above, each as one compiled loop over the rows
    (fused.sparse_xent_forward / _backward); None when a label is out of range."""
    z = logits.value
    probs, out = np.empty_like(z), np.empty(len(z), z.dtype)
    if not k.sparse_xent_forward(z, labels, probs, out):
        return None

    def backward(g):
        grad = np.empty_like(probs)
        k.sparse_xent_backward(probs, labels, np.ascontiguousarray(g, z.dtype), grad)
        return (grad,)
    return record(out, (logits,), backward)


def mean_sparse_softmax_cross_entropy(labels, logits) -> Tensor:
    """The mean over the rows of :func:`sparse_softmax_cross_entropy`: a classifier's loss
    with Keras's default reduction ("sum_over_batch_size"), as one tape entry.

    Args:
        labels: int array of shape (N,), values in [0, C). Not differentiated.
        logits: float Tensor of shape (N, C), N >= 1.

    Returns:
        Scalar Tensor of the logits' dtype: (sum of the N per-sample losses) / N.

    The reference is ``ops.reduce_mean(sparse_softmax_cross_entropy(labels, logits))``, which
    is what runs when the fused kernels are off or do not apply; with them the same numbers
    come from one op whose gradient, ``(softmax(logits) - onehot(labels)) * g / N``, is one
    compiled loop (fused.sparse_xent_backward) and whose per-sample values are summed in
    NumPy as reduce_mean sums them.
    """
    logits = numbers(logits, "sparse_softmax_cross_entropy", "logits", bool_ok=False)
    z = logits.value
    k = fused.loaded(z, labels)
    if k is not None and z.ndim == 2 and len(z) and z.dtype in fused.FLOAT_TYPES and \
            z.flags.c_contiguous and labels.shape == (len(z),) and labels.dtype.kind in "iu":
        labels = labels.astype(np.intp, copy=False)
        probs, rows = np.empty_like(z), np.empty(len(z), z.dtype)
        if k.sparse_xent_forward(z, labels, probs, rows):
            count = len(z)

            def backward(g):  # reduce_mean's g / N for every row, then the softmax's gradient
                grad = np.empty_like(probs)
                k.sparse_xent_backward(probs, labels, np.full(count, g / count, z.dtype), grad)
                return (grad,)
            return record(rows.sum() / count, (logits,), backward)
    return reduce_mean(sparse_softmax_cross_entropy(labels, logits))


def softmax_cross_entropy(targets, logits) -> Tensor:
    """Per-sample -sum(targets * log_softmax(logits)) over the last axis (dense targets).

    Gradient with respect to the logits: softmax(logits) * sum(targets) - targets.
    """
    logits = numbers(logits, "softmax_cross_entropy", "logits", bool_ok=False)
    t = device.like(targets, logits.value, logits.dtype)
    z = logits.value
    shifted = z - z.max(axis=-1, keepdims=True)
    log_total = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    out = -(t * (shifted - log_total)).sum(axis=-1)

    def backward(g):
        probs = np.exp(shifted - log_total)
        return (g[..., None] * (probs * t.sum(axis=-1, keepdims=True) - t),)
    return record(out, (logits,), backward)


def sigmoid_cross_entropy(targets, logits) -> Tensor:
    """Elementwise binary cross-entropy from logits: max(z,0) - z t + ln(1 + e^-|z|).

    Gradient with respect to z: sigmoid(z) - t.
    """
    logits = numbers(logits, "sigmoid_cross_entropy", "logits", bool_ok=False)
    t = device.like(targets, logits.value, logits.dtype)
    z = logits.value
    out = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))

    def backward(g):
        return (g * (sigmoid(z).value - t),)
    return record(out, (logits,), backward)


# --- dropout ------------------------------------------------------------------------

def dropout(x, rate, rng=None, noise_shape=None) -> Tensor:
    """Inverted dropout (Srivastava et al., 2014): keep each unit with probability 1-rate
    and scale kept units by 1/(1-rate), so the expected output equals the input.

    Args:
        x: Tensor. rate: float in [0, 1). rng: a NumPy Generator (default: tomei's).
        noise_shape: optional shape broadcastable to ``x.shape`` for the keep mask.
    """
    x = numbers(x, "dropout", "x")
    keep = 1.0 - rate
    rng = rng or config.rng()
    shape = x.shape if noise_shape is None else tuple(
        d if d is not None else x.shape[i] for i, d in enumerate(noise_shape))
    uniform = device.uniform(shape, x.value, rng)
    k = fused.loaded(x.value)
    if k is not None and shape == x.shape and x.value.flags.c_contiguous and \
            x.dtype in fused.FLOAT_TYPES:
        out, scale = np.empty_like(x.value), np.empty_like(x.value)
        k.dropout_forward(x.value.reshape(-1), uniform.reshape(-1), np.float32(keep),
                          x.dtype.type(1.0 / keep), out.reshape(-1), scale.reshape(-1))
        return record(out, (x,), lambda g: (g * scale,))
    kept = uniform < keep
    scale = kept * x.dtype.type(1.0 / keep)  # 0 for dropped units, 1/(1-rate) for kept ones
    # d out/dx = scale (0 for dropped units, 1/(1-rate) for kept ones)
    return record(x.value * scale, (x,), lambda g: (unbroadcast(g * scale, x.shape),))
