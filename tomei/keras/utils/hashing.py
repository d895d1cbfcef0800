"""Hashes of files, and of their decompressed content, read in bounded chunks.

Two kinds of check are used by downloads and datasets:

- the hash of a file's bytes as stored (:func:`hash_file`, :func:`hash_check`), what
  ``keras.utils.get_file(file_hash=...)`` compares;
- the hash of a file's *content*: the bytes after gzip decompression when the file is gzip
  (recognised by its first two bytes, ``1f 8b``, RFC 1952), the bytes as stored otherwise
  (:func:`hash_content`). A gzip copy, a decompressed copy and a re-compressed copy of the
  same data all have the same content hash.

Content is decompressed as a stream and never beyond a limit given by the caller (the size the
dataset spec publishes), so a small file that inflates to gigabytes (a "decompression bomb")
is refused after ``limit + 1`` bytes, with memory bounded by one chunk.
"""

import gzip
import hashlib
import zlib

__all__ = [
    "CHUNK_SIZE",
    "ContentError",
    "FileCheck",
    "hash_check",
    "hash_content",
    "hash_file",
    "is_gzip",
    "iter_content",
    "read_content",
    "resolve_algorithm",
    "validate_file",
]

CHUNK_SIZE = 65535  # bytes read at a time, as Keras
GZIP_MAGIC = b"\x1f\x8b"

HASH_NAMES = {"sha256": "SHA-256", "md5": "MD5"}


class ContentError(ValueError):
    """A file's content is not what was expected: larger than the limit, or a truncated or
    corrupt gzip stream. ``str(err)`` names the file and says which."""


def _hasher(algorithm):
    """A fresh hashlib object for 'sha256' or 'md5'."""
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "md5":
        return hashlib.md5()
    raise ValueError(
        "Unknown hash algorithm: expected 'sha256', 'md5' or 'auto'; "
        f"received algorithm={algorithm!r}."
    )


def resolve_algorithm(algorithm, file_hash):
    """Keras's rule: 'auto' means SHA-256 for a 64-character hash, MD5 otherwise.

    Raises:
        ValueError: for a name other than 'auto', 'sha256' or 'md5'.
    """
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            "Unknown hash_algorithm: expected 'auto', 'sha256' or 'md5'; "
            f"received hash_algorithm={algorithm!r}."
        )
    if algorithm != "auto":
        return algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def _check_hash_string(file_hash, algorithm):
    """Refuses a hash that can never match (wrong length or not hexadecimal)."""
    expected_length = {"sha256": 64, "md5": 32}[algorithm]
    is_hex = all(c in "0123456789abcdefABCDEF" for c in file_hash)
    if len(file_hash) != expected_length or not is_hex:
        raise ValueError(
            f"file_hash must be {expected_length} hexadecimal characters for "
            f"{HASH_NAMES[algorithm]}; received file_hash={file_hash!r}."
        )


def hash_file(path, algorithm="sha256", chunk_size=CHUNK_SIZE):
    """Computes the SHA-256 (or MD5) of a file's bytes, reading it in chunks.

    Args:
        path: str or path-like, the file to hash.
        algorithm: ``'sha256'`` (default), ``'md5'``, or ``'auto'`` (SHA-256: there is no
            expected hash to look at).
        chunk_size: int, bytes read at a time (default 65535, as Keras).

    Returns:
        The lowercase hexadecimal digest, a str (64 characters for SHA-256, 32 for MD5).

    Raises:
        ValueError: for an unknown ``algorithm``.
        OSError: when the file cannot be read.
    """
    hasher = _hasher("sha256" if algorithm == "auto" else algorithm)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(path, file_hash, algorithm="auto", chunk_size=CHUNK_SIZE):
    """Tells whether a file matches a SHA-256 or MD5 hash (``keras.utils.validate_file``).

    Args:
        path: str or path-like, the file to check.
        file_hash: str, the expected hexadecimal digest (case does not matter).
        algorithm: ``'auto'`` (default: SHA-256 for a 64-character hash, MD5 otherwise, as
            Keras), ``'sha256'`` or ``'md5'``.
        chunk_size: int, bytes read at a time.

    Returns:
        bool: True when the digest of the file equals ``file_hash``.

    Raises:
        ValueError: for an unknown ``algorithm``.
        OSError: when the file cannot be read.
    """
    algorithm = resolve_algorithm(algorithm, str(file_hash))
    return hash_file(path, algorithm, chunk_size) == str(file_hash).lower()


def is_gzip(path):
    """True when the file starts with the gzip magic bytes ``1f 8b`` (RFC 1952, section 2.3.1)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def iter_content(path, limit, chunk_size=CHUNK_SIZE):
    """Yields the content of ``path`` in chunks: decompressed when it is gzip, as stored otherwise.

    At most ``limit`` bytes of content are yielded; when the content is longer,
    :class:`ContentError` is raised after reading one byte more than the limit, so memory and
    time stay bounded whatever the compression ratio. Concatenated gzip members (RFC 1952
    allows them) are read as one stream, as ``gzip.decompress`` does.

    Args:
        path: str or path-like.
        limit: int >= 0, the most content bytes accepted.
        chunk_size: int, the largest chunk yielded.

    Raises:
        ContentError: (a ``ValueError``) naming the file, for content longer than ``limit``
            or a truncated or corrupt gzip stream.
        OSError: when the file cannot be read.
    """
    if is_gzip(path):
        opener = gzip.open
    else:
        opener = open
    total = 0
    try:
        with opener(path, "rb") as f:
            while True:
                # Reading up to one byte past the limit tells "exactly limit" from "more".
                chunk = f.read(min(chunk_size, limit + 1 - total))
                if not chunk:
                    return
                total += len(chunk)
                if total > limit:
                    raise ContentError(
                        f"{path}: the content is larger than the {limit:,} bytes expected; "
                        "refused without reading further (a wrong file, or a decompression bomb)."
                    )
                yield chunk
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ContentError(
            f"{path}: the gzip data is truncated or corrupt ({err}). Delete the file and "
            "download it again."
        ) from None


def hash_content(path, limit, algorithm="sha256"):
    """The hash and size of the content of ``path`` (see :func:`iter_content`).

    Args:
        path: str or path-like.
        limit: int, the most content bytes read (the expected size, when known).
        algorithm: ``'sha256'`` (default) or ``'md5'``.

    Returns:
        ``(hexdigest, size)``: str and int, the size being the number of content bytes.

    Raises:
        ContentError: for content longer than ``limit`` or a broken gzip stream.
        OSError: when the file cannot be read.
    """
    hasher = _hasher(algorithm)
    size = 0
    for chunk in iter_content(path, limit):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def read_content(path, limit):
    """The content of ``path`` as bytes, at most ``limit`` of them (see :func:`iter_content`).

    Raises:
        ContentError: for content longer than ``limit`` or a broken gzip stream.
        OSError: when the file cannot be read.
    """
    return b"".join(iter_content(path, limit))


class FileCheck:
    """How to tell that a file is the right one.

    Args:
        description: str, what is expected, for messages (e.g. ``"SHA-256 731c5a..."``).
        problem: callable ``(path) -> str or None``: None when the file is good, otherwise a
            short reason such as ``"SHA-256 mismatch: expected ..., got ..."``.
    """

    def __init__(self, description, problem):
        self.description = description
        self._problem = problem

    def problem(self, path):
        """None when the file at ``path`` passes the check, else the reason it fails."""
        return self._problem(path)


def hash_check(file_hash, algorithm="auto"):
    """A :class:`FileCheck` comparing the hash of the file's bytes with ``file_hash``.

    Raises:
        ValueError: for an unknown ``algorithm`` or a ``file_hash`` of the wrong length.
    """
    file_hash = str(file_hash)
    algorithm = resolve_algorithm(algorithm, file_hash)
    _check_hash_string(file_hash, algorithm)
    name = HASH_NAMES[algorithm]

    def problem(path):
        actual = hash_file(path, algorithm)
        if actual == file_hash.lower():
            return None
        return f"{name} mismatch: expected {file_hash.lower()}, got {actual}"

    return FileCheck(f"{name} {file_hash.lower()}", problem)
