"""`tomei datasets` (list, fetch, verify) against an HTTP server on 127.0.0.1.

KERAS_HOME and the temp folder are inside tmp_path, the system folders list is emptied and the
origins point at the local server (or a closed loopback port), so nothing leaves the machine.
"""

import gzip
import hashlib
import io

import numpy as np
import pytest

from tomei.keras.datasets import fashion_mnist, mnist
from tomei.keras.datasets.spec import DataFile
from tomei.tools.datasets_cmd import main

NAMES = (mnist.TRAIN_LABELS, mnist.TRAIN_IMAGES, mnist.TEST_LABELS, mnist.TEST_IMAGES)


def idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def make_npz():
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        x_train=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        y_train=np.array([1, 2, 3], np.uint8),
        x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        y_test=np.array([4, 5], np.uint8),
    )
    return buffer.getvalue()


NPZ = make_npz()
RAW = {
    mnist.TRAIN_LABELS: idx_bytes(np.array([1, 2, 3], np.uint8), 2049),
    mnist.TRAIN_IMAGES: idx_bytes(np.zeros((3, 28, 28), np.uint8), 2051),
    mnist.TEST_LABELS: idx_bytes(np.array([4, 5], np.uint8), 2049),
    mnist.TEST_IMAGES: idx_bytes(np.ones((2, 28, 28), np.uint8), 2051),
}
GZ = {name: gzip.compress(data, mtime=0) for name, data in RAW.items()}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server(monkeypatch, file_server):
    srv = file_server  # tests/conftest.py
    srv.files["/keras/mnist.npz"] = NPZ
    for name in NAMES:
        srv.files["/fm/" + name] = GZ[name]
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [srv.url + "/keras/"])
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [srv.url + "/fm/"])
    return srv


@pytest.fixture(autouse=True)
def isolated(private_keras_home, dead_origin, monkeypatch):
    tmp_path = private_keras_home  # tests/conftest.py
    dead = dead_origin
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [dead])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [])
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(NPZ))
    monkeypatch.setattr(mnist, "NPZ_SIZE", len(NPZ))
    monkeypatch.setattr(
        fashion_mnist,
        "FILES",
        tuple(
            DataFile(n, sha256(RAW[n]), len(GZ[n]), content_hash=True, content_size=len(RAW[n]))
            for n in NAMES
        ),
    )
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_with_nothing_says_where_to_put_each_dataset(capsys, tmp_path):
    code, out, err = run(capsys)
    assert code == 0
    assert f"Keras cache: {tmp_path / 'keras' / 'datasets'}" in out
    lines = out.splitlines()
    assert lines[1].startswith("MNIST") and "missing" in lines[1]
    assert "Put mnist.npz" in lines[1] and "tomei datasets fetch mnist" in lines[1]
    assert lines[2].startswith("Fashion-MNIST") and "missing" in lines[2]
    assert str(tmp_path / "keras" / "datasets" / "fashion-mnist") in lines[2]


def test_list_offline_does_not_suggest_fetch(capsys, monkeypatch):
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    code, out, err = run(capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("MNIST") and "missing" in lines[1]
    assert "Put mnist.npz" in lines[1] and "downloads are disabled by TOMEI_OFFLINE" in lines[1]
    assert "tomei datasets fetch" not in out


def test_fetch_then_list_then_verify(server, capsys, tmp_path):
    code, out, err = run(capsys, "fetch", "mnist")
    assert code == 0, err
    cached = tmp_path / "keras" / "datasets" / "mnist.npz"
    assert f"MNIST: {cached} (Keras cache, verified)" in out
    assert cached.read_bytes() == NPZ

    code, out, err = run(capsys, "fetch", "fashion-mnist")
    assert code == 0, err
    assert len(server.requests) == 5

    code, out, err = run(capsys, "list")
    assert code == 0
    mnist_line = out.splitlines()[1]
    assert mnist_line.startswith("MNIST") and "verified" in mnist_line
    assert mnist_line.endswith(f"{len(NPZ):,} bytes  {cached} (Keras cache)")

    code, out, err = run(capsys, "verify")
    assert code == 0
    assert out.count("OK ") == 5
    assert "5 file(s) checked, 0 corrupt." in out

    code, out, err = run(capsys, "list", "--lang", "ja")  # --lang after the sub-command
    assert code == 0 and f"{len(NPZ):,} バイト  {cached}" in out and "bytes" not in out


def test_verify_reports_a_corrupt_cached_file_and_fails(server, capsys, tmp_path):
    assert run(capsys, "fetch", "fashion_mnist")[0] == 0
    damaged = tmp_path / "keras" / "datasets" / "fashion-mnist" / mnist.TRAIN_IMAGES
    damaged.write_bytes(GZ[mnist.TRAIN_IMAGES][:30])  # a cut gzip stream
    code, out, err = run(capsys, "verify")
    assert code == 1
    assert f"CORRUPT    Fashion-MNIST  Keras cache    {damaged}: " in out
    assert "gzip data is truncated or corrupt" in out
    assert "4 file(s) checked, 1 corrupt." in out

    code, out, err = run(capsys, "fetch", "fashion_mnist")  # repairs it
    assert code == 0
    assert run(capsys, "verify")[0] == 0


def test_fetch_failure_prints_the_message_without_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    code, out, err = run(capsys, "fetch", "fashion_mnist")
    assert code == 1
    assert out == ""
    assert err.startswith("error: Fashion-MNIST is not on this machine and could not be downloaded.")
    assert "apt-get install dataset-fashion-mnist" in err
    assert "Traceback" not in err


def test_fetch_unknown_name_and_usage_errors(capsys):
    code, out, err = run(capsys, "fetch", "cifar10")
    assert code == 2
    assert "Unknown dataset 'cifar10'; expected one of: mnist, fashion_mnist" in err
    assert run(capsys, "nonsense")[0] == 2
    assert run(capsys, "--help")[0] == 0


def test_verify_with_nothing_found(capsys):
    code, out, err = run(capsys, "verify")
    assert code == 0
    assert "nothing to verify" in out


def test_dataset_status_says_where_to_put_missing_files(tmp_path):
    from tomei.tools.datasets_cmd import dataset_status
    mnist_status, fashion_status = dataset_status()
    assert not mnist_status.found and not fashion_status.found
    assert mnist_status.location == str(tmp_path / "keras" / "datasets")
    assert mnist_status.placement[0] == "put_one"
    assert mnist_status.placement[1]["name"] == "mnist.npz"
    assert fashion_status.location == str(tmp_path / "keras" / "datasets" / "fashion-mnist")
    assert [f.status for f in fashion_status.files] == ["missing"] * 4


def test_list_in_japanese(capsys):
    code, out, err = run(capsys, "--lang", "ja")
    assert code == 0
    assert out.startswith("Keras のキャッシュ: ")
    assert "なし" in out and "または実行: tomei datasets fetch mnist" in out
