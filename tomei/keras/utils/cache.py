"""The Keras cache folders, and the temporary files and folders that become cache entries.

The cache is the one Keras uses: ``$KERAS_HOME`` or ``~/.keras``, sub-folder ``datasets``.
When that cannot be written Keras falls back to ``.keras`` in the temporary folder
(``/tmp/.keras``); tomei writes there too in that case, but reads from there only when the
folders are owned by the current user and writable by nobody else, because any user of the
machine can create ``/tmp/.keras`` and plant files in it.

Everything that becomes a cache entry is first written under a hidden temporary name in the
destination folder, ``.<name>.<pid>.<random>.part`` (created exclusively, as ``mkstemp`` and
``mkdtemp`` do), then renamed into place once verified. Such a name never matches a file a
reader looks for, and :func:`remove_stale_temporaries` deletes the ones whose process is gone.
"""

import os
import re
import shutil
import stat
import tempfile
import time
import warnings

__all__ = [
    "STALE_SECONDS",
    "cache_folders",
    "is_private_folder",
    "keras_home",
    "new_temporary_file",
    "new_temporary_folder",
    "remove_stale_temporaries",
    "writable_cache_folder",
]

# A temporary entry older than this is removed even when its process id is alive again
# (a shared home seen from several machines, or a recycled pid).
STALE_SECONDS = 24 * 3600

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.part$")


def keras_home():
    """The Keras home folder: ``$KERAS_HOME`` when set, else ``~/.keras`` (as Keras 3)."""
    configured = os.environ.get("KERAS_HOME")
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".keras")


def _temporary_keras_home():
    """Where Keras falls back when its home is not writable: ``.keras`` in the temp folder."""
    return os.path.join(tempfile.gettempdir(), ".keras")


def is_private_folder(folder, stop=None):
    """True when ``folder`` and each folder above it up to ``stop`` (excluded) is a real
    folder (not a symbolic link) owned by the current user and not writable by group or others.

    Args:
        folder: str, the folder to check.
        stop: str or None, an ancestor of ``folder`` whose own permissions do not matter (the
            shared temporary folder itself, which is world-writable with the sticky bit).

    Returns:
        bool; False as well when a folder does not exist. Always True on systems without
        ``os.getuid`` (Windows), where the temporary folder is per user.
    """
    if not hasattr(os, "getuid"):
        return True
    uid = os.getuid()
    current = os.path.abspath(folder)
    stop = os.path.abspath(stop) if stop is not None else None
    while current != stop:
        try:
            info = os.lstat(current)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            return False
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
        parent = os.path.dirname(current)
        if stop is None or parent == current:
            break
        current = parent
    return True


def cache_folders(cache_dir=None, cache_subdir="datasets", *, for_reading=False):
    """The folders where a cached file may be, in the order they are searched.

    First ``<cache_dir or keras_home()>/<cache_subdir>``, then the same sub-folder under the
    temporary Keras home (``/tmp/.keras``), where Keras writes when the home is read-only.
    An absolute ``cache_subdir`` is used as it is.

    Args:
        cache_dir: str or None, the cache base folder (None: :func:`keras_home`).
        cache_subdir: str, the sub-folder (default ``'datasets'``).
        for_reading: bool, default False. True leaves out the temporary Keras home unless it
            is private to the current user (see :func:`is_private_folder`): a file another
            user planted there is never read.

    Returns:
        list of str, without duplicates.
    """
    base = os.path.expanduser(str(cache_dir)) if cache_dir is not None else keras_home()
    folders = [os.path.join(base, cache_subdir)]
    shared = os.path.join(_temporary_keras_home(), cache_subdir)
    if shared not in folders:
        if not for_reading or is_private_folder(shared, stop=tempfile.gettempdir()):
            folders.append(shared)
    return folders


def _is_writable_folder(folder, private):
    """Creates ``folder`` if needed (mode 0700 when ``private``); True when it can be written
    and, when ``private``, belongs to the current user alone."""
    try:
        os.makedirs(folder, mode=0o700 if private else 0o777, exist_ok=True)
    except OSError:
        return False
    if private and not is_private_folder(folder, stop=tempfile.gettempdir()):
        return False
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


def writable_cache_folder(cache_dir=None, cache_subdir="datasets"):
    """The first of :func:`cache_folders` that can be written, created if needed.

    When the Keras home is read-only (or is not a folder) the temporary Keras home is used, as
    Keras does, and a warning says so; it is created private (0700) and refused when another
    user owns it or can write to it.

    Raises:
        PermissionError: when no candidate folder can be written.
    """
    folders = cache_folders(cache_dir, cache_subdir)
    for index, folder in enumerate(folders):
        if _is_writable_folder(folder, private=index > 0):
            if index > 0:
                warnings.warn(
                    f"The cache folder {folders[0]} cannot be written; using {folder} instead.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return folder
    raise PermissionError(
        f"No writable cache folder: tried {', '.join(folders)}. "
        "Set KERAS_HOME to a folder you can write, or pass cache_dir=."
    )


def new_temporary_file(folder, name):
    """Creates ``folder/.<name>.<pid>.<random>.part`` exclusively (mode 0600).

    Returns:
        ``(fd, path)``: an open OS-level file descriptor and the path, as ``tempfile.mkstemp``.
    """
    return tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".part", dir=folder)


def new_temporary_folder(folder, name):
    """Creates the folder ``folder/.<name>.<pid>.<random>.part`` exclusively (mode 0700)."""
    return tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".part", dir=folder)


def _process_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform that cannot tell: keep it
    return True


def remove_stale_temporaries(folder, name=None):
    """Deletes this user's temporary entries in ``folder`` left by processes that are gone.

    An entry is ``.<name>.<pid>.<random>.part`` (see :func:`new_temporary_file`); it is
    removed when no process ``pid`` runs any more, or when it is older than
    :data:`STALE_SECONDS`. Entries owned by another user and symbolic links are left alone.

    Args:
        folder: str, the folder to clean (missing: nothing happens).
        name: str or None, only entries for this name (None: all of them).

    Returns:
        list of str, the paths removed.
    """
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    removed = []
    for entry in entries:
        match = _TEMPORARY.match(entry)
        if match is None or (name is not None and match.group("name") != name):
            continue
        path = os.path.join(folder, entry)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode) or (uid is not None and info.st_uid != uid):
            continue
        old = now - info.st_mtime > STALE_SECONDS
        if not old and _process_alive(int(match.group("pid"))):
            continue
        try:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed
