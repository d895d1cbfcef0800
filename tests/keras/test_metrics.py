"""Metrics (tomei/keras/metrics.py): bad input gets the losses' kind of message."""
import numpy as np
import pytest

import tomei.keras as tk

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("metric, y_true", [
    (tk.metrics.SparseCategoricalAccuracy, np.zeros(0)),
    (tk.metrics.SparseCategoricalAccuracy, np.zeros(49)),
    (tk.metrics.CategoricalAccuracy, np.eye(10)[:3]),
    (tk.metrics.MeanSquaredError, np.zeros((51, 10))),
    (tk.metrics.SparseCategoricalCrossentropy, np.zeros(7)),
])
def test_different_lengths_are_named_not_a_broadcast_error(metric, y_true):
    """Issue 13 item 10: SparseCategoricalAccuracy().update_state(zeros(0), rand(50, 10))
    raised NumPy's 'operands could not be broadcast'."""
    m = metric()
    with pytest.raises(ValueError, match=r"y_true and y_pred have different lengths: y_true "
                                         rf"has {len(y_true)} samples .* y_pred has 50"):
        m.update_state(y_true, RNG.random((50, 10)).astype("float32"))
    assert m.result() == 0.0  # nothing was added


@pytest.mark.reference
def test_keras_refuses_the_same_input(keras):
    with pytest.raises(Exception):
        keras.metrics.SparseCategoricalAccuracy().update_state(
            np.zeros(0), RNG.random((50, 10)).astype("float32"))
