"""Writing a file so that nobody ever sees half of it: tomei's one atomic-write mechanism.

Every file tomei writes (``model.save``, ``save_weights``, ``ModelCheckpoint``,
``BackupAndRestore``, downloads, ``tomei report``, ``tomei predict --show``) goes through
:func:`atomic_path`:

1. a temporary file is created in the destination's own folder with ``tempfile.mkstemp``
   (``O_CREAT | O_EXCL``, mode 0600, an unpredictable name), so no other user can plant a
   symlink or a file at the name in advance;
2. the caller writes it by name (h5py, zipfile, Pillow and matplotlib all take a path);
3. on success it is flushed to disk (``fsync``), given the usual permissions (0666 less the
   umask, as ``open()`` would) and renamed over the destination with ``os.replace``, which
   is atomic on POSIX and Windows; on any failure it is removed.

A reader, or a process killed at any moment, sees the old file or the whole new one.

Temporary names are ``.<destination name>.tomei-<pid>-<random>.tmp``. A ``kill -9`` leaves
one behind; the next write into the same folder removes such leftovers when they are
**ours**: a regular file owned by this user, with our name pattern, whose writer process
(the pid in the name) no longer runs, or older than :data:`STALE_AFTER_S` seconds
(:func:`remove_stale_temps`). Files of other users, symlinks and live writers' files are
never touched.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time

__all__ = ["STALE_AFTER_S", "atomic_path", "is_our_temp_name", "remove_stale_temps",
           "temp_folder_beside", "temp_path_beside", "write_bytes"]

#: A temporary file of ours older than this (seconds) is stale even if its pid is alive
#: (pids are reused).
STALE_AFTER_S = 24 * 3600

_SUFFIX = ".tmp"
_MAX_BASE = 96  # keeps the temporary name under the usual 255-byte file name limit
# .<name>.tomei-<pid>-<mkstemp random>.tmp; and the names tomei 0.x used before this helper.
_OURS = re.compile(r"^\..*\.tomei-(\d+)-[A-Za-z0-9_]+\.tmp$")
_LEGACY = re.compile(r"^\..*\.tmp-(\d+)-[0-9a-f]+$")


def _umask() -> int:
    """The process umask without changing it (Linux reads /proc; elsewhere 0o022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def is_our_temp_name(name: str):
    """The writer's pid when ``name`` is one of tomei's temporary file names, else None."""
    match = _OURS.match(name) or _LEGACY.match(name)
    return int(match.group(1)) if match else None


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists (another user's) or cannot tell: leave the file alone
    return True


def remove_stale_temps(folder) -> list[str]:
    """Removes temporary files that earlier tomei writes into ``folder`` left behind when
    their process was killed; returns the paths removed.

    A file is removed only if all hold: its name has tomei's temporary pattern, it is a
    regular file (not a symlink) owned by the current user, and its writer's pid is no
    longer running or it is older than :data:`STALE_AFTER_S`. Temporary folders of ours
    (:func:`temp_folder_beside`) are removed with their content under the same rules.
    Errors (a file already gone, no permission) are ignored: cleaning up never makes a save
    fail.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    for entry in entries:
        pid = is_our_temp_name(entry.name) if entry.name.startswith(".") else None
        if pid is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        is_folder = stat.S_ISDIR(info.st_mode)
        if not (stat.S_ISREG(info.st_mode) or is_folder):
            continue
        if uid is not None and info.st_uid != uid:
            continue
        if _pid_running(pid) and now - info.st_mtime < STALE_AFTER_S:
            continue
        try:
            if is_folder:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.path)
        except OSError:
            pass
    return removed


def temp_path_beside(filepath) -> str:
    """Creates (exclusively, mode 0600, empty) and returns a new temporary file in the folder
    of ``filepath``, named as :func:`remove_stale_temps` recognises. The caller removes it."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    base = os.path.basename(filepath)[:_MAX_BASE]
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.tomei-{os.getpid()}-", suffix=_SUFFIX,
                               dir=folder)
    os.close(fd)
    return tmp


def temp_folder_beside(filepath) -> str:
    """Creates (exclusively, mode 0700, empty) and returns a new temporary folder next to
    ``filepath``, named as :func:`remove_stale_temps` recognises: the place to assemble
    several files (or a whole folder) before they are renamed into place. The caller removes
    it."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    base = os.path.basename(filepath)[:_MAX_BASE]
    return tempfile.mkdtemp(prefix=f".{base}.tomei-{os.getpid()}-", suffix=_SUFFIX, dir=folder)


@contextlib.contextmanager
def atomic_path(filepath, *, cleanup: bool = True):
    """Yields the name of a new, empty temporary file next to ``filepath`` to write by name;
    when the block ends without an exception the file replaces ``filepath`` in one step.

    Args:
        filepath: str or PathLike, the destination. Its folder must exist.
        cleanup: default True: first remove stale temporary files of ours in that folder
            (see :func:`remove_stale_temps`).

    Raises:
        OSError: the folder cannot be written (raised before anything is written). Whatever
            the block raises propagates, after the temporary file is removed.
    """
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    if cleanup:
        remove_stale_temps(folder)
    tmp = temp_path_beside(filepath)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, filepath)
        _fsync_folder(folder)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_bytes(filepath, data: bytes) -> str:
    """Writes ``data`` to ``filepath`` through :func:`atomic_path`; returns the path."""
    with atomic_path(filepath) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return os.fspath(filepath)


def _fsync_folder(folder):
    """Makes the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
