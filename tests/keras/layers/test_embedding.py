"""Embedding: lookup, dtype handling, training only the used rows, errors, config, saving."""
import numpy as np
import pytest

import tomei
from tomei.keras import Input, Sequential, layers, models


def test_lookup_shapes_and_the_uniform_initializer():
    tomei.keras.utils.set_random_seed(0)
    emb = layers.Embedding(1000, 8)
    out = emb(np.array([[1, 2, 3], [4, 5, 999]]))
    assert out.shape == (2, 3, 8) and out.dtype == np.float32
    table = emb.embeddings.numpy()
    assert table.shape == (1000, 8)
    assert -0.05 <= table.min() < -0.045 and 0.045 < table.max() <= 0.05  # U(-0.05, 0.05)
    np.testing.assert_array_equal(out.numpy()[1, 2], table[999])
    # float ids holding whole numbers are cast (Keras's default Input is float32)
    np.testing.assert_array_equal(emb(np.array([[3.0]])).numpy()[0, 0], table[3])
    # any sequence length after building
    assert emb(np.zeros((4, 10), int)).shape == (4, 10, 8)


def test_training_updates_only_the_rows_used():
    model = Sequential([Input((3,)), layers.Embedding(6, 2), layers.Flatten(), layers.Dense(1)])
    before = model.layers[0].embeddings.numpy().copy()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.array([[0, 2, 2], [2, 0, 5]]), np.array([1.0, -1.0]), epochs=1, verbose=0)
    after = model.layers[0].embeddings.numpy()
    changed = np.any(after != before, axis=1)
    np.testing.assert_array_equal(changed, [True, False, True, False, False, True])


def test_errors_are_named():
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 2.5)
    with pytest.raises(NotImplementedError, match="mask_zero"):
        layers.Embedding(3, 2, mask_zero=True)
    with pytest.raises(NotImplementedError, match="lora_rank"):
        layers.Embedding(3, 2, lora_rank=4)
    emb = layers.Embedding(3, 2)
    with pytest.raises(IndexError, match="input_dim=3.*index 3"):
        emb(np.array([[0, 3]]))
    with pytest.raises(TypeError, match="integer ids"):
        emb(np.array([["a"]]))


def test_weights_argument_and_config_round_trip():
    table = np.arange(6, dtype=np.float32).reshape(3, 2)
    emb = layers.Embedding(3, 2, weights=[table], embeddings_regularizer="l2", name="e")
    np.testing.assert_array_equal(emb(np.array([[2]])).numpy()[0, 0], [4, 5])
    cfg = emb.get_config()
    assert cfg["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert layers.Embedding.from_config(cfg).get_config() == cfg


def test_save_and_load(tmp_path):
    model = Sequential([Input((4,)), layers.Embedding(9, 3), layers.Flatten(), layers.Dense(1)])
    ids = np.random.default_rng(1).integers(0, 9, (5, 4))
    model.save(tmp_path / "e.keras")
    loaded = models.load_model(tmp_path / "e.keras")
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
