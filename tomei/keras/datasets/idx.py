"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed).

Format (Y. LeCun, C. Cortes, C. Burges, "The MNIST database", yann.lecun.com/exdb/mnist):
a 4-byte magic number whose first two bytes are 0, third byte the element type (0x08 uint8,
0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and fourth byte the number of
dimensions; then one big-endian uint32 per dimension; then the elements in C order, big-endian.
Labels files have the magic 2049 (0x00000801: uint8, 1 dimension), images files 2051
(0x00000803: uint8, 3 dimensions).
"""

import hashlib
import os

import numpy as np

from tomei.keras.utils.hashing import read_content

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "MAX_IDX_BYTES",
    "parse_idx",
    "read_idx",
    "read_idx_bytes",
    "read_split",
]

LABELS_MAGIC = 2049
IMAGES_MAGIC = 2051

_ELEMENT_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAGIC_NAMES = {LABELS_MAGIC: "labels (2049)", IMAGES_MAGIC: "images (2051)"}
# The most content bytes read from one IDX file when the caller knows no size: 1 GiB, twenty
# times MNIST's largest file. The dataset loaders pass each file's published size instead.
MAX_IDX_BYTES = 2**30


def read_idx_bytes(path, limit=MAX_IDX_BYTES):
    """The IDX bytes of ``path``: decompressed when the file is gzip, as stored otherwise.

    The format is recognised from the first two bytes, not from the ``.gz`` extension. The
    content is decompressed as a stream and never beyond ``limit`` bytes, so a small file that
    inflates to gigabytes is refused after ``limit + 1`` bytes.

    Args:
        path: str or path-like.
        limit: int, the most content bytes accepted (default :data:`MAX_IDX_BYTES`); the
            dataset loaders pass the published size of each file.

    Raises:
        ValueError: naming the file when its content is larger than ``limit`` or its gzip
            stream is truncated or corrupt.
        OSError: when the file cannot be read.
    """
    return read_content(path, limit)


def parse_idx(data, name, expected_magic=None):
    """Parses IDX bytes into a NumPy array of the stored type and shape.

    Args:
        data: bytes, a whole (decompressed) IDX file.
        name: str, the file name used in error messages.
        expected_magic: int or None, 2049 for labels or 2051 for images; None accepts any
            valid magic number.

    Returns:
        np.ndarray, writable, in native byte order, of the shape stored in the header
        (uint8 ``(n,)`` for labels, uint8 ``(n, rows, cols)`` for images).

    Raises:
        ValueError: naming the file, for a wrong magic number, a header cut short, or a data
            size different from the one the header announces.
    """
    if len(data) < 4:
        raise ValueError(
            f"{name}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number."
        )
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{name}: wrong IDX magic number: expected "
            f"{_MAGIC_NAMES.get(expected_magic, expected_magic)}, "
            f"found {magic} (0x{magic:08x}). Is this the right file, decompressed correctly?"
        )
    element_type, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or element_type not in _ELEMENT_TYPES or ndim == 0:
        raise ValueError(f"{name}: not an IDX file: magic number 0x{magic:08x} is not valid.")

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_size} bytes, "
            f"the file has {len(data)}."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _ELEMENT_TYPES[element_type]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found_bytes = len(data) - header_size
    if found_bytes < expected_bytes:
        raise ValueError(
            f"{name}: truncated IDX file: the header announces shape {shape} "
            f"({expected_bytes:,} bytes of data), but only {found_bytes:,} bytes follow."
        )
    if found_bytes > expected_bytes:
        raise ValueError(
            f"{name}: corrupt IDX file: {found_bytes - expected_bytes:,} unexpected bytes after "
            f"the data of shape {shape}."
        )
    array = np.frombuffer(
        data, dtype=dtype, count=expected_bytes // dtype.itemsize, offset=header_size
    )
    # copy() makes the array writable and independent of ``data``; astype fixes the byte order.
    return array.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def read_idx(path, expected_magic=None, expected_sha256=None, limit=MAX_IDX_BYTES):
    """Reads an IDX file (plain or gzip) into a NumPy array.

    Args:
        path: str or path-like.
        expected_magic: int or None, 2049 (labels) or 2051 (images).
        expected_sha256: str or None, the SHA-256 of the decompressed IDX bytes; when given a
            mismatch is an error.
        limit: int, the most content bytes read (see :func:`read_idx_bytes`).

    Returns:
        np.ndarray, see :func:`parse_idx`.

    Raises:
        ValueError: naming the file, for corrupt gzip data, content larger than ``limit``, a
            wrong magic number, a truncated file or a SHA-256 mismatch.
    """
    data = read_idx_bytes(path, limit)
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise ValueError(
                f"{path}: SHA-256 of the IDX content mismatch: expected {expected_sha256}, "
                f"got {actual}."
            )
    return parse_idx(data, os.fspath(path), expected_magic)


def read_split(images_path, labels_path, image_shape=(28, 28), limits=(MAX_IDX_BYTES,) * 2):
    """Reads one split (images and labels files) of an MNIST-style dataset.

    Args:
        images_path: str, an IDX images file (magic 2051), plain or gzip.
        labels_path: str, an IDX labels file (magic 2049), plain or gzip.
        image_shape: tuple, the expected (rows, cols) of each image.
        limits: ``(images_limit, labels_limit)``, the most content bytes read from each file
            (None: :data:`MAX_IDX_BYTES`).

    Returns:
        ``(images, labels)``: uint8 arrays of shapes ``(n,) + image_shape`` and ``(n,)``.

    Raises:
        ValueError: naming the file, for any format problem (see :func:`read_idx`), images
            that are not ``image_shape``, or image and label counts that differ.
    """
    images_limit, labels_limit = (MAX_IDX_BYTES if n is None else n for n in limits)
    images = read_idx(images_path, IMAGES_MAGIC, limit=images_limit)
    labels = read_idx(labels_path, LABELS_MAGIC, limit=labels_limit)
    if images.shape[1:] != tuple(image_shape):
        raise ValueError(
            f"{images_path}: expected images of shape {tuple(image_shape)}, "
            f"found {images.shape[1:]}."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels; the two files must come from the same split."
        )
    return images, labels
