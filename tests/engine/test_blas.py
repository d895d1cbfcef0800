"""tomei.engine.blas: large products get every BLAS thread, small ones are left alone, and
the limit around them comes back."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from tomei.engine import blas


def blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_cpus(monkeypatch):
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(blas.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    if not blas_threads():
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")


def test_available_follows_the_environment_then_the_cpus(two_cpus, monkeypatch):
    assert blas.available() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas.available() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert blas.available() == 1


def test_a_large_product_gets_every_thread_and_the_limit_comes_back(two_cpus):
    with threadpool_limits(limits=1, user_api="blas"):
        with blas.for_product(blas.LARGE):
            assert blas_threads() == [2] * len(blas_threads())
            a = np.ones((300, 200), np.float32)
            np.testing.assert_array_equal(a @ a.T, np.full((300, 300), 200, np.float32))
        assert set(blas_threads()) == {1}
        with pytest.raises(RuntimeError):
            with blas.for_product(blas.LARGE):
                raise RuntimeError("inside")
        assert set(blas_threads()) == {1}          # also after an error


def test_a_small_product_and_a_one_thread_request_change_nothing(two_cpus, monkeypatch):
    with threadpool_limits(limits=1, user_api="blas"):
        with blas.for_product(blas.LARGE - 1):
            assert set(blas_threads()) == {1}
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
        with blas.for_product(10 * blas.LARGE):
            assert set(blas_threads()) == {1}
