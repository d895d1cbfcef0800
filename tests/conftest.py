"""Shared test setup.

Real data: the end-to-end tests use Fashion-MNIST from Debian's ``dataset-fashion-mnist``
(/usr/share/datasets/fashion-mnist). Elsewhere they skip, but CI sets
TOMEI_REQUIRE_REAL_DATA=1 and then a missing package stops the run instead of skipping.
"""
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

# Real Keras 3 is the reference oracle, on PyTorch: the backend must be chosen before keras
# is first imported, so it is set here, at collection time, for every test module.
os.environ.setdefault("KERAS_BACKEND", "torch")

# Shared test helpers (memory_probe.py) are imported by name: with pytest's importlib mode a
# test folder is not on sys.path, so this one is added.
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
HAVE_FASHION = os.path.isfile(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))


def pytest_configure(config):
    if os.environ.get("TOMEI_REQUIRE_REAL_DATA") == "1" and not HAVE_FASHION:
        raise pytest.UsageError(
            f"TOMEI_REQUIRE_REAL_DATA=1 but {FASHION_DIR} is missing: "
            f"run 'apt-get install -y dataset-fashion-mnist' first.")


@pytest.fixture
def fused_mode():
    """Sets tomei's fused-kernel mode for one test (``fused_mode("off")``); restored after it."""
    from tomei.engine import fused
    before = fused._mode
    yield fused.set_mode
    fused._mode = before


@pytest.fixture
def fashion_mnist_dir():
    """The folder of Debian's Fashion-MNIST files; skips the test where it is absent
    (never in CI, see pytest_configure)."""
    if not HAVE_FASHION:
        pytest.skip(f"needs Debian's dataset-fashion-mnist in {FASHION_DIR}")
    return FASHION_DIR


class FileServer:
    """Serves ``files`` (URL path -> bytes, or an int HTTP status) on 127.0.0.1 and records
    the requested paths. Nothing leaves the loopback interface."""

    def __init__(self):
        self.files = {}
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path, 404)
                if isinstance(body, int):
                    self.send_error(body)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server():
    """A FileServer on a free loopback port, shut down after the test."""
    srv = FileServer()
    yield srv
    srv.close()


PROXY_AND_DATA_VARIABLES = ("TOMEI_DATASETS", "TOMEI_OFFLINE", "HTTP_PROXY", "HTTPS_PROXY",
                            "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
                            "all_proxy")


@pytest.fixture
def private_keras_home(tmp_path, monkeypatch):
    """KERAS_HOME and the temp folder inside tmp_path; no proxy or TOMEI_* variables from
    the machine; TOMEI_NPM names a command that does not exist, so no test runs the real
    npm unless it says so. Returns tmp_path."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TOMEI_NPM", str(tmp_path / "no-such-npm"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    for name in PROXY_AND_DATA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def dead_origin():
    """A loopback base URL where nothing listens (the port was just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


# --- real Keras 3 (reference tests) ----------------------------------------------------
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


@pytest.fixture(scope="session")
def tensorflow():
    """Real TensorFlow (CPU), the reference for the ``tf.*`` functions' names and dtypes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return _import("tensorflow")


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

@pytest.fixture
def gpu():
    """A strict stand-in for CuPy plays the GPU for one test (tests/engine/strict_device.py):
    the device path of the engine and of fit runs, and is checked, on the CPU."""
    from tests.engine.strict_device import MODULE, StrictArray
    from tomei.engine import device
    device.register_array_module(StrictArray, MODULE)
    device.set_gpu_stand_in(MODULE)
    yield MODULE
    device.set_gpu_stand_in(None)
