"""Writes next to files another user may have planted (issue 14 item 9): the temporary file
is created exclusively with an unpredictable name and private mode, and the final rename
replaces a planted symlink instead of writing through it."""
import os
import stat

import numpy as np
import pytest

import tomei.keras as tk
from tomei.keras import callbacks
from tomei.keras.saving import h5_layout

from .adv_helpers import X, Y, small_model


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_bytes(b"precious")
    return path


@pytest.mark.parametrize("name, write", [
    ("m.keras", lambda m, p: m.save(p)),
    ("m.weights.h5", lambda m, p: m.save_weights(p)),
    ("m.onnx", None),
])
def test_a_planted_symlink_at_the_destination_is_replaced_not_followed(tmp_path, victim, name,
                                                                        write):
    if write is None:
        pytest.importorskip("onnx")
        from tomei.keras.saving import export_onnx

        def write(m, p):
            export_onnx(m, p)
    target = tmp_path / name
    os.symlink(victim, target)
    write(small_model(), target)
    assert victim.read_bytes() == b"precious"
    assert target.is_file() and not target.is_symlink()


def test_checkpoint_and_backup_replace_planted_symlinks(tmp_path, victim):
    ckpt = tmp_path / "best.keras"
    backup = tmp_path / "backup"
    backup.mkdir()
    os.symlink(victim, ckpt)
    os.symlink(victim, backup / "latest.weights.h5")
    with pytest.raises(tk.saving.ModelFileError):  # a planted "backup" is read and refused
        small_model(fit=False).fit(X, Y, epochs=1, verbose=0,
                                   callbacks=[callbacks.BackupAndRestore(str(backup))])
    small_model(fit=False).fit(X, Y, epochs=1, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(ckpt), monitor="loss")])
    assert victim.read_bytes() == b"precious" and not ckpt.is_symlink()


def test_the_half_written_file_is_private(tmp_path, monkeypatch):
    seen = {}
    real = h5_layout.write_model

    def spy(h5, *args, **kwargs):
        seen["mode"] = stat.S_IMODE(os.stat(h5.filename).st_mode)
        seen["name"] = os.path.basename(h5.filename)
        return real(h5, *args, **kwargs)
    monkeypatch.setattr(h5_layout, "write_model", spy)
    small_model().save_weights(tmp_path / "w.weights.h5")
    assert seen["mode"] == 0o600
    assert seen["name"].startswith(".w.weights.h5.tomei-") and seen["name"].endswith(".tmp")


def test_temporary_names_cannot_be_predicted(tmp_path):
    from tomei.keras.utils import atomic_write
    names = {os.path.basename(atomic_write.temp_path_beside(tmp_path / "f")) for _ in range(50)}
    assert len(names) == 50


def test_an_existing_file_at_a_temporary_name_is_never_reused(tmp_path, monkeypatch):
    """mkstemp's O_EXCL: if the name it draws exists, it draws again (never opens it)."""
    import tempfile

    from tomei.keras.utils import atomic_write
    planted = tmp_path / f".f.tomei-{os.getpid()}-AAAAAAAA.tmp"
    planted.write_bytes(b"planted")
    names = iter(["AAAAAAAA", "BBBBBBBB"])

    class Fixed:
        def __next__(self):
            return next(names)

        def __iter__(self):
            return self
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: Fixed())
    tmp = atomic_write.temp_path_beside(tmp_path / "f")
    assert tmp.endswith("BBBBBBBB.tmp") and planted.read_bytes() == b"planted"
    os.unlink(tmp)


def test_no_writer_in_the_package_uses_a_pid_only_name():
    """One helper: nothing in tomei builds '<name>.<pid>.tmp' names any more."""
    import pathlib
    import re
    import tomei
    root = pathlib.Path(tomei.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text("utf-8")
        if re.search(r"getpid\(\)\}?\.tmp|\.tmp-\{os\.getpid", text):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_saving_into_a_folder_full_of_foreign_files_leaves_them(tmp_path):
    for name in (".m.keras.tomei-1-zz.tmp", "m.keras.123.tmp", ".m.keras.part"):
        (tmp_path / name).write_bytes(b"not ours to delete")  # pid 1 is alive
    small_model().save(tmp_path / "m.keras")
    assert sorted(os.listdir(tmp_path)) == [".m.keras.part", ".m.keras.tomei-1-zz.tmp",
                                            "m.keras", "m.keras.123.tmp"]
    np.testing.assert_array_equal(tk.models.load_model(tmp_path / "m.keras").predict(
        X[:2], verbose=0).shape, (2, 3))
