"""get_file against a real HTTP server on 127.0.0.1: caching, verification, failures, proxies.

Every test runs with KERAS_HOME and the temporary folder inside tmp_path and no proxy
variables, so nothing touches the real cache and nothing leaves the loopback interface.
"""

import hashlib
import io
import os
import pickle
import re
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tomei.keras.utils import download, file_utils
from tomei.keras.utils.file_utils import (
    CorruptDownloadError,
    DownloadError,
    get_file,
    hash_file,
    validate_file,
)

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


# ------------------------------------------------------------------------------------------------
# A small HTTP server whose routes misbehave on request


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or are killed break the pipe; that is expected here


class LocalServer:
    """Serves routes on 127.0.0.1; each route is a dict describing how to answer."""

    def __init__(self):
        self.routes = {}
        self.requests = []  # the raw request target of each GET (absolute URL through a proxy)
        self.release = threading.Event()  # ends stalls when the test finishes
        self.half_sent = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                route = server.routes.get(urlsplit(self.path).path)
                if route is None:
                    self.send_error(404)
                    return
                server.answer(self, route)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path, body=PAYLOAD, **behaviour):
        self.routes[path] = dict(body=body, **behaviour)
        return self.url + path

    def answer(self, handler, route):
        if "status" in route:
            handler.send_error(route["status"])
            return
        if "redirect" in route:
            handler.send_response(302)
            handler.send_header("Location", route["redirect"])
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if "stall" in route:  # accept the connection, then say nothing
            self.release.wait(route["stall"])
            return
        body = route["body"]
        handler.send_response(200)
        handler.send_header("Content-Length", str(route.get("length", len(body))))
        handler.end_headers()
        cut = route.get("cut")  # send only the first `cut` bytes, then close
        if cut is not None:
            handler.wfile.write(body[:cut])
            handler.wfile.flush()
            self.half_sent.set()
            if route.get("hang"):
                self.release.wait(10)
            return
        pause = route.get("pause")  # send half, wait, send the rest
        if pause:
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            time.sleep(pause)
            handler.wfile.write(body[len(body) // 2 :])
            return
        handler.wfile.write(body)

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def isolated(private_keras_home):
    """KERAS_HOME and the temp folder inside tmp_path; no proxies (tests/conftest.py)."""
    return private_keras_home


def cache_dir(tmp_path):
    return tmp_path / "keras" / "datasets"


def closed_port_url(path="/data.bin"):
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def leftovers(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# ------------------------------------------------------------------------------------------------
# Hashes


def test_hash_file_and_validate_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert hash_file(path) == PAYLOAD_SHA256
    assert hash_file(path, "md5") == md5
    assert validate_file(path, PAYLOAD_SHA256)  # 64 characters: SHA-256
    assert validate_file(path, md5)  # 32 characters: MD5
    assert validate_file(path, PAYLOAD_SHA256.upper())
    assert not validate_file(path, "0" * 64)
    with pytest.raises(
        ValueError, match="expected 'sha256', 'md5' or 'auto'; received algorithm='sha1'"
    ):
        hash_file(path, "sha1")


# ------------------------------------------------------------------------------------------------
# Downloads and the cache


def test_download_then_cache_hit_makes_no_second_request(server, tmp_path, capsys):
    url = server.add("/data.bin")
    path = get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert path == str(cache_dir(tmp_path) / "data.bin")
    with open(path, "rb") as f:
        assert f.read() == PAYLOAD
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    again = get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert again == path
    assert server.requests == ["/data.bin"]
    output = capsys.readouterr().out
    assert f"Downloading data from {url}" in output
    assert "\r" not in output  # stdout is not a terminal: no progress bar
    assert leftovers(cache_dir(tmp_path)) == ["data.bin"]


def test_fname_defaults_to_the_last_part_of_the_origin(server, tmp_path):
    url = server.add("/dir/archive.bin")
    assert get_file(origin=url) == str(cache_dir(tmp_path) / "archive.bin")


def test_md5_hash_is_accepted(server):
    url = server.add("/data.bin")
    path = get_file("data.bin", url, file_hash=hashlib.md5(PAYLOAD).hexdigest())
    assert hash_file(path) == PAYLOAD_SHA256


def test_truncated_cached_file_is_downloaded_again(server, tmp_path, capsys):
    folder = cache_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(PAYLOAD[:100])  # what an interrupted Keras download leaves
    url = server.add("/data.bin")
    path = get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert hash_file(path) == PAYLOAD_SHA256
    assert "incomplete or outdated" in capsys.readouterr().out
    assert server.requests == ["/data.bin"]


def test_cut_transfer_is_rejected_and_nothing_is_left(server, tmp_path):
    url = server.add("/data.bin", cut=1000)
    # No hash given: the Content-Length check alone must catch it.
    with pytest.raises(DownloadError, match=r"transfer cut short: received 1,000 of 10,240 bytes"):
        get_file("data.bin", url)
    assert leftovers(cache_dir(tmp_path)) == []


def test_corrupted_body_raises_value_error_and_nothing_is_left(server, tmp_path):
    corrupted = bytearray(PAYLOAD)
    corrupted[5000] ^= 0xFF
    url = server.add("/data.bin", body=bytes(corrupted))
    with pytest.raises(ValueError, match="SHA-256 mismatch: expected " + PAYLOAD_SHA256) as info:
        get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert isinstance(info.value, CorruptDownloadError)
    assert isinstance(info.value, OSError)
    assert leftovers(cache_dir(tmp_path)) == []


@pytest.mark.parametrize(
    "status, reason", [(403, "Forbidden"), (404, "Not Found"), (500, "Internal Server Error")]
)
def test_http_errors_name_the_url_the_file_and_the_folder(server, tmp_path, status, reason):
    url = server.add("/data.bin", status=status)
    with pytest.raises(DownloadError, match=f"HTTP error {status}: {reason}") as info:
        get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    message = str(info.value)
    assert url in message
    assert f"SHA-256 {PAYLOAD_SHA256}" in message
    assert str(cache_dir(tmp_path) / "data.bin") in message
    assert leftovers(cache_dir(tmp_path)) == []


def test_redirect_is_followed(server):
    server.add("/new/data.bin")
    old = server.add("/old/data.bin", redirect=server.url + "/new/data.bin")
    path = get_file("data.bin", old, file_hash=PAYLOAD_SHA256)
    assert hash_file(path) == PAYLOAD_SHA256
    assert server.requests == ["/old/data.bin", "/new/data.bin"]


def test_stalled_server_times_out_with_a_message(server, tmp_path):
    url = server.add("/data.bin", stall=10)
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"timed out: no data for 0.3 s"):
        get_file("data.bin", url, timeout=0.3)
    assert time.monotonic() - start < 5
    assert leftovers(cache_dir(tmp_path)) == []


def test_unreachable_origin_then_working_mirror(server):
    dead = closed_port_url()
    mirror = server.add("/data.bin")
    with pytest.warns(
        RuntimeWarning, match=f"Could not download data.bin from {dead}: connection refused"
    ):
        path = get_file("data.bin", dead, file_hash=PAYLOAD_SHA256, mirrors=[mirror])
    assert hash_file(path) == PAYLOAD_SHA256


def test_unreachable_origin_then_local_file_mirror(tmp_path):
    source = tmp_path / "usb-stick" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    with pytest.warns(RuntimeWarning, match="connection refused"):
        path = get_file(
            "data.bin", closed_port_url(), file_hash=PAYLOAD_SHA256, mirrors=[source.as_uri()]
        )
    assert hash_file(path) == PAYLOAD_SHA256


def test_all_origins_failing_give_one_error_naming_each(server, tmp_path):
    dead = closed_port_url()
    missing = server.add("/a/data.bin", status=404)
    broken = server.add("/b/data.bin", status=500)
    with pytest.warns(RuntimeWarning):
        with pytest.raises(DownloadError) as info:
            get_file("data.bin", dead, file_hash=PAYLOAD_SHA256, mirrors=[missing, broken])
    message = str(info.value)
    assert f"{dead}: connection refused" in message
    assert f"{missing}: HTTP error 404" in message
    assert f"{broken}: HTTP error 500" in message
    assert "Expected file: data.bin, SHA-256 " + PAYLOAD_SHA256 in message
    assert [url for url, _ in info.value.attempts] == [dead, missing, broken]
    assert not isinstance(info.value, ValueError)  # no origin delivered wrong bytes
    copy = pickle.loads(pickle.dumps(info.value))  # e.g. raised in a worker process
    assert str(copy) == message


def test_bad_arguments_are_refused_with_the_argument_named(server):
    url = server.add("/data.bin")
    with pytest.raises(
        ValueError, match=r"fname must be a plain file name .* Received: fname='sub/data.bin'"
    ):
        get_file("sub/data.bin", url)
    with pytest.raises(
        ValueError, match=r"timeout must be a finite number of seconds > 0; received timeout=inf"
    ):
        get_file("data.bin", url, timeout=float("inf"))
    with pytest.raises(ValueError, match=r"received hash_algorithm='sha1'"):
        get_file("data.bin", url, file_hash=PAYLOAD_SHA256, hash_algorithm="sha1")
    with pytest.raises(
        ValueError, match=r"32 hexadecimal characters for MD5; received file_hash='abc'"
    ):
        get_file("data.bin", url, file_hash="abc")
    with pytest.raises(
        ValueError, match=r"http://, https:// or file:// URLs; received 'ftp://x/data.bin'"
    ):
        get_file("data.bin", "ftp://x/data.bin")
    assert server.requests == []


# ------------------------------------------------------------------------------------------------
# Read-only caches. Tests run as root, and root writes through chmod 0o555, so read-only is
# simulated in the two ways that still stop root: a cache path below a regular file (makedirs
# fails), and os.access answering "not writable" for the cache folder.


def test_unusable_cache_folder_falls_back_to_the_temporary_keras_folder(
    server, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("KERAS_HOME", str(blocker / "keras"))
    url = server.add("/data.bin")
    with pytest.warns(
        RuntimeWarning, match="cannot be written; using .*/tmp/.keras/datasets instead"
    ):
        path = get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert path == str(tmp_path / "tmp" / ".keras" / "datasets" / "data.bin")
    assert hash_file(path) == PAYLOAD_SHA256


def test_read_only_cache_with_a_good_file_is_used_without_download(server, tmp_path, monkeypatch):
    folder = cache_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(PAYLOAD)
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "keras")) and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    url = server.add("/data.bin")
    assert get_file("data.bin", url, file_hash=PAYLOAD_SHA256) == str(folder / "data.bin")
    assert server.requests == []


# ------------------------------------------------------------------------------------------------
# Interruptions and concurrency


def test_two_concurrent_fetches_both_end_with_a_good_file(server, tmp_path):
    url = server.add("/data.bin", pause=0.3)
    results, errors = [], []

    def fetch():
        try:
            results.append(get_file("data.bin", url, file_hash=PAYLOAD_SHA256, verbose=0))
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(server.requests) == 2  # both really downloaded, at the same time
    assert results == [str(cache_dir(tmp_path) / "data.bin")] * 2
    assert hash_file(results[0]) == PAYLOAD_SHA256
    assert leftovers(cache_dir(tmp_path)) == ["data.bin"]


class _InterruptedResponse(io.BytesIO):
    """A response that delivers one chunk, then the user presses Ctrl-C."""

    headers = {"Content-Length": str(len(PAYLOAD))}

    def read(self, size=-1):
        if self.tell() == 0:
            return super().read(1000)
        raise KeyboardInterrupt

    read1 = read


def test_keyboard_interrupt_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_open_url", lambda url, timeout: _InterruptedResponse(PAYLOAD))
    with pytest.raises(KeyboardInterrupt):
        get_file("data.bin", "https://example.org/data.bin", file_hash=PAYLOAD_SHA256)
    assert leftovers(cache_dir(tmp_path)) == []


def test_killed_process_leaves_no_file_a_later_run_trusts(server, tmp_path):
    url = server.add("/data.bin", cut=5000, hang=True)
    # The child loads file_utils by path so that it needs nothing else from the package.
    child = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('fu', sys.argv[1])\n"
        "fu = importlib.util.module_from_spec(spec); spec.loader.exec_module(fu)\n"
        "fu.get_file('data.bin', sys.argv[2], file_hash=sys.argv[3], verbose=0)\n"
    )
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    process = subprocess.Popen(
        [sys.executable, "-c", child, file_utils.__file__, url, PAYLOAD_SHA256], env=env
    )
    try:
        assert server.half_sent.wait(10), "the child never started downloading"
        time.sleep(0.1)
    finally:
        process.kill()
        process.wait(10)
    folder = cache_dir(tmp_path)
    assert not (folder / "data.bin").exists()
    assert all(
        name.endswith(".tmp") and name.startswith(".data.bin.tomei-") for name in leftovers(folder)
    )
    server.add("/data.bin")  # the server works again
    path = get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    assert hash_file(path) == PAYLOAD_SHA256


def test_stale_partial_downloads_are_removed(server, tmp_path):
    folder = cache_dir(tmp_path)
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)  # that process has exited: its partial file is stale
    killed = folder / f".data.bin.tomei-{dead_pid}-abc123.tmp"
    running = folder / f".data.bin.tomei-{os.getpid()}-def456.tmp"  # a download running now
    old = folder / f".other.bin.tomei-{os.getpid()}-ghi789.tmp"
    for path in (killed, running, old):
        path.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    get_file("data.bin", server.add("/data.bin"), file_hash=PAYLOAD_SHA256)
    assert leftovers(folder) == [running.name, "data.bin"]


# ------------------------------------------------------------------------------------------------
# TLS and proxies


def test_certificate_failure_gives_a_readable_message_and_leaves_nothing(tmp_path, monkeypatch):
    def refuse(url, timeout):
        error = ssl.SSLCertVerificationError(
            1,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "unable to get local issuer certificate",
        )
        error.verify_message = "unable to get local issuer certificate"
        raise urllib.error.URLError(error)

    monkeypatch.setattr(download, "_open_url", refuse)
    origin = "https://storage.example/data.bin"
    with pytest.raises(DownloadError, match="TLS certificate verification failed") as info:
        get_file("data.bin", origin, file_hash=PAYLOAD_SHA256)
    message = str(info.value)
    assert origin in message
    assert "Verification stays on" in message and "SSL_CERT_FILE" in message
    assert str(cache_dir(tmp_path) / "data.bin") in message
    assert leftovers(cache_dir(tmp_path)) == []


def test_opener_verifies_certificates_even_when_ssl_is_patched_globally(monkeypatch):
    # The popular "fix" for report 1 switches verification off for the whole process.
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    opener = download._build_opener()
    https = [h for h in opener.handlers if isinstance(h, urllib.request.HTTPSHandler)]
    assert len(https) == 1
    context = https[0]._context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    proxies = [h for h in opener.handlers if isinstance(h, urllib.request.ProxyHandler)]
    assert proxies and proxies[0].proxies["https"] == "http://127.0.0.1:3128"


def _self_signed_certificate(folder):
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=30)
    return key, cert


@pytest.mark.skipif(not os.path.exists("/usr/bin/openssl"), reason="needs the openssl command")
def test_untrusted_certificate_is_refused_for_real(tmp_path):
    key, cert = _self_signed_certificate(tmp_path)
    srv = LocalServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv.httpd.socket = context.wrap_socket(srv.httpd.socket, server_side=True)
    try:
        url = srv.add("/data.bin").replace("http://", "https://")
        with pytest.raises(DownloadError, match="TLS certificate verification failed"):
            get_file("data.bin", url, file_hash=PAYLOAD_SHA256, timeout=5)
    finally:
        srv.close()
    assert leftovers(cache_dir(tmp_path)) == []


def test_http_proxy_variable_is_honoured(server, monkeypatch):
    proxy = server  # the local server plays the proxy: it receives absolute request targets
    proxy.add("/data.bin")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    origin = closed_port_url()  # unreachable directly: only the proxy can answer
    path = get_file("data.bin", origin, file_hash=PAYLOAD_SHA256)
    assert hash_file(path) == PAYLOAD_SHA256
    assert proxy.requests == [origin]


def test_no_proxy_variable_bypasses_the_proxy(server, monkeypatch):
    url = server.add("/data.bin")
    monkeypatch.setenv("HTTP_PROXY", closed_port_url(""))  # a proxy that would fail
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert hash_file(get_file("data.bin", url, file_hash=PAYLOAD_SHA256)) == PAYLOAD_SHA256


# ------------------------------------------------------------------------------------------------
# Progress output and archives


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(server, monkeypatch, tmp_path):
    url = server.add("/data.bin")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    get_file("data.bin", url, file_hash=PAYLOAD_SHA256)
    text = terminal.getvalue()
    # tomei's one progress bar (Progbar), counting bytes; redrawn in place on a terminal.
    assert re.search(r"\r10240/10240 \[=+\] - \d+s \d+(us|ms|s)/byte *\n", text), text

    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stdout", quiet)
    get_file("other.bin", url, file_hash=PAYLOAD_SHA256, verbose=0)
    assert quiet.getvalue() == ""


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_extract_puts_the_archive_in_a_folder(server, tmp_path):
    url = server.add("/pack.tar.gz", body=_tar_gz({"pack/a.txt": b"hello"}))
    folder = get_file("pack.tar.gz", url, extract=True)
    assert folder == str(cache_dir(tmp_path) / "pack_extracted")
    with open(os.path.join(folder, "pack", "a.txt"), "rb") as f:
        assert f.read() == b"hello"


def test_untar_gives_keras_3_layout_for_the_text_tutorial(server, tmp_path):
    # get_file("aclImdb_v1", url, untar=True, cache_dir='.', cache_subdir=''), as the tutorial
    url = server.add("/aclImdb_v1.tar.gz", body=_tar_gz({
        "aclImdb/train/pos/0_9.txt": b"Great!", "aclImdb/train/neg/0_2.txt": b"Awful."}))
    base = tmp_path / "work"
    base.mkdir()
    folder = get_file("aclImdb_v1", url, untar=True, cache_dir=str(base), cache_subdir="")
    assert folder == str(base / "aclImdb_v1")
    assert (base / "aclImdb_v1_archive").is_file()  # the download keeps its own name
    with open(os.path.join(folder, "aclImdb", "train", "pos", "0_9.txt"), "rb") as f:
        assert f.read() == b"Great!"
    again = get_file("aclImdb_v1", url, untar=True, cache_dir=str(base), cache_subdir="")
    assert again == folder and len(server.requests) == 1  # cached: no second download
    get_file("aclImdb_v1", url, untar=True, cache_dir=str(base), cache_subdir="",
             force_download=True)
    assert len(server.requests) == 2


def test_untar_and_archive_format_restrict_the_archive_kind(server, tmp_path):
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("z/a.txt", "zipped")
    url = server.add("/z.zip", body=buffer.getvalue())
    with pytest.raises(ValueError, match="not a tar archive"):
        get_file("z.zip", url, untar=True)
    with pytest.raises(ValueError, match="not a tar archive"):
        get_file("z.zip", url, extract=True, archive_format="tar")
    folder = get_file("z.zip", url, extract=True, archive_format=["zip"])
    assert os.path.isfile(os.path.join(folder, "z", "a.txt"))
    with pytest.raises(ValueError, match="archive_format"):
        get_file("z.zip", url, extract=True, archive_format="rar")


def test_md5_hash_is_the_older_name_for_an_md5_file_hash(server):
    url = server.add("/data.bin")
    assert get_file("data.bin", url, md5_hash=hashlib.md5(PAYLOAD).hexdigest(), verbose=0)
    with pytest.raises(ValueError, match="md5"):
        get_file("other.bin", url, md5_hash="0" * 32, verbose=0)


def test_extract_refuses_members_outside_the_folder(server, tmp_path):
    url = server.add("/evil.tar.gz", body=_tar_gz({"../evil.txt": b"owned"}))
    with pytest.raises(ValueError, match=r"Refusing to extract .*'\.\./evil\.txt'"):
        get_file("evil.tar.gz", url, extract=True)
    assert not (cache_dir(tmp_path) / "evil.txt").exists()
    assert not (cache_dir(tmp_path) / "evil_extracted").exists()


def test_a_file_planted_in_the_shared_temporary_cache_is_not_returned(server, tmp_path):
    """Another user's <tmp>/.keras/datasets/data.bin is never read, even without a hash."""
    shared = tmp_path / "tmp" / ".keras" / "datasets"
    shared.mkdir(parents=True)
    (shared / "data.bin").write_bytes(b"planted by someone else")
    for folder in (shared, shared.parent):
        folder.chmod(0o777)
    path = get_file("data.bin", server.add("/data.bin"), verbose=0)  # no file_hash
    with open(path, "rb") as f:
        assert f.read() == PAYLOAD
    assert path == str(cache_dir(tmp_path) / "data.bin")
