"""Every core for the large parts of a step: one product, or one compiled loop, cut in parts.

``fit`` runs a step's matrix products on one BLAS thread when its batch is small
(``Trainer._blas_threads`` in tomei/keras/models/trainer.py): a Dense network's products
are then so small that waking a second thread costs more than it saves. A convolution's
products are large even at small batches, because every output pixel is a row: the second
convolution of the keras-io MNIST convnet multiplies (15488 x 288) by (288 x 64) at batch
128, 285 million multiply-adds. The functions here cut such a product (or a compiled loop
over the images of a batch, tomei/engine/fused.py) into one part per core, run the first
part on the calling thread and the others on tomei's helper threads at the same time, and
return when all are done. NumPy's ``matmul`` and the numba kernels (compiled ``nogil``)
release the GIL, so the parts do run at once.

Why not the BLAS library's own threads, or numba's ``parallel=True``: after a product
OpenBLAS's threads keep spinning for a while, waiting for the next one, and numba's
threads do the same after a parallel loop; on the 2-core build machine each pool's spinning
threads made the other's next call up to 2x slower (docs/convolution.md). Idle helper
threads here sleep.

The parts are cut only when the work is at least :data:`PRODUCT_WORK` multiply-adds (or
:data:`LOOP_WORK` values for a loop), the arrays are NumPy arrays, and, for products, the BLAS library is on one
thread (as in fit); otherwise the call runs as one piece, unchanged. How many parts:
:func:`available`.
"""
from __future__ import annotations

import os
import threading

import numpy as np

#: Products of fewer multiply-adds stay in one piece: handing a part to another thread
#: costs tens of microseconds. On the 2-core build machine the convnet's first convolution,
#: (86528 x 9) @ (9 x 32) = 25 M multiply-adds, took 0.87 ms in one piece and 0.48 ms in two;
#: Dense(784 -> 128) at batch 32 (3.2 M) was faster in one.
PRODUCT_WORK = 10_000_000
#: Compiled loops touching fewer values stay in one piece (200,000 float32 values take about
#: 0.1 ms; the hand-off to a helper thread about 0.04 ms).
LOOP_WORK = 200_000

_pool = None         # the helper threads (a ThreadPoolExecutor), made at the first cut
_blas = None         # threadpoolctl's controllers of the BLAS libraries, once looked up
_lock = threading.Lock()


def available() -> int:
    """How many parts: ``OPENBLAS_NUM_THREADS``, else ``OMP_NUM_THREADS``, else
    ``MKL_NUM_THREADS`` when set (a user who asked for one thread gets one), else the number
    of CPUs this process may run on."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return os.cpu_count() or 1


def rows_product(a, b, out=None):
    """``a @ b`` for ``a`` (M, K) and ``b`` (K, N) or a stack (T, K, N): the rows of ``a`` in
    parts, each part's rows of the result from one thread. Returns ``out`` ((M, N) or
    (T, M, N), allocated when None). Same numbers as one ``np.matmul``: each result row is
    one row of ``a`` times ``b``."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:  # a GPU array: its own way
        if out is None:
            return a @ b
        out[...] = a @ b
        return out
    if out is None:
        out = np.empty_like(a, shape=b.shape[:-2] + (a.shape[0], b.shape[-1]))
    bounds = _bounds(a.shape[0], a.size * b.size // b.shape[-2] >= PRODUCT_WORK, a, b, product=True)
    _run([(np.matmul, (a[lo:hi], b), {"out": out[..., lo:hi, :]}) for lo, hi in bounds])
    return out


def shared_rows_product(a, b):
    """``a.T @ b`` for ``a`` (M, K) and ``b`` (M, N): a sum over the M shared rows, cut in
    parts: each part's ``a[part].T @ b[part]`` on one thread, the partial (K, N) results
    then added in order (in one piece: one ``np.matmul``)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:  # a GPU array: its own way
        return a.T @ b
    bounds = _bounds(a.shape[0], a.size * b.shape[1] >= PRODUCT_WORK, a, b, product=True)
    parts = [np.empty_like(a, shape=(a.shape[1], b.shape[1])) for _ in bounds]
    _run([(np.matmul, (a[lo:hi].T, b[lo:hi]), {"out": part})
          for (lo, hi), part in zip(bounds, parts)])
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def over_batch(kernel, n, *args, work=0, product=False):
    """``kernel(*args, start, stop)`` for parts [start, stop) of ``range(n)`` (the images of
    a batch), one part per thread; ``work`` (values touched) decides whether to cut. The
    kernel must write only its own images' entries (tomei/engine/fused.py's conv kernels).
    ``product``: the kernel runs matrix products, so it stays in one piece unless the BLAS
    library is on one thread (as :func:`rows_product`)."""
    _run([(kernel, args + (lo, hi), {})
          for lo, hi in _bounds(n, work >= LOOP_WORK, product=product)])


def _bounds(n, large, *arrays, product=False) -> list:
    """[(start, stop), ...]: :func:`available` parts of ``range(n)``, or one when the work is
    not ``large``, an array is not a NumPy array, or (``product``) BLAS has several threads."""
    parts = min(available(), n)
    if (parts < 2 or not large or any(type(a) is not np.ndarray for a in arrays)
            or (product and _blas_threads() != 1)):
        return [(0, n)]
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]


def _run(calls) -> None:
    """Runs ``fn(*args, **kwargs)`` for each call: the first here, the others on the helper
    threads; returns when all are done (an error in any is raised here)."""
    if len(calls) == 1:
        fn, args, kwargs = calls[0]
        fn(*args, **kwargs)
        return
    pending = [_helpers().submit(fn, *args, **kwargs) for fn, args, kwargs in calls[1:]]
    fn, args, kwargs = calls[0]
    try:
        fn(*args, **kwargs)
    finally:
        for future in pending:
            future.result()


def _forget_helpers_in_child():
    """In a process just forked (multiprocessing's default on Linux): the parent's helper
    threads do not exist here, but the copied pool still counts them as idle and would
    queue work for them forever. Drop it; the next cut starts this process's own."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_helpers_in_child)


def _helpers():
    global _pool
    with _lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor
            _pool = ThreadPoolExecutor(max_workers=max(available() - 1, 1),
                                       thread_name_prefix="tomei-core")
    return _pool


def _blas_threads():
    """The BLAS library's current thread count (the largest, if NumPy sees several)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _blas = []
        else:
            _blas = [lib for lib in ThreadpoolController().lib_controllers
                     if lib.user_api == "blas"]
    return max((lib.get_num_threads() or 1 for lib in _blas), default=1)
