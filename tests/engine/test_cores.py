"""tomei.engine.cores: a large product or compiled loop cut in parts, one per core, gives
the numbers of one piece; small work, several BLAS threads or non-NumPy arrays stay whole."""
import os
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from tomei.engine import cores


@pytest.fixture
def two_cores(monkeypatch):
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)


def test_available_follows_the_environment_then_the_cpus(two_cores, monkeypatch):
    assert cores.available() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cores.available() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert cores.available() == 1


def big(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_products_in_parts_equal_one_piece(two_cores):
    a, b, stack = big(40_000, 30), big(30, 20, seed=1), big(3, 30, 20, seed=2)
    g = big(40_000, 20, seed=3)
    with threadpool_limits(limits=1, user_api="blas"):
        assert len(cores._bounds(len(a), True, a, b, product=True)) == 2   # it does cut
        np.testing.assert_array_equal(cores.rows_product(a, b), a @ b)   # row by row: exact
        np.testing.assert_array_equal(cores.rows_product(a, stack), a @ stack)
        out = np.empty((40_000, 20), np.float32)
        assert cores.rows_product(a, b, out=out) is out
        np.testing.assert_allclose(cores.shared_rows_product(a, g), a.T @ g, rtol=1e-4, atol=1e-3)


def test_small_work_or_several_blas_threads_stay_whole(two_cores):
    a = big(40_000, 30)
    assert cores._bounds(len(a), False, a) == [(0, len(a))]
    with threadpool_limits(limits=2, user_api="blas"):
        if cores._blas_threads() == 2:   # (a BLAS built for one thread cannot show this)
            assert cores._bounds(len(a), True, a, product=True) == [(0, len(a))]
    assert cores._bounds(len(a), True, a, [1.0]) == [(0, len(a))]   # not a NumPy array


def test_over_batch_runs_every_part_once_on_two_threads(two_cores):
    seen, threads = [], set()

    def kernel(values, start, stop):
        threads.add(threading.get_ident())
        seen.append((start, stop))
        values[start:stop] += 1

    values = np.zeros(7)
    cores.over_batch(kernel, 7, values, work=cores.LOOP_WORK)
    assert sorted(seen) == [(0, 3), (3, 7)] and len(threads) == 2
    np.testing.assert_array_equal(values, np.ones(7))
    seen.clear()
    cores.over_batch(kernel, 7, values, work=cores.LOOP_WORK - 1)
    assert seen == [(0, 7)]


def test_over_batch_with_products_is_cut_only_under_one_blas_thread(two_cores):
    """``product=True`` (parts that run matrix products, conv2d's Winograd path): two parts
    under fit's one-BLAS-thread limit, one piece when BLAS has threads of its own."""
    seen = []

    def kernel(start, stop):
        seen.append((start, stop))

    with threadpool_limits(limits=1, user_api="blas"):
        cores.over_batch(kernel, 4, work=cores.LOOP_WORK, product=True)
    assert sorted(seen) == [(0, 2), (2, 4)]
    with threadpool_limits(limits=2, user_api="blas"):
        if cores._blas_threads() == 2:   # (a BLAS built for one thread cannot show this)
            seen.clear()
            cores.over_batch(kernel, 4, work=cores.LOOP_WORK, product=True)
            assert seen == [(0, 4)]


def test_an_error_in_a_helper_part_is_raised_after_all_parts_end(two_cores):
    done = []

    def kernel(start, stop):
        if start > 0:
            raise RuntimeError("part 2")
        done.append(start)

    with pytest.raises(RuntimeError, match="part 2"):
        cores.over_batch(kernel, 4, work=cores.LOOP_WORK)
    assert done == [0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_cuts_work_after_the_parent_did(two_cores):
    """A process forked after the helper threads started (multiprocessing's default on
    Linux) has none of them running: its first cut must start its own, not wait forever on
    the parent's (which the child's copy of the pool still counts as idle)."""
    def cut():
        seen = []
        cores.over_batch(lambda lo, hi: seen.append((lo, hi)), 4, work=cores.LOOP_WORK)
        return sorted(seen)
    assert cut() == [(0, 2), (2, 4)]          # the parent's helper thread is running now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the cut completes
        done = threading.Event()
        worker = threading.Thread(target=lambda: (cut(), done.set()), daemon=True)
        worker.start()
        os._exit(0 if done.wait(20) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child's cut never finished"
