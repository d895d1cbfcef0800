"""Finding a dataset's files: an explicit path, local folders, then a verified download.

Search order (docs/keras_facts.md, 'Datasets'), the same for every dataset:

1. an explicit ``path=`` given to ``load_data`` (a file or a folder);
2. each folder listed in ``$TOMEI_DATASETS`` (``os.pathsep``-separated), laid out like the
   Keras cache: ``mnist.npz``, ``mnist/<IDX files>``, ``fashion-mnist/<IDX files>``;
3. the Keras cache, ``$KERAS_HOME/datasets`` or ``~/.keras/datasets`` (then
   ``/tmp/.keras/datasets``, where Keras writes when the home is read-only), so files
   downloaded by Keras are reused;
4. system folders such as ``/usr/share/datasets/fashion-mnist`` (Debian ``dataset-fashion-mnist``);
5. a download into the Keras cache, verified by SHA-256 and renamed into place only when
   verified; never when ``TOMEI_OFFLINE=1``.

A file found in steps 2-4 is used only when its SHA-256 matches the published value; a file
given explicitly that does not match is still loaded, with a warning. When nothing works,
:class:`DatasetNotFoundError` says where to put the files by hand.
"""

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple, Union

from tomei.keras.datasets import _idx
from tomei.keras.utils.file_utils import (
    DownloadError,
    FileCheck,
    cache_folders,
    download_verified,
    hash_file,
    writable_cache_folder,
)

__all__ = [
    "DATASETS_ENV",
    "OFFLINE_ENV",
    "DataFile",
    "Dataset",
    "DatasetNotFoundError",
    "DatasetStatus",
    "FileSet",
    "FileStatus",
    "Found",
    "dataset_status",
    "is_offline",
    "obtain",
    "verify_all",
]

OFFLINE_ENV = "TOMEI_OFFLINE"
DATASETS_ENV = "TOMEI_DATASETS"


class DatasetNotFoundError(OSError):
    """A dataset is neither on this machine nor downloadable.

    ``str(err)`` is short and meant to be printed as it is (the ``tomei`` command prints it
    without a traceback): what was tried, and where to put the files by hand.
    """


# ------------------------------------------------------------------------------------------------
# What a dataset is made of


@dataclass(frozen=True)
class DataFile:
    """One published file and the SHA-256 that proves it is the right one.

    Attributes:
        name: the file name on disk, e.g. ``'train-images-idx3-ubyte.gz'``.
        sha256: the expected SHA-256, of the file's bytes, or with ``content_hash=True`` of
            its decompressed IDX bytes (so re-compressed copies, as Debian ships, verify too).
        size: the published size in bytes, for messages (None when unknown).
        content_hash: see ``sha256``.
        remote_name: the name at the origin when it differs from ``name``.
    """

    name: str
    sha256: str
    size: Optional[int] = None
    content_hash: bool = False
    remote_name: Optional[str] = None

    @property
    def url_name(self):
        return self.remote_name or self.name

    def candidates(self, folder):
        """Paths where this file may be in ``folder``: the name, then the name without ``.gz``."""
        paths = [os.path.join(folder, self.name)]
        if self.name.endswith(".gz"):
            paths.append(os.path.join(folder, self.name[: -len(".gz")]))
        return paths

    def describe(self):
        if self.content_hash:
            return f"SHA-256 of the decompressed content {self.sha256}"
        return f"SHA-256 {self.sha256}"

    def problem(self, path):
        """None when ``path`` verifies; 'unverifiable' for a decompressed copy of a file whose
        published hash is of the compressed bytes; otherwise the reason it does not match."""
        key = (self.sha256, self.content_hash) + _file_key(path)
        if key not in _VERIFIED:
            _VERIFIED[key] = self._compute_problem(path)
        return _VERIFIED[key]

    def _compute_problem(self, path):
        if self.content_hash:
            try:
                actual = hashlib.sha256(_idx.read_idx_bytes(path)).hexdigest()
            except ValueError as err:  # a truncated or corrupt gzip stream
                return str(err)
        else:
            actual = hash_file(path, "sha256")
        if actual == self.sha256:
            return None
        if not self.content_hash and self.name.endswith(".gz") and not _is_gzip(path):
            return "unverifiable"  # a decompressed copy: only the .gz hash is published
        return f"SHA-256 mismatch: expected {self.sha256}, got {actual}"

    def file_check(self):
        """The same check as a :class:`~tomei.keras.utils.file_utils.FileCheck` for downloads."""

        def problem(path):
            reason = self.problem(path)
            if reason == "unverifiable":
                return f"SHA-256 mismatch: expected {self.sha256}; the download is not gzip data"
            return reason

        return FileCheck(self.describe(), problem)


@dataclass(frozen=True)
class FileSet:
    """One complete form of a dataset (e.g. ``mnist.npz``, or four IDX files).

    Attributes:
        label: a short name, ``'npz'`` or ``'idx'``.
        subdir: its folder under a datasets root (``''`` for the root itself).
        files: the :class:`DataFile` s that make it up.
        origins: base URLs (ending in ``/``) that serve the files, tried in order.
    """

    label: str
    subdir: str
    files: Tuple[DataFile, ...]
    origins: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A dataset, its forms (tried in order) and the system folders that may hold it.

    Attributes:
        name: the module name, ``'mnist'``.
        title: for messages, ``'MNIST'``.
        filesets: the forms, in order of preference.
        system_dirs: folders that hold the files directly (from OS packages).
        tips: extra lines for the "not found" message: strings, or callables taking no
            argument and returning a string or None (evaluated when the message is written,
            so a tip can depend on what is installed; None leaves the tip out).
    """

    name: str
    title: str
    filesets: Tuple[FileSet, ...]
    system_dirs: Tuple[str, ...] = ()
    tips: Tuple[Union[str, Callable[[], Optional[str]]], ...] = ()


@dataclass
class Found:
    """Where a dataset was found: the form, its folder and one path per file."""

    dataset: Dataset
    fileset: FileSet
    folder: str
    paths: Tuple[str, ...]
    source: str
    verified: bool

    def path_of(self, name):
        """The path of the file published as ``name`` (e.g. ``'t10k-labels-idx1-ubyte.gz'``)."""
        names = [data_file.name for data_file in self.fileset.files]
        return self.paths[names.index(name)]


@dataclass
class FileStatus:
    """The state of one expected file: ``status`` is 'ok', 'corrupt', 'unverified' or 'missing'."""

    path: str
    size: Optional[int]
    status: str
    detail: str = ""


@dataclass
class DatasetStatus:
    """What ``tomei datasets`` shows for one dataset.

    Attributes:
        name, title: e.g. ``'fashion_mnist'``, ``'Fashion-MNIST'``.
        found: True when a complete copy was found.
        location: the folder (or file) holding it, or the folder where to put it.
        source: 'TOMEI_DATASETS', 'Keras cache', 'system', or '' when not found.
        size: total bytes of the files found (0 when not found).
        verified: True when every file matched its published SHA-256.
        files: the :class:`FileStatus` of each file of the form found (or of the first form).
        hint: what to do when it is missing.
    """

    name: str
    title: str
    found: bool
    location: str
    source: str
    size: int
    verified: bool
    files: list = field(default_factory=list)
    hint: str = ""


# ------------------------------------------------------------------------------------------------
# Verification (remembered per process while a file is unchanged)

_VERIFIED = {}


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _file_key(path):
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def forget_verifications():
    """Forgets remembered verifications (``tomei datasets verify`` re-hashes everything)."""
    _VERIFIED.clear()


def _status_of(data_file, folder):
    """The :class:`FileStatus` of ``data_file`` in ``folder`` (first candidate that exists)."""
    for path in data_file.candidates(folder):
        if not os.path.isfile(path):
            continue
        try:
            size = os.path.getsize(path)
            reason = data_file.problem(path)
        except OSError as err:
            return FileStatus(path, None, "corrupt", f"cannot be read: {err}")
        if reason is None:
            return FileStatus(path, size, "ok")
        if reason == "unverifiable":
            return FileStatus(
                path, size, "unverified", "no published hash for the decompressed file"
            )
        return FileStatus(path, size, "corrupt", reason)
    return FileStatus(os.path.join(folder, data_file.name), None, "missing")


def check_fileset(fileset, folder):
    """One :class:`FileStatus` per file of ``fileset`` in ``folder``."""
    return [_status_of(data_file, folder) for data_file in fileset.files]


# ------------------------------------------------------------------------------------------------
# Where to look


def is_offline():
    """True when ``$TOMEI_OFFLINE`` is set to something other than '', '0', 'false' or 'no'."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _env_roots():
    value = os.environ.get(DATASETS_ENV, "")
    return [os.path.expanduser(part) for part in value.split(os.pathsep) if part]


def _subfolder(root, subdir):
    return os.path.join(root, subdir) if subdir else root


def cache_folder_for(fileset):
    """The Keras cache folder where ``fileset`` is downloaded or placed by hand."""
    return cache_folders(None, _subfolder("datasets", fileset.subdir))[0]


def search_plan(dataset):
    """``(source, folder, fileset)`` triples in the order they are searched (steps 2-4)."""
    plan = []
    for root in _env_roots():
        for fileset in dataset.filesets:
            plan.append(("TOMEI_DATASETS", _subfolder(root, fileset.subdir), fileset))
    for cache in cache_folders(None, "datasets"):
        for fileset in dataset.filesets:
            plan.append(("Keras cache", _subfolder(cache, fileset.subdir), fileset))
    for folder in dataset.system_dirs:
        for fileset in dataset.filesets:
            plan.append(("system", folder, fileset))
    return plan


def find_local(dataset, notes=None):
    """The first complete, verified copy in the search plan, or None.

    Files that exist but do not verify are described in ``notes`` (a list) when given.
    """
    for source, folder, fileset in search_plan(dataset):
        statuses = check_fileset(fileset, folder)
        if all(s.status == "ok" for s in statuses):
            paths = tuple(s.path for s in statuses)
            return Found(dataset, fileset, folder, paths, source, verified=True)
        if notes is not None:
            for s in statuses:
                if s.status in ("corrupt", "unverified"):
                    notes.append(f"ignored {s.path}: {s.detail}")
    return None


# ------------------------------------------------------------------------------------------------
# Getting the files


def _explicit(dataset, path):
    """Resolves a ``path=`` given by the user: a file (single-file form) or a folder."""
    path = os.path.expanduser(os.fspath(path))
    if os.path.isdir(path):
        for fileset in dataset.filesets:
            for folder in dict.fromkeys([path, _subfolder(path, fileset.subdir)]):
                statuses = check_fileset(fileset, folder)
                if all(s.status != "missing" for s in statuses):
                    return _explicit_found(dataset, fileset, folder, statuses)
        expected = " or ".join(
            ", ".join(f.name for f in fileset.files) for fileset in dataset.filesets
        )
        raise DatasetNotFoundError(
            f"path={path!r} is a folder without the {dataset.title} files: expected {expected}."
        )
    if os.path.isfile(path):
        single = [fs for fs in dataset.filesets if len(fs.files) == 1]
        if not single:
            raise DatasetNotFoundError(
                f"path={path!r} is a file; {dataset.title} needs a folder holding "
                f"{', '.join(f.name for f in dataset.filesets[0].files)}."
            )
        fileset = single[0]
        status = _status_of_path(fileset.files[0], path)
        return _explicit_found(dataset, fileset, os.path.dirname(path), [status])
    raise DatasetNotFoundError(f"path={path!r} does not exist (expected a file or a folder).")


def _status_of_path(data_file, path):
    reason = data_file.problem(path)
    size = os.path.getsize(path)
    if reason is None:
        return FileStatus(path, size, "ok")
    if reason == "unverifiable":
        return FileStatus(path, size, "unverified")
    return FileStatus(path, size, "corrupt", reason)


def _explicit_found(dataset, fileset, folder, statuses):
    for s in statuses:
        if s.status == "corrupt":
            warnings.warn(
                f"{s.path} does not match the published {dataset.title} file ({s.detail}); "
                "loading it anyway because it was passed explicitly.",
                UserWarning,
                stacklevel=5,  # _explicit_found, _explicit, obtain, load_data, the caller
            )
    verified = all(s.status == "ok" for s in statuses)
    paths = tuple(s.path for s in statuses)
    return Found(dataset, fileset, folder, paths, "explicit", verified)


def _download_fileset(fileset, timeout, verbose):
    """Downloads the missing files of ``fileset`` into the Keras cache, each one verified."""
    folder = writable_cache_folder(None, _subfolder("datasets", fileset.subdir))
    paths = []
    for data_file in fileset.files:
        target = os.path.join(folder, data_file.name)
        if os.path.isfile(target) and data_file.problem(target) is None:
            paths.append(target)
            continue
        urls = [base + data_file.url_name for base in fileset.origins]
        paths.append(
            download_verified(
                data_file.name,
                urls,
                folder,
                data_file.file_check(),
                size=data_file.size,
                timeout=timeout,
                verbose=verbose,
            )
        )
    return folder, tuple(paths)


def obtain(dataset, path=None, *, timeout=30, verbose="auto"):
    """Finds or downloads ``dataset``; returns a :class:`Found`.

    Args:
        dataset: a :class:`Dataset`.
        path: str, path-like or None: an explicit file or folder (skips the search).
        timeout: float, seconds per network operation.
        verbose: passed to the download (see ``get_file``).

    Raises:
        DatasetNotFoundError: when no copy is found and none can be downloaded.
    """
    if path is not None:
        return _explicit(dataset, path)
    notes = []
    found = find_local(dataset, notes)
    if found is not None:
        return found
    if is_offline():
        raise DatasetNotFoundError(not_found_message(dataset, notes, attempts=None))
    attempts = []
    last_error = None
    for fileset in dataset.filesets:
        if not fileset.origins:
            continue
        try:
            folder, paths = _download_fileset(fileset, timeout, verbose)
        except (DownloadError, PermissionError) as err:
            attempts.extend(getattr(err, "attempts", [("(cache)", str(err))]))
            last_error = err
            continue
        return Found(dataset, fileset, folder, paths, "Keras cache", verified=True)
    raise DatasetNotFoundError(not_found_message(dataset, notes, attempts)) from last_error


def _human_size(data_file):
    return f"{data_file.size:,} bytes, " if data_file.size else ""


def placement_lines(dataset):
    """Lines telling where each form of ``dataset`` can be placed by hand."""
    lines = []
    for index, fileset in enumerate(dataset.filesets):
        folder = cache_folder_for(fileset)
        lead = "Put" if index == 0 else "or put"
        if len(fileset.files) == 1:
            data_file = fileset.files[0]
            lines.append(
                f"{lead} {data_file.name} ({_human_size(data_file)}SHA-256 {data_file.sha256}) "
                f"in {folder}{os.sep}"
            )
        else:
            names = ", ".join(f.name for f in fileset.files)
            lines.append(f"{lead} the {len(fileset.files)} files {names} in {folder}{os.sep}")
    return lines


def tip_lines(dataset):
    """The tips of ``dataset`` as they apply now (callable tips evaluated, None left out)."""
    lines = []
    for tip in dataset.tips:
        text = tip() if callable(tip) else tip
        if text:
            lines.append(text)
    return lines


def not_found_message(dataset, notes, attempts):
    """The short text of :class:`DatasetNotFoundError`: what was tried, then the ways out."""
    lines = [f"{dataset.title} is not on this machine and could not be downloaded."]
    if attempts is None:
        lines.append(f"{OFFLINE_ENV} is set, so nothing was downloaded.")
    else:
        lines.append("Tried:")
        lines.extend(f"  - {url}: {reason}" for url, reason in attempts)
    lines.extend(f"  ({note})" for note in notes)
    lines.append("Ways out:")
    ways = placement_lines(dataset)
    ways.append(f"or pass a local file or folder: {dataset.name}.load_data(path='/path/to/folder')")
    ways.extend(tip_lines(dataset))
    lines.extend(f"  - {way}" for way in ways)
    lines.append("Check what tomei finds with: tomei datasets")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Reports for `tomei datasets`


def registered_datasets():
    """The specs of every dataset ``tomei datasets`` knows, with default arguments."""
    from tomei.keras.datasets import fashion_mnist, mnist

    return [mnist.spec(), fashion_mnist.spec()]


def dataset_status(datasets=None):
    """Where each dataset is, its size and whether it verifies; or where to put it.

    Args:
        datasets: list of :class:`Dataset` or None for every registered dataset.

    Returns:
        list of :class:`DatasetStatus`, one per dataset, in the order given.
    """
    report = []
    for dataset in datasets if datasets is not None else registered_datasets():
        found = find_local(dataset)
        if found is None:
            first = dataset.filesets[0]
            folder = cache_folder_for(first)
            if is_offline():  # `tomei datasets fetch` could not download either
                way = f"downloads are disabled by {OFFLINE_ENV}"
            else:
                way = f"or run: tomei datasets fetch {dataset.name}"
            hint = f"{placement_lines(dataset)[0]}; {way}"
            files = check_fileset(first, folder)
            report.append(
                DatasetStatus(dataset.name, dataset.title, False, folder, "", 0, False, files, hint)
            )
            continue
        files = check_fileset(found.fileset, found.folder)
        size = sum(s.size or 0 for s in files)
        location = found.paths[0] if len(found.paths) == 1 else found.folder
        report.append(
            DatasetStatus(
                dataset.name, dataset.title, True, location, found.source, size, True, files
            )
        )
    return report


def verify_all(datasets=None):
    """Re-hashes every existing dataset file in every searched folder.

    Returns:
        list of ``(dataset_title, source, FileStatus)`` for each file that exists, each path
        once, with status 'ok', 'corrupt' or 'unverified'.
    """
    forget_verifications()
    results = []
    seen = set()
    for dataset in datasets if datasets is not None else registered_datasets():
        for source, folder, fileset in search_plan(dataset):
            for status in check_fileset(fileset, folder):
                if status.status == "missing" or status.path in seen:
                    continue
                seen.add(status.path)
                results.append((dataset.title, source, status))
    return results
