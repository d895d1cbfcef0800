"""Numerical gradient checking: compare tape gradients with central differences.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)        error O(h^2)

Run it in float64: with float32 the rounding error of f swamps the difference.
The output is reduced as sum(w * f(x)) with random weights ``w``; a plain sum would hide
errors in ops whose outputs always sum to a constant (softmax rows sum to 1).
"""
from __future__ import annotations

import numpy as np

from tomei.engine import device
from tomei.engine.ops import multiply, reduce_sum
from tomei.engine.tensor import GradientTape, Tensor, Variable


def _host(array):
    return array


def numerical_gradient(fn, arrays, weights, eps=1e-6, place=_host):
    """Central-difference gradients of sum(weights * fn(*arrays)) w.r.t. each array.
    ``place`` puts each (host) input where ``fn`` runs (e.g. on the GPU)."""
    def scalar():
        return float(np.sum(weights * np.asarray(fn(*[Tensor(place(a)) for a in arrays]))))

    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            saved = a[i]
            a[i] = saved + eps
            up = scalar()
            a[i] = saved - eps
            down = scalar()
            a[i] = saved
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def tape_gradient(fn, arrays, weights, place=_host):
    """Gradients of sum(weights * fn(*arrays)) from the GradientTape (on host arrays)."""
    variables = [Variable(place(a), dtype=np.float64) for a in arrays]
    with GradientTape() as tape:
        out = fn(*variables)
        target = reduce_sum(multiply(out, Tensor(device.like(weights, out.value))))
    grads = tape.gradient(target, variables)
    return [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, grads)]


def check_gradients(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, on_gpu=False):
    """Asserts that the tape gradients of ``fn`` match central differences.

    Args:
        fn: a function of Tensors returning a Tensor.
        *arrays: float64 input arrays (copied; not modified).
        eps: finite-difference step. rtol, atol: tolerances of ``np.testing.assert_allclose``.
        seed: seed of the random output weights.
        on_gpu: run ``fn`` on GPU copies of the inputs (needs CuPy and a CUDA device).

    Raises:
        AssertionError: naming the input whose gradients differ, with the largest error.
    """
    place = (lambda a: device.to_device(a, "gpu")) if on_gpu else _host
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    out = np.asarray(fn(*[Tensor(place(a)) for a in arrays]))
    weights = np.random.default_rng(seed).normal(size=out.shape)
    analytic = tape_gradient(fn, arrays, weights, place)
    numeric = numerical_gradient(fn, [a.copy() for a in arrays], weights, eps, place)
    for k, (ga, gn) in enumerate(zip(analytic, numeric)):
        np.testing.assert_allclose(ga, gn, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {k} differs from central differences")


# --- one check of every op, for a quick self-test on any device -----------------------------

def op_cases():
    """``(name, fn, arrays)`` for every differentiable op of the engine, with inputs kept away
    from kinks (ReLU at 0, ties of max) so central differences are meaningful. Small shapes:
    all of them run in seconds, also on a GPU (``benchmarks/gpu_check.py``)."""
    from tomei.engine import conv_ops, conv_pool, nn_ops, ops

    rng = np.random.default_rng(0)

    def normal(*shape):
        return rng.normal(size=shape)

    def away(*shape, margin=0.1):
        x = normal(*shape)
        return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * (margin + np.abs(x)), x)

    def positive(*shape):
        return rng.uniform(0.5, 2.0, size=shape)

    labels = np.array([2, 0, 1, 2])
    onehot = np.eye(3)[labels]
    binary = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    return [
        ("add", ops.add, [normal(3, 4), normal(4)]),
        ("subtract", ops.subtract, [normal(3, 1), normal(1, 4)]),
        ("multiply", ops.multiply, [normal(2, 3, 4), normal(3, 1)]),
        ("divide", ops.divide, [normal(3, 4), positive(4)]),
        ("negative", ops.negative, [normal(3, 4)]),
        ("power", ops.power, [positive(3, 4), normal(3, 4)]),
        ("maximum", ops.maximum, [normal(3, 4), normal(3, 4) + 0.05]),
        ("minimum", ops.minimum, [normal(3, 4), normal(3, 4) + 0.05]),
        ("exp", ops.exp, [normal(3, 4)]),
        ("log", ops.log, [positive(3, 4)]),
        ("sqrt", ops.sqrt, [positive(3, 4)]),
        ("square", ops.square, [normal(3, 4)]),
        ("abs", ops.abs, [away(3, 4)]),
        ("sin", ops.sin, [normal(3, 4)]),
        ("cos", ops.cos, [normal(3, 4)]),
        ("clip", lambda x: ops.clip(x, -0.5, 0.5), [away(3, 4, margin=0.05) * 0.9]),
        ("matmul", ops.matmul, [normal(2, 3, 4), normal(2, 4, 5)]),
        ("reshape", lambda x: ops.reshape(x, (4, 3)), [normal(3, 4)]),
        ("transpose", lambda x: ops.transpose(x, (2, 0, 1)), [normal(2, 3, 4)]),
        ("concat", lambda a, b: ops.concat([a, b], axis=1), [normal(2, 3), normal(2, 2)]),
        ("getitem", lambda x: ops.getitem(x, (slice(None), np.array([0, 2, 2]))),
         [normal(3, 4)]),
        ("reduce_sum", lambda x: ops.reduce_sum(x, axis=1), [normal(3, 4)]),
        ("reduce_mean", lambda x: ops.reduce_mean(x, axis=(0, 2), keepdims=True),
         [normal(2, 3, 4)]),
        ("reduce_max", lambda x: ops.reduce_max(x, axis=-1), [normal(3, 4)]),
        ("reduce_min", lambda x: ops.reduce_min(x, axis=0), [normal(3, 4)]),
        ("relu", nn_ops.relu, [away(3, 4)]),
        ("bias_relu", nn_ops.bias_relu, [away(3, 4), rng.uniform(-0.02, 0.02, size=4)]),
        ("leaky_relu", nn_ops.leaky_relu, [away(3, 4)]),
        ("sigmoid", nn_ops.sigmoid, [normal(3, 4) * 3]),
        ("tanh", nn_ops.tanh, [normal(3, 4)]),
        ("softplus", nn_ops.softplus, [normal(3, 4) * 3]),
        ("softsign", nn_ops.softsign, [away(3, 4)]),
        ("elu", nn_ops.elu, [away(3, 4)]),
        ("selu", nn_ops.selu, [away(3, 4)]),
        ("erf", nn_ops.erf, [normal(3, 4)]),
        ("gelu", nn_ops.gelu, [normal(3, 4)]),
        ("silu", nn_ops.silu, [normal(3, 4)]),
        ("softmax", nn_ops.softmax, [normal(3, 5)]),
        ("log_softmax", nn_ops.log_softmax, [normal(3, 5)]),
        ("sparse_softmax_cross_entropy",
         lambda z: nn_ops.sparse_softmax_cross_entropy(labels, z), [normal(4, 3)]),
        ("mean_sparse_softmax_cross_entropy",
         lambda z: nn_ops.mean_sparse_softmax_cross_entropy(labels, z), [normal(4, 3)]),
        ("softmax_cross_entropy", lambda z: nn_ops.softmax_cross_entropy(onehot, z),
         [normal(4, 3)]),
        ("sigmoid_cross_entropy", lambda z: nn_ops.sigmoid_cross_entropy(binary, z),
         [normal(4, 3)]),
        ("dropout", lambda x: nn_ops.dropout(x, 0.5, rng=np.random.default_rng(3)),
         [normal(4, 6)]),
        ("dense_relu_dropout",
         lambda x, k, b: nn_ops.dense_relu_dropout(x, k, b, 0.5, np.random.default_rng(3)),
         [normal(4, 3), normal(3, 5), normal(5)]),
        ("conv2d", lambda x, f: conv_ops.conv2d(x, f, 2, "SAME", dilations=1),
         [normal(2, 5, 6, 2), normal(3, 3, 2, 3)]),
        ("conv2d dilated", lambda x, f: conv_ops.conv2d(x, f, 1, "VALID", dilations=2),
         [normal(1, 7, 6, 2), normal(2, 3, 2, 2)]),
        ("conv2d_transpose", lambda x, f: conv_ops.conv2d_transpose(x, f, (2, 6, 6, 2), 2),
         [normal(2, 3, 3, 3), normal(3, 3, 2, 3)]),
        ("conv1d", lambda x, f: conv_ops.conv1d(x, f, 1, "SAME"),
         [normal(2, 7, 2), normal(3, 2, 3)]),
        ("conv2d_bias_relu_max_pool",
         lambda x, f, b: conv_pool.conv2d_bias_relu_max_pool(x, f, b, 1, "SAME"),
         [normal(2, 6, 7, 2), normal(3, 3, 2, 3), normal(3)]),
        ("max_pool2d", lambda x: conv_ops.max_pool2d(x, 2, 2, "SAME"),
         [rng.permutation(2 * 5 * 5 * 2).reshape(2, 5, 5, 2) / 10.0]),
        ("avg_pool2d", lambda x: conv_ops.avg_pool2d(x, 3, 2, "SAME"), [normal(2, 5, 6, 2)]),
        ("max_pool1d", lambda x: conv_ops.max_pool1d(x, 2, 2, "VALID"),
         [rng.permutation(2 * 6 * 2).reshape(2, 6, 2) / 10.0]),
        ("avg_pool1d", lambda x: conv_ops.avg_pool1d(x, 2, 1, "VALID"), [normal(2, 6, 2)]),
        ("upsample_nearest2d", lambda x: conv_ops.upsample_nearest2d(x, (2, 3)),
         [normal(2, 2, 3, 2)]),
        ("pad", lambda x: conv_ops.pad(x, [[0, 0], [1, 2], [2, 0], [0, 0]]),
         [normal(2, 3, 3, 2)]),
        ("pad reflect", lambda x: conv_ops.pad(x, [[1, 1], [2, 0]], mode="REFLECT"),
         [normal(3, 4)]),
        ("pad symmetric", lambda x: conv_ops.pad(x, [[3, 1], [0, 2]], mode="symmetric"),
         [normal(3, 4)]),
    ]


def check_all_ops(on_gpu=False, only=None):
    """Runs :func:`check_gradients` on every op of :func:`op_cases` (``only``: names to run).
    Returns the list of names checked; raises AssertionError on the first that differs."""
    names = []
    for name, fn, arrays in op_cases():
        if only is None or name in only:
            check_gradients(fn, *arrays, on_gpu=on_gpu)
            names.append(name)
    return names
