"""The vectorised error function behind exact GELU: accuracy against math.erf, gradients."""
import math

import numpy as np
import pytest

from tomei.engine import nn_ops
from tomei.engine.gradcheck import check_gradients


def test_erf_matches_math_erf_to_1e_10():
    x = np.concatenate([np.linspace(-8, 8, 40001),
                        np.random.default_rng(0).normal(0, 3, 20000),
                        [0.0, -0.0, 1e-300, -1e-12, 1.999999999, 2.0, 2.000000001, 6.0, 40.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(nn_ops.erf_array(x), expected, rtol=0, atol=1e-10)


def test_erf_limits_and_symmetry():
    x = np.array([-np.inf, -30.0, 0.0, 30.0, np.inf])
    np.testing.assert_array_equal(nn_ops.erf_array(x), [-1.0, -1.0, 0.0, 1.0, 1.0])
    v = np.random.default_rng(1).normal(0, 2, 1000)
    np.testing.assert_array_equal(nn_ops.erf_array(-v), -nn_ops.erf_array(v))
    assert np.isnan(nn_ops.erf_array(np.array([np.nan]))[0])


def test_erf_keeps_the_input_dtype_and_shape():
    out = nn_ops.erf(np.zeros((2, 3), np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 3)


@pytest.mark.parametrize("scale", [0.5, 2.0, 4.0])  # both pieces of the approximation
def test_erf_gradient(scale):
    check_gradients(nn_ops.erf, np.random.default_rng(2).normal(0, scale, (4, 5)))


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_gradient(approximate):
    check_gradients(lambda x: nn_ops.gelu(x, approximate),
                    np.random.default_rng(3).normal(0, 2, (4, 5)))


def test_gelu_exact_matches_the_definition():
    x = np.linspace(-7, 7, 2001)
    expected = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(nn_ops.gelu(x).numpy(), expected, rtol=0, atol=1e-10)


def test_gelu_does_not_call_python_per_value(monkeypatch):
    calls = []
    monkeypatch.setattr(math, "erf", lambda v: calls.append(v) or 0.0)
    nn_ops.gelu(np.ones((64, 128), np.float32))
    assert calls == []
