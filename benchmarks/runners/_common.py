"""What the three runners share: the run configuration, data, timers and the result line.

Only the standard library is imported at module level, so a runner can import this file
first and still time ``import <framework>`` on a process where nothing heavy is loaded yet.
NumPy is imported inside the functions that need it (after the framework import).

Protocol: the orchestrator (``benchmarks/tutorial_bench.py``) starts
``python runners/<name>_run.py '<config as JSON>'`` in a fresh process; the runner prints
exactly one line ``@@BENCH@@ {json}`` on stdout, last, and exits 0 (or prints the same line
with an ``"error"`` key and exits 1).
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import time
import traceback

MARKER = "@@BENCH@@ "
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

try:
    import resource          # POSIX
except ImportError:          # Windows: psutil, when installed, gives the same figures
    resource = None

now = time.perf_counter


def convnet_model(keras):
    """The keras-io "Simple MNIST convnet", compiled as the example does (Adam, categorical
    cross-entropy, accuracy), built with ``keras`` (tomei.keras, tf.keras or Keras 3)."""
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def config_from_argv() -> dict:
    """The JSON configuration the orchestrator passes as the only argument."""
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {os.path.basename(sys.argv[0])} '<config JSON>' "
                         f"(started by benchmarks/tutorial_bench.py)")
    return json.loads(sys.argv[1])


def emit(result: dict) -> None:
    """Prints the one result line (flushes first, so framework output cannot interleave)."""
    sys.stderr.flush()
    sys.stdout.flush()
    sys.stdout.write(MARKER + json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def run_guarded(main) -> None:
    """Calls ``main()`` and emits its result, or an error line with the traceback."""
    try:
        result = main()
    except BaseException:  # noqa: BLE001 - report everything, including KeyboardInterrupt
        emit({"error": traceback.format_exc()})
        raise SystemExit(1)
    emit(result)


# --- data ------------------------------------------------------------------------------------
def idx_paths(data_dir: str):
    """The four IDX files in ``data_dir``: {key: path}, each the gzip file (Debian's, Keras's
    mirror) or the uncompressed one (the npm ``mnist`` packages), whichever is there; None
    when one is missing."""
    out = {}
    for key, name in FILES.items():
        for candidate in (name, name[:-len(".gz")]):
            path = os.path.join(data_dir, candidate)
            if os.path.isfile(path):
                out[key] = path
                break
        else:
            return None
    return out


def idx_files_present(data_dir: str = DEBIAN_DIR) -> bool:
    return idx_paths(data_dir) is not None


def read_idx(path: str):
    """A minimal IDX reader (NumPy, plus gzip for ``.gz``), so the peer runners do not import
    tomei.

    IDX: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions, then each
    dimension as a big-endian uint32, then the data in C order.
    """
    import numpy as np

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {shape}")
    return data.reshape(shape)


def read_idx_dataset(data_dir: str = DEBIAN_DIR):
    """``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, like Keras's load_data, from
    the four IDX files in ``data_dir`` (Fashion-MNIST or MNIST: the same format)."""
    paths = idx_paths(data_dir)
    if paths is None:
        raise FileNotFoundError(f"{data_dir}: the four IDX files ({', '.join(FILES.values())}, "
                                f"gzipped or not) are not all there")
    arrays = {key: read_idx(path) for key, path in paths.items()}
    return ((arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]))


def synthetic_fashion_mnist(n_train: int, n_test: int, seed: int = 0):
    """Fashion-MNIST-shaped stand-in data (uint8 28x28 images, 10 classes) that is learnable:
    each class has a fixed random blob pattern; samples are that pattern, shifted by up to
    2 pixels, with noise. Used by ``--synthetic`` and by ``--smoke`` when the Debian files
    are missing, so the smoke test never needs the network."""
    import numpy as np

    rng = np.random.default_rng(seed)
    protos = rng.random((10, 28, 28)) < 0.25
    protos = protos.astype(np.float64) * 200.0

    def make(n):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = protos[labels]
        shifts = rng.integers(-2, 3, size=(n, 2))
        out = np.empty((n, 28, 28), dtype=np.float64)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                out[sel] = np.roll(images[sel], (dy, dx), axis=(1, 2))
        out += rng.normal(0.0, 40.0, size=out.shape)
        return np.clip(out, 0, 255).astype(np.uint8), labels

    return make(n_train), make(n_test)


def load_for_peer(cfg: dict):
    """Data for the peer runners (and tomei on MNIST): the IDX files or the synthetic set."""
    if cfg["data"] == "synthetic":
        return synthetic_fashion_mnist(cfg["n_train"], cfg["n_test"], seed=12345)
    return read_idx_dataset(cfg.get("data_dir") or DEBIAN_DIR)


def subset(data, cfg):
    """The first n_train / n_test samples (the smoke and scaling runs use fewer)."""
    (x_train, y_train), (x_test, y_test) = data
    n, m = cfg["n_train"], cfg["n_test"]
    return (x_train[:n], y_train[:n]), (x_test[:m], y_test[:m])


# --- memory ----------------------------------------------------------------------------------
def peak_rss() -> dict:
    """Peak resident memory of this process, in MB (10**6 bytes).

    ``vmhwm_mb``: the kernel's high-water mark of this process image (/proc/self/status,
    Linux); ``ru_maxrss_mb``: getrusage's maximum. Linux carries ru_maxrss over execve, so it
    can include the parent's size at spawn; the orchestrator is kept small (standard library
    only) so both agree to within a few MB. ``peak_rss_mb`` is VmHWM where available, else
    ru_maxrss, else psutil's peak working set (Windows).
    """
    out = {}
    if resource is not None:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports KiB, macOS bytes.
        out["ru_maxrss_mb"] = maxrss / 1e6 if sys.platform == "darwin" else maxrss * 1024 / 1e6
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    out["vmhwm_mb"] = int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    if "vmhwm_mb" not in out and "ru_maxrss_mb" not in out:
        try:
            import psutil

            info = psutil.Process().memory_info()
            out["psutil_peak_mb"] = getattr(info, "peak_wset", info.rss) / 1e6
        except ImportError:
            pass
    out["peak_rss_mb"] = out.get("vmhwm_mb", out.get("ru_maxrss_mb", out.get("psutil_peak_mb")))
    return out


def cpu_times() -> dict:
    """User and system CPU seconds of this process (shows how many cores a run kept busy)."""
    if resource is not None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return {"cpu_user_s": r.ru_utime, "cpu_sys_s": r.ru_stime}
    try:
        import psutil

        t = psutil.Process().cpu_times()
        return {"cpu_user_s": t.user, "cpu_sys_s": t.system}
    except ImportError:
        return {}
