"""MNIST handwritten digits, as ``keras.datasets.mnist``.

Source: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten digits".
60,000 training and 10,000 test grayscale images of 28x28 pixels, labels 0-9. Licence:
Creative Commons Attribution-Share Alike 3.0 (as stated by Keras and TensorFlow Datasets).

The file Keras uses is ``mnist.npz`` (11,490,434 bytes, SHA-256 ``731c5ac6...``) from the
``tf-keras-datasets`` bucket. When it cannot be had, the four IDX files from the CVDF mirror
(checked by their published SHA-256) give the same arrays.
"""

import os
import zipfile

import numpy as np

from tomei.keras.datasets import _idx
from tomei.keras.datasets._discovery import DataFile, Dataset, FileSet, obtain

__all__ = ["load_data", "spec", "NPZ_ORIGINS", "IDX_ORIGINS"]

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

# SHA-256 and sizes of the gzip files as published (TensorFlow Datasets url_checksums/mnist.txt).
IDX_FILES = (
    DataFile(
        TRAIN_LABELS, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881
    ),
    DataFile(
        TRAIN_IMAGES, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422
    ),
    DataFile(
        TEST_LABELS, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542
    ),
    DataFile(
        TEST_IMAGES, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877
    ),
)

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _fashion_mnist_tip():
    """Fashion-MNIST as a way out: already installed here, or the package that installs it."""
    from tomei.keras.datasets import fashion_mnist

    if fashion_mnist.system_copy_installed():
        return (
            "Fashion-MNIST (same shapes, 10 classes of clothing) is installed here and works "
            "offline: fashion_mnist.load_data(), or --dataset fashion_mnist with tomei commands"
        )
    return (
        "Fashion-MNIST (same shapes, 10 classes of clothing) works offline: "
        "apt-get install dataset-fashion-mnist, then fashion_mnist.load_data()"
    )


_TIPS = (_fashion_mnist_tip,)


def spec(npz_name=NPZ_NAME):
    """The :class:`~tomei.keras.datasets._discovery.Dataset` for MNIST.

    Args:
        npz_name: str, the name of the npz file in the cache (``load_data``'s ``path``).
    """
    npz = DataFile(npz_name, NPZ_SHA256, NPZ_SIZE, remote_name=NPZ_NAME)
    return Dataset(
        name="mnist",
        title="MNIST",
        filesets=(
            FileSet("npz", "", (npz,), tuple(NPZ_ORIGINS)),
            FileSet("idx", "mnist", IDX_FILES, tuple(IDX_ORIGINS)),
        ),
        tips=_TIPS,
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
    ``mnist.npz``, or the four IDX ``.gz`` files in ``datasets/mnist/``); then ``mnist.npz`` is
    downloaded (or, failing that, the IDX files from the CVDF mirror), checked against its
    SHA-256 and renamed into the cache only when it matches. ``TOMEI_OFFLINE=1`` forbids the
    download. Nothing is ever unpickled (``allow_pickle=False``).

    Args:
        path: str or path-like, default ``'mnist.npz'``. A bare file name is, as in Keras, the
            name of the npz file in the cache. A path with a folder part (``'./mnist.npz'``,
            ``'/data/mnist'``), a path-like object or an existing folder is used directly: an
            ``.npz`` file, or a folder holding ``mnist.npz`` or the four IDX files
            (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
            ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, gzip or not).
            Such an explicit file that does not match the published hash is loaded with a warning.

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
    train = _idx.read_split(found.path_of(TRAIN_IMAGES), found.path_of(TRAIN_LABELS))
    test = _idx.read_split(found.path_of(TEST_IMAGES), found.path_of(TEST_LABELS))
    _check_labels(train[1], found.path_of(TRAIN_LABELS))
    _check_labels(test[1], found.path_of(TEST_LABELS))
    return train, test


def _load_npz(path):
    """Reads the four arrays of an MNIST npz with ``allow_pickle=False`` and checks them."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(16)
        raise ValueError(
            f"{path}: not a readable .npz file (no zip directory: a truncated download, or "
            f"another kind of file; it starts with {head!r})."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in _NPZ_KEYS if key not in npz.files]
            if missing:
                raise ValueError(
                    f"{path}: not an MNIST npz: missing arrays {missing}; "
                    f"expected {list(_NPZ_KEYS)}, found {sorted(npz.files)}."
                )
            arrays = {key: npz[key] for key in _NPZ_KEYS}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(
                f"{path}: holds pickled Python objects, which tomei never loads (loading a "
                "pickle can run arbitrary code). Use the official mnist.npz "
                f"(SHA-256 {NPZ_SHA256})."
            ) from None
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(
            f"{path}: damaged .npz file ({err}). Delete it and download it again."
        ) from None
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
