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

Writing goes through :func:`tomei.keras.utils.atomic_write.atomic_path` (one mechanism for
the whole package): a process killed mid-save leaves the previous file intact, and its
temporary file is removed by the next write into that folder.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import zipfile
import zlib

from tomei.keras.utils.text import printable

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# Limits. Tests and unusual deployments may change them at run time; docs/saving.md lists them.
MAX_JSON_BYTES = 32 * 2**20  # config.json / metadata.json / JSON attributes
MAX_JSON_CONTAINERS = 500_000  # '{' + '[' in one JSON text (a 1000-layer model has ~15,000)
MAX_JSON_DEPTH = 128  # nesting of objects and lists (a model nests ~4 levels per submodel)
MAX_WEIGHTS_BYTES = 16 * 2**30  # model.weights.h5 inside a .keras archive
MAX_MEMBERS = 10_000
IN_MEMORY_BYTES = 512 * 2**20  # weights up to this size are read into memory, else a temp file
MAX_EXPANSION = 1000  # uncompressed/compressed ratio above which a large member is refused
_RATIO_FLOOR = 64 * 2**20  # the ratio test applies to members larger than this


class ModelFileError(ValueError):
    """A model or weights file that cannot be used: damaged, truncated, incomplete, unsafe,
    or holding weights that do not fit the model. The message names the file and the part.

    Messages quote names from the file; their control characters (terminal escape
    sequences, carriage returns, bidi overrides) are shown as escapes
    (``tomei.keras.utils.text.printable``), so printing the error cannot drive a terminal.
    """

    def __init__(self, message=""):
        super().__init__(printable(message, limit=None, keep_newlines=True))


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


# What reading a zip member can raise on a crafted archive: damage, a wrong CRC, encryption
# (RuntimeError), an unsupported compression method (NotImplementedError).
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                    NotImplementedError, ValueError)


def open_archive(path) -> zipfile.ZipFile:
    """Opens a ``.keras`` zip after checking its member names, count and declared sizes.

    Raises:
        ModelFileError: not a zip, truncated, too many members, an unsafe member name, or a
            member whose declared size is over the limits.
    """
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ModelFileError(f"{path} is not a complete .keras (zip) archive: the file is "
                             f"truncated or damaged ({err}).") from None
    try:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"{path} has {len(infos)} zip members; a .keras file has 3 "
                                 f"(refusing more than {MAX_MEMBERS}).")
        seen = set()
        for info in infos:
            if info.filename in seen:  # readers could disagree on which copy is "the" one
                raise ModelFileError(f"Refusing {path}: the zip holds {info.filename!r} twice.")
            seen.add(info.filename)
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


def parse_json_text(raw, where, what, limit=None):
    """The JSON object in ``raw`` (str, bytes or an HDF5 string attribute) from an untrusted
    file, refused before parsing when it is over ``limit`` bytes (default
    :data:`MAX_JSON_BYTES`) or has more than :data:`MAX_JSON_CONTAINERS` objects and lists,
    and after parsing when it nests deeper than :data:`MAX_JSON_DEPTH`.

    Raises:
        ModelFileError: any of the above, text that is not UTF-8 JSON, or JSON that is not an
            object. Never RecursionError or MemoryError.
    """
    import numpy as np
    limit = MAX_JSON_BYTES if limit is None else limit
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw[()]
    if isinstance(raw, (np.bytes_, np.str_)):
        raw = raw.item()
    if not isinstance(raw, (str, bytes)):
        raise ModelFileError(f"{where}: {what} should be JSON text; found "
                             f"{type(raw).__name__}.")
    if len(raw) > limit:
        raise ModelFileError(f"Refusing {where}: {what} is {len(raw):,} bytes, over the limit of "
                             f"{limit:,} (tomei.keras.saving.safety.MAX_JSON_BYTES).")
    opening = (b"{", b"[") if isinstance(raw, bytes) else ("{", "[")
    containers = raw.count(opening[0]) + raw.count(opening[1])
    if containers > MAX_JSON_CONTAINERS:
        raise ModelFileError(f"Refusing {where}: {what} has {containers:,} JSON objects/lists, "
                             f"over the limit of {MAX_JSON_CONTAINERS:,} "
                             f"(tomei.keras.saving.safety.MAX_JSON_CONTAINERS).")
    try:
        text = raw.decode("utf8") if isinstance(raw, bytes) else raw
        value = json.loads(text)
    except RecursionError:
        value = None
        depth = MAX_JSON_DEPTH + 1
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{where}: {what} is not valid JSON ({err}).") from None
    else:
        depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ModelFileError(f"Refusing {where}: {what} nests objects/lists more than "
                             f"{MAX_JSON_DEPTH} deep (tomei.keras.saving.safety.MAX_JSON_DEPTH); "
                             f"no real model needs that.")
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {what} should hold a JSON object; found "
                             f"{type(value).__name__}.")
    return value


def json_depth(value) -> int:
    """How deep dicts and lists nest in ``value`` (0 for a number or string), without
    recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def member_info(archive: zipfile.ZipFile, name: str, path) -> zipfile.ZipInfo:
    """The ZipInfo of ``name`` in ``archive``; ModelFileError naming ``path`` and the members found if it is missing."""
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
    except ModelFileError:
        raise
    except _ZIP_READ_ERRORS as err:
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
        except ModelFileError:
            raise
        except _ZIP_READ_ERRORS as err:
            raise ModelFileError(f"{path} is truncated or damaged: reading {name} failed "
                                 f"({err}).") from None
        tmp.seek(0)
        yield tmp


# --- HDF5: one accessor for every object read from an untrusted file ------------------------
#
# HDF5 follows soft links (to any path in the file), external links (to other files, any
# path on the machine) and reads dataset bytes from external raw files or other files'
# datasets (virtual datasets) without being asked. tomei's readers never index an untrusted
# h5py Group directly: they call h5_has / h5_names / h5_get, which look at links without
# following them and open only hard links, inside the file, at most MAX_H5_DEPTH deep.

MAX_H5_DEPTH = 64  # groups below the root; Keras's deepest files use ~10 (nested models)


def h5_open(source, where):
    """Opens ``source`` (a path or a binary file object) read-only as HDF5.

    Raises:
        ModelFileError: not an HDF5 file, or truncated or damaged.
    """
    import h5py
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise ModelFileError(f"{where} is not a readable HDF5 file: it is truncated or damaged "
                             f"({err}).") from None


def _link_type(group, name):
    """The HDF5 link type of ``group``'s member ``name`` (never following it), or None."""
    try:
        return group.id.links.get_info(name.encode("utf8")).type
    except (KeyError, ValueError, RuntimeError):
        return None


def h5_has(group, name: str) -> bool:
    """True when ``group`` has a link called ``name`` (of any kind; nothing is followed).
    Names with '/' are not links of this group: False."""
    return "/" not in name and name not in ("", ".", "..") and \
        _link_type(group, name) is not None


def h5_names(group) -> list:
    """The link names in ``group``, in HDF5's (alphabetical) order; nothing is followed.

    Raises:
        ModelFileError: ``group`` is a dataset where the layout needs a group.
    """
    import h5py
    if not isinstance(group, h5py.Group):
        raise ModelFileError(f"{group.file.filename}: {group.name} is a dataset where a group "
                             f"is expected; the file does not have the weights layout.")
    try:
        return list(group)
    except (OSError, RuntimeError) as err:
        raise ModelFileError(f"{group.file.filename}:{group.name} cannot be listed: the file "
                             f"is damaged ({err}).") from None


def h5_get(group, path: str, where: str):
    """``group[path]`` for an untrusted file, checked at every step.

    ``path`` may have several parts ("dense_1/kernel:0"); each must be a hard link (soft,
    external and user-defined links are refused, so nothing outside the file and no alias
    inside it is reached), the result at most :data:`MAX_H5_DEPTH` groups deep (a hard-link
    cycle makes paths grow without end), and a dataset must keep its bytes in the file (no
    external raw storage, no virtual dataset).

    Args:
        where: the file and group, for messages.

    Raises:
        ModelFileError: a missing member, a refused link or dataset, or too deep a path.
    """
    import h5py
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        raise ModelFileError(f"Refusing {where}: the member name {path!r} is empty, absolute "
                             f"or has '.'/'..' parts.")
    node = group
    for part in parts:
        kind = _link_type(node, part)
        if kind is None:
            raise ModelFileError(f"{where}: {node.name.rstrip('/')}/{part} is missing.")
        if kind != h5py.h5l.TYPE_HARD:
            label = {h5py.h5l.TYPE_SOFT: "a soft link (SoftLink, an alias)",
                     h5py.h5l.TYPE_EXTERNAL: "an external link (ExternalLink, to another "
                     "file)"}.get(kind, f"a user-defined link (type {kind})")
            raise ModelFileError(f"Refusing {where}: {node.name.rstrip('/')}/{part} is {label}; "
                                 f"tomei reads only objects stored inside the file itself.")
        try:
            node = node[part]
        except (KeyError, OSError, RuntimeError, ValueError) as err:
            raise ModelFileError(f"{where}: {node.name.rstrip('/')}/{part} cannot be opened: the "
                                 f"file is damaged ({err}).") from None
        if node.name.count("/") > MAX_H5_DEPTH:
            raise ModelFileError(f"Refusing {where}: groups nest more than {MAX_H5_DEPTH} deep "
                                 f"at {node.name[:200]}... (a hard-link cycle?).")
    if isinstance(node, h5py.Dataset):
        if node.external or node.is_virtual:
            how = "external raw storage" if node.external else "a virtual dataset"
            raise ModelFileError(f"Refusing {where}: the dataset {node.name} keeps its data "
                                 f"outside the file ({how}).")
    elif not isinstance(node, h5py.Group):  # pragma: no cover - committed datatypes
        raise ModelFileError(f"Refusing {where}: {node.name} is neither a group nor a dataset.")
    return node


def h5_walk_datasets(group, where):
    """Yields every dataset below ``group`` (through :func:`h5_get`), each object once: a
    hard-link cycle or a diamond costs nothing, and depth stays bounded."""
    import h5py
    seen = set()
    stack = [group]
    while stack:
        node = stack.pop()
        key = hash(node.id)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(node, h5py.Dataset):
            yield node
            continue
        for name in h5_names(node):
            stack.append(h5_get(node, name, where))


MAX_H5_EXPANSION = 100  # values counted per stored byte of a compressed (filtered) dataset
_BUDGET_SLACK = 2**16  # values a model may create beyond the file (seed and counter state)


def h5_stored_values(h5, where) -> int:
    """How many weight values ``h5`` really stores: for each dataset (reached through
    :func:`h5_get`, so every link is checked too) its element count, but no more than its
    bytes on disk allow (times :data:`MAX_H5_EXPANSION` when compressed). A file declaring a
    10**10-element dataset it never wrote counts for nothing. Loading builds the model under
    this budget (see ``tomei.keras.layers.layer.weight_budget``)."""
    total = _BUDGET_SLACK
    for ds in h5_walk_datasets(h5, where):
        itemsize = max(ds.dtype.itemsize, 1)
        try:
            stored = ds.id.get_storage_size()
            filtered = ds.id.get_create_plist().get_nfilters() > 0
        except (OSError, RuntimeError, ValueError):
            continue
        allowed = stored * (MAX_H5_EXPANSION if filtered else 1) // itemsize
        total += min(int(ds.size or 0), allowed)
    return total
