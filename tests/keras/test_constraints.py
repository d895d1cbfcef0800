"""Constraints: MaxNorm, NonNeg, UnitNorm formulas, get(), config."""
import numpy as np
import pytest

from tomei.keras import constraints


def test_max_norm_rescales_only_columns_above_the_limit():
    w = np.array([[3.0, 0.3], [4.0, 0.4]], np.float32)  # column norms 5 and 0.5 (axis 0)
    out = np.asarray(constraints.MaxNorm(max_value=2)(w))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 0.5], rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], w[:, 1], rtol=1e-5)


def test_non_neg_and_unit_norm():
    w = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    np.testing.assert_array_equal(np.asarray(constraints.NonNeg()(w)), [[0, 2], [3, 0]])
    np.testing.assert_allclose(np.linalg.norm(np.asarray(constraints.UnitNorm()(w)), axis=0),
                               [1.0, 1.0], rtol=1e-5)


def test_get_and_config():
    assert isinstance(constraints.get("non_neg"), constraints.NonNeg)
    assert constraints.get(None) is None
    c = constraints.MaxNorm(3, axis=1)
    assert constraints.MaxNorm.from_config(c.get_config()).get_config() == c.get_config()
    with pytest.raises(ValueError, match="max_norm"):
        constraints.get("nope")
