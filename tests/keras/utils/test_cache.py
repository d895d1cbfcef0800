"""The Keras cache folders, and the shared temporary folder that is read only when private."""
import os
import tempfile

import pytest

from tomei.keras.utils import cache


@pytest.fixture
def homes(private_keras_home):
    """KERAS_HOME and the temp folder inside tmp_path (tests/conftest.py)."""
    return private_keras_home


def test_keras_home_and_the_search_order(homes, monkeypatch):
    assert cache.keras_home() == str(homes / "keras")
    folders = cache.cache_folders(None, "datasets")
    assert folders == [str(homes / "keras" / "datasets"),
                       os.path.join(tempfile.gettempdir(), ".keras", "datasets")]
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(homes / "me"))
    assert cache.keras_home() == str(homes / "me" / ".keras")


def test_a_shared_temporary_cache_is_read_only_when_it_is_ours_alone(homes):
    shared = homes / "tmp" / ".keras" / "datasets"
    assert cache.cache_folders(None, "datasets", for_reading=True) == [
        str(homes / "keras" / "datasets")]  # missing: not read
    shared.mkdir(parents=True)
    shared.chmod(0o700)
    shared.parent.chmod(0o777)  # anyone could have planted files in /tmp/.keras
    assert str(shared) not in cache.cache_folders(None, "datasets", for_reading=True)
    shared.parent.chmod(0o700)
    assert str(shared) in cache.cache_folders(None, "datasets", for_reading=True)
    if os.getuid() == 0:  # root can give the folder to another user, as an attacker would
        os.chown(shared.parent, 65534, 65534)
        assert str(shared) not in cache.cache_folders(None, "datasets", for_reading=True)
        assert not cache.is_private_folder(str(shared), stop=str(homes / "tmp"))


def test_falling_back_to_the_temporary_cache_creates_it_private(homes):
    home = homes / "keras"
    home.write_text("not a folder")  # the Keras home cannot be used
    with pytest.warns(RuntimeWarning, match="cannot be written; using"):
        folder = cache.writable_cache_folder(None, "datasets")
    assert folder == os.path.join(tempfile.gettempdir(), ".keras", "datasets")
    assert cache.is_private_folder(folder, stop=tempfile.gettempdir())
    os.chmod(os.path.dirname(folder), 0o777)  # now someone else could write there: refused
    with pytest.raises(PermissionError, match="No writable cache folder"):
        cache.writable_cache_folder(None, "datasets")
