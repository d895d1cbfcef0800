"""benchmarks/convnet_bench.py runs end to end (tomei only, tiny, generated data): the harness
works and writes sane JSON. Not a timing test: speed is compared with peers in the benchmark
run itself, never asserted here."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks", "convnet_bench.py")


def test_smoke_run_writes_the_report(tmp_path):
    out_json, out_md = tmp_path / "c.json", tmp_path / "c.md"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + sys.path))
    proc = subprocess.run([sys.executable, BENCH, "--smoke", "--train-samples", "300",
                           "--test-samples", "100", "--json", str(out_json), "--markdown",
                           str(out_md)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out_json.read_text())
    (run,) = report["runs"]["tomei"]
    assert "error" not in run, run
    assert run["n_train"] == 300 and run["n_test"] == 100 and len(run["epoch_s"]) == 1
    assert all(t > 0 for t in run["epoch_s"]) and 0 <= run["test_accuracy"] <= 1
    assert run["peak_rss_mb"] > 0
    # 270 images trained (validation_split=0.1) at 14.3 MFLOP each, 30 validated at 4.9 MFLOP
    flops = report["flops"]
    assert flops["train_flop_per_image"] == 2 * 26 * 26 * 32 * 9 * 2 + 3 * 11 * 11 * 64 * 288 * 2 \
        + 3 * 1600 * 10 * 2
    assert flops["steps_per_epoch"] == 3
    md = out_md.read_text()
    assert "| tomei |" in md and "GFLOP" in md


def test_unknown_framework_and_missing_data_are_refused():
    for args in (["--frameworks", "mxnet", "--synthetic"], ["--data-dir", "/nonexistent"]):
        proc = subprocess.run([sys.executable, BENCH, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and "error:" in proc.stderr
