"""Shared pieces of the adversarial suite: a small model, file surgery, peak-memory probes.

Everything here runs on the local machine only: files under pytest's tmp_path, servers on
127.0.0.1, child processes killed within a bounded loop.
"""
from __future__ import annotations

import io
import os
import zipfile

import h5py
import numpy as np
from memory_probe import peak_memory  # noqa: F401  (tests/memory_probe.py, shared)

import tomei.keras as tk
from tomei.keras import layers

X = np.random.default_rng(0).random((32, 4)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, 32)
MB = 2**20


def small_model(seed=0, fit=True, optimizer="adam"):
    """Input(4) -> Dense(5, relu) -> Dense(3): compiled, optionally trained one epoch (so the
    optimizer has slots to save)."""
    tk.utils.set_random_seed(seed)
    model = tk.Sequential([layers.Input(shape=(4,)), layers.Dense(5, activation="relu"),
                           layers.Dense(3)])
    model.compile(optimizer=optimizer,
                  loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True))
    if fit:
        model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    return model


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def assert_weights_equal(model, expected):
    got = model.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def rewrite_keras(path, mutate_h5=None, config=None, extra_members=None, compression=None):
    """Rewrites the .keras zip at ``path``: ``mutate_h5(h5)`` edits model.weights.h5 in place,
    ``config`` (bytes or a function of the parsed config returning bytes/dict) replaces
    config.json, ``extra_members`` {name: bytes} are added."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if mutate_h5 is not None:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as h5:
            mutate_h5(h5)
        members["model.weights.h5"] = buffer.getvalue()
    if config is not None:
        import json
        if callable(config):
            config = config(json.loads(members["config.json"]))
        if isinstance(config, dict):
            config = json.dumps(config).encode()
        members["config.json"] = config
    members.update(extra_members or {})
    with zipfile.ZipFile(path, "w", compression or zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def fifo_path(folder):
    """A named pipe: opening it for reading blocks until a writer comes, so a reader that
    follows a link to it hangs (a test runs such loads in a child with a deadline)."""
    path = os.path.join(folder, "trap.fifo")
    os.mkfifo(path)
    return path


class HostileServer:
    """An HTTP server on 127.0.0.1 that misbehaves on purpose.

    ``routes`` maps a URL path to (body bytes, mode); modes: "ok" sends it; "stall" sends
    the first half, then waits (at most ``stall_s`` seconds, so every loop is bounded)
    before closing without the rest. ``half_sent`` is set once a stalled body is half out.
    """

    def __init__(self, stall_s=20.0):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.routes = {}
        self.half_sent = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body, mode = server.routes.get(self.path, (None, "missing"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "stall":
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    server.half_sent.set()
                    server.release.wait(stall_s)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def temp_leftovers(folder):
    """tomei's temporary files in ``folder``."""
    from tomei.keras.utils.atomic_write import is_our_temp_name
    return sorted(n for n in os.listdir(folder) if is_our_temp_name(n) is not None)
