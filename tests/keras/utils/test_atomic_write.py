"""tomei.keras.utils.atomic_write: the one way tomei writes files (issue 14 items 9, 10)."""
import os
import stat
import subprocess
import sys
import time

import pytest

from tomei.keras.utils import atomic_write
from tomei.keras.utils.atomic_write import (
    atomic_path,
    is_our_temp_name,
    remove_stale_temps,
    temp_path_beside,
    write_bytes,
)


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_write_bytes_replaces_the_file_in_one_step(tmp_path):
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.json"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"half")
            raise RuntimeError("killed half way")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["m.keras"]


def test_temporary_is_exclusive_private_and_in_the_destination_folder(tmp_path):
    tmp = temp_path_beside(tmp_path / "a.bin")
    try:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert stat.S_IMODE(os.stat(tmp).st_mode) == 0o600
        assert is_our_temp_name(os.path.basename(tmp)) == os.getpid()
        other = temp_path_beside(tmp_path / "a.bin")
        assert other != tmp  # never a fixed (guessable) name
        os.unlink(other)
    finally:
        os.unlink(tmp)


def test_final_file_gets_normal_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o640


def test_planted_symlinks_at_old_guessable_names_are_not_followed(tmp_path):
    """Before: report/predict wrote '<name>.<pid>.tmp' and '.<name>.<pid>.tmp'. A symlink
    planted there must not redirect the write."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "summary.json"
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        for name in (f"summary.json.{pid}.tmp", f".summary.json.{pid}.tmp"):
            os.symlink(victim, tmp_path / name)
    write_bytes(target, b"{}")
    assert victim.read_bytes() == b"precious"
    assert target.read_bytes() == b"{}" and not target.is_symlink()


def test_long_names_still_get_a_temporary(tmp_path):
    target = tmp_path / ("n" * 250)
    write_bytes(target, b"x")
    assert target.read_bytes() == b"x"


@pytest.mark.parametrize("name", [".m.keras.tomei-123-abc_9.tmp", ".latest.weights.h5.tmp-7-0a1b"])
def test_our_temp_names_are_recognised(name):
    assert is_our_temp_name(name) is not None


@pytest.mark.parametrize("name", ["m.keras", ".m.keras", "notes.tmp", ".x.tomei-abc-1.tmp",
                                  ".data.bin.abc123.part"])
def test_other_names_are_not_ours(name):
    assert is_our_temp_name(name) is None


def test_stale_temps_of_dead_writers_are_removed_on_the_next_write(tmp_path):
    pid = dead_pid()
    stale = tmp_path / f".m.keras.tomei-{pid}-abcd1234.tmp"
    stale.write_bytes(b"x" * 1000)
    legacy = tmp_path / f".m.keras.tmp-{pid}-deadbeef"
    legacy.write_bytes(b"x")
    write_bytes(tmp_path / "other.json", b"{}")
    assert sorted(os.listdir(tmp_path)) == ["other.json"]


def test_live_writers_and_foreign_files_are_left_alone(tmp_path):
    live = tmp_path / f".m.keras.tomei-{os.getppid()}-abcd1234.tmp"
    live.write_bytes(b"being written")
    mine_now = tmp_path / f".m.keras.tomei-{os.getpid()}-zz.tmp"
    mine_now.write_bytes(b"this process, another thread")
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / f".v.tomei-{dead_pid()}-abcd.tmp"
    os.symlink(victim, link)
    user = tmp_path / "notes.tmp"
    user.write_bytes(b"a user's file")
    assert remove_stale_temps(tmp_path) == []
    assert live.exists() and mine_now.exists() and link.is_symlink() and victim.exists()
    assert user.exists()


def test_old_temps_are_stale_even_when_the_pid_is_reused(tmp_path):
    reused = tmp_path / f".m.keras.tomei-{os.getppid()}-abcd1234.tmp"
    reused.write_bytes(b"x")
    old = time.time() - atomic_write.STALE_AFTER_S - 60
    os.utime(reused, (old, old))
    assert remove_stale_temps(tmp_path) == [str(reused)]


def test_cleanup_never_fails_a_write(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic_write.os, "unlink", lambda p: (_ for _ in ()).throw(
        PermissionError(p)))
    stale = tmp_path / f".m.keras.tomei-{dead_pid()}-abcd1234.tmp"
    stale.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == []
    assert remove_stale_temps(tmp_path / "missing") == []
