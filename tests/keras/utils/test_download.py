"""Verified HTTP downloads against a hostile loopback server: an endless body, a server that
drips one byte at a time, a Content-Length larger than allowed. Each is stopped by a byte cap
or the overall deadline, with memory bounded (measured) and no partial file left behind."""
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from memory_probe import peak_memory  # tests/memory_probe.py
from tomei.keras.utils import download
from tomei.keras.utils.download import DownloadError, download_verified
from tomei.keras.utils.file_utils import get_file

MB = 2**20


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            self.send_response(200)
            if self.path == "/endless":  # no Content-Length, never ends
                self.end_headers()
                block = b"\0" * 65536
                while True:
                    self.wfile.write(block)
            elif self.path == "/drip":  # a byte every 0.2 s: each read is well within timeout
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif self.path == "/huge":  # announces a terabyte
                self.send_header("Content-Length", str(10**12))
                self.end_headers()
                self.wfile.write(b"\0" * 65536)
            else:
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"hello")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_endless_body_stops_at_max_bytes_and_leaves_nothing(hostile, tmp_path):
    with peak_memory() as probe:
        with pytest.raises(DownloadError, match=r"more than 5,242,880 bytes arrived"):
            download_verified("x.bin", [hostile + "/endless"], str(tmp_path), verbose=0,
                              max_bytes=5 * MB)
    assert probe["peak"] < 200 * MB, f"{probe['peak'] / MB:.0f} MB ({probe['how']})"
    assert os.listdir(tmp_path) == []  # the partial file is gone


def test_a_published_size_caps_the_download(hostile, tmp_path):
    with pytest.raises(DownloadError, match=r"more than 1,000,000 bytes arrived"):
        download_verified("x.bin", [hostile + "/endless"], str(tmp_path), size=1_000_000,
                          verbose=0)
    assert os.listdir(tmp_path) == []


def test_a_content_length_above_the_cap_is_refused_before_writing(hostile, tmp_path):
    with pytest.raises(DownloadError, match=r"announces 1,000,000,000,000 bytes, more than"):
        get_file("x.bin", hostile + "/huge", cache_dir=str(tmp_path), verbose=0)
    assert os.listdir(tmp_path / "datasets") == []


def test_a_dripping_server_is_stopped_by_the_deadline(hostile, tmp_path):
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"deadline of 1.5 s"):
        get_file("x.bin", hostile + "/drip", cache_dir=str(tmp_path), verbose=0, timeout=5,
                 deadline=1.5)
    assert time.monotonic() - started < 10  # not the 200 s the body would take
    assert os.listdir(tmp_path / "datasets") == []


def test_bad_cap_and_deadline_are_refused(hostile, tmp_path):
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        get_file("x.bin", hostile + "/ok", cache_dir=str(tmp_path), max_bytes=0)
    with pytest.raises(ValueError, match="deadline must be a finite number"):
        get_file("x.bin", hostile + "/ok", cache_dir=str(tmp_path), deadline=float("inf"))
    assert open(get_file("x.bin", hostile + "/ok", cache_dir=str(tmp_path), verbose=0),
                "rb").read() == b"hello"
    assert download.MAX_DOWNLOAD_BYTES == 8 * 2**30
