"""fashion_mnist.load_data: content-hash verification, re-compressed copies, class names, and the
real Fashion-MNIST of Debian's dataset-fashion-mnist when installed (CI installs it)."""

import gzip
import hashlib
import os

import numpy as np
import pytest

from tomei.keras.datasets import discovery, fashion_mnist, mnist
from tomei.keras.datasets.spec import DatasetNotFoundError

from dataset_fixtures import (
    idx_bytes,
    DEBIAN_DIR,
    GZ,
    NAMES,
    RAW,
    X_TRAIN,
    assert_fixture_arrays,
    cache,
    sha256,
    write_files,
)


# ------------------------------------------------------------------------------------------------
# Fashion-MNIST and the search order


def test_fashion_downloads_verified_by_content_hash(server, tmp_path, monkeypatch):
    for name in NAMES:
        server.files["/fm/" + name] = GZ[name]
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [server.url + "/fm/"])
    assert_fixture_arrays(fashion_mnist.load_data())
    assert sorted(os.listdir(cache(tmp_path, "fashion-mnist"))) == sorted(NAMES)
    assert_fixture_arrays(fashion_mnist.load_data())
    assert len(server.requests) == 4


def test_fashion_wrong_content_is_refused_and_not_cached(server, tmp_path, monkeypatch):
    for name in NAMES:
        server.files["/fm/" + name] = GZ[name]
    server.files["/fm/" + mnist.TRAIN_IMAGES] = gzip.compress(idx_bytes(X_TRAIN[::-1].copy(), 2051))
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [server.url + "/fm/"])
    with pytest.raises(
        DatasetNotFoundError,
        match=f"{mnist.TRAIN_IMAGES}: SHA-256 mismatch: expected {sha256(RAW[mnist.TRAIN_IMAGES])}",
    ):
        fashion_mnist.load_data()
    assert mnist.TRAIN_IMAGES not in os.listdir(cache(tmp_path, "fashion-mnist"))


def test_recompressed_copies_verify(tmp_path, server):
    # Debian re-compressed the upstream files: other gzip bytes, same IDX content.
    recompressed = {
        name: gzip.compress(data, compresslevel=1, mtime=12345) for name, data in RAW.items()
    }
    assert recompressed[mnist.TRAIN_IMAGES] != GZ[mnist.TRAIN_IMAGES]
    write_files(cache(tmp_path, "fashion-mnist"), recompressed)
    assert_fixture_arrays(fashion_mnist.load_data())
    assert server.requests == []




def test_class_names():
    assert fashion_mnist.CLASS_NAMES[0] == "T-shirt/top"
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
    assert len(fashion_mnist.CLASS_NAMES) == 10


# ------------------------------------------------------------------------------------------------
# The real Fashion-MNIST from Debian's dataset-fashion-mnist (CI installs it)

# docs/keras_facts.md ('Datasets'), measured on the package (written out here, not read from the module).
PUBLISHED_CONTENT_SHA256 = {
    mnist.TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    mnist.TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    mnist.TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    mnist.TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(DEBIAN_DIR, "train-images-idx3-ubyte.gz")),
    reason="Debian package dataset-fashion-mnist is not installed",
)
def test_real_debian_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real module constants, system folder included
    monkeypatch.setenv("TOMEI_OFFLINE", "1")  # must come from the package, never the network
    monkeypatch.delenv("TOMEI_DATASETS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    for name, digest in PUBLISHED_CONTENT_SHA256.items():
        with gzip.open(os.path.join(DEBIAN_DIR, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest
    found = discovery.find_local(fashion_mnist.spec())
    assert (found.source, found.folder, found.verified) == ("system", DEBIAN_DIR, True)

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert (y_train.min(), y_train.max(), y_test.min(), y_test.max()) == (0, 9, 0, 9)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0
