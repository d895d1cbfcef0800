"""The IDX reader: gzip and plain files, truncation, wrong magic numbers, bounded reads."""


import numpy as np
import pytest

from tomei.keras.datasets import idx, mnist

from dataset_fixtures import (  # noqa: F401
    DEBIAN_DIR,
    FIXTURE_FILES,
    GZ,
    NAMES,
    NPZ,
    RAW,
    X_TRAIN,
    Y_TRAIN,
    X_TEST,
    Y_TEST,
    assert_fixture_arrays,
    cache,
    npz_bytes,
    sha256,
    write_files,
)


# ------------------------------------------------------------------------------------------------
# IDX reader


def test_idx_reader_accepts_gzip_and_plain_bytes(tmp_path):
    write_files(tmp_path, {"a.gz": GZ[mnist.TRAIN_IMAGES], "a": RAW[mnist.TRAIN_IMAGES]})
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a.gz", 2051), X_TRAIN)
    plain = idx.read_idx(tmp_path / "a", 2051)
    np.testing.assert_array_equal(plain, X_TRAIN)
    assert plain.flags.writeable


def test_truncated_idx_file_is_refused_with_its_name(tmp_path):
    write_files(tmp_path, {"images": RAW[mnist.TRAIN_IMAGES][:-100]})
    with pytest.raises(
        ValueError,
        match=r"images: truncated IDX file: the header announces shape \(6, 28, 28\) "
        r"\(4,704 bytes of data\), but only 4,604 bytes follow",
    ):
        idx.read_idx(tmp_path / "images", 2051)


def test_truncated_gzip_is_refused_with_its_name(tmp_path):
    write_files(tmp_path, {"images.gz": GZ[mnist.TRAIN_IMAGES][:200]})
    with pytest.raises(ValueError, match=r"images.gz: the gzip data is truncated or corrupt"):
        idx.read_idx(tmp_path / "images.gz", 2051)


def test_wrong_idx_magic_is_refused(tmp_path):
    write_files(tmp_path, {"labels-not-images": RAW[mnist.TRAIN_LABELS]})
    with pytest.raises(
        ValueError,
        match=r"labels-not-images: wrong IDX magic number: expected images \(2051\), found 2049",
    ):
        idx.read_idx(tmp_path / "labels-not-images", 2051)
    with pytest.raises(ValueError, match="not an IDX file"):
        idx.parse_idx(b"<html>403</html>", "page.html")


def test_truncated_idx_in_a_folder_fails_load_data_with_its_name(tmp_path):
    files = dict(RAW)
    files[mnist.TRAIN_IMAGES] = RAW[mnist.TRAIN_IMAGES][:1000]
    folder = write_files(tmp_path / "mine", {name[:-3]: data for name, data in files.items()})
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: truncated IDX file"):
        mnist.load_data(path=str(folder))
