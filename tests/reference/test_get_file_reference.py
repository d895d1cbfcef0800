"""get_file(untar=True / extract=True) leaves the same files in the same places as real
Keras 3, and returns the same path (both read a local file:// archive)."""
import io
import os
import tarfile
import zipfile

import pytest

import tomei.keras as tk
from tomei.keras.utils.archives import MARKER

pytestmark = [pytest.mark.reference]


def _tree(root):
    """Every file below ``root`` (relative paths), without tomei's extraction marker."""
    out = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if name != MARKER:
                out.add(os.path.relpath(os.path.join(folder, name), root))
    return out


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    members = {"aclImdb/train/pos/0_9.txt": b"good", "aclImdb/test/neg/1_1.txt": b"bad",
               "aclImdb/README": b"readme"}
    with tarfile.open(src / "aclImdb_v1.tar.gz", "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(src / "pack.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return src


@pytest.mark.parametrize("fname, archive, kwargs", [
    ("aclImdb_v1", "aclImdb_v1.tar.gz", {"untar": True}),  # the text tutorial's call
    ("aclImdb_v1.tar.gz", "aclImdb_v1.tar.gz", {"extract": True}),
    (None, "aclImdb_v1.tar.gz", {"extract": True}),
    ("pack.zip", "pack.zip", {"extract": True, "archive_format": "zip"}),
    ("plain.tar.gz", "aclImdb_v1.tar.gz", {}),
])
def test_same_layout_as_keras(keras, archives, tmp_path, fname, archive, kwargs):
    url = (archives / archive).as_uri()
    results = {}
    for name, lib in (("keras", keras), ("tomei", tk)):
        base = tmp_path / name
        base.mkdir()
        returned = lib.utils.get_file(fname, url, cache_dir=str(base), cache_subdir="sub",
                                      **kwargs)
        results[name] = (os.path.relpath(returned, base), _tree(base))
    assert results["tomei"] == results["keras"]
