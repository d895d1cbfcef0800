"""Crafted .keras zip archives, also served by a hostile loopback server: member names,
counts, declared sizes, bombs, encryption, unknown compression, duplicates, truncation.
Each is a ModelFileError, within 200 MB of memory."""
import hashlib
import struct
import zipfile

import pytest

import tomei.keras as tk
from tomei.keras.saving import ModelFileError, safety

from .adv_helpers import MB, HostileServer, peak_memory, rewrite_keras, small_model


@pytest.fixture
def keras_file(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    return path


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def write_zip(path, items, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return path


def patch_central(path, name, **fields):
    """Rewrites fields of ``name``'s central-directory (and local) header in place:
    flags, method, compressed, size."""
    data = bytearray(path.read_bytes())
    central = {"flags": (8, "<H"), "method": (10, "<H"), "compressed": (20, "<I"),
               "size": (24, "<I")}
    local = {"flags": (6, "<H"), "method": (8, "<H"), "compressed": (18, "<I"),
             "size": (22, "<I")}
    encoded = name.encode()
    for signature, table, name_at in ((b"PK\x01\x02", central, 46), (b"PK\x03\x04", local, 30)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                for field, value in fields.items():
                    offset, fmt = table[field]
                    struct.pack_into(fmt, data, start + offset, value)
            start += 4
    path.write_bytes(bytes(data))
    return path


def refused(path, match=None):
    with peak_memory() as mem:
        with pytest.raises(ModelFileError, match=match):
            tk.models.load_model(path)
    assert mem["peak"] < 200 * MB, mem


@pytest.mark.parametrize("bad", ["../config.json", "/etc/passwd", "C:evil", "a/../../b",
                                 "./../x", "..\\..\\win"])
def test_unsafe_member_names_are_refused(keras_file, bad):
    items = list(members(keras_file).items()) + [(bad, b"x")]
    write_zip(keras_file, items)
    refused(keras_file, "absolute path|'..'")


def test_too_many_members_are_refused(keras_file):
    items = list(members(keras_file).items()) + [(f"pad/{i}", b"") for i in range(10_001)]
    write_zip(keras_file, items)
    refused(keras_file, "zip members")


def test_duplicate_member_names_are_refused(keras_file):
    items = list(members(keras_file).items())
    items.append(("config.json", b'{"class_name": "Sequential"}'))
    with pytest.warns(UserWarning, match="Duplicate name"):
        write_zip(keras_file, items)
    refused(keras_file, "twice")


def test_member_declaring_gigabytes_is_refused_before_reading(keras_file):
    patch_central(keras_file, "model.weights.h5", size=0xF0000000)
    refused(keras_file, "zip bomb|declares")


def test_deflate_bomb_weights_member_is_refused(tmp_path, keras_file):
    """100 MB of zeros deflated to ~100 KB: over the expansion ratio, never inflated."""
    items = members(keras_file)
    with zipfile.ZipFile(keras_file, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in ("metadata.json", "config.json"):
            archive.writestr(name, items[name])
        with archive.open("model.weights.h5", "w") as fh:
            chunk = bytes(MB)
            for _ in range(100):
                fh.write(chunk)
    assert keras_file.stat().st_size < 2 * MB
    refused(keras_file, "zip bomb")


def test_member_lying_small_about_its_size_is_refused(keras_file):
    patch_central(keras_file, "config.json", size=10)
    refused(keras_file, "damaged|declared|not valid JSON")


@pytest.mark.parametrize("fields", [{"flags": 0x1}, {"method": 99}, {"method": 12},
                                    {"compressed": 3}])
def test_encrypted_or_oddly_compressed_members_are_refused(keras_file, fields):
    patch_central(keras_file, "config.json", **fields)
    refused(keras_file)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_truncated_archives_are_refused(keras_file, cut):
    data = keras_file.read_bytes()
    keras_file.write_bytes(data[:int(len(data) * cut)])
    refused(keras_file)


def test_missing_members_are_refused(keras_file):
    items = [(n, d) for n, d in members(keras_file).items() if n != "model.weights.h5"]
    write_zip(keras_file, items)
    refused(keras_file, "has no model.weights.h5")


def test_pickled_weights_are_never_loaded(keras_file):
    items = [(n, d) for n, d in members(keras_file).items() if n != "model.weights.h5"]
    items.append(("model.weights.npz", b"\x80\x04K\x01."))
    write_zip(keras_file, items)
    refused(keras_file, "pickle")


def test_a_renamed_hdf5_or_text_file_is_refused(tmp_path, keras_file):
    fake = tmp_path / "fake.keras"
    fake.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    refused(fake, "HDF5 file, not a zip")
    fake.write_text("<html>404</html>")
    refused(fake, "not a zip")


def test_hostile_server_model_is_refused_after_download(tmp_path, keras_file,
                                                        private_keras_home):
    """get_file fetches a crafted model from a loopback server; loading it is refused."""
    import h5py
    from tomei.keras.utils.file_utils import get_file
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as h5:
        h5.create_group("vars")["0"] = [1.0]

    def trap(h5):
        del h5["optimizer/vars"]
        h5["optimizer/vars"] = h5py.ExternalLink(str(secret), "/vars")
    rewrite_keras(keras_file, trap)
    body = keras_file.read_bytes()
    server = HostileServer()
    server.routes["/model.keras"] = (body, "ok")
    try:
        path = get_file("model.keras", server.url("/model.keras"),
                        file_hash=hashlib.sha256(body).hexdigest())
    finally:
        server.close()
    refused(path, "ExternalLink")


def test_limits_are_documented_values():
    assert safety.MAX_JSON_BYTES == 32 * MB and safety.MAX_JSON_DEPTH == 128
    assert safety.MAX_JSON_CONTAINERS == 500_000 and safety.MAX_H5_DEPTH == 64
