"""How many threads the BLAS library (OpenBLAS, MKL, ...) gives one large matrix product.

``fit`` runs a step on one BLAS thread when its batch is small
(``Trainer._blas_threads`` in tomei/keras/models/trainer.py): a Dense network's products
are then so small that waking a second thread costs more than it saves. A convolution's
products are large even at small batches, because every output pixel is a row: the second
convolution of the keras-io MNIST convnet multiplies (15488 x 288) by (288 x 64) at batch
128, 285 million multiply-adds, and two threads do it in about half the time of one
(docs/convolution.md). :func:`for_product` gives such a product every thread this process
may use, whatever limit is in force around it, and puts the limit back afterwards.

"Every thread this process may use" is ``OPENBLAS_NUM_THREADS``, else ``OMP_NUM_THREADS``,
else ``MKL_NUM_THREADS`` when set (so a user who asked for one thread keeps one), else the
number of CPUs this process may run on. The threads are set with threadpoolctl (a
dependency), imported at the first large product only.
"""
from __future__ import annotations

import contextlib
import os

#: Products of at least this many multiply-adds get every thread (below: left as they are).
#: A second thread paid from about here on the 2-core build machine: the convnet's first
#: convolution, (86528 x 9) @ (9 x 32) = 25 M multiply-adds, took 0.87 ms on one OpenBLAS
#: thread and 0.48 ms on two; Dense(784 -> 128) at batch 32 (3.2 M) was faster on one.
LARGE = 10_000_000

_controllers = None  # threadpoolctl's controllers of the BLAS libraries, once looked up


def available() -> int:
    """The number of BLAS threads a large product may use (see the module docstring)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return os.cpu_count() or 1


@contextlib.contextmanager
def for_product(multiply_adds: int):
    """Inside: the BLAS library uses :func:`available` threads when ``multiply_adds`` (rows x
    inner size x columns of the product) is at least :data:`LARGE`; nothing changes below.

    The previous thread count comes back on exit, also after an error.
    """
    wanted = available()
    if multiply_adds < LARGE or wanted < 2:
        yield
        return
    raised = []
    for lib in _blas_controllers():
        before = lib.get_num_threads()
        if before is not None and before < wanted:
            lib.set_num_threads(wanted)
            raised.append((lib, before))
    try:
        yield
    finally:
        for lib, before in raised:
            lib.set_num_threads(before)


def _blas_controllers() -> list:
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _controllers = []
        else:
            _controllers = [lib for lib in ThreadpoolController().lib_controllers
                            if lib.user_api == "blas"]
    return _controllers
