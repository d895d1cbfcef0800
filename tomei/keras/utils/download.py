"""HTTP downloads, verified and atomic: the transfer under ``keras.utils.get_file``.

:func:`download_verified` streams each URL into a temporary file in the destination folder
(:func:`tomei.keras.utils.atomic_write.atomic_path`) and renames it onto the final name only
after its size and hash are checked, so a cut transfer, a Ctrl-C or a killed process never
leaves a file that a later run trusts. Several origins are tried in order; when all fail, one
:class:`DownloadError` lists every URL with its error, the file expected and the folder where
it can be placed by hand. TLS certificates are always verified, timeouts are finite, and the
standard ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY`` variables are honoured (urllib's
default proxy handler). The bar is :class:`tomei.keras.utils.progbar.Progbar`, in bytes.
"""

import os
import sys
import time
import urllib.parse
import warnings

from tomei.keras.utils.atomic_write import atomic_path
from tomei.keras.utils.hashing import CHUNK_SIZE
from tomei.keras.utils.progbar import Progbar

__all__ = [
    "ALLOWED_SCHEMES",
    "DEFAULT_DEADLINE",
    "MAX_DOWNLOAD_BYTES",
    "USER_AGENT",
    "CorruptDownloadError",
    "DownloadError",
    "check_url",
    "check_verbose",
    "download_verified",
    "shows_messages",
]

USER_AGENT = "tomei/0.1 (Python urllib)"
ALLOWED_SCHEMES = ("http", "https", "file")
# The most bytes one download may write when neither the caller nor the server says how many
# to expect (8 GiB): an endless body stops here instead of filling the disk.
MAX_DOWNLOAD_BYTES = 8 * 2**30
# The longest one download may take in all, in seconds (an hour): a server that sends a byte
# now and then, each within the per-read timeout, cannot hold a download forever.
DEFAULT_DEADLINE = 3600.0


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
# Messages and the progress bar (the one Progbar of tomei.keras.utils.progbar, counting bytes)


def check_verbose(verbose):
    """Refuses a ``verbose`` other than 'auto', True/False, 0, 1 or 2 (ValueError)."""
    if verbose == "auto" or verbose in (0, 1, 2):  # True and False compare equal to 1 and 0
        return
    raise ValueError(
        f"verbose must be 'auto', True/False, 0, 1 or 2; received verbose={verbose!r}."
    )


def shows_messages(verbose):
    """True when 'Downloading data from ...' lines are printed: unless verbose is 0/False."""
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
    # The network modules are imported when a download starts, not at ``import tomei``:
    # ssl, http.client and urllib.request (with email, socket and OpenSSL) hold ~7 MB.
    import ssl
    import urllib.request
    context = ssl.create_default_context()
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def _open_url(url, timeout):
    """Opens ``url`` for reading (tests replace this function to simulate failures)."""
    import urllib.request
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return _build_opener().open(request, timeout=timeout)


def _content_length(response):
    value = response.headers.get("Content-Length") if response.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _copy_url_to_file(url, out, timeout, show_bar, limits):
    """Streams ``url`` into the open file ``out``, within ``limits`` (:class:`_Limits`).

    Reads return what has arrived (``read1``), so the deadline is checked at least once per
    ``timeout`` seconds however slowly the bytes come. The byte count is checked against
    Content-Length.
    """
    with _open_url(url, timeout) as response:
        total = _content_length(response)
        cap = limits.cap(total)
        read = getattr(response, "read1", None) or response.read
        bar = Progbar(total, unit_name="byte") if show_bar else None
        received = 0
        try:
            while True:
                chunk = read(CHUNK_SIZE)
                if not chunk:
                    break
                received += len(chunk)
                if received > cap:
                    raise _BadContent(
                        f"more than {cap:,} bytes arrived ({limits.why(total)}); stopped there"
                    )
                out.write(chunk)
                limits.check_time()
                if bar is not None:
                    bar.update(received, finalize=False)
        finally:
            if bar is not None:
                bar.update(received, finalize=True)
    if total is not None and received != total:
        raise _BadContent(f"transfer cut short: received {received:,} of {total:,} bytes")
    return received


class _Limits:
    """The byte cap and the overall deadline of one download.

    Args:
        size: int or None, the size the caller expects (a dataset spec's published size).
        max_bytes: int, the cap when nothing says how many bytes to expect.
        deadline: float, seconds the whole download may take.
    """

    def __init__(self, size, max_bytes, deadline):
        self.size = size
        self.max_bytes = max_bytes
        self.deadline = deadline
        self._end = time.monotonic() + deadline

    def cap(self, content_length):
        """The most bytes accepted; refuses at once a Content-Length above the cap."""
        cap = self.max_bytes if self.size is None else min(self.size, self.max_bytes)
        if content_length is not None and content_length > cap:
            raise _BadContent(
                f"the server announces {content_length:,} bytes, more than the {cap:,} "
                f"expected ({self.why(None)}); nothing was downloaded"
            )
        return cap if content_length is None else content_length

    def why(self, content_length):
        if content_length is not None:
            return "its Content-Length"
        if self.size is not None and self.size <= self.max_bytes:
            return "the published size"
        return f"max_bytes={self.max_bytes:,}"

    def check_time(self):
        if time.monotonic() > self._end:
            raise _BadContent(f"took longer than the deadline of {self.deadline:g} s; stopped")


def _download_one(url, folder, fname, check, timeout, show_bar, limits):
    """Downloads ``url`` to ``folder/fname`` through a temporary file renamed once verified
    (:func:`tomei.keras.utils.atomic_write.atomic_path`, which also removes the temporary
    files of downloads killed earlier)."""
    target = os.path.join(folder, fname)
    with atomic_path(target) as part:
        with open(part, "wb") as out:
            _copy_url_to_file(url, out, timeout, show_bar, limits)
        if check is not None:
            reason = check.problem(part)
            if reason is not None:
                raise _BadContent(reason, hash_mismatch=True)
    return target


def _describe_error(err, timeout):
    """A short, readable reason for one failed origin."""
    import http.client
    import socket
    import ssl
    import urllib.error
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


def check_url(url):
    """Refuses (ValueError) a URL that is not http://, https:// or file://."""
    scheme = urllib.parse.urlsplit(str(url)).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ValueError(f"Origins must be http://, https:// or file:// URLs; received {url!r}.")


def download_verified(fname, urls, folder, check=None, *, size=None, timeout=30, verbose="auto",
                      max_bytes=MAX_DOWNLOAD_BYTES, deadline=DEFAULT_DEADLINE):
    """Downloads one file into ``folder``, trying ``urls`` in order, renaming only when verified.

    Each URL is streamed to a unique temporary file in ``folder``. The file is renamed to
    ``folder/fname`` (``os.replace``, atomic) only after its byte count matches Content-Length
    and ``check`` passes; otherwise it is deleted and the next URL is tried. Two processes
    doing this at once both end with a good file. No transfer writes more than ``size`` (when
    given), Content-Length or ``max_bytes`` bytes, or runs past ``deadline`` seconds.

    Args:
        fname: str, the file name in ``folder`` (no path separator).
        urls: list of str, the URLs to try in order.
        folder: str, an existing writable folder.
        check: a :class:`FileCheck`, or None to accept any complete transfer.
        size: int or None, the expected size in bytes: a transfer stops (refused) past it.
        timeout: float, seconds to wait for a connection and for each read.
        verbose: 'auto', 0/1/2 or a bool: see :func:`get_file`.
        max_bytes: int, the cap when neither ``size`` nor Content-Length is smaller
            (default :data:`MAX_DOWNLOAD_BYTES`, 8 GiB).
        deadline: float, seconds each URL's transfer may take in all (default
            :data:`DEFAULT_DEADLINE`, one hour).

    Returns:
        str, the path of the verified file.

    Raises:
        CorruptDownloadError: when all URLs failed and at least one delivered wrong bytes.
        DownloadError: when all URLs failed.
    """
    import http.client
    attempts = []
    received_wrong_bytes = False
    show_messages = shows_messages(verbose)
    show_bar = _shows_bar(verbose)
    for index, url in enumerate(urls):
        if show_messages:
            print(f"Downloading data from {url}", flush=True)
        try:
            limits = _Limits(size, max_bytes, deadline)
            return _download_one(url, folder, fname, check, timeout, show_bar, limits)
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
