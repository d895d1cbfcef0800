"""``import tomei`` stays light: heavy optional libraries load only when a feature needs them.

Checking ``sys.modules`` in a fresh interpreter is a deterministic stand-in for a fast import
(a wall-clock limit would be flaky on a busy CI machine).
"""
import json
import subprocess
import sys

import pytest

HEAVY = ["matplotlib", "PIL", "h5py", "onnx", "onnxruntime", "keras", "torch", "tensorflow",
         "scipy", "pandas"]


def modules_after(code):
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def heavy_in(modules):
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.fixture(scope="module")
def after_import():
    return modules_after("import tomei")


def test_import_tomei_loads_no_heavy_library(after_import):
    assert "tomei" in after_import and "numpy" in after_import
    assert heavy_in(after_import) == []


def test_the_tutorial_namespace_is_ready_without_heavy_libraries():
    modules = modules_after(
        "import tomei as tf\n"
        "m = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),"
        " tf.keras.layers.Dense(10)])\n"
        "m.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),"
        " metrics=['accuracy'])\n"
        "_ = tf.keras.datasets.mnist, tf.nn.softmax")
    assert heavy_in(modules) == []


def test_the_check_itself_can_fail(after_import):
    """The probe sees a module once something imports it (the stdlib ``wave`` stands in for a
    heavy library here), and the filter catches submodules."""
    assert "wave" not in after_import
    assert "wave" in modules_after("import tomei, wave")
    assert heavy_in({"numpy", "PIL.Image", "torch._C", "tomei"}) == ["PIL.Image", "torch._C"]


def test_network_modules_load_only_when_a_download_starts(after_import):
    """ssl, http.client and urllib.request (with email and socket) cost ~7 MB and ~20 ms;
    tomei.keras.utils.download imports them inside the functions that fetch."""
    assert {"ssl", "http.client", "urllib.request", "email.parser"} & after_import == set()
    modules = modules_after("import tomei\nfrom tomei.keras.utils import download\n"
                            "download._build_opener()")
    assert {"ssl", "http.client", "urllib.request"} <= modules
