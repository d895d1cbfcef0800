"""BinaryCrossentropy, TopKCategoricalAccuracy and SparseTopKCategoricalAccuracy metrics:
values by hand, string names in compile, configs; the tf.metrics alias. Bad input gets the
losses' kind of message."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import metrics


def test_binary_crossentropy_by_hand_and_from_logits():
    y, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]], np.float32)
    m = metrics.BinaryCrossentropy()
    m.update_state(y, p)
    assert float(m.result()) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-6)
    logits = metrics.BinaryCrossentropy(from_logits=True)
    logits.update_state(y, np.log(p / (1 - p)))
    assert float(logits.result()) == pytest.approx(float(m.result()), rel=1e-5)


def test_top_k_counts_ties_at_the_boundary_as_hits():
    scores = np.array([[0.1, 0.5, 0.4, 0.0], [0.3, 0.3, 0.3, 0.1], [0.9, 0.05, 0.03, 0.02]])
    labels = np.array([2, 2, 3])
    assert metrics.sparse_top_k_categorical_accuracy(labels, scores, k=2).tolist() == [1, 1, 0]
    assert metrics.sparse_top_k_categorical_accuracy(labels, scores, k=1).tolist() == [0, 1, 0]
    onehot = np.eye(4)[labels]
    assert metrics.top_k_categorical_accuracy(onehot, scores, k=2).tolist() == [1, 1, 0]
    ids = np.argsort(-scores, axis=-1)
    assert metrics.sparse_top_k_categorical_accuracy(labels[:, None], ids, k=2,
                                                     from_sorted_ids=True).tolist() == [1, 0, 0]


def test_classes_names_and_string_names_in_compile():
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state(np.array([2, 2, 3]), np.array([[0.1, 0.5, 0.4, 0.0]] * 3))
    assert float(m.result()) == pytest.approx(2 / 3)
    assert m.get_config() == {"name": "sparse_top_k_categorical_accuracy", "dtype": m.dtype,
                              "k": 2}  # from_sorted_ids is listed only when True, as Keras
    assert metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True).get_config()[
        "from_sorted_ids"] is True
    assert metrics.TopKCategoricalAccuracy().get_config()["k"] == 5
    assert tf.metrics.BinaryAccuracy is metrics.BinaryAccuracy
    model = tf.keras.Sequential([tf.keras.layers.Dense(5, input_shape=(3,))])
    model.compile("sgd", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["sparse_top_k_categorical_accuracy"])
    logs = model.evaluate(np.ones((4, 3)), np.arange(4), return_dict=True, verbose=0)
    assert set(logs) == {"loss", "sparse_top_k_categorical_accuracy"}
    for name in ("binary_crossentropy", "top_k_categorical_accuracy"):
        assert type(metrics.get(name)).__name__ in ("BinaryCrossentropy", "TopKCategoricalAccuracy")


# --- issue 13 item 10 ---------------------------------------------------------------------

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("metric, y_true", [
    (metrics.SparseCategoricalAccuracy, np.zeros(0)),
    (metrics.SparseCategoricalAccuracy, np.zeros(49)),
    (metrics.CategoricalAccuracy, np.eye(10)[:3]),
    (metrics.MeanSquaredError, np.zeros((51, 10))),
    (metrics.SparseCategoricalCrossentropy, np.zeros(7)),
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
