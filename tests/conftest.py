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

import pytest

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
