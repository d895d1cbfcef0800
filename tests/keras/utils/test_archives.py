"""Archives for get_file(extract=True): names taken from the URL are checked like fname, the
extraction never deletes a folder it did not make, and unsafe members are refused."""
import io
import os
import tarfile

import pytest

from tomei.keras.utils.archives import MARKER, archive_layout, extract_archive
from tomei.keras.utils.file_utils import get_file


def tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


TAR = tar_bytes({"data/a.txt": b"a", "data/b.txt": b"bb"})


@pytest.fixture
def home(private_keras_home, file_server):
    """A private Keras home with a file in it that must survive every test."""
    datasets = private_keras_home / "keras" / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "precious.npz").write_bytes(b"keep me")
    file_server.files["/.."] = TAR
    file_server.files["/."] = TAR
    file_server.files["/pack.tar.gz"] = TAR
    return private_keras_home


@pytest.mark.parametrize("tail", ["/..", "/.", "/"])
def test_a_name_from_the_url_is_checked_like_fname(home, file_server, tail):
    with pytest.raises(ValueError, match=r"fname must be a plain file name|Cannot take a file"):
        get_file(origin=file_server.url + tail, extract=True, verbose=0)
    assert (home / "keras" / "datasets" / "precious.npz").read_bytes() == b"keep me"
    assert file_server.requests == []  # refused before any request


def test_extraction_never_replaces_a_folder_it_did_not_make(home, file_server):
    mine = home / "keras" / "datasets" / "pack_extracted"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="was not extracted by get_file"):
        get_file("pack.tar.gz", file_server.url + "/pack.tar.gz", extract=True, verbose=0)
    assert (mine / "notes.txt").read_text() == "mine"
    (mine / "notes.txt").unlink()
    mine.rmdir()
    folder = get_file("pack.tar.gz", file_server.url + "/pack.tar.gz", extract=True, verbose=0)
    assert sorted(os.listdir(folder)) == [MARKER, "data"]
    assert (home / "keras" / "datasets" / "precious.npz").exists()


def test_layout_and_unsafe_members(tmp_path):
    assert archive_layout("x.tar.gz", True) == ("x.tar.gz", "x_extracted")
    assert archive_layout("x", False) == ("x_archive", "x")
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(tar_bytes({"../escape.txt": b"x"}))
    with pytest.raises(ValueError, match="outside the extraction folder"):
        extract_archive(str(evil), str(tmp_path / "out"))
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no staging left
