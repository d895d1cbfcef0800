"""Crafted BackupAndRestore state (issue 14 item 12): checked like a model file, before
anything in the model or tomei's random generator changes."""
import json

import h5py
import numpy as np
import pytest
from .adv_helpers import X, Y, assert_weights_equal, small_model, weights_of

from tomei import config
from tomei.keras import callbacks
from tomei.keras.saving import ModelFileError

STATE = "tomei_training_state"


@pytest.fixture
def backup(tmp_path):
    """A backup folder holding a real backup taken after one epoch."""
    folder = tmp_path / "backup"
    small_model(fit=False).fit(X, Y, epochs=1, verbose=0, callbacks=[
        callbacks.BackupAndRestore(str(folder), delete_checkpoint=False)])
    return folder


def edit_state(folder, change):
    path = folder / "latest.weights.h5"
    with h5py.File(path, "r+") as h5:
        state = json.loads(h5.attrs[STATE])
        new = change(state)
        del h5.attrs[STATE]
        h5.attrs[STATE] = new if isinstance(new, (str, bytes, np.ndarray, int)) else \
            json.dumps(new)


def resume_refused(folder, epochs=4):
    model = small_model(seed=5, fit=False)
    model.build((None, 4))
    before = weights_of(model)
    rng_before = json.dumps(config.rng().bit_generator.state, default=str)
    with pytest.raises(ModelFileError) as info:
        model.fit(X, Y, epochs=epochs, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(str(folder))])
    assert_weights_equal(model, before)
    assert json.dumps(config.rng().bit_generator.state, default=str) == rng_before
    return info.value


def put(key, value):
    def change(state):
        state[key] = value
        return state
    return change


def test_negative_epoch_does_not_extend_training(backup):
    """The issue's case: epoch -5 made fit(epochs=4) run 9 epochs."""
    edit_state(backup, put("epoch", -5))
    err = resume_refused(backup)
    assert "epoch" in str(err) and "Delete it" in str(err)


@pytest.mark.parametrize("key, value", [("epoch", "3"), ("epoch", 2.5), ("epoch", True),
                                        ("epoch", None), ("step", -1), ("step", "x"),
                                        ("step", [1]), ("epoch", {"a": 1})])
def test_position_of_the_wrong_kind_is_refused(backup, key, value):
    edit_state(backup, put(key, value))
    resume_refused(backup)


@pytest.mark.parametrize("rng", [
    "garbage", 12, None, [1, 2], {},
    {"bit_generator": "MT19937", "state": {"key": [1], "pos": 0}},
    {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}, "has_uint32": 0,
     "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": 1}, "has_uint32": 0, "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": -1, "inc": -1}, "has_uint32": 0,
     "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": {"__ndarray__": [1], "dtype": "object"},
                                          "inc": 1}, "has_uint32": 0, "uinteger": 0},
    {"bit_generator": "PCG64", "state": {"state": {"__ndarray__": [1], "dtype": "<U3"},
                                          "inc": 1}, "has_uint32": 0, "uinteger": 0},
])
def test_garbage_random_state_is_refused(backup, rng):
    edit_state(backup, put("rng", rng))
    resume_refused(backup)


def test_garbage_epoch_start_random_state_is_refused(backup):
    edit_state(backup, lambda s: {**s, "step": 1, "epoch_rng": {"bit_generator": "PCG64"}})
    resume_refused(backup)


@pytest.mark.parametrize("layer_rngs", ["x", [1], 5])
def test_garbage_layer_generators_are_refused(backup, layer_rngs):
    edit_state(backup, put("layer_rngs", layer_rngs))
    resume_refused(backup)


@pytest.mark.parametrize("raw", ['{"epoch": ' + "[" * 5000 + "]" * 5000 + "}",
                                 "not json", "[1, 2]", '"text"', np.arange(3), 7,
                                 "{" * 600_000],
                         ids=["5000 deep", "not json", "a list", "a string", "an int array",
                              "an int", "600,000 objects"])
def test_state_text_of_the_wrong_kind_is_refused(backup, raw):
    edit_state(backup, lambda s: raw)
    resume_refused(backup)


def test_backup_that_is_not_hdf5_is_refused(backup):
    (backup / "latest.weights.h5").write_bytes(b"\x00garbage" * 100)
    resume_refused(backup)


def test_backup_with_an_external_link_is_refused(backup, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["x"] = np.zeros(3)
    with h5py.File(backup / "latest.weights.h5", "r+") as h5:
        del h5["layers"]
        h5["layers"] = h5py.ExternalLink(str(other), "/")
    err = resume_refused(backup)
    assert "ExternalLink" in str(err)


def test_valid_backup_still_resumes(backup):
    model = small_model(seed=5, fit=False)
    history = model.fit(X, Y, epochs=3, verbose=0,
                        callbacks=[callbacks.BackupAndRestore(str(backup))])
    assert len(history.history["loss"]) == 2  # epochs 2 and 3 only
