"""The npz reader: bounded before anything is decompressed, pickle-free; an npz bomb passed as
mnist.load_data(path=...) is refused with memory bounded (measured)."""
import io
import zipfile

import numpy as np
import pytest

from memory_probe import peak_memory  # tests/memory_probe.py
from tomei.keras.datasets import mnist, npz

MB = 2**20
EXPECTED = {"x": ((100, 28, 28), np.uint8), "y": ((100,), np.uint8)}


def npy_header(shape, dtype="|u1"):
    """The .npy version 1.0 header of an array of ``shape`` (NumPy's format, padded to 64)."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (dtype, tuple(shape))
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


def test_arrays_of_the_expected_size_load(tmp_path):
    path = tmp_path / "ok.npz"
    np.savez_compressed(path, x=np.ones((10, 28, 28), np.uint8), y=np.arange(10, dtype=np.uint8))
    arrays = npz.read_arrays(str(path), EXPECTED, "a test", "ok.npz")
    assert arrays["x"].shape == (10, 28, 28) and list(arrays["y"]) == list(range(10))


def test_a_member_larger_than_expected_is_refused_unread(tmp_path):
    path = tmp_path / "big.npz"
    np.savez_compressed(path, x=np.zeros((1000, 28, 28), np.uint8), y=np.zeros(100, np.uint8))
    with pytest.raises(ValueError, match=r"x.npy unpacks to 784,128 bytes, more than"):
        npz.read_arrays(str(path), EXPECTED, "a test", "ok.npz")


def test_a_header_announcing_more_than_the_member_holds_is_refused(tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", npy_header((10**9, 28, 28)) + bytes(784))
        archive.writestr("y.npy", npy_header((1,)) + b"\0")
    with pytest.raises(ValueError, match=r"announces shape \(1000000000, 28, 28\)"):
        npz.read_arrays(str(path), EXPECTED, "a test", "ok.npz")


def test_an_npz_bomb_given_to_load_data_is_refused_with_bounded_memory(private_keras_home):
    path = private_keras_home / "bomb.npz"
    size = 1536 * MB  # 1.5 GiB of zeros in about 1.5 MB: the case
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("x_train.npy", "w", force_zip64=True) as member:
            member.write(npy_header((size // 784, 28, 28)))
            block = bytes(MB)
            for _ in range(size // MB):
                member.write(block)
        for name, shape in (("y_train", (60000,)), ("x_test", (10000, 28, 28)),
                            ("y_test", (10000,))):
            zf.writestr(name + ".npy", npy_header(shape) + bytes(int(np.prod(shape))))
    assert path.stat().st_size < 4 * MB
    with peak_memory() as probe:
        with pytest.raises(ValueError, match="x_train.npy unpacks to 1,610,612,864 bytes"):
            mnist.load_data(path=str(path))
    assert probe["peak"] < 200 * MB, f"{probe['peak'] / MB:.0f} MB ({probe['how']})"


def test_pickled_arrays_are_refused(tmp_path):
    buffer = io.BytesIO()
    np.savez(buffer, x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, np.uint8))
    path = tmp_path / "evil.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="holds pickled Python objects, which tomei never loads"):
        npz.read_arrays(str(path), EXPECTED, "a test", "ok.npz")
