"""The Keras cache folders: where cached files are looked for, and where they are written.

The cache is the one Keras uses: ``$KERAS_HOME`` or ``~/.keras``, sub-folder ``datasets``.
When that cannot be written Keras falls back to ``.keras`` in the temporary folder
(``/tmp/.keras``); tomei writes there too in that case, but reads from there only when the
folders are owned by the current user and writable by nobody else, because any user of the
machine can create ``/tmp/.keras`` and plant files in it.

Cache entries are written through :mod:`tomei.keras.utils.atomic_write` (a hidden temporary
name, renamed into place once verified).
"""

import os
import stat
import tempfile
import warnings

__all__ = ["cache_folders", "is_private_folder", "keras_home", "writable_cache_folder"]


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
