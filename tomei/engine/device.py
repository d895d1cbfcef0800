"""Where arrays live: the CPU (NumPy arrays) or a GPU (CuPy arrays).

tomei has one engine, written against the NumPy API. CuPy (https://cupy.dev) implements the
same API on NVIDIA GPUs, and NumPy hands its functions to CuPy when they receive CuPy arrays
(NEP 18, ``__array_function__``; NEP 13, ``__array_ufunc__``): ``np.exp(x)``,
``np.matmul(a, b)`` and ``a @ b`` run on the GPU when ``x``, ``a`` and ``b`` are there. What
NumPy cannot hand over, because no array is passed, is gathered here, in one shim:

- :func:`array_module` -- the module (``numpy`` or ``cupy``) of some values, for creating
  arrays next to them (``xp.zeros``, ``xp.asarray``);
- :func:`to_host` / :func:`to_device` -- copies between the CPU and the GPU (a CuPy array
  never turns into a NumPy array silently: CuPy refuses, and so does tomei);
- :func:`scatter_add` -- ``np.add.at`` (CuPy spells it ``cupyx.scatter_add``);
- :func:`uniform` -- random numbers made where they are used (dropout masks).

Placement, the TensorFlow way: ``with tomei.device('/GPU:0'):`` places the variables created
inside on the GPU; ``TOMEI_DEVICE=gpu`` (or ``cpu``) sets the default; the default ``auto``
lets ``fit`` choose the GPU when one is present and the model is large enough to gain
(:func:`should_use_gpu`, measured in docs/gpu.md). ``import tomei`` never imports CuPy; only
asking for a GPU or meeting a CuPy array does.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

import numpy as np

from tomei import config

__all__ = ["GPUUnavailableError", "array_module", "current_device", "device", "gpu_module",
           "is_device_array", "like", "list_gpus", "scatter_add", "should_use_gpu",
           "to_device", "to_host", "uniform"]

DEVICE_ENV = "TOMEI_DEVICE"
#: Training steps estimated above this many floating-point operations go to the GPU under
#: ``auto`` (see :func:`should_use_gpu`).
GPU_MIN_FLOPS_PER_STEP = 5e8

# Array types other than numpy.ndarray, mapped to their NumPy-compatible module. CuPy's type
# is added the first time a CuPy array is met or a GPU is asked for; tests add a strict
# stand-in (tests/engine/strict_device.py) to run the device path on the CPU.
_MODULES: dict[type, object] = {}
_state = threading.local()
_announced = set()


class GPUUnavailableError(RuntimeError):
    """A GPU was asked for but CuPy or a CUDA device is missing."""


def gpu_module():
    """The CuPy module, imported on first use.

    Raises:
        GPUUnavailableError: CuPy is not installed, or it finds no CUDA device; the message
            says what to install.
    """
    try:
        import cupy
    except ImportError:
        raise GPUUnavailableError(
            "A GPU was asked for, but CuPy is not installed. Install the CuPy wheel for your "
            "CUDA version: pip install 'tomei[gpu]' (CUDA 12: cupy-cuda12x; CUDA 13: "
            "cupy-cuda13x), or unset TOMEI_DEVICE / leave out tf.device('/GPU:0') to "
            "train on the CPU.") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDA reports missing drivers in many ways
        raise GPUUnavailableError(f"CuPy is installed but finds no usable CUDA device: "
                                  f"{exc}") from None
    if count < 1:
        raise GPUUnavailableError("CuPy is installed but finds no CUDA device.")
    _MODULES.setdefault(cupy.ndarray, cupy)
    return cupy


def register_array_module(array_type, module):
    """Makes ``array_type`` a device array whose functions live in ``module`` (for CuPy and
    for the strict stand-in the tests use)."""
    _MODULES[array_type] = module


def _module_of_type(kind):
    module = _MODULES.get(kind)
    if module is None and kind.__module__.partition(".")[0] == "cupy":
        module = sys.modules["cupy"]
        _MODULES[kind] = module
    return module


def is_device_array(value) -> bool:
    """True for an array that lives on a GPU (a CuPy array)."""
    return type(value) is not np.ndarray and _module_of_type(type(value)) is not None


def array_module(*values):
    """``numpy``, or the device module (``cupy``) when any of ``values`` (arrays or Tensors)
    lives on the GPU."""
    for v in values:
        v = getattr(v, "_value", v)
        kind = type(v)
        if kind is np.ndarray or kind in (float, int, bool) or v is None:
            continue
        module = _module_of_type(kind)
        if module is not None:
            return module
    return np


def to_host(value):
    """A NumPy array (or scalar) of ``value``: a copy from the GPU, else ``value`` itself."""
    value = getattr(value, "_value", value)
    if is_device_array(value):
        return array_module(value).asnumpy(value)
    return value


def to_device(value, where=None):
    """``value`` as an array on ``where`` (``"gpu"``, ``"cpu"``; default: the current
    device). Arrays already there are returned as they are."""
    where = where or current_device()
    if where == "cpu":
        return to_host(value)
    module = gpu_module() if not _gpu_stand_in() else _gpu_stand_in()
    return module.asarray(value)


def _gpu_stand_in():
    """The module the tests registered to play the GPU, if any."""
    return getattr(_state, "stand_in", None)


def set_gpu_stand_in(module):
    """Tests only: plays the GPU with ``module`` (None ends it)."""
    _state.stand_in = module


def _parse(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"device: expected a device name string such as '/GPU:0' or 'CPU:0'; "
                        f"received {type(name).__name__}.")
    text = name.strip().lower().replace("/device:", "/")
    text = text.lstrip("/")
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "gpu") or (index and not index.isdigit()):
        raise ValueError(f"device: expected '/CPU:0' or '/GPU:0' (or 'cpu', 'gpu'); received "
                         f"{name!r}.")
    if kind == "gpu" and index not in ("", "0"):
        raise ValueError(f"device: tomei uses one GPU, '/GPU:0'; received {name!r}.")
    return kind


def current_device() -> str:
    """``"cpu"``, ``"gpu"`` or ``"auto"``: the innermost ``device(...)`` block, else
    ``$TOMEI_DEVICE`` (default ``auto``)."""
    stack = getattr(_state, "stack", None)
    if stack:
        return stack[-1]
    value = os.environ.get(DEVICE_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "cpu", "gpu"):
        raise ValueError(f"{DEVICE_ENV}: expected 'auto', 'cpu' or 'gpu'; received {value!r}.")
    return value


@contextlib.contextmanager
def device(name):
    """``with tomei.device('/GPU:0'):`` -- variables created inside live on that device,
    and ``fit`` trains there. ``'/CPU:0'`` forces the CPU.

    Raises:
        ValueError: a name other than CPU or GPU 0.
        GPUUnavailableError: ``'/GPU:0'`` without CuPy or a CUDA device.
    """
    kind = _parse(name)
    if kind == "gpu" and _gpu_stand_in() is None:
        gpu_module()
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(kind)
    try:
        yield
    finally:
        stack.pop()


def list_gpus() -> list:
    """Names of the usable GPUs (``['/physical_device:GPU:0']``), empty without CuPy or CUDA.
    Never raises."""
    if _gpu_stand_in() is not None:
        return ["/physical_device:GPU:0"]
    if "cupy" not in sys.modules and os.environ.get(DEVICE_ENV, "").lower() == "cpu":
        return []
    try:
        gpu_module()
    except GPUUnavailableError:
        return []
    return ["/physical_device:GPU:0"]


def free_memory() -> int:
    """Free bytes on the GPU (unlimited for the tests' stand-in)."""
    if _gpu_stand_in() is not None:
        return 1 << 62
    free, _total = gpu_module().cuda.Device().mem_info
    return int(free)


def should_use_gpu(flops_per_step: float) -> bool:
    """The placement rule of ``fit``: on ``gpu`` always, on ``cpu`` never; under ``auto``,
    when a GPU is present and one training step is estimated at no less than
    :data:`GPU_MIN_FLOPS_PER_STEP` (0.5 GFLOP). Below that a step is a few milliseconds of
    CPU work, and a GPU spends as long launching its many small kernels (docs/gpu.md has the
    measurements: the tutorial's MLP at batch 32, ~0.02 GFLOP a step, is as fast on the CPU;
    the keras-io convnet at batch 128, ~1.9 GFLOP a step, gains about 10x)."""
    where = current_device()
    if where != "auto":
        return where == "gpu"
    return flops_per_step >= GPU_MIN_FLOPS_PER_STEP and bool(list_gpus())


def announce(message: str):
    """Prints ``message`` once per process (the placement rule's decision)."""
    if message not in _announced:
        _announced.add(message)
        print(f"tomei: {message}", file=sys.stderr, flush=True)


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices summed (``np.add.at``), in place,
    on the device of ``target``."""
    xp = array_module(target)
    if xp is np:
        np.add.at(target, index, values)
    elif hasattr(xp, "scatter_add"):  # the strict stand-in
        xp.scatter_add(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)
    return target


def uniform(shape, like, rng):
    """Uniform [0, 1) float32 numbers of ``shape`` from ``rng`` (tomei's seeded NumPy
    Generator), on the device of ``like``. They are drawn on the host and copied over, so a
    seed gives the same dropout masks on the CPU and the GPU (the copy is small next to the
    products that use it)."""
    values = rng.random(shape, dtype=np.float32)
    return values if array_module(like) is np else array_module(like).asarray(values)


def like(value, reference, dtype=None):
    """``value`` (an array, list or scalar) as an array on the device of ``reference``, with
    ``dtype`` (default: its own). Returns ``value`` itself when nothing needs to change."""
    value = getattr(value, "_value", value)
    xp = array_module(reference)
    if xp is np:
        if is_device_array(value):
            value = to_host(value)
        return np.asarray(value, dtype=dtype)
    if array_module(value) is xp:
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return xp.asarray(value, dtype=dtype)


config.gpu_lister = list_gpus  # tf.config.list_physical_devices('GPU') asks this module
