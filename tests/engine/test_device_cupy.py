"""The device path on a real GPU (CuPy and CUDA). Marked ``gpu``: these run where CuPy finds
a GPU (``python -m pytest -m gpu tests/engine/test_device_cupy.py`` on the GPU machine, as
benchmarks/gpu_check.py does) and skip elsewhere. The same checks run on the CPU in every
CI run against the strict stand-in (test_device.py, tests/keras/models/test_device_training.py).
"""
import numpy as np
import pytest

import tomei as tf
from tomei.engine import device
from tomei.engine.gradcheck import check_all_ops, op_cases

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cupy():
    if not device.list_gpus():
        pytest.skip("needs CuPy and a CUDA GPU (the GPU machine; see docs/gpu.md)")
    return device.gpu_module()


def test_every_op_and_gradient_on_the_gpu(cupy):
    failed = {}
    for name, _, _ in op_cases():
        try:
            check_all_ops(on_gpu=True, only={name})
        except Exception as exc:  # noqa: BLE001 - report every op that fails, not the first
            failed[name] = f"{type(exc).__name__}: {exc}"[:300]
    assert not failed, failed


def test_fit_on_the_gpu_gives_the_cpu_numbers(cupy):
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28)), rng.integers(0, 10, 64)

    def run(where):
        tf.keras.utils.set_random_seed(0)
        model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                     tf.keras.layers.Dense(32, activation="relu"),
                                     tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10)])
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        with tf.device(where):
            hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return model, hist.history["loss"]

    gpu_model, gpu_loss = run("/GPU:0")
    cpu_model, cpu_loss = run("/CPU:0")
    assert isinstance(gpu_model.trainable_variables[0].value, cupy.ndarray)
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-5)
    for a, b in zip(gpu_model.get_weights(), cpu_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert tf.config.list_physical_devices("GPU")[0].device_type == "GPU"
