"""Finding dataset files: the search order, and corrupt copies skipped for good ones."""

import gzip

import numpy as np
import pytest

from tomei.keras.datasets import discovery, fashion_mnist, mnist
from tomei.keras.datasets.spec import DatasetNotFoundError

from dataset_fixtures import (
    GZ,
    idx_bytes,
    RAW,
    assert_fixture_arrays,
    cache,
    write_files,
)


def test_search_order_explicit_then_env_then_cache_then_system(tmp_path, monkeypatch):
    system = write_files(tmp_path / "system" / "fashion-mnist", GZ)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [str(system)])
    found = discovery.find_local(fashion_mnist.spec())
    assert (found.source, found.folder, found.verified) == ("system", str(system), True)

    write_files(cache(tmp_path, "fashion-mnist"), GZ)
    assert discovery.find_local(fashion_mnist.spec()).source == "Keras cache"

    mine = write_files(tmp_path / "mine" / "fashion-mnist", RAW)  # decompressed files also verify
    monkeypatch.setenv("TOMEI_DATASETS", str(tmp_path / "mine"))
    found = discovery.find_local(fashion_mnist.spec())
    assert (found.source, found.folder) == ("TOMEI_DATASETS", str(mine))

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


def test_discovery_imports_no_dataset_module():
    """The datasets package draws one direction: specs below discovery, datasets above it."""
    import ast
    tree = ast.parse(open(discovery.__file__, encoding="utf-8").read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names}
    assert not imported & {"mnist", "fashion_mnist", "tomei.keras.datasets.mnist",
                           "tomei.keras.datasets.fashion_mnist"}


def test_a_failed_download_leaves_no_empty_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError):
        mnist.load_data()  # every origin is a closed loopback port; npm is missing
    assert not cache(tmp_path, "mnist").exists()


def test_shared_temporary_cache_of_another_user_is_never_read(tmp_path, monkeypatch):
    """A copy planted in <tmp>/.keras/datasets is used only when the folders are private."""
    shared = write_files(tmp_path / "tmp" / ".keras" / "datasets" / "fashion-mnist", GZ)
    for folder in (shared, shared.parent, shared.parent.parent):
        folder.chmod(0o777)  # writable by anyone: as if another user had made it
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError):
        fashion_mnist.load_data()
    for folder in (shared, shared.parent, shared.parent.parent):
        folder.chmod(0o700)  # ours alone: Keras's fallback folder, read as Keras would
    assert_fixture_arrays(fashion_mnist.load_data())


def test_not_found_names_the_python_and_the_command_line_way_to_a_local_copy(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [])
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert "fashion_mnist.load_data(path='/path/to/folder')" in message
    assert "tomei tutorial --dataset fashion_mnist --data-path /path/to/folder" in message
