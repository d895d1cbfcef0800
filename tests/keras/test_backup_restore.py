"""ModelCheckpoint and BackupAndRestore: checkpoints during fit, and resuming a killed run
with exactly the weights an uninterrupted run reaches (shuffling and dropout included)."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

import tomei.keras as tk
from tomei.keras import callbacks, layers
from tomei.keras.saving import ModelFileError

RNG = np.random.default_rng(0)
X = RNG.random((120, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 120)


def make_model(seed=3, optimizer="adam"):
    tk.utils.set_random_seed(seed)
    model = tk.Sequential([layers.Input((6,)), layers.Dense(16, activation="relu"),
                           layers.Dropout(0.3), layers.Dense(3)])
    model.compile(optimizer, tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


# --- ModelCheckpoint -------------------------------------------------------------------------


def test_checkpoint_every_epoch_with_formatted_names(tmp_path, capsys):
    model = make_model()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}-{loss:.2f}.keras"), verbose=1)
    history = model.fit(X, Y, epochs=3, batch_size=32, verbose=0, callbacks=[cb])
    names = sorted(os.listdir(tmp_path))
    assert [n[:7] for n in names] == ["ckpt-01", "ckpt-02", "ckpt-03"]
    assert names[2] == f"ckpt-03-{history.history['loss'][2]:.2f}.keras"
    last = tk.models.load_model(tmp_path / names[2])
    assert_same_weights(last, model)
    assert last.optimizer.iterations == model.optimizer.iterations
    assert "Epoch 3: saving model to" in capsys.readouterr().out


def test_checkpoint_save_best_only(tmp_path, capsys):
    model = make_model()
    path = tmp_path / "best.weights.h5"
    cb = callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True,
                                   save_weights_only=True, verbose=1)
    saved = []
    spy = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: saved.append(
        os.path.getmtime(path) if path.exists() else None))
    history = model.fit(X, Y, epochs=4, batch_size=32, verbose=0, validation_split=0.25,
                        callbacks=[cb, spy])
    losses = history.history["val_loss"]
    assert cb.best == pytest.approx(min(losses))
    best_epoch = int(np.argmin(losses))
    restored = make_model(seed=9)
    restored.load_weights(path)
    assert restored.evaluate(X[90:], Y[90:], verbose=0)[0] == pytest.approx(losses[best_epoch],
                                                                            rel=1e-5)
    out = capsys.readouterr().out
    assert "val_loss improved from inf to" in out


def test_checkpoint_initial_value_threshold_and_max_mode(tmp_path):
    model = make_model()
    cb = callbacks.ModelCheckpoint(tmp_path / "m.keras", monitor="accuracy", save_best_only=True,
                                   initial_value_threshold=1.01)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[cb])
    assert not (tmp_path / "m.keras").exists()  # accuracy never beats 1.01


def test_checkpoint_every_n_batches(tmp_path):
    model = make_model()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.weights.h5"),
                                   save_weights_only=True, save_freq=2)
    model.fit(X, Y, epochs=1, batch_size=40, verbose=0, callbacks=[cb])  # 3 batches
    assert os.listdir(tmp_path) == ["e1-b2.weights.h5"]


@pytest.mark.parametrize("name, kwargs, match", [
    ("Model_ckpt.h5", {}, r"must end in '\.keras'.*ModelCheckpoint\('.*Model_ckpt\.keras'\)"),
    ("w.keras", {"save_weights_only": True},
     r"'\.weights\.h5'.*ModelCheckpoint\('.*/w\.weights\.h5'"),
    ("m.keras", {"save_freq": 0}, r"save_freq='epoch' or a positive number.*received save_freq=0"),
])
def test_checkpoint_argument_errors(tmp_path, name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        callbacks.ModelCheckpoint(str(tmp_path / name), **kwargs)


def test_checkpoint_unknown_placeholder(tmp_path):
    cb = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))
    with pytest.raises(ValueError, match=r"cannot fill in.*val_acc.*logged values: accuracy, loss"):
        make_model().fit(X, Y, epochs=1, verbose=0, callbacks=[cb])


# --- BackupAndRestore, in process -----------------------------------------------------------


class Interrupt(callbacks.Callback):
    """Raises in the middle of an epoch, like a crash (on_train_end does not run)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("save_freq", ["epoch", 3])
@pytest.mark.parametrize("optimizer", ["adam", "nadam", "rmsprop"])
def test_resume_gives_the_uninterrupted_weights(tmp_path, save_freq, optimizer):
    fit = dict(epochs=4, batch_size=16, verbose=0)  # shuffled, with dropout
    straight = make_model(optimizer=optimizer)
    straight.fit(X, Y, **fit)

    backup = tmp_path / "backup"
    model = make_model(optimizer=optimizer)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, callbacks=[callbacks.BackupAndRestore(backup, save_freq=save_freq),
                                   Interrupt(2, 4)], **fit)
    assert (backup / "latest.weights.h5").exists()
    resumed = make_model(seed=77, optimizer=optimizer)  # other initial weights and generator
    history = resumed.fit(X, Y, callbacks=[callbacks.BackupAndRestore(backup, save_freq=save_freq)],
                          **fit)
    assert history.epoch == [2, 3]
    assert_same_weights(resumed, straight)
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    assert not (backup / "latest.weights.h5").exists()  # deleted after a finished run
    assert not backup.exists()  # and its folder, created by the interrupted run


def test_finished_run_removes_the_folders_it_created(tmp_path):
    backup = tmp_path / "runs" / "backup"
    make_model().fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(backup)])
    assert not backup.exists() and not (tmp_path / "runs").exists()
    assert tmp_path.exists()


def test_finished_run_leaves_other_content_and_folders_it_did_not_create(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("mine")
    (shared / ".latest.weights.h5.tmp-1-abcd").write_bytes(b"a backup cut short by a kill")
    make_model().fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(shared)])
    assert sorted(os.listdir(shared)) == ["notes.txt"]

    empty = tmp_path / "made-by-the-user"
    empty.mkdir()
    make_model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(empty)])
    assert empty.is_dir() and os.listdir(empty) == []


def test_finished_run_keeps_the_backup_when_asked(tmp_path):
    backup = tmp_path / "backup"
    make_model().fit(X, Y, epochs=1, verbose=0,
                     callbacks=[callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    assert os.listdir(backup) == ["latest.weights.h5"]


def test_seeded_dropout_generators_are_backed_up(tmp_path):
    def model_with_seeded_dropout(seed):
        tk.utils.set_random_seed(seed)
        m = tk.Sequential([layers.Input((6,)), layers.Dense(8), layers.Dropout(0.5, seed=1),
                           layers.Dense(3)])
        m.compile("sgd", "mse")
        return m
    y = RNG.random((120, 3))
    straight = model_with_seeded_dropout(1)
    straight.fit(X, y, epochs=3, verbose=0)
    model = model_with_seeded_dropout(1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=3, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path, save_freq=2), Interrupt(1, 2)])
    resumed = model_with_seeded_dropout(1)
    resumed.fit(X, y, epochs=3, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])
    assert_same_weights(resumed, straight)


def test_backup_file_is_a_weights_file_with_json_state(tmp_path):
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=3, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False), Interrupt(1, 1)])
    path = tmp_path / "latest.weights.h5"
    with h5py.File(path) as h5:
        import json
        state = json.loads(h5.attrs["tomei_training_state"])
        assert state["epoch"] == 1 and state["step"] == 0
        assert state["rng"]["bit_generator"] == "PCG64"
        assert "layers" in h5 and "optimizer" in h5
    other = make_model(seed=5)
    other.load_weights(path)  # an ordinary .weights.h5 too


def test_backup_of_another_model_is_refused(tmp_path):
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path), Interrupt(1, 0)])
    tk.utils.set_random_seed(0)
    other = tk.Sequential([layers.Input((6,)), layers.Dense(5), layers.Dense(3)])
    other.compile("adam", "mse")
    with pytest.raises(ModelFileError, match="shape"):
        other.fit(X, RNG.random((120, 3)), epochs=2, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path)])


def test_backup_argument_errors():
    with pytest.raises(ValueError, match="backup_dir"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.BackupAndRestore("b", save_freq=-1)


# --- BackupAndRestore across a real SIGKILL --------------------------------------------------

TRAIN_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import tomei.keras as tk
    from tomei.keras import callbacks, layers

    backup, out, marker = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(0)
    x, y = rng.random((300, 8)).astype(np.float32), rng.integers(0, 4, 300)
    tk.utils.set_random_seed(int(os.environ.get("SEED", "11")))
    model = tk.Sequential([layers.Input((8,)), layers.Dense(32, activation="relu"),
                           layers.Dropout(0.25), layers.Dense(4)])
    model.compile("adam", tk.losses.SparseCategoricalCrossentropy(from_logits=True))

    class Hang(callbacks.Callback):
        # At epoch 2, batch 6 (mid-epoch, after a backup at batch 5): tell the test, then
        # keep going slowly until it kills us.
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if marker != "-" and self.epoch == 2 and batch >= 6:
                open(marker, "w").close()
                time.sleep(0.05)

    cbs = [callbacks.BackupAndRestore(backup, save_freq=5)] if backup != "-" else []
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=cbs + [Hang()])
    np.savez(out, *model.get_weights())
""")


def _run(script, *args, env=None, **kwargs):
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=env, timeout=120,
                          capture_output=True, text=True, **kwargs)


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    env = {**os.environ, "PYTHONHASHSEED": "0"}

    straight = _run(script, "-", tmp_path / "straight.npz", "-", env=env)
    assert straight.returncode == 0, straight.stderr

    backup, marker = tmp_path / "backup", tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, str(script), str(backup), str(tmp_path / "x.npz"),
                             str(marker)], env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline, "the training process never reached epoch 3"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "x.npz").exists()
    with h5py.File(backup / "latest.weights.h5") as h5:  # a mid-epoch backup of epoch 3
        state = __import__("json").loads(h5.attrs["tomei_training_state"])
    assert state["epoch"] == 2 and state["step"] in (5, 10, 15), state

    resumed = _run(script, backup, tmp_path / "resumed.npz", "-", env={**env, "SEED": "99"})
    assert resumed.returncode == 0, resumed.stderr
    want, got = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert len(want.files) == len(got.files) == 4
    for key in want.files:
        np.testing.assert_array_equal(got[key], want[key])
    assert not (backup / "latest.weights.h5").exists()
    assert not backup.exists()  # no empty folder left behind after the resumed run
