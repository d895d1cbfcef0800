"""Global settings: the default float type, the random generator behind every seed, and
TensorFlow's ``tf.config`` queries (devices, eager execution)."""
import numpy as np

_FLOATX = np.dtype("float32")
_FLOATX_NAME = "float32"  # kept as a string too: dtype.name is slow to compute
_rng = np.random.default_rng()


def floatx() -> str:
    """The default float type, ``'float32'`` (as ``keras.backend.floatx()``)."""
    return _FLOATX_NAME


def floatx_dtype() -> np.dtype:
    """The default float type as a NumPy dtype."""
    return _FLOATX


def set_floatx(value: str):
    """Sets the default float type: one of 'float16', 'float32', 'float64'."""
    global _FLOATX, _FLOATX_NAME
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx: expected 'float16', 'float32' or 'float64'; "
                         f"received floatx={value!r}.")
    _FLOATX, _FLOATX_NAME = np.dtype(value), value


def rng() -> np.random.Generator:
    """The generator used by initializers, dropout and shuffling when no seed is given."""
    return _rng


def set_seed(seed: int):
    """Re-seeds tomei's generator (``tomei.keras.utils.set_random_seed`` also seeds Python and NumPy)."""
    global _rng
    _rng = np.random.default_rng(seed)


class PhysicalDevice(tuple):
    """A device tomei can compute on, as ``tf.config.PhysicalDevice``: (name, device_type)."""

    def __new__(cls, name, device_type):
        return super().__new__(cls, (name, device_type))

    name = property(lambda self: self[0])
    device_type = property(lambda self: self[1])

    def __repr__(self):
        return f"PhysicalDevice(name={self.name!r}, device_type={self.device_type!r})"


_CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")


#: Lists the usable GPUs' names; set by tomei/engine/device.py when the engine loads (config
#: sits below the engine and cannot import it).
gpu_lister = None


def list_physical_devices(device_type=None) -> list:
    """The devices of ``device_type`` ('CPU', 'GPU'; all when None): the CPU always, and
    ``PhysicalDevice('/physical_device:GPU:0', 'GPU')`` when CuPy finds a CUDA GPU
    (tomei/engine/device.py; CuPy is imported only by this question or by asking for a GPU).
    """
    kind = None if device_type is None else str(device_type).upper()
    gpus = gpu_lister() if gpu_lister is not None else []
    found = [_CPU] + [PhysicalDevice(name, "GPU") for name in gpus]
    return [d for d in found if kind is None or d.device_type == kind]


def list_logical_devices(device_type=None) -> list:
    """Same as :func:`list_physical_devices`, with logical device names (``/device:CPU:0``)."""
    return [PhysicalDevice(d.name.replace("/physical_device:", "/device:"), d.device_type)
            for d in list_physical_devices(device_type)]


_run_functions_eagerly = False


def run_functions_eagerly(run_eagerly: bool):
    """Accepted as in TensorFlow. tomei has no graph mode: ``tf.function`` always runs
    eagerly, so True describes what already happens, and False changes nothing. The value
    is remembered for :func:`functions_run_eagerly`.

    Raises:
        TypeError: ``run_eagerly`` is not a bool.
    """
    global _run_functions_eagerly
    if not isinstance(run_eagerly, bool):
        raise TypeError(f"run_functions_eagerly expects True or False; received {run_eagerly!r}.")
    _run_functions_eagerly = run_eagerly


def functions_run_eagerly() -> bool:
    """The value last given to :func:`run_functions_eagerly` (False at start)."""
    return _run_functions_eagerly
