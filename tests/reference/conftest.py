"""Setup for the reference tests: real Keras 3 on the PyTorch backend is the oracle.

KERAS_BACKEND must be chosen before keras is first imported, so it is set here, at
collection time. When keras (or torch) cannot be imported these tests FAIL: CI installs
them (pip install -e ".[reference]"). Set TOMEI_ALLOW_NO_KERAS=1 to skip them instead on
a machine without them.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _import(name):
    if os.environ.get("TOMEI_ALLOW_NO_KERAS") == "1":
        return pytest.importorskip(name)
    import importlib
    return importlib.import_module(name)  # ImportError -> the test errors, as it should


@pytest.fixture(scope="session")
def keras():
    """The real Keras 3 module, on the torch backend."""
    torch = _import("torch")  # noqa: F841 - the backend must import too
    module = _import("keras")
    if module.backend.backend() != "torch":
        pytest.fail(f"The reference tests need KERAS_BACKEND=torch (torch autograd gives the "
                    f"Keras-side gradients); keras was imported with backend "
                    f"{module.backend.backend()!r}.")
    return module


@pytest.fixture(scope="session")
def torch(keras):
    return _import("torch")


@pytest.fixture
def to_np(keras):
    """Converts a Keras/torch tensor (or anything array-like) to a NumPy array."""
    def convert(x):
        if hasattr(x, "detach"):
            return x.detach().cpu().numpy()
        return np.asarray(keras.ops.convert_to_numpy(x))
    return convert


@pytest.fixture
def fresh_names(keras):
    """Restarts automatic layer names in both libraries ("dense", "dense_1", ...)."""
    import tomei.keras as tk
    keras.backend.clear_session()
    tk.backend.clear_session()
    yield
    keras.backend.clear_session()
    tk.backend.clear_session()
