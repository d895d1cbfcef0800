"""Fashion-MNIST, as ``keras.datasets.fashion_mnist``.

Source: H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms", arXiv:1708.07747 (2017),
github.com/zalandoresearch/fashion-mnist. MIT licence. 60,000 training and 10,000 test
grayscale 28x28 images of Zalando articles in 10 classes, stored in the IDX format of MNIST.

The four files are checked by the SHA-256 of their decompressed IDX bytes, so the upstream
files and the re-compressed copies of Debian's ``dataset-fashion-mnist`` package both verify.
Install that package (``apt-get install dataset-fashion-mnist``) to use Fashion-MNIST offline.
"""

import os

from tomei.keras.datasets import idx
from tomei.keras.datasets.discovery import obtain
from tomei.keras.datasets.spec import DataFile, Dataset, FileSet

__all__ = [
    "CLASS_NAMES",
    "load_data",
    "spec",
    "system_copy_installed",
    "ORIGINS",
    "SYSTEM_DIRS",
]

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# Base URLs, tried in order; tests point them at a local server. The first is the one Keras
# uses; the second is the dataset authors' own bucket. Both are checked by content hash.
ORIGINS = [
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
]
# Folders of OS packages holding the four files directly (Debian: dataset-fashion-mnist).
SYSTEM_DIRS = ["/usr/share/datasets/fashion-mnist"]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# SHA-256 and size of the decompressed IDX bytes (measured on the Debian package); ``size`` is
# that of the upstream gzip files (zalandoresearch/fashion-mnist).
FILES = (
    DataFile(
        TRAIN_LABELS,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        29_515,
        content_hash=True,
        content_size=60_008,
    ),
    DataFile(
        TRAIN_IMAGES,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        26_421_880,
        content_hash=True,
        content_size=47_040_016,
    ),
    DataFile(
        TEST_LABELS,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        5_148,
        content_hash=True,
        content_size=10_008,
    ),
    DataFile(
        TEST_IMAGES,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        4_422_102,
        content_hash=True,
        content_size=7_840_016,
    ),
)



def system_copy_installed():
    """True when a folder of :data:`SYSTEM_DIRS` exists (the Debian package is installed)."""
    return any(os.path.isdir(folder) for folder in SYSTEM_DIRS)


def _package_tip():
    """How to get the Debian package: install it, or reinstall it when its folder is there."""
    if system_copy_installed():  # the folder is there, yet no copy verified (notes say why)
        folders = ", ".join(folder for folder in SYSTEM_DIRS if os.path.isdir(folder))
        return ("fashion_reinstall", {"folders": folders})
    return ("fashion_install", {})


def spec():
    """The :class:`~tomei.keras.datasets.spec.Dataset` for Fashion-MNIST."""
    return Dataset(
        name="fashion_mnist",
        title="Fashion-MNIST",
        filesets=(FileSet("idx", "fashion-mnist", FILES, tuple(ORIGINS)),),
        system_dirs=tuple(SYSTEM_DIRS),
        tips=(_package_tip,),
    )


def load_data(path=None):
    """Loads Fashion-MNIST, from a local copy when there is one, else by a verified download.

    Files are searched in this order: ``path``; the folders in ``$TOMEI_DATASETS``
    (sub-folder ``fashion-mnist``); the Keras cache (``$KERAS_HOME/datasets/fashion-mnist`` or
    ``~/.keras/datasets/fashion-mnist``); ``/usr/share/datasets/fashion-mnist`` (Debian package
    ``dataset-fashion-mnist``); then the four files are downloaded into the Keras cache, each
    checked by the SHA-256 of its content before it is renamed into place. ``TOMEI_OFFLINE=1``
    forbids the download.

    Args:
        path: str, path-like or None (default). Keras's ``load_data`` takes no argument; this
            one is a tomei extension: a folder holding ``train-labels-idx1-ubyte.gz``,
            ``train-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz`` and
            ``t10k-images-idx3-ubyte.gz`` (gzip or decompressed), or holding a
            ``fashion-mnist`` folder with them. Files there that do not match the published
            hashes are loaded with a warning.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``:
        x_train uint8 ``(60000, 28, 28)``, pixel values 0-255;
        y_train uint8 ``(60000,)``, labels 0-9 (names in :data:`CLASS_NAMES`);
        x_test uint8 ``(10000, 28, 28)``; y_test uint8 ``(10000,)``.

    Raises:
        DatasetNotFoundError: (an ``OSError``) when no copy is found and the download fails or
            is disabled; the message says where to put the files and how to install the package.
        ValueError: naming the file, for a truncated or corrupt file, a wrong IDX magic
            number, or image and label counts that differ.
        TypeError: when ``path`` is not None, a str or path-like.
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be None or a folder (str or path-like); received path={path!r}."
        )
    found = obtain(spec(), path)
    return _read_split(found, TRAIN_IMAGES, TRAIN_LABELS), _read_split(found, TEST_IMAGES, TEST_LABELS)


def _read_split(found, images, labels):
    """One split, each file read no further than its published content size."""
    limits = (found.file(images).content_size, found.file(labels).content_size)
    return idx.read_split(found.path_of(images), found.path_of(labels), limits=limits)
