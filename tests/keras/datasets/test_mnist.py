"""mnist.load_data: the npz and the IDX files, verified downloads from a loopback server, explicit
paths, npz checks, and the "not found" message."""

import os
import warnings

import numpy as np
import pytest

from tomei.keras.datasets import fashion_mnist, mnist
from tomei.keras.datasets.spec import DatasetNotFoundError

from dataset_fixtures import (
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
