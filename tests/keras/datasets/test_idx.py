"""The IDX reader: gzip and plain files, truncation, wrong magic numbers, bounded reads."""


import numpy as np
import pytest

from tomei.keras.datasets.spec import DatasetNotFoundError
from tomei.keras.datasets import fashion_mnist, idx, mnist

from dataset_fixtures import (
    GZ,
    NAMES,
    RAW,
    X_TRAIN,
    cache,
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


def _idx_bomb(path, size_mb=1024):
    """A gzip IDX whose header says 60000x28x28 images, followed by ``size_mb`` MB of zeros."""
    import zlib
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        header = b"".join(n.to_bytes(4, "big") for n in (2051, 60000, 28, 28))
        out.write(compressor.compress(header))
        block = bytes(2**20)
        for _ in range(size_mb):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    return path


def test_gzip_idx_bombs_stop_at_the_published_size_with_bounded_memory(tmp_path, monkeypatch):
    from memory_probe import peak_memory  # tests/memory_probe.py
    # The fixture's small files are the published ones here: the limit is their size.
    limit = len(RAW[mnist.TRAIN_IMAGES])
    folder = write_files(tmp_path / "given", {n: GZ[n] for n in NAMES if n != mnist.TRAIN_IMAGES})
    _idx_bomb(folder / mnist.TRAIN_IMAGES)
    with peak_memory() as probe:  # given explicitly: loaded with a warning, but never past
        with pytest.warns(UserWarning, match="larger than the"):
            with pytest.raises(ValueError, match=f"larger than the {limit:,} bytes expected"):
                mnist.load_data(path=str(folder))
    assert probe["peak"] < 200 * 2**20, f"{probe['peak'] / 2**20:.0f} MB ({probe['how']})"
    # The same file in the Keras cache (Fashion-MNIST): skipped as corrupt, memory bounded.
    cached = write_files(cache(tmp_path, "fashion-mnist"),
                         {n: GZ[n] for n in NAMES if n != mnist.TRAIN_IMAGES})
    _idx_bomb(cached / mnist.TRAIN_IMAGES, 512)
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with peak_memory() as probe:
        with pytest.raises(DatasetNotFoundError, match="larger than the"):
            fashion_mnist.load_data()
    assert probe["peak"] < 200 * 2**20, f"{probe['peak'] / 2**20:.0f} MB ({probe['how']})"
