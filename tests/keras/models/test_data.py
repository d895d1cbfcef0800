"""tomei.keras.models.data: the checks every array passes before fit/evaluate/predict."""
import numpy as np
import pytest

from tomei.keras.models import data


def test_to_arrays_accepts_numbers_of_every_numeric_kind():
    for dtype in (np.float32, np.float64, np.int64, np.uint8, bool):
        assert data.to_arrays(np.ones((2, 3), dtype), "x").shape == (2, 3)


@pytest.mark.parametrize("value, match", [
    (np.float64(1.0), "batch axis"), (np.array(["a"]), "text"), (np.ones(2, complex), "complex"),
    (np.array([None]), "Python objects"), (np.array([np.nan]), "NaN"),
    (np.array([1e300]), "beyond float32"), (np.array([-np.inf], np.float32), "NaN or infinite"),
])
def test_to_arrays_refuses_with_the_argument_name(value, match):
    with pytest.raises(ValueError, match=f"^labels .*{match}|^labels contains.*{match}"):
        data.to_arrays(value, "labels")


def test_to_arrays_float32_huge_but_finite_is_fine():
    data.to_arrays(np.array([3e38], np.float32), "x")


def test_to_weights_refuses_negative_only():
    data.to_weights(np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="sample_weight must be >= 0.*-1.0"):
        data.to_weights(np.array([1.0, -1.0]))
    assert data.to_weights(None) is None


@pytest.mark.parametrize("steps", [0, -1, 2.0, "1", True, [1]])
def test_check_steps_refuses(steps):
    with pytest.raises(ValueError, match="positive integer"):
        data.check_steps(steps, "steps")


def test_check_steps_accepts():
    assert data.check_steps(None) is None
    assert data.check_steps(np.int32(3)) == 3
