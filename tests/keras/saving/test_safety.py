"""Checks on untrusted model files: file kinds, member names, JSON depth and size, HDF5
access through the safe accessors. (The adversarial cases: tests/keras/saving/ and the
hardening suite.)"""
import json
import zipfile

import pytest

from tomei.keras.saving import safety


def test_file_kind(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    (tmp_path / "t").write_bytes(b"hello, world")
    with zipfile.ZipFile(tmp_path / "z", "w") as z:
        z.writestr("a.json", "{}")
    assert [safety.file_kind(tmp_path / n) for n in ("e", "t", "z")] == ["empty", "other", "zip"]


@pytest.mark.parametrize("name, unsafe", [
    ("config.json", False), ("assets/x.txt", False), ("/etc/passwd", True),
    ("../../x", True), ("a/../../x", True), ("C:evil", True), ("nul\x00byte", True),
])
def test_unsafe_member_name(name, unsafe):
    assert safety.unsafe_member_name(name) is unsafe


def test_json_depth_and_member_info(tmp_path):
    assert safety.json_depth({"a": [1, {"b": []}]}) >= 3
    assert safety.json_depth(json.loads("1")) <= 1
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", "{}")
    with zipfile.ZipFile(path) as z:
        assert safety.member_info(z, "metadata.json", path).file_size == 2
        with pytest.raises(safety.ModelFileError, match="has no config.json.*metadata.json"):
            safety.member_info(z, "config.json", path)
