"""ReLU, LeakyReLU, ELU and Softmax layers: formulas, arguments, errors."""
import numpy as np
import pytest

from tomei.keras import layers

X = np.array([[-2.0, -0.5, 0.0, 0.04, 0.3, 2.0]], np.float32)


def test_relu_with_max_value_slope_and_threshold():
    out = layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.05)(X).numpy()
    expected = np.where(X >= 0.05, np.minimum(X, 1.0), 0.1 * (X - 0.05))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_array_equal(layers.ReLU()(X).numpy(), np.maximum(X, 0))


def test_leaky_relu_and_elu():
    np.testing.assert_allclose(layers.LeakyReLU(negative_slope=0.2)(X).numpy(),
                               np.where(X > 0, X, 0.2 * X), rtol=1e-6)
    np.testing.assert_allclose(layers.ELU(alpha=0.7)(X).numpy(),
                               np.where(X > 0, X, 0.7 * (np.exp(X) - 1)), rtol=1e-6)


def test_softmax_axis():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = layers.Softmax(axis=0)(x).numpy()
    np.testing.assert_allclose(out.sum(axis=0), np.ones(3), rtol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="max_value"):
        layers.ReLU(max_value=-1.0)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-0.5)
