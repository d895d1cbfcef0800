"""Fixtures of the dataset tests; their data is in dataset_fixtures.py next to this file. With
pytest's importlib mode a test folder is not on sys.path, so it is added here."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from dataset_fixtures import FIXTURE_FILES, NPZ, sha256  # noqa: E402

from tomei.keras.datasets import fashion_mnist, mnist  # noqa: E402


# ------------------------------------------------------------------------------------------------
# A local file server


@pytest.fixture
def server(file_server):
    return file_server  # tests/conftest.py


@pytest.fixture(autouse=True)
def isolated(private_keras_home, dead_origin, monkeypatch, request):
    """A private Keras home and temp folder (tests/conftest.py), no system folders, origins
    that fail, and the published hashes replaced by those of the fixture files. A test marked
    ``real_data`` keeps the published hashes and sizes (it fetches the real files)."""
    tmp_path = private_keras_home
    dead = dead_origin
    if request.node.get_closest_marker("real_data"):
        return tmp_path
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [dead])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "ORIGINS", [dead])
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [])
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(NPZ))
    monkeypatch.setattr(mnist, "NPZ_SIZE", len(NPZ))
    monkeypatch.setattr(mnist, "IDX_FILES", FIXTURE_FILES)
    monkeypatch.setattr(fashion_mnist, "FILES", FIXTURE_FILES)
    return tmp_path


