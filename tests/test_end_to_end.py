"""The tutorial, end to end, on real Fashion-MNIST through the ``tomei`` command."""
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_tutorial_on_real_fashion_mnist_reaches_085(tmp_path, fashion_mnist_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "tomei", "tutorial", "--dataset", "fashion_mnist", "--seed", "0"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TOMEI_OFFLINE": "1", "HOME": str(tmp_path),
             "LANG": "C.UTF-8", "PYTHONPATH": ":".join(sys.path)})
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Five epochs, one clean progress line each (stdout is a pipe here).
    assert [f"Epoch {i}/5" for i in range(1, 6)] == re.findall(r"Epoch \d/5", out)
    bars = re.findall(r"^1875/1875 \[=+\] - \d+s \d+(?:us|ms)/step - loss: \d\.\d{4} - "
                      r"accuracy: \d\.\d{4}$", out, flags=re.M)
    assert len(bars) == 5
    assert "\b" not in out and "\r" not in out
    accuracy = float(re.search(r"^Test accuracy: (\d\.\d+)$", out, flags=re.M).group(1))
    loss = float(re.search(r"^Test loss: (\d+\.\d+)$", out, flags=re.M).group(1))
    assert accuracy >= 0.85, out[-1500:]  # TensorFlow 2.21 on the same data: 0.869
    assert 0.2 < loss < 0.5


def test_missing_dataset_gives_a_short_message_and_nonzero_exit(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tomei", "tutorial", "--dataset", "mnist",
         "--data-path", str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TOMEI_OFFLINE": "1", "HOME": str(tmp_path),
             "PYTHONPATH": ":".join(sys.path)})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "MNIST" in proc.stderr and "nowhere" in proc.stderr
