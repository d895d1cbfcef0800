"""Activations by name and as callables, against closed-form NumPy formulas."""
import math

import numpy as np
import pytest

from tomei.engine.gradcheck import check_gradients
from tomei.keras import activations, layers

X = np.random.default_rng(0).normal(0, 3, (5, 6)).astype(np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(np.float64)))


FORMULAS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x - x.max(-1, keepdims=True))
    / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "softplus": lambda x: np.log1p(np.exp(x.astype(np.float64))),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "gelu": lambda x: np.vectorize(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))))(x),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "exponential": lambda x: np.exp(x.astype(np.float64)),
    "linear": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_by_name_and_as_callable(name):
    expected = FORMULAS[name](X)
    for fn in (activations.get(name), getattr(activations, name)):
        out = fn(X)
        assert out.dtype == np.float32 and out.shape == X.shape
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(set(FORMULAS) - {"linear", "relu", "leaky_relu"}))
def test_gradients(name):
    check_gradients(getattr(activations, name), np.random.default_rng(1).normal(0, 1.5, (3, 4)))


def test_gelu_default_is_exact_and_approximate_is_the_tanh_form():
    exact, approx = activations.gelu(X).numpy(), activations.gelu(X, approximate=True).numpy()
    c = math.sqrt(2 / math.pi)
    x = X.astype(np.float64)
    np.testing.assert_allclose(approx, 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))),
                               rtol=1e-6, atol=1e-6)
    assert np.abs(exact - approx).max() > 1e-5  # the default really is the erf form


def test_relu_options_and_leaky_relu_slope():
    x = np.array([-2.0, -0.5, 0.1, 0.5, 3.0], np.float32)
    np.testing.assert_allclose(activations.relu(x, max_value=1.0).numpy(), [0, 0, 0.1, 0.5, 1.0])
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.1).numpy(),
                               [-0.2, -0.05, 0.1, 0.5, 3.0], rtol=1e-6)
    np.testing.assert_allclose(activations.relu(x, threshold=0.2).numpy(), [0, 0, 0, 0.5, 3.0])
    np.testing.assert_allclose(activations.leaky_relu(x, 0.5).numpy(),
                               [-1.0, -0.25, 0.1, 0.5, 3.0])


def test_get_resolves_none_callables_and_rejects_unknown_names():
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    assert activations.get("swish") is activations.silu
    with pytest.raises(ValueError, match="Unknown activation.*'relu6'"):
        activations.get("relu6")
    with pytest.raises(ValueError, match="activation=3"):
        activations.get(3)


def test_serialize_names_and_activation_layer():
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.gelu) == "gelu"
    layer = layers.Activation("softsign")
    np.testing.assert_allclose(layer(X).numpy(), FORMULAS["softsign"](X), rtol=1e-6)
    assert layer.get_config()["activation"] == "softsign"
