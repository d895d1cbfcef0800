"""Shared test setup.

Real data: the end-to-end tests use Fashion-MNIST from Debian's ``dataset-fashion-mnist``
(/usr/share/datasets/fashion-mnist). Elsewhere they skip, but CI sets
TOMEI_REQUIRE_REAL_DATA=1 and then a missing package stops the run instead of skipping.
"""
import os

import pytest

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
