"""Reader for NumPy ``.npz`` dataset files (Keras's ``mnist.npz``), bounded and pickle-free.

Format (NumPy, ``numpy.lib.format``): a zip archive with one ``<name>.npy`` member per array;
each member is a magic string, a header giving the dtype, the shape and the memory order, then
the array's bytes. Before anything is decompressed or allocated, each member's uncompressed
size (from the zip directory; Python's ``zipfile`` never returns more than that) is compared
with the largest array expected, and its header's shape with the bytes the member holds, so a
small file that inflates to gigabytes is refused at once. Arrays are read with
``allow_pickle=False``: an object array (a pickle, which can run code) is refused.
"""

import zipfile

import numpy as np

__all__ = ["NPY_HEADER_ROOM", "read_arrays"]

# Room for the .npy header of each array (the format pads it to a multiple of 64 bytes).
NPY_HEADER_ROOM = 4096


def _header(archive, info):
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(member)
        return np.lib.format.read_array_header_2_0(member)


def _check_sizes(path, archive, expected, title):
    for key, (shape, dtype) in expected.items():
        try:
            info = archive.getinfo(key + ".npy")
        except KeyError:
            continue  # reported with the other missing arrays
        limit = int(np.prod(shape)) * np.dtype(dtype).itemsize + NPY_HEADER_ROOM
        if info.file_size > limit:
            raise ValueError(
                f"{path}: {key}.npy unpacks to {info.file_size:,} bytes, more than the "
                f"{limit:,} of {title} {key}; refused without decompressing it."
            )
        array_shape, _, array_dtype = _header(archive, info)
        if array_dtype.hasobject:
            continue  # refused by np.load below, with the pickle message
        nbytes = int(np.prod(array_shape, dtype=np.int64)) * array_dtype.itemsize
        if nbytes > info.file_size:
            raise ValueError(
                f"{path}: {key}.npy announces shape {array_shape} ({nbytes:,} bytes) but "
                f"holds {info.file_size:,} bytes; refused before allocating it."
            )


def read_arrays(path, expected, title, official):
    """Reads the arrays ``expected`` names from the npz file ``path``.

    Args:
        path: str, the ``.npz`` file.
        expected: dict ``name -> (largest shape, dtype)``, e.g.
            ``{"x_train": ((60000, 28, 28), np.uint8)}``; no member may unpack to more bytes
            than that shape and dtype need (plus :data:`NPY_HEADER_ROOM`).
        title: str, the dataset's name for messages, with its article (``'an MNIST'``).
        official: str, what to use instead, for messages (``'mnist.npz (SHA-256 731c...)'``).

    Returns:
        dict ``name -> np.ndarray`` in the order of ``expected``.

    Raises:
        ValueError: naming the file, when it is not a zip, is damaged, holds pickled objects,
            lacks an array, or holds an array larger than expected.
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(16)
        raise ValueError(
            f"{path}: not a readable .npz file (no zip directory: a truncated download, or "
            f"another kind of file; it starts with {head!r})."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            _check_sizes(path, archive, expected, title)
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in expected if key not in npz.files]
            if missing:
                raise ValueError(
                    f"{path}: not {title} npz: missing arrays {missing}; "
                    f"expected {list(expected)}, found {sorted(npz.files)}."
                )
            return {key: npz[key] for key in expected}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(
                f"{path}: holds pickled Python objects, which tomei never loads (loading a "
                f"pickle can run arbitrary code). Use the official {official}."
            ) from None
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(
            f"{path}: damaged .npz file ({err}). Delete it and download it again."
        ) from None
