"""Numerical gradient checking: compare tape gradients with central differences.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)        error O(h^2)

Run it in float64: with float32 the rounding error of f swamps the difference.
The output is reduced as sum(w * f(x)) with random weights ``w``; a plain sum would hide
errors in ops whose outputs always sum to a constant (softmax rows sum to 1).
"""
from __future__ import annotations

import numpy as np

from tomei.engine.ops import multiply, reduce_sum
from tomei.engine.tensor import GradientTape, Tensor, Variable


def numerical_gradient(fn, arrays, weights, eps=1e-6):
    """Central-difference gradients of sum(weights * fn(*arrays)) w.r.t. each array."""
    def scalar():
        return float(np.sum(weights * np.asarray(fn(*[Tensor(a) for a in arrays]))))

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


def tape_gradient(fn, arrays, weights):
    """Gradients of sum(weights * fn(*arrays)) from the GradientTape."""
    variables = [Variable(a, dtype=np.float64) for a in arrays]
    with GradientTape() as tape:
        target = reduce_sum(multiply(fn(*variables), Tensor(weights)))
    grads = tape.gradient(target, variables)
    return [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, grads)]


def check_gradients(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Asserts that the tape gradients of ``fn`` match central differences.

    Args:
        fn: a function of Tensors returning a Tensor.
        *arrays: float64 input arrays (copied; not modified).
        eps: finite-difference step. rtol, atol: tolerances of ``np.testing.assert_allclose``.
        seed: seed of the random output weights.

    Raises:
        AssertionError: naming the input whose gradients differ, with the largest error.
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    out = np.asarray(fn(*[Tensor(a) for a in arrays]))
    weights = np.random.default_rng(seed).normal(size=out.shape)
    analytic = tape_gradient(fn, arrays, weights)
    numeric = numerical_gradient(fn, [a.copy() for a in arrays], weights, eps)
    for k, (ga, gn) in enumerate(zip(analytic, numeric)):
        np.testing.assert_allclose(ga, gn, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {k} differs from central differences")
