"""mnist / fashion_mnist loaders: discovery order, verified downloads from a local server, IDX
and npz checks, and the real Fashion-MNIST of Debian's dataset-fashion-mnist when installed.

The loaders' origin lists are pointed at an HTTP server on 127.0.0.1 (or at a closed loopback
port), the published hashes are replaced by those of small fixture files, and KERAS_HOME, the
temp folder and the system folders are moved into tmp_path, so nothing leaves the machine.
"""

import gzip
import hashlib
import io
import os
import warnings

import numpy as np
import pytest

from tomei.keras.datasets import discovery, fashion_mnist, idx, mnist
from tomei.keras.datasets.spec import DataFile, DatasetNotFoundError
from tomei.tools.datasets_cmd import dataset_status

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


# ------------------------------------------------------------------------------------------------
# A local file server


@pytest.fixture
def server(file_server):
    return file_server  # tests/conftest.py


@pytest.fixture(autouse=True)
def isolated(private_keras_home, dead_origin, monkeypatch):
    """A private Keras home and temp folder (tests/conftest.py), no system folders, origins
    that fail, and the published hashes replaced by those of the fixture files."""
    tmp_path = private_keras_home
    dead = dead_origin
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [dead])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [])
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(NPZ))
    monkeypatch.setattr(mnist, "NPZ_SIZE", len(NPZ))
    monkeypatch.setattr(mnist, "IDX_FILES", FIXTURE_FILES)
    monkeypatch.setattr(fashion_mnist, "FILES", FIXTURE_FILES)
    return tmp_path


def cache(tmp_path, sub=""):
    folder = tmp_path / "keras" / "datasets"
    return folder / sub if sub else folder


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


# ------------------------------------------------------------------------------------------------
# MNIST


def test_mnist_downloads_the_npz_verified_then_uses_the_cache(server, tmp_path, monkeypatch):
    server.files["/keras/mnist.npz"] = NPZ
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    assert_fixture_arrays(mnist.load_data())
    assert (cache(tmp_path) / "mnist.npz").read_bytes() == NPZ
    assert_fixture_arrays(mnist.load_data())
    assert server.requests == ["/keras/mnist.npz"]


def test_mnist_truncated_cached_npz_is_replaced(server, tmp_path, monkeypatch):
    write_files(cache(tmp_path), {"mnist.npz": NPZ[: len(NPZ) // 2]})
    server.files["/keras/mnist.npz"] = NPZ
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    assert_fixture_arrays(mnist.load_data())
    assert (cache(tmp_path) / "mnist.npz").read_bytes() == NPZ


def test_mnist_falls_back_to_idx_files_when_the_npz_is_refused(server, tmp_path, monkeypatch):
    server.files["/keras/mnist.npz"] = 403
    for name in NAMES:
        server.files["/cvdf/" + name] = GZ[name]
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [server.url + "/cvdf/"])
    assert_fixture_arrays(mnist.load_data())
    assert sorted(os.listdir(cache(tmp_path, "mnist"))) == sorted(NAMES)


def test_mnist_bare_path_is_a_file_name_in_the_cache(server, tmp_path, monkeypatch):
    server.files["/keras/mnist.npz"] = NPZ
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    assert_fixture_arrays(mnist.load_data(path="copy.npz"))
    assert (cache(tmp_path) / "copy.npz").read_bytes() == NPZ


def test_mnist_explicit_file_and_folder(tmp_path):
    write_files(tmp_path / "a", {"mnist.npz": NPZ})
    assert_fixture_arrays(mnist.load_data(path=str(tmp_path / "a" / "mnist.npz")))
    assert_fixture_arrays(mnist.load_data(path=tmp_path / "a"))  # path-like folder with the npz
    write_files(tmp_path / "b", GZ)
    assert_fixture_arrays(mnist.load_data(path=str(tmp_path / "b")))  # folder with IDX files
    # Decompressed IDX files have no published hash: accepted when given explicitly, silently.
    write_files(tmp_path / "c", {name[: -len(".gz")]: data for name, data in RAW.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_fixture_arrays(mnist.load_data(path=str(tmp_path / "c")))


def test_mnist_explicit_file_with_another_hash_loads_with_a_warning(tmp_path):
    other = npz_bytes(x_train=X_TRAIN[:2], y_train=Y_TRAIN[:2], x_test=X_TEST, y_test=Y_TEST)
    write_files(tmp_path, {"mine.npz": other})
    with pytest.warns(UserWarning, match="does not match the published MNIST file"):
        (x_train, _), _ = mnist.load_data(path=str(tmp_path / "mine.npz"))
    assert x_train.shape == (2, 28, 28)


def test_npz_holding_a_pickled_object_is_refused(tmp_path):
    evil = npz_bytes(
        x_train=np.array([{"code": "runs on load"}], dtype=object),
        y_train=Y_TRAIN,
        x_test=X_TEST,
        y_test=Y_TEST,
    )
    write_files(tmp_path, {"evil.npz": evil})
    with pytest.warns(UserWarning):
        with pytest.raises(
            ValueError, match="evil.npz: holds pickled Python objects, which tomei never loads"
        ):
            mnist.load_data(path=str(tmp_path / "evil.npz"))


def test_npz_that_is_not_a_zip_is_refused(tmp_path):
    write_files(tmp_path, {"mnist.npz": b"<!DOCTYPE html><title>Proxy login</title>"})
    with pytest.warns(UserWarning):
        with pytest.raises(
            ValueError, match=r"mnist.npz: not a readable .npz file .* starts with b'<!DOCTYPE"
        ):
            mnist.load_data(path=str(tmp_path / "mnist.npz"))


def test_npz_with_wrong_arrays_is_refused(tmp_path):
    write_files(tmp_path, {"a.npz": npz_bytes(x_train=X_TRAIN, y_train=Y_TRAIN)})
    with pytest.warns(UserWarning):
        with pytest.raises(
            ValueError, match=r"not an MNIST npz: missing arrays \['x_test', 'y_test'\]"
        ):
            mnist.load_data(path=str(tmp_path / "a.npz"))
    wide = npz_bytes(
        x_train=X_TRAIN.astype(np.float32), y_train=Y_TRAIN, x_test=X_TEST, y_test=Y_TEST
    )
    write_files(tmp_path, {"b.npz": wide})
    with pytest.warns(UserWarning):
        with pytest.raises(
            ValueError, match=r"x_train must be uint8 of shape \(n, 28, 28\); found float32"
        ):
            mnist.load_data(path=str(tmp_path / "b.npz"))


def test_mnist_missing_explicit_path_names_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        mnist.load_data(path=str(tmp_path / "nowhere" / "mnist.npz"))
    with pytest.raises(TypeError, match="received path=3"):
        mnist.load_data(path=3)


def test_mnist_not_found_lists_every_origin_and_the_ways_out(server, tmp_path, monkeypatch):
    server.files["/keras/mnist.npz"] = 403
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [server.url + "/cvdf/"])
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert f"{server.url}/keras/mnist.npz: HTTP error 403" in message
    assert f"{server.url}/cvdf/{mnist.TRAIN_LABELS}: HTTP error 404" in message
    assert (
        f"Put mnist.npz ({len(NPZ):,} bytes, SHA-256 {sha256(NPZ)}) in {cache(tmp_path)}" in message
    )
    assert "apt-get install dataset-fashion-mnist" in message
    assert isinstance(info.value, OSError)
    assert not os.path.exists(cache(tmp_path) / "mnist.npz")


def test_offline_mode_never_downloads(server, tmp_path, monkeypatch):
    server.files["/keras/mnist.npz"] = NPZ
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [server.url + "/keras/"])
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(
        DatasetNotFoundError, match="TOMEI_OFFLINE is set, so nothing was downloaded"
    ):
        mnist.load_data()
    with pytest.raises(
        DatasetNotFoundError, match=f"in {cache(tmp_path, 'fashion-mnist')}"
    ) as info:
        fashion_mnist.load_data()
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert server.requests == []


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


def test_search_order_explicit_then_env_then_cache_then_system(tmp_path, monkeypatch):
    system = write_files(tmp_path / "system" / "fashion-mnist", GZ)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [str(system)])
    [status] = dataset_status([fashion_mnist.spec()])
    assert (status.source, status.location, status.verified) == ("system", str(system), True)
    assert status.size == sum(len(GZ[n]) for n in NAMES)

    write_files(cache(tmp_path, "fashion-mnist"), GZ)
    assert dataset_status([fashion_mnist.spec()])[0].source == "Keras cache"

    mine = write_files(tmp_path / "mine" / "fashion-mnist", RAW)  # decompressed files also verify
    monkeypatch.setenv("TOMEI_DATASETS", str(tmp_path / "mine"))
    [status] = dataset_status([fashion_mnist.spec()])
    assert (status.source, status.location) == ("TOMEI_DATASETS", str(mine))

    found = discovery.obtain(fashion_mnist.spec(), str(system))
    assert (found.source, found.folder) == ("explicit", str(system))
    assert_fixture_arrays(fashion_mnist.load_data(path=str(system)))


def test_corrupt_system_copy_is_skipped_for_a_good_cached_one(tmp_path, monkeypatch):
    broken = dict(GZ)
    broken[mnist.TEST_LABELS] = gzip.compress(idx_bytes(np.array([1, 1, 1, 1], np.uint8), 2049))
    system = write_files(tmp_path / "system", broken)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [str(system)])
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(
        DatasetNotFoundError, match=f"ignored {system}/{mnist.TEST_LABELS}: SHA-256 mismatch"
    ) as info:
        fashion_mnist.load_data()
    # the package's folder is there, so the way out is a reinstall, not an install
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(info.value)
    assert "apt-get install dataset-fashion-mnist" not in str(info.value)
    write_files(cache(tmp_path, "fashion-mnist"), GZ)
    assert_fixture_arrays(fashion_mnist.load_data())


def test_mnist_not_found_suggests_installed_fashion_mnist_without_apt_get(tmp_path, monkeypatch):
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    system.mkdir()  # the Debian package is installed
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [str(system)])
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "apt-get" not in message
    assert "fashion_mnist.load_data()" in message and "--dataset fashion_mnist" in message


def test_dataset_status_says_where_to_put_missing_files(tmp_path):
    mnist_status, fashion_status = dataset_status()
    assert not mnist_status.found and not fashion_status.found
    assert mnist_status.location == str(cache(tmp_path))
    assert mnist_status.placement[0] == "put_one"
    assert mnist_status.placement[1]["name"] == "mnist.npz"
    assert fashion_status.location == str(cache(tmp_path, "fashion-mnist"))
    assert [f.status for f in fashion_status.files] == ["missing"] * 4


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
    [status] = dataset_status([fashion_mnist.spec()])
    assert (status.found, status.source, status.location, status.verified) == (
        True,
        "system",
        DEBIAN_DIR,
        True,
    )

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert (y_train.min(), y_train.max(), y_test.min(), y_test.max()) == (0, 9, 0, 9)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0
