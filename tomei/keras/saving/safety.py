"""Reading model files without trusting them, and writing them so a crash cannot break them.

Reading (``.keras`` zips and HDF5 weight files):

- nothing is ever executed or unpickled: configs are JSON, arrays come from HDF5 datasets;
- zip member names that are absolute or climb out with ``..`` are refused, even though tomei
  never extracts by name;
- each member's declared uncompressed size is checked against a limit before reading, and
  reading stops at that size (a "zip bomb" cannot expand past it);
- HDF5 links and datasets must live inside the file (no external links, external raw storage
  or virtual datasets pointing at other files);
- truncated or damaged files give a :class:`ModelFileError` saying which file and member.

Writing: :func:`atomic_path` hands out a temporary name in the destination folder; the file
replaces the destination (``os.replace``, atomic on POSIX and Windows) only once it is
complete and flushed to disk. A process killed mid-save leaves the previous file intact.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import zipfile
import zlib

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# Limits (bytes). Tests and unusual deployments may change them at run time.
MAX_JSON_BYTES = 64 * 2**20  # config.json / metadata.json
MAX_WEIGHTS_BYTES = 16 * 2**30  # model.weights.h5 inside a .keras archive
MAX_MEMBERS = 10_000
IN_MEMORY_BYTES = 512 * 2**20  # weights up to this size are read into memory, else a temp file
MAX_EXPANSION = 1000  # uncompressed/compressed ratio above which a large member is refused
_RATIO_FLOOR = 64 * 2**20  # the ratio test applies to members larger than this


class ModelFileError(ValueError):
    """A model or weights file that cannot be used: damaged, truncated, incomplete, unsafe,
    or holding weights that do not fit the model. The message names the file and the part."""


def file_kind(path) -> str:
    """'zip', 'hdf5', 'empty' or 'other', from the first bytes of ``path``."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head == HDF5_MAGIC:
        return "hdf5"
    return "other"


def unsafe_member_name(name: str) -> bool:
    """True for a zip member name that is absolute, has a drive letter, or contains '..'."""
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    return (normalized.startswith("/") or ".." in parts or "\x00" in name
            or (len(name) > 1 and name[1] == ":"))


def open_archive(path) -> zipfile.ZipFile:
    """Opens a ``.keras`` zip after checking its member names, count and declared sizes.

    Raises:
        ModelFileError: not a zip, truncated, too many members, an unsafe member name, or a
            member whose declared size is over the limits.
    """
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ModelFileError(f"{path} is not a complete .keras (zip) archive: the file is "
                             f"truncated or damaged ({err}).") from None
    try:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"{path} has {len(infos)} zip members; a .keras file has 3 "
                                 f"(refusing more than {MAX_MEMBERS}).")
        for info in infos:
            if unsafe_member_name(info.filename):
                raise ModelFileError(
                    f"Refusing {path}: zip member {info.filename!r} has an absolute path or "
                    f"'..'; a .keras archive never contains such names.")
            if info.file_size > MAX_WEIGHTS_BYTES:
                raise ModelFileError(
                    f"Refusing {path}: member {info.filename!r} declares "
                    f"{info.file_size:,} bytes uncompressed, over the limit of "
                    f"{MAX_WEIGHTS_BYTES:,} (tomei.keras.saving.safety.MAX_WEIGHTS_BYTES).")
            if info.file_size > _RATIO_FLOOR and \
                    info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
                raise ModelFileError(
                    f"Refusing {path}: member {info.filename!r} would expand from "
                    f"{info.compress_size:,} to {info.file_size:,} bytes (a zip bomb?).")
    except BaseException:
        archive.close()
        raise
    return archive


def member_info(archive: zipfile.ZipFile, name: str, path) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(name)
    except KeyError:
        present = ", ".join(archive.namelist()) or "nothing"
        raise ModelFileError(f"{path} has no {name}; a .keras file holds metadata.json, "
                             f"config.json and model.weights.h5 (found: {present}).") from None


def read_member(archive: zipfile.ZipFile, name: str, path, limit: int | None = None) -> bytes:
    """The bytes of member ``name``, refusing it if it declares more than ``limit`` bytes
    (default ``MAX_JSON_BYTES``)."""
    limit = MAX_JSON_BYTES if limit is None else limit
    info = member_info(archive, name, path)
    if info.file_size > limit:
        raise ModelFileError(f"Refusing {path}: {name} declares {info.file_size:,} bytes, over "
                             f"the limit of {limit:,}.")
    chunks, total = [], 0
    try:
        with archive.open(info) as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                if total > info.file_size:  # never trust data beyond the declared size
                    raise ModelFileError(f"{path}: {name} is larger than its declared size.")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ModelFileError(f"{path} is truncated or damaged: reading {name} failed "
                             f"({err}).") from None
    return b"".join(chunks)


@contextlib.contextmanager
def member_as_file(archive: zipfile.ZipFile, name: str, path):
    """Yields ``name`` as a readable file object: in memory when small, else a temp file."""
    info = member_info(archive, name, path)
    if info.file_size <= IN_MEMORY_BYTES:
        import io
        yield io.BytesIO(read_member(archive, name, path, limit=IN_MEMORY_BYTES))
        return
    folder = tempfile.gettempdir()
    free = shutil.disk_usage(folder).free
    if info.file_size > free:
        raise ModelFileError(f"Cannot read {path}: {name} needs {info.file_size:,} bytes of "
                             f"temporary disk space in {folder}; {free:,} are free.")
    with tempfile.TemporaryFile(prefix="tomei-weights-") as tmp:
        total = 0
        try:
            with archive.open(info) as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    total += len(chunk)
                    if total > info.file_size:
                        raise ModelFileError(f"{path}: {name} is larger than its declared size.")
                    tmp.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise ModelFileError(f"{path} is truncated or damaged: reading {name} failed "
                                 f"({err}).") from None
        tmp.seek(0)
        yield tmp


def check_h5_link(group, name, where):
    """Raises ModelFileError unless ``group[name]`` is a hard link inside the same file."""
    import h5py
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ModelFileError(f"Refusing {where}/{name}: it is a {type(link).__name__} to "
                             f"another file or path; weight files must be self-contained.")


def check_h5_dataset(dataset, where):
    """Refuses datasets whose data lives outside the file (external storage, virtual)."""
    if dataset.external or getattr(dataset, "is_virtual", False):
        raise ModelFileError(f"Refusing {where}: its data is stored outside the file.")


@contextlib.contextmanager
def atomic_path(filepath):
    """Yields a temporary path next to ``filepath``; on success the file there replaces
    ``filepath`` in one step (after an fsync), on failure it is removed.

    Readers, and a process killed mid-write, only ever see the old file or the new one.
    """
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    tmp = os.path.join(folder, f".{os.path.basename(filepath)}.tmp-{os.getpid()}-"
                               f"{secrets.token_hex(4)}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, filepath)
        _fsync_folder(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_folder(folder):
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
