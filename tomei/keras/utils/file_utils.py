"""``keras.utils.get_file``: a file in the Keras cache, downloaded once and verified.

The cache is the one Keras uses (``$KERAS_HOME`` or ``~/.keras``, sub-folder ``datasets``), so a
file downloaded by Keras is reused here and the reverse. A cached file is hash-checked on every
use and downloaded again once when it does not match. The work is done by four modules, one per
concern: :mod:`~tomei.keras.utils.hashing` (hashes of files and of their decompressed content),
:mod:`~tomei.keras.utils.cache` (the cache folders), :mod:`~tomei.keras.utils.download`
(verified HTTP transfers) and :mod:`~tomei.keras.utils.archives` (``extract=True``); this
module keeps ``get_file`` and the names older code imports from here.
"""

import os
import urllib.parse

from tomei.keras.utils.archives import archive_layout, extract_archive
from tomei.keras.utils.cache import cache_folders, keras_home, writable_cache_folder
from tomei.keras.utils.download import (
    DEFAULT_DEADLINE,
    MAX_DOWNLOAD_BYTES,
    CorruptDownloadError,
    DownloadError,
    check_url,
    check_verbose,
    download_verified,
    shows_messages,
)
from tomei.keras.utils.hashing import (
    FileCheck,
    hash_check,
    hash_file,
    resolve_algorithm,
    validate_file,
)

__all__ = [
    "CorruptDownloadError",
    "DownloadError",
    "FileCheck",
    "cache_folders",
    "check_file_name",
    "download_verified",
    "get_file",
    "hash_check",
    "hash_file",
    "keras_home",
    "validate_file",
    "writable_cache_folder",
]


# ------------------------------------------------------------------------------------------------
# get_file


def check_file_name(name, argument):
    """Refuses a name that is not one plain file name in the cache folder.

    Used for an explicit ``fname`` and, the same way, for every name tomei derives (from the
    origin URL, or ``<name>_archive`` / ``<name>_extracted`` for archives), so no name can
    point outside the cache folder or at the folder itself.

    Args:
        name: str, the name to check.
        argument: str, how to name it in the message (``'fname'``, or where it was taken
            from, e.g. ``"fname (taken from origin='http://host/..')"``).

    Raises:
        ValueError: for an empty name, ``'.'``, ``'..'``, a path separator or a NUL byte.
    """
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    if not name or name in (".", "..") or "\0" in name or any(s in name for s in separators):
        raise ValueError(
            "fname must be a plain file name without a path separator (not '', '.' or '..'); "
            f"choose the folder with cache_dir= and cache_subdir=. Received: {argument}={name!r}"
        )


def _resolve_fname(fname, origin):
    if fname is None or fname == "":
        path = urllib.parse.unquote(urllib.parse.urlsplit(origin).path)
        fname = path.rsplit("/", 1)[-1]
        if not fname:
            raise ValueError(
                f"Cannot take a file name from origin={origin!r}; pass fname=, e.g. 'data.npz'."
            )
        check_file_name(fname, f"fname (taken from origin={origin!r})")
        return fname, False
    fname = os.fspath(fname)
    check_file_name(fname, "fname")
    return fname, True


def _check_timeout(value, name="timeout"):
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not valid or not 0 < value < float("inf"):
        raise ValueError(
            f"{name} must be a finite number of seconds > 0; received {name}={value!r}."
        )


def get_file(
    fname=None,
    origin=None,
    file_hash=None,
    hash_algorithm="auto",
    cache_dir=None,
    cache_subdir="datasets",
    extract=False,
    *,
    untar=False,
    md5_hash=None,
    archive_format="auto",
    force_download=False,
    mirrors=None,
    timeout=30,
    verbose="auto",
    max_bytes=MAX_DOWNLOAD_BYTES,
    deadline=DEFAULT_DEADLINE,
):
    """Downloads a file into the Keras cache unless a verified copy is already there.

    The file ends up at ``<cache_dir>/<cache_subdir>/<fname>``, by default
    ``~/.keras/datasets/<fname>`` (``$KERAS_HOME`` replaces ``~/.keras``), the same place as
    ``keras.utils.get_file``. When that folder cannot be written, ``/tmp/.keras`` (the
    temporary folder's ``.keras``) is used instead, as Keras does.

    With ``file_hash``, a cached file is hashed on every call; if it does not match it is
    downloaded again once. A download is written to a temporary file, checked (byte count
    against Content-Length, then the hash) and only then renamed onto ``fname``, so an
    interrupted or corrupted transfer never leaves a file that a later call trusts.

    Args:
        fname: str, the local file name (no path separator). None takes the last part of the
            origin URL.
        origin: str, the URL to download from (http, https or file).
        file_hash: str or None, the expected SHA-256 (64 hex characters) or MD5 (32) of the
            file. None accepts any complete download (as Keras; not recommended).
        hash_algorithm: ``'auto'`` (default: SHA-256 for a 64-character hash, else MD5),
            ``'sha256'`` or ``'md5'``.
        cache_dir: str or None, the cache base folder; None means ``$KERAS_HOME`` or
            ``~/.keras``.
        cache_subdir: str, the sub-folder of ``cache_dir`` (default ``'datasets'``); an
            absolute path is used as it is.
        extract: bool, extract a tar or zip archive (Keras 3 layout: ``'x.tar.gz'`` is
            extracted into ``x_extracted``; a name without a dot, ``'x'``, is downloaded as
            ``x_archive`` and extracted into ``x``) and return the folder.
        untar: bool, Keras's older name for ``extract=True`` with a tar archive (the same
            layout: ``get_file('aclImdb_v1', url, untar=True)`` extracts into
            ``aclImdb_v1``).
        md5_hash: Keras's older name for ``file_hash`` with ``hash_algorithm='md5'`` (used
            when ``file_hash`` is None).
        archive_format: ``'auto'`` (default: tar or zip), ``'tar'``, ``'zip'``, or a list
            of them: the kinds ``extract`` accepts.
        force_download: bool, download again even when a verified copy is cached.
        mirrors: list of str or None, further URLs serving the same bytes, tried in order
            after ``origin``.
        timeout: float, seconds to wait for a connection and for each read (default 30).
        verbose: ``'auto'`` (default: "Downloading data from" lines, and a byte progress bar
            only when stdout is a terminal), 1/True (lines and bar), 2 (lines only),
            0/False (silent).
        max_bytes: int, the most bytes a download may write when the server sends no
            Content-Length (default 8 GiB; a tomei extension). A larger Content-Length is
            refused before anything is written.
        deadline: float, seconds one origin's transfer may take in all (default 3600; a tomei
            extension), however slowly the bytes arrive.

    Returns:
        str, the path of the verified file (or of the extraction folder with ``extract=True``).

    Raises:
        ValueError: for a bad argument (fname with a path separator, or a name taken from the
            origin that is not a plain file name, unknown hash_algorithm, malformed file_hash,
            origin that is not an http/https/file URL, bad timeout, max_bytes or deadline),
            or an archive that cannot be extracted safely.
        FileExistsError: with ``extract=True``, when the extraction folder exists and was not
            made by ``get_file`` (it is never deleted).
        CorruptDownloadError: (a ``ValueError`` and a ``DownloadError``) when every origin
            failed and at least one delivered bytes that do not match ``file_hash``.
        DownloadError: (an ``OSError``) when every origin failed; the message lists each URL
            with its error, the expected file and the folder where it can be placed by hand.
        PermissionError: when no cache folder can be written.
    """
    if not origin or not isinstance(origin, str):
        raise ValueError(
            f"origin must be the URL of the file to download; received origin={origin!r}."
        )
    urls = [origin] + [str(url) for url in (mirrors or [])]
    for url in urls:
        check_url(url)
    fname, fname_given = _resolve_fname(fname, origin)
    resolve_algorithm(hash_algorithm, "")  # refuses an unknown name even without a hash
    _check_timeout(timeout)
    _check_timeout(deadline, "deadline")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int; received max_bytes={max_bytes!r}.")
    check_verbose(verbose)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    check = hash_check(file_hash, hash_algorithm) if file_hash is not None else None
    formats = ("tar",) if untar else _archive_formats(archive_format)
    extract = bool(extract or untar)

    if extract:
        download_name, extraction_name = archive_layout(fname, fname_given)
        check_file_name(download_name, "the archive's name")
        check_file_name(extraction_name, "the extraction folder's name")
    else:
        download_name, extraction_name = fname, None

    path = None if force_download else _cached_copy(download_name, cache_dir, cache_subdir,
                                                    check, verbose)
    downloaded = path is None
    if downloaded:
        folder = writable_cache_folder(cache_dir, cache_subdir)
        path = download_verified(
            download_name, urls, folder, check, timeout=timeout, verbose=verbose,
            max_bytes=max_bytes, deadline=deadline,
        )
    if extraction_name is None:
        return path
    destination = os.path.join(os.path.dirname(path), extraction_name)
    if downloaded or not os.path.isdir(destination):
        extract_archive(path, destination, formats)
    return destination


def _archive_formats(archive_format):
    """('tar', 'zip') for 'auto'; the listed kinds otherwise. Raises ValueError naming the
    argument for anything else (None would extract nothing)."""
    if archive_format == "auto":
        return ("tar", "zip")
    kinds = (archive_format,) if isinstance(archive_format, str) else archive_format
    if not isinstance(kinds, (list, tuple)) or not kinds or \
            not set(kinds) <= {"tar", "zip"}:
        raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or a list of them; "
                         f"received archive_format={archive_format!r}.")
    return tuple(kinds)


def _cached_copy(fname, cache_dir, cache_subdir, check, verbose):
    """The path of a cached copy of ``fname`` that passes ``check``, or None."""
    for folder in cache_folders(cache_dir, cache_subdir, for_reading=True):
        path = os.path.join(folder, fname)
        if not os.path.isfile(path):
            continue
        if check is None:
            return path
        reason = check.problem(path)
        if reason is None:
            return path
        if shows_messages(verbose):
            print(
                f"A local file was found at {path}, but it seems to be incomplete or outdated "
                f"({reason}), so it will be downloaded again.",
                flush=True,
            )
    return None
