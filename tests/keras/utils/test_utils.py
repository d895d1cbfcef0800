"""keras.utils: set_random_seed and to_categorical."""
import random

import numpy as np
import pytest

from tomei.keras import layers, utils


def test_set_random_seed_repeats_weights_and_python_numpy_draws():
    utils.set_random_seed(7)
    first = (random.random(), np.random.rand(), layers.Dense(3)(np.ones((1, 2))).numpy())
    utils.set_random_seed(7)
    second = (random.random(), np.random.rand(), layers.Dense(3)(np.ones((1, 2))).numpy())
    assert first[:2] == second[:2]
    np.testing.assert_array_equal(first[2], second[2])
    with pytest.raises(ValueError, match="non-negative integer"):
        utils.set_random_seed(-1)


def test_to_categorical():
    out = utils.to_categorical([[2], [0], [1]])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert utils.to_categorical([1], num_classes=4).shape == (1, 4)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        utils.to_categorical([0, 2], num_classes=2)


@pytest.mark.parametrize("num_classes", ["3", 2.5, 0])
def test_to_categorical_num_classes_must_be_a_positive_int(num_classes):
    with pytest.raises(ValueError, match=r"^to_categorical\(\): num_classes must be an int >= 1"):
        utils.to_categorical([1, 2], num_classes=num_classes)


def test_to_categorical_refuses_label_names():
    with pytest.raises(ValueError, match=r"to_categorical expects integer class labels.*dtype <U3"):
        utils.to_categorical(["cat", "dog"])
