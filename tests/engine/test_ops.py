"""Engine ops in tomei/engine/ops.py (those not covered elsewhere): gather."""
import numpy as np
import pytest

from tomei.engine import ops
from tomei.engine.gradcheck import check_gradients
from tomei.engine.tensor import GradientTape, Variable


def test_gather_forward_picks_rows():
    table = np.arange(12.0).reshape(4, 3)
    out = ops.gather(table, np.array([[3, 0], [3, 1]]))
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), table[[[3, 0], [3, 1]]])


def test_gather_gradient_is_a_scatter_add_and_matches_central_differences():
    ids = np.array([[1, 4, 1], [0, 1, 4]])  # id 1 three times, 2 and 3 never
    check_gradients(lambda t: ops.gather(t, ids), np.random.default_rng(0).normal(size=(5, 3)))
    table = Variable(np.zeros((5, 2), np.float32))
    with GradientTape() as tape:
        y = ops.reduce_sum(ops.gather(table, ids))
    grad = tape.gradient(y, table).numpy()
    np.testing.assert_array_equal(grad[:, 0], [1, 3, 0, 0, 2])  # how often each row was used


def test_gather_rejects_bad_indices():
    with pytest.raises(IndexError, match="index 5 is outside"):
        ops.gather(np.zeros((5, 2)), np.array([0, 5]))
    with pytest.raises(IndexError, match="index -1"):
        ops.gather(np.zeros((5, 2)), np.array([-1]))
    with pytest.raises(TypeError, match="integer indices"):
        ops.gather(np.zeros((5, 2)), np.array([0.5]))
