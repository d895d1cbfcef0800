"""Download files into the Keras cache, verified and atomically (``keras.utils.get_file``).

The cache is the one Keras uses (``$KERAS_HOME`` or ``~/.keras``, sub-folder ``datasets``), so a
file downloaded by Keras is reused here and the reverse. What this module adds to Keras:

- a download goes to a temporary file in the target folder and is renamed onto the final name
  only after its size and hash are checked, so a cut transfer, a Ctrl-C or a killed process
  never leaves a file that a later run trusts;
- a cached file is hash-checked on every use and downloaded again once when it does not match;
- several origins are tried in order (``origin``, then ``mirrors``), and when all fail one
  :class:`DownloadError` lists every URL with its error, the file expected and the folder where
  it can be placed by hand;
- TLS certificates are always verified, timeouts are finite, and the standard ``HTTPS_PROXY``,
  ``HTTP_PROXY`` and ``NO_PROXY`` variables are honoured (urllib's default proxy handler).
"""

import http.client
import os
import shutil
import socket
import ssl
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from tomei.keras.utils.atomic_write import atomic_path
from tomei.keras.utils.cache import cache_folders, keras_home, writable_cache_folder
from tomei.keras.utils.hashing import (
    CHUNK_SIZE,
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
    "download_verified",
    "get_file",
    "hash_check",
    "hash_file",
    "keras_home",
    "validate_file",
    "writable_cache_folder",
]

USER_AGENT = "tomei/0.1 (Python urllib)"
ALLOWED_SCHEMES = ("http", "https", "file")


# ------------------------------------------------------------------------------------------------
# Errors


class DownloadError(OSError):
    """Every origin of a file failed.

    ``str(err)`` is a short report meant for a person: each URL tried with its error, the file
    expected (name, size when known, hash) and the folder where the file can be placed by hand.
    The same facts are attributes: ``fname``, ``attempts`` (a list of ``(url, reason)``),
    ``folder``, ``expected`` (a description of the check, e.g. ``"SHA-256 731c..."``) and ``size``.
    """

    def __init__(self, message, *, fname=None, attempts=(), folder=None, expected=None, size=None):
        super().__init__(message)  # keyword defaults keep the exception picklable
        self.fname = fname
        self.attempts = list(attempts)
        self.folder = folder
        self.expected = expected
        self.size = size


class CorruptDownloadError(DownloadError, ValueError):
    """A download completed but its bytes did not match the expected hash.

    It is both a :class:`DownloadError` (an ``OSError``) and a ``ValueError``, the type Keras
    raises for "Incomplete or corrupted file detected".
    """


class _BadContent(Exception):
    """A transfer finished but the bytes are not the expected ones (size or hash)."""

    def __init__(self, reason, *, hash_mismatch=False):
        super().__init__(reason)
        self.hash_mismatch = hash_mismatch


# ------------------------------------------------------------------------------------------------
# Progress


class _ByteProgress:
    """A one-line byte counter redrawn with a carriage return: ``  1234567/11490434 bytes  42%``."""

    def __init__(self, total, stream=None, min_interval=0.1):
        self.total = total
        self.stream = stream if stream is not None else sys.stdout
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._done = 0

    def _draw(self):
        if self.total:
            percent = min(100, int(100 * self._done / self.total))
            text = f"  {self._done}/{self.total} bytes  {percent:3d}%"
        else:
            text = f"  {self._done} bytes"
        self.stream.write("\r" + text)
        self.stream.flush()

    def update(self, done):
        self._done = done
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval:
            self._last_draw = now
            self._draw()

    def close(self):
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


def _check_verbose(verbose):
    if verbose == "auto" or verbose in (0, 1, 2):  # True and False compare equal to 1 and 0
        return
    raise ValueError(
        f"verbose must be 'auto', True/False, 0, 1 or 2; received verbose={verbose!r}."
    )


def _shows_messages(verbose):
    """Prints 'Downloading data from ...' lines unless verbose is 0/False."""
    return verbose == "auto" or bool(verbose)


def _shows_bar(verbose):
    """The byte bar: forced by verbose=1/True, and with 'auto' only on a terminal."""
    if verbose == "auto":
        isatty = getattr(sys.stdout, "isatty", None)
        return bool(isatty and isatty())
    return verbose == 1


# ------------------------------------------------------------------------------------------------
# Transfer


def _build_opener():
    """A urllib opener with certificate verification on and urllib's default proxy handler.

    The TLS context is made here (``ssl.create_default_context``: CERT_REQUIRED, host names
    checked, system CA store or ``SSL_CERT_FILE``) rather than taken from
    ``ssl._create_default_https_context``, so a process-wide patch that disables verification
    does not reach this download. ``build_opener`` adds ``ProxyHandler()``, which reads
    ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` from the environment.
    """
    context = ssl.create_default_context()
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def _open_url(url, timeout):
    """Opens ``url`` for reading (tests replace this function to simulate failures)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return _build_opener().open(request, timeout=timeout)


def _content_length(response):
    value = response.headers.get("Content-Length") if response.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _copy_url_to_file(url, out, timeout, show_bar):
    """Streams ``url`` into the open file ``out``; checks the byte count against Content-Length."""
    with _open_url(url, timeout) as response:
        total = _content_length(response)
        bar = _ByteProgress(total) if show_bar else None
        received = 0
        try:
            while True:
                chunk = response.read(CHUNK_SIZE)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(received)
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise _BadContent(f"transfer cut short: received {received:,} of {total:,} bytes")
    return received


def _download_one(url, folder, fname, check, timeout, show_bar):
    """Downloads ``url`` to ``folder/fname`` through a temporary file renamed once verified
    (:func:`tomei.keras.utils.atomic_write.atomic_path`, which also removes the temporary
    files of downloads killed earlier)."""
    target = os.path.join(folder, fname)
    with atomic_path(target) as part:
        with open(part, "wb") as out:
            _copy_url_to_file(url, out, timeout, show_bar)
        if check is not None:
            reason = check.problem(part)
            if reason is not None:
                raise _BadContent(reason, hash_mismatch=True)
    return target


def _describe_error(err, timeout):
    """A short, readable reason for one failed origin."""
    if isinstance(err, _BadContent):
        return str(err)
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP error {err.code}: {err.reason}"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        if isinstance(reason, BaseException):
            return _describe_error(reason, timeout)
        return f"URL error: {reason}"
    if isinstance(err, ssl.SSLCertVerificationError):
        detail = getattr(err, "verify_message", None) or str(err)
        return (
            f"TLS certificate verification failed ({detail}). Verification stays on: install "
            "your system's CA certificates (python.org Python on macOS: run 'Install "
            "Certificates.command'), or point SSL_CERT_FILE at your organisation's CA bundle"
        )
    if isinstance(err, ssl.SSLError):
        hint = ""
        if "WRONG_VERSION_NUMBER" in str(err):
            hint = " (often a proxy or firewall answering in plain HTTP: check HTTPS_PROXY)"
        return f"TLS error: {err}{hint}"
    if isinstance(err, (socket.timeout, TimeoutError)):
        return f"timed out: no data for {timeout:g} s"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (nothing listens at that address)"
    if isinstance(err, socket.gaierror):
        return f"host name not resolved ({err.strerror}): no network, DNS or proxy?"
    if isinstance(err, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(err, http.client.IncompleteRead):
        return f"transfer cut short: {err}"
    if isinstance(err, OSError) and err.strerror:
        return f"{type(err).__name__}: {err.strerror}"
    return f"{type(err).__name__}: {err}"


def _check_url(url):
    scheme = urllib.parse.urlsplit(str(url)).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ValueError(f"Origins must be http://, https:// or file:// URLs; received {url!r}.")


def download_verified(fname, urls, folder, check=None, *, size=None, timeout=30, verbose="auto"):
    """Downloads one file into ``folder``, trying ``urls`` in order, renaming only when verified.

    Each URL is streamed to a unique temporary file in ``folder``. The file is renamed to
    ``folder/fname`` (``os.replace``, atomic) only after its byte count matches Content-Length
    and ``check`` passes; otherwise it is deleted and the next URL is tried. Two processes
    doing this at once both end with a good file.

    Args:
        fname: str, the file name in ``folder`` (no path separator).
        urls: list of str, the URLs to try in order.
        folder: str, an existing writable folder.
        check: a :class:`FileCheck`, or None to accept any complete transfer.
        size: int or None, the expected size in bytes, only for the error message.
        timeout: float, seconds to wait for a connection and for each read.
        verbose: 'auto', 0/1/2 or a bool: see :func:`get_file`.

    Returns:
        str, the path of the verified file.

    Raises:
        CorruptDownloadError: when all URLs failed and at least one delivered wrong bytes.
        DownloadError: when all URLs failed.
    """
    attempts = []
    received_wrong_bytes = False
    show_messages = _shows_messages(verbose)
    show_bar = _shows_bar(verbose)
    for index, url in enumerate(urls):
        if show_messages:
            print(f"Downloading data from {url}", flush=True)
        try:
            return _download_one(url, folder, fname, check, timeout, show_bar)
        except (OSError, http.client.HTTPException, _BadContent) as err:
            reason = _describe_error(err, timeout)
            attempts.append((url, reason))
            if isinstance(err, _BadContent) and err.hash_mismatch:
                received_wrong_bytes = True
            if index + 1 < len(urls):
                warnings.warn(
                    f"Could not download {fname} from {url}: {reason}. Trying {urls[index + 1]}",
                    RuntimeWarning,
                    stacklevel=2,
                )
    error_class = CorruptDownloadError if received_wrong_bytes else DownloadError
    expected = check.description if check is not None else None
    message = _failure_message(fname, attempts, folder, expected, size)
    raise error_class(
        message, fname=fname, attempts=attempts, folder=folder, expected=expected, size=size
    )


def _failure_message(fname, attempts, folder, expected, size):
    lines = [f"Could not download {fname!r}; every origin failed:"]
    for url, reason in attempts:
        lines.append(f"  - {url}: {reason}")
    facts = [fname]
    if size is not None:
        facts.append(f"{size:,} bytes")
    facts.append(expected if expected is not None else "no hash given")
    lines.append(f"Expected file: {', '.join(facts)}.")
    lines.append("To install it by hand, download it elsewhere and place it at:")
    lines.append(f"  {os.path.join(folder, fname)}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Archives (extract=True)


def _archive_layout(fname, fname_given):
    """Keras 3 naming: 'data.tar.gz' -> extract into 'data_extracted'; 'data' -> 'data_archive'."""
    if fname_given and "." in fname:
        return fname, fname[: fname.find(".")] + "_extracted"
    return fname + "_archive", fname


def _unsafe_member(name):
    """True for an archive member that would land outside the extraction folder."""
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    return normalized.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":")


def _extract_into(archive_path, folder):
    """Extracts a tar or zip archive into the new folder ``folder``; refuses unsafe members."""
    if tarfile.is_tarfile(archive_path):
        with tarfile.open(archive_path) as archive:
            for member in archive.getmembers():
                bad_link = (member.issym() or member.islnk()) and _unsafe_member(member.linkname)
                if _unsafe_member(member.name) or bad_link or member.isdev():
                    raise ValueError(
                        f"Refusing to extract {archive_path}: member {member.name!r} would be "
                        "written outside the extraction folder or is a device."
                    )
            if hasattr(tarfile, "data_filter"):
                archive.extractall(folder, filter="data")
            else:  # Python < 3.11.4: the member check above is the only filter
                archive.extractall(folder)
        return
    if zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if _unsafe_member(name):
                    raise ValueError(
                        f"Refusing to extract {archive_path}: member {name!r} would be written "
                        "outside the extraction folder."
                    )
            archive.extractall(folder)
        return
    raise ValueError(f"extract=True, but {archive_path} is neither a tar nor a zip archive.")


def _extract_atomically(archive_path, destination):
    """Extracts into a temporary folder next to ``destination``, then renames it."""
    parent = os.path.dirname(destination)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(destination)}.", dir=parent)
    try:
        _extract_into(archive_path, staging)
        if os.path.isdir(destination):
            shutil.rmtree(destination)
        try:
            os.replace(staging, destination)
        except OSError:
            if not os.path.isdir(destination):  # not another process winning the race
                raise
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# get_file


def _resolve_fname(fname, origin):
    if fname is None or fname == "":
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Cannot take a file name from origin={origin!r}; pass fname=, e.g. 'data.npz'."
            )
        return fname, False
    fname = os.fspath(fname)
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    if any(sep in fname for sep in separators) or fname in (".", ".."):
        raise ValueError(
            "fname must be a plain file name without a path separator; choose the folder with "
            f"cache_dir= and cache_subdir=. Received: fname={fname!r}"
        )
    return fname, True


def _check_timeout(timeout):
    valid = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not valid or not 0 < timeout < float("inf"):
        raise ValueError(
            f"timeout must be a finite number of seconds > 0; received timeout={timeout!r}."
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
    mirrors=None,
    timeout=30,
    verbose="auto",
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
            extracted into ``x_extracted``) and return the folder.
        mirrors: list of str or None, further URLs serving the same bytes, tried in order
            after ``origin``.
        timeout: float, seconds to wait for a connection and for each read (default 30).
        verbose: ``'auto'`` (default: "Downloading data from" lines, and a byte progress bar
            only when stdout is a terminal), 1/True (lines and bar), 2 (lines only),
            0/False (silent).

    Returns:
        str, the path of the verified file (or of the extraction folder with ``extract=True``).

    Raises:
        ValueError: for a bad argument (fname with a path separator, unknown hash_algorithm,
            malformed file_hash, origin that is not an http/https/file URL, bad timeout), or
            an archive that cannot be extracted safely.
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
        _check_url(url)
    fname, fname_given = _resolve_fname(fname, origin)
    resolve_algorithm(hash_algorithm, "")  # refuses an unknown name even without a hash
    _check_timeout(timeout)
    _check_verbose(verbose)
    check = hash_check(file_hash, hash_algorithm) if file_hash is not None else None

    if extract:
        download_name, extraction_name = _archive_layout(fname, fname_given)
    else:
        download_name, extraction_name = fname, None

    path = _cached_copy(download_name, cache_dir, cache_subdir, check, verbose)
    downloaded = path is None
    if downloaded:
        folder = writable_cache_folder(cache_dir, cache_subdir)
        path = download_verified(
            download_name, urls, folder, check, timeout=timeout, verbose=verbose
        )
    if extraction_name is None:
        return path
    destination = os.path.join(os.path.dirname(path), extraction_name)
    if downloaded or not os.path.isdir(destination):
        _extract_atomically(path, destination)
    return destination


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
        if _shows_messages(verbose):
            print(
                f"A local file was found at {path}, but it seems to be incomplete or outdated "
                f"({reason}), so it will be downloaded again.",
                flush=True,
            )
    return None
