"""Initializers: Keras names, limits, statistics and seeds (Keras-identical random streams
are not a goal; the distributions are)."""
import math

import numpy as np
import pytest

from tomei.keras import initializers, layers

SHAPE = (400, 300)  # fan_in 400, fan_out 300
FAN_IN, FAN_OUT = SHAPE


@pytest.mark.parametrize("name, cls, limit", [
    ("glorot_uniform", initializers.GlorotUniform, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("he_uniform", initializers.HeUniform, math.sqrt(6 / FAN_IN)),
    ("lecun_uniform", initializers.LecunUniform, math.sqrt(3 / FAN_IN)),
])
def test_uniform_variance_scaling_limits_and_spread(name, cls, limit):
    w = initializers.get(name)(SHAPE)
    assert isinstance(initializers.get(name), cls)
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # fills the whole interval
    np.testing.assert_allclose(w.std(), limit / math.sqrt(3), rtol=0.02)  # U(-a, a): a/sqrt(3)
    assert abs(w.mean()) < 0.01 * limit


@pytest.mark.parametrize("name, stddev", [
    ("glorot_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he_normal", math.sqrt(2 / FAN_IN)),
    ("lecun_normal", math.sqrt(1 / FAN_IN)),
])
def test_truncated_normal_variance_scaling(name, stddev):
    w = initializers.get(name)(SHAPE)
    # truncated at 2 sigma of N(0, (stddev / 0.8796...)^2), which restores the variance
    sigma = stddev / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma + 1e-7
    np.testing.assert_allclose(w.std(), stddev, rtol=0.02)


def test_random_uniform_normal_and_truncated_normal_defaults_and_arguments():
    u = initializers.RandomUniform()(SHAPE)
    assert -0.05 <= u.min() and u.max() <= 0.05
    u = initializers.RandomUniform(minval=2.0, maxval=3.0)(SHAPE)
    assert 2.0 <= u.min() and u.max() <= 3.0
    n = initializers.RandomNormal()(SHAPE)
    np.testing.assert_allclose([n.mean(), n.std()], [0.0, 0.05], atol=2e-3)
    n = initializers.RandomNormal(mean=1.0, stddev=0.5)(SHAPE)
    np.testing.assert_allclose([n.mean(), n.std()], [1.0, 0.5], atol=1e-2)
    t = initializers.TruncatedNormal(mean=1.0, stddev=0.5)(SHAPE)
    assert np.abs(t - 1.0).max() <= 1.0 + 1e-6  # within 2 stddev
    # truncation at 2 sigma leaves a standard deviation of about 0.88 sigma
    np.testing.assert_allclose(t.std(), 0.5 * 0.8796, rtol=0.02)


def test_constant_zeros_ones():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.get("ones")((2, 3)), np.ones((2, 3)))
    c = initializers.Constant(0.7)((4,))
    assert c.dtype == np.float32
    np.testing.assert_allclose(c, 0.7)


@pytest.mark.parametrize("cls", [initializers.GlorotUniform, initializers.GlorotNormal,
                                 initializers.HeUniform, initializers.HeNormal,
                                 initializers.LecunUniform, initializers.LecunNormal,
                                 initializers.RandomUniform, initializers.RandomNormal,
                                 initializers.TruncatedNormal])
def test_seed_repeats_and_differs(cls):
    a, b, c = cls(seed=3)((20, 10)), cls(seed=3)((20, 10)), cls(seed=4)((20, 10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert cls(seed=3).get_config()["seed"] == 3
    assert isinstance(cls.from_config(cls(seed=3).get_config()), cls)


def test_dense_uses_glorot_uniform_and_zeros_by_default():
    layer = layers.Dense(300)
    layer.build((None, 400))
    assert np.abs(layer.kernel.numpy()).max() <= math.sqrt(6 / 700)
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    layer = layers.Dense(3, kernel_initializer=initializers.Constant(0.5), bias_initializer="ones")
    layer.build((None, 2))
    np.testing.assert_array_equal(layer.kernel.numpy(), 0.5)
    np.testing.assert_array_equal(layer.bias.numpy(), 1.0)


def test_unknown_initializer_names_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown initializer.*glorot_uniform"):
        initializers.get("glorot")
