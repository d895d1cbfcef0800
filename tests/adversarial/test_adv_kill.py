"""kill -9 during writes (issue 14 item 10): the previous file always survives, and the
temporary files a kill leaves behind are removed by the next write into that folder.

Loops are bounded (a fixed number of kills, each child killed within a second) and fast:
saving children are forked from this process (no re-import), training children are new
interpreters killed after their first write.
"""
import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from .adv_helpers import X, Y, HostileServer, small_model, temp_leftovers

import tomei.keras as tk
from tomei.keras import callbacks

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kill -9 loops need fork")


def fork_loop(work):
    """Runs ``work()`` over and over in a forked child; returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            while True:
                work()
        finally:
            os._exit(1)
    return pid


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def bigger_model():
    """Big enough (about 2 MB of weights) that a save takes a few milliseconds."""
    tk.utils.set_random_seed(0)
    model = tk.Sequential([tk.layers.Input(shape=(4,)), tk.layers.Dense(700),
                           tk.layers.Dense(700), tk.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("kind", ["save", "save_weights"])
def test_a_dozen_kills_during_saves_never_break_the_file(tmp_path, kind):
    model = bigger_model()
    path = tmp_path / ("m.keras" if kind == "save" else "m.weights.h5")
    getattr(model, kind)(path)
    rng = random.Random(0)
    seen_leftovers = 0
    for _ in range(12):
        pid = fork_loop(lambda: getattr(model, kind)(path))
        time.sleep(rng.uniform(0.002, 0.03))
        kill(pid)
        seen_leftovers = max(seen_leftovers, len(temp_leftovers(tmp_path)))
        other = bigger_model()  # the file is always complete: old or new, never half
        if kind == "save":
            tk.models.load_model(path)
        else:
            other.load_weights(path)
    getattr(model, kind)(path)  # the next write in the folder removes what the kills left
    assert temp_leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_kill_mid_write_leaves_a_temp_that_the_next_save_removes(tmp_path, monkeypatch):
    """Deterministic: the child stops inside the write and is killed there."""
    model = small_model()
    path = tmp_path / "m.keras"
    model.save(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            from tomei.keras.saving import h5_layout
            real = h5_layout.write_model

            def stuck(*args, **kwargs):
                real(*args, **kwargs)
                os.write(write_end, b"x")
                time.sleep(30)
            h5_layout.write_model = stuck
            model.save(path)
        finally:
            os._exit(1)
    assert os.read(read_end, 1) == b"x"
    kill(pid)
    os.close(read_end)
    os.close(write_end)
    left = temp_leftovers(tmp_path)
    assert left, "the kill should have left the temporary files of the save"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    model.save(tmp_path / "another.keras")  # any write into the folder
    assert temp_leftovers(tmp_path) == []


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    import numpy as np
    from adv_helpers import small_model, X, Y
    from tomei.keras import callbacks
    model = small_model(fit=False)
    model.fit(np.repeat(X, 50, axis=0), np.repeat(Y, 50), epochs=10**6, batch_size=4,
              verbose=0, callbacks=[{callback}, callbacks.LambdaCallback(
                  on_train_batch_end=lambda b, l: print("batch", flush=True))])
""")


def run_and_kill(callback_src, kills=2):
    """Starts a training child ``kills`` times and SIGKILLs it after some batches."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    here = os.path.dirname(__file__)
    for i in range(kills):
        child = subprocess.Popen([sys.executable, "-c", CHILD.format(here=here,
                                                                     callback=callback_src)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.time() + 60
            batches = 0
            while batches < 5 + 7 * i and time.time() < deadline:
                line = child.stdout.readline()
                if not line:
                    break
                batches += line.startswith(b"batch")
            assert batches, child.stderr.read().decode()[-2000:]
        finally:
            child.kill()
            child.wait(10)


def test_kills_during_model_checkpoint_and_backup(tmp_path):
    """A training child writing a checkpoint and a backup every batch, killed twice."""
    path = tmp_path / "ckpt" / "best.keras"
    backup = tmp_path / "backup"
    run_and_kill(f"callbacks.ModelCheckpoint({str(path)!r}, monitor='loss', save_freq=1), "
                 f"callbacks.BackupAndRestore({str(backup)!r}, save_freq=1)")
    tk.models.load_model(path)  # the last complete checkpoint
    model = small_model(fit=False)
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(path), monitor="loss", save_freq=1),
        callbacks.BackupAndRestore(str(backup), save_freq=1, delete_checkpoint=False)])
    assert history is not None
    assert temp_leftovers(path.parent) == [] and temp_leftovers(backup) == []


def test_kill_during_a_stalled_download_is_cleaned_by_the_next_download(tmp_path,
                                                                         private_keras_home):
    """A hostile server stalls half way; the downloading process is killed there."""
    from tomei.keras.utils.file_utils import get_file
    body = np.random.default_rng(0).bytes(300_000)
    sha = hashlib.sha256(body).hexdigest()
    server = HostileServer(stall_s=20)
    server.routes["/d.bin"] = (body, "stall")
    try:
        pid = os.fork()
        if pid == 0:
            try:
                get_file("d.bin", server.url("/d.bin"), file_hash=sha)
            finally:
                os._exit(1)
        assert server.half_sent.wait(20)
        kill(pid)
        folder = tmp_path / "keras" / "datasets"
        assert temp_leftovers(folder), os.listdir(folder)
        server.routes["/d.bin"] = (body, "ok")
        path = get_file("d.bin", server.url("/d.bin"), file_hash=sha)
        assert open(path, "rb").read() == body
        assert temp_leftovers(folder) == []
    finally:
        server.close()
