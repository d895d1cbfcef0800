"""tf.config: the CPU is the only device; run_functions_eagerly is remembered."""
import pytest

import tomei as tf


def test_devices(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # no CuPy: the CPU alone
    cpus = tf.config.list_physical_devices()
    assert len(cpus) == 1 and cpus[0].device_type == "CPU" and cpus[0].name.endswith("CPU:0")
    assert tf.config.list_physical_devices("CPU") == cpus
    assert tf.config.list_physical_devices("GPU") == []
    assert "PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')" == repr(cpus[0])


def test_run_functions_eagerly():
    try:
        tf.config.run_functions_eagerly(True)
        assert tf.config.functions_run_eagerly() is True
    finally:
        tf.config.run_functions_eagerly(False)
    assert tf.config.functions_run_eagerly() is False
    with pytest.raises(TypeError, match="True or False"):
        tf.config.run_functions_eagerly("yes")


def test_floatx_and_seed_still_work():
    assert tf.config.floatx() == "float32"
