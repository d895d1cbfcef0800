"""Shared data and fixtures of the dataset tests: 6 training and 4 test images in IDX, gzip
and npz form, a loopback file server, and an autouse-style isolation fixture.

The loaders' origin lists are pointed at an HTTP server on 127.0.0.1 (or at a closed loopback
port), the published hashes are replaced by those of the fixture files, and KERAS_HOME, the
temp folder and the system folders are moved into tmp_path, so nothing leaves the machine.
Test modules import the data they use (``from dataset_fixtures import GZ, ...``); the fixtures
``server`` and ``isolated`` (autouse) are in ``conftest.py``, which puts this folder on sys.path.
"""

import gzip
import hashlib
import io

import numpy as np
from tomei.keras.datasets import mnist
from tomei.keras.datasets.spec import DataFile

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
NAMES = (mnist.TRAIN_LABELS, mnist.TRAIN_IMAGES, mnist.TEST_LABELS, mnist.TEST_IMAGES)

# ------------------------------------------------------------------------------------------------
# Fixture data: 6 training and 4 test images, in IDX, gzip and npz form

rng = np.random.default_rng(0)
X_TRAIN = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
Y_TRAIN = np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8)
X_TEST = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
Y_TEST = np.array([7, 2, 1, 0], dtype=np.uint8)


def idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


RAW = {
    mnist.TRAIN_LABELS: idx_bytes(Y_TRAIN, 2049),
    mnist.TRAIN_IMAGES: idx_bytes(X_TRAIN, 2051),
    mnist.TEST_LABELS: idx_bytes(Y_TEST, 2049),
    mnist.TEST_IMAGES: idx_bytes(X_TEST, 2051),
}
GZ = {name: gzip.compress(data, mtime=0) for name, data in RAW.items()}


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


NPZ = npz_bytes(x_train=X_TRAIN, y_train=Y_TRAIN, x_test=X_TEST, y_test=Y_TEST)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


FIXTURE_FILES = tuple(
    DataFile(n, sha256(RAW[n]), len(GZ[n]), content_hash=True, content_size=len(RAW[n]))
    for n in NAMES
)


def assert_fixture_arrays(result):
    (x_train, y_train), (x_test, y_test) = result
    for got, expected in (
        (x_train, X_TRAIN),
        (y_train, Y_TRAIN),
        (x_test, X_TEST),
        (y_test, Y_TEST),
    ):
        assert got.dtype == np.uint8
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def write_files(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def cache(tmp_path, sub=""):
    folder = tmp_path / "keras" / "datasets"
    return folder / sub if sub else folder


