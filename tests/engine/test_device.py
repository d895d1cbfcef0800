"""Placement on a GPU, checked on the CPU with a strict stand-in for CuPy.

``strict_device.StrictArray`` refuses, as CuPy does, to be mixed with NumPy arrays or turned
into one silently. Every op, its gradient, and training a model run on it here, so a host
round trip the GPU would refuse fails in every CI run; benchmarks/gpu_check.py runs the same
checks on a real GPU.
"""
import numpy as np
import pytest

import tomei
from tomei.engine import device
from tomei.engine.gradcheck import check_all_ops, op_cases
from tomei.engine.tensor import Tensor, Variable

from .strict_device import MODULE, StrictArray




def test_the_stand_in_is_as_strict_as_cupy(gpu):
    a = MODULE.asarray(np.ones(3))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="host NumPy array"):
        a + np.ones(3)
    m = MODULE.asarray(np.ones((2, 2)))
    assert isinstance(np.exp(a), StrictArray) and isinstance(m @ m, StrictArray)


@pytest.mark.parametrize("name", [name for name, _, _ in op_cases()])
def test_every_op_and_gradient_on_the_device(gpu, name):
    assert check_all_ops(on_gpu=True, only={name}) == [name]


def test_host_and_device_operands_meet_on_the_device(gpu):
    x = Tensor(MODULE.asarray(np.arange(6.0).reshape(2, 3)))
    for out in (x + np.ones(3), np.ones(3) * x, x * 2.0, x - Tensor(np.ones((2, 3))),
                tomei.concat([x, np.zeros((2, 1))], axis=1)):
        assert isinstance(out.value, StrictArray)
    assert isinstance((x > 1).value, StrictArray)
    np.testing.assert_array_equal((x + 1.0).numpy(), np.arange(6.0).reshape(2, 3) + 1)


def test_variables_created_in_a_gpu_block_live_there(gpu):
    with tomei.device("/GPU:0"):
        v = Variable(np.ones((2, 2), np.float32))
    assert isinstance(v.value, StrictArray)
    v.assign(np.full((2, 2), 3.0, np.float32))
    v.assign_add(np.ones((2, 2), np.float32))
    assert isinstance(v.value, StrictArray)
    out = v.numpy()
    assert type(out) is np.ndarray and out[0, 0] == 4.0
    assert type(np.asarray(v)) is np.ndarray  # Tensor.__array__ copies to the host
    assert isinstance(Variable(np.ones(2)).value, np.ndarray)  # outside the block: host
    v.to("cpu")
    assert type(v.value) is np.ndarray


def test_device_names_and_errors(gpu):
    assert device.list_gpus() == ["/physical_device:GPU:0"]
    for name in ("/GPU:0", "/device:GPU:0", "gpu", "GPU:0"):
        with tomei.device(name):
            assert device.current_device() == "gpu"
    with tomei.device("/CPU:0"):
        assert device.current_device() == "cpu"
    with pytest.raises(ValueError, match="GPU:0"):
        with tomei.device("/GPU:1"):
            pass
    with pytest.raises(ValueError, match="expected"):
        with tomei.device("/TPU:0"):
            pass


def test_without_cupy_asking_for_a_gpu_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(device.GPUUnavailableError, match="pip install 'tomei\\[gpu\\]'"):
        with tomei.device("/GPU:0"):
            pass
    assert device.list_gpus() == []
    monkeypatch.setenv("TOMEI_DEVICE", "gpu")
    assert device.current_device() == "gpu"
    monkeypatch.setenv("TOMEI_DEVICE", "tpu")
    with pytest.raises(ValueError, match="TOMEI_DEVICE"):
        device.current_device()


def test_import_tomei_never_imports_cupy():
    import subprocess
    import sys
    code = "import sys, tomei; print('cupy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_placement_rule():
    assert device.should_use_gpu(1e12) is bool(device.list_gpus())
    assert device.should_use_gpu(1e3) is False
