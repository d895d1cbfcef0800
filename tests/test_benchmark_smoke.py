"""The benchmark harness runs end to end (tomei only, tiny): benchmarks/tutorial_bench.py --smoke.

This checks that the harness works and writes sane JSON; it is not a timing test (speed is
measured against peers in benchmarks/, never asserted here). Without Debian's
dataset-fashion-mnist the smoke run uses generated data, so no network is needed.
"""
import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks", "tutorial_bench.py")
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
DEBIAN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def debian_data_present():
    return all(os.path.isfile(os.path.join(DEBIAN_DIR, f)) for f in DEBIAN_FILES)


def run_smoke(tmp_path, *extra):
    out_json = tmp_path / "smoke.json"
    out_md = tmp_path / "smoke.md"
    proc = subprocess.run(
        [sys.executable, BENCH, "--smoke", "--json", str(out_json), "--markdown", str(out_md),
         *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(out_json.read_text()), out_md.read_text()


def check_report(report, md):
    for key in ("command", "machine", "config", "data", "frameworks", "ratios",
                "load_average", "started", "finished"):
        assert key in report, key
    assert "--smoke" in report["command"]
    machine = report["machine"]
    assert machine["logical_cpus"] >= 1
    assert machine["cpu_model"]
    assert "tomei" in machine["versions"]
    assert report["config"]["reps"] == 1 and report["config"]["epochs"] == 1
    assert report["config"]["train_samples"] == 2000
    assert report["config"]["test_samples"] == 500

    assert list(report["frameworks"]) == ["tomei"]      # --smoke runs tomei only
    fw = report["frameworks"]["tomei"]
    assert fw["status"] == "ok"
    assert len(fw["runs"]) == 1
    run = fw["runs"][0]
    assert run["n_train"] == 2000 and run["n_test"] == 500
    assert run["x_dtype"] == "float64"                  # x / 255.0, as the tutorial does
    for key in ("import_s", "load_s", "fit_s_per_epoch", "fit_total_s", "evaluate_s",
                "predict_s", "predict_first_s", "predict_images_per_s", "peak_rss_mb",
                "process_wall_s"):
        assert math.isfinite(run[key]) and run[key] > 0, (key, run[key])
    assert len(run["epoch_s"]) == 1 and run["epoch_s"][0] > 0
    assert run["fit_total_s"] >= run["epoch_s"][0]
    assert run["process_wall_s"] > run["import_s"]
    assert 0.0 <= run["test_accuracy"] <= 1.0
    assert 0.0 <= run["predict_accuracy"] <= 1.0
    assert abs(run["predict_accuracy"] - run["test_accuracy"]) < 1e-3   # same argmax
    assert math.isfinite(run["test_loss"]) and run["test_loss"] > 0
    assert 10 < run["peak_rss_mb"] < 100_000
    assert run["optimizer"] == {"class": "Adam", "learning_rate": pytest.approx(1e-3),
                                "beta_1": pytest.approx(0.9), "beta_2": pytest.approx(0.999),
                                "epsilon": pytest.approx(1e-7)}
    summary = fw["summary"]
    assert summary["fit_s_per_epoch"]["mean"] == pytest.approx(run["fit_s_per_epoch"])
    assert summary["test_accuracy"]["n"] == 1
    assert "| fit (s/epoch, mean of epochs) |" in md
    assert "## Machine" in md


def test_smoke_run_writes_sane_json(tmp_path):
    report, md = run_smoke(tmp_path)
    check_report(report, md)
    run = report["frameworks"]["tomei"]["runs"][0]
    if debian_data_present():
        assert report["data"]["source"] == "fashion-mnist"
        assert run["test_accuracy"] > 0.5      # 1 epoch on 2,000 real images: ~0.7-0.8
    else:
        assert os.environ.get("TOMEI_REQUIRE_REAL_DATA") != "1", \
            "TOMEI_REQUIRE_REAL_DATA is set but Debian's dataset-fashion-mnist is missing"
        assert report["data"]["source"] == "synthetic"


def test_smoke_run_on_synthetic_data(tmp_path):
    report, md = run_smoke(tmp_path, "--synthetic")
    check_report(report, md)
    assert report["data"]["source"] == "synthetic"
    assert report["frameworks"]["tomei"]["runs"][0]["test_accuracy"] > 0.5   # learnable


def test_smoke_run_falls_back_to_synthetic_data_when_files_are_missing(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    report, md = run_smoke(tmp_path, "--data-dir", str(empty))
    check_report(report, md)
    assert report["data"]["source"] == "synthetic"
    assert "falls back" in report["data"]["description"]


def _write_idx(path, array):
    """An uncompressed uint8 IDX file (the npm mnist packages' form)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype("uint8").tobytes())


def test_mnist_from_uncompressed_idx_files(tmp_path):
    """--dataset mnist reads the four IDX files, gzipped or not, for every framework."""
    import numpy as np
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 2000), ("t10k", 500)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for i, label in enumerate(labels):          # a bright band in rows 2*label, +1
            images[i, 2 * label:2 * label + 2] += 180
        _write_idx(data / f"{name}-images-idx3-ubyte", images)
        _write_idx(data / f"{name}-labels-idx1-ubyte", labels)
    report, md = run_smoke(tmp_path, "--dataset", "mnist", "--data-dir", str(data))
    check_report(report, md)
    assert report["data"]["source"] == "mnist"
    assert report["frameworks"]["tomei"]["runs"][0]["test_accuracy"] > 0.5


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mnist"], "--dataset mnist needs --data-dir"),
    (["--scaling-cells", "128x32"], "WIDTHxBATCHxLAYERS"),
    (["--scaling-cells", "128x0x1"], "WIDTHxBATCHxLAYERS"),
    (["--frameworks", "tomei,mxnet"], "unknown framework 'mxnet'"),
])
def test_bad_arguments_are_named(args, message):
    proc = subprocess.run([sys.executable, BENCH, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
