"""tf.function runs eagerly; tf.device is a no-op context."""
import pytest

import tomei as tf


def test_function_runs_python_as_written_every_call():
    calls = []

    @tf.function
    def step(x):
        calls.append(x)  # a graph would run this side effect only while tracing
        if x > 1:  # Python control flow on a value
            return tf.math.square(x)
        return x

    assert int(step(3)) == 9 and int(step(1)) == 1 and len(calls) == 2
    assert step.__name__ == "step" and step.python_function(2) is not None


def test_function_with_arguments_and_refusals():
    @tf.function(reduce_retracing=True)
    def double(x):
        return x * 2
    assert int(double(tf.constant(4))) == 8
    with pytest.raises(NotImplementedError, match="jit_compile"):
        tf.function(jit_compile=True)
    with pytest.raises(NotImplementedError, match="input_signature"):
        tf.function(input_signature=[tf.TensorSpec((None,), "float32")])


def test_device_places_on_the_cpu_and_names_what_a_gpu_needs(monkeypatch):
    with tf.device("CPU:0"):
        x = tf.random.uniform([3, 3])
    assert x.device.endswith("CPU:0")
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # no CuPy on this machine
    with pytest.raises(tf.engine.device.GPUUnavailableError, match="pip install"):
        with tf.device("GPU:0"):
            pass
    with pytest.raises(TypeError, match="device name"):
        with tf.device(0):
            pass
