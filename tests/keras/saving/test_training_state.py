"""BackupAndRestore's state file: weights, optimizer state and generator states round trip;
a foreign file is refused."""
import h5py
import numpy as np
import pytest

from tomei import config
from tomei.keras import Input, Sequential, layers
from tomei.keras.saving import ModelFileError, training_state


def _model():
    model = Sequential([Input((3,)), layers.Dense(2), layers.Dropout(0.5, seed=4)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    return model


def test_backup_round_trip(tmp_path):
    model = _model()
    config.set_seed(11)
    training_state.write_backup(tmp_path / "b.h5", model, epoch=3, step=5)
    expected_draw = config.rng().random()
    weights = [w.copy() for w in model.get_weights()]
    other = _model()
    state = training_state.read_backup(tmp_path / "b.h5", other)
    assert (state["epoch"], state["step"]) == (3, 5)
    for a, b in zip(other.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    training_state.restore_generators(other, state)
    assert config.rng().random() == expected_draw


def test_generator_state_round_trip_and_foreign_files(tmp_path):
    g = np.random.default_rng(3)
    saved = training_state.generator_state(g)
    first = g.random()
    training_state.set_generator_state(g, saved)
    assert g.random() == first
    with h5py.File(tmp_path / "x.h5", "w") as h5:
        h5.create_group("layers")
    with pytest.raises(ModelFileError, match="not a tomei BackupAndRestore file"):
        training_state.read_backup(tmp_path / "x.h5", _model())
