"""benchmarks/inference_bound.py runs end to end (tiny, no PyTorch child) and writes its
figures; not a timing test (the figures are read in docs/benchmarks.md, never asserted)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "inference_bound.py")


def test_inference_bound_smoke_run_writes_every_figure(tmp_path):
    out = tmp_path / "bound.json"
    proc = subprocess.run([sys.executable, SCRIPT, "--calls", "1", "--test-samples", "300",
                           "--no-torch", "--json", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text())
    timed = {k: v for k, v in figures.items() if isinstance(v, dict)}
    assert {"tomei predict", "tomei evaluate", "product whole, 2 thread(s)",
            "forward from float64, 256-row blocks, 2 thread(s)"} <= set(timed)
    assert all(0 < v["min_ms"] <= v["median_ms"] for v in timed.values())
    assert figures["gflop_first_product"] == 2 * 300 * 784 * 128 / 1e9
    assert "tomei predict" in proc.stdout


def test_bad_arguments_are_refused():
    proc = subprocess.run([sys.executable, SCRIPT, "--calls", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--calls" in proc.stderr
