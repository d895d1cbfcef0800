#!/usr/bin/env python
"""tomei vs TensorFlow, Keras 3 on JAX and PyTorch on the keras-io "Simple MNIST convnet".

Each run of each framework is a fresh process (``runners/convnet_run.py`` for the three Keras
APIs, ``runners/convnet_torch_run.py`` for PyTorch); frameworks alternate run by run, and
the report gives each peer's time and memory as a ratio to tomei's in the same invocation.
It also counts the model's floating-point work per epoch and measures this CPU's matrix
product rate, so the report says how far each framework is from the arithmetic floor.

    python benchmarks/convnet_bench.py --data-dir DIR --reps 2 --epochs 2 --train-samples 20000
    python benchmarks/convnet_bench.py --data-dir DIR --frameworks tomei --epochs 15 --reps 1
    python benchmarks/convnet_bench.py --smoke --json /tmp/convnet.json   # CI: tomei, tiny

DIR holds the four MNIST IDX files (gzipped or not). This file imports only the standard
library, so it cannot inflate the children's memory figures and runs where a peer is missing.
See benchmarks/README.md ("Convnet").
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = os.path.join(HERE, "runners")
sys.path.insert(0, RUNNERS)
import _common as C  # noqa: E402  (standard library only)

# name -> (runner, module that must be importable, KERAS_BACKEND or None, label)
FRAMEWORKS = {
    "tomei": ("convnet_run.py", "tomei", None, "tomei"),
    "tf": ("convnet_run.py", "tensorflow", "tensorflow", "TensorFlow (tf.keras)"),
    "jax": ("convnet_run.py", "jax", "jax", "Keras 3 on JAX"),
    "torch": ("convnet_torch_run.py", "torch", None, "PyTorch eager"),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--frameworks", default=None, help="comma-separated subset of "
                   "tomei,tf,jax,torch (default: all; --smoke: tomei)")
    p.add_argument("--reps", type=int, default=None, help="runs per framework, alternated "
                   "(default 2; --smoke: 1)")
    p.add_argument("--epochs", type=int, default=None, help="default 2 (--smoke: 1); the "
                   "keras-io example trains 15")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-samples", type=int, default=None,
                   help="first N training images (default all 60,000; --smoke: 1,000)")
    p.add_argument("--test-samples", type=int, default=None,
                   help="first N test images (default all 10,000; --smoke: 500)")
    p.add_argument("--seed", type=int, default=0, help="run k uses seed + k - 1")
    p.add_argument("--data-dir", default=os.environ.get("TOMEI_MNIST_DIR"),
                   help="folder with the four MNIST IDX files (env TOMEI_MNIST_DIR)")
    p.add_argument("--synthetic", action="store_true",
                   help="generated MNIST-shaped data instead of the files (timing only)")
    p.add_argument("--smoke", action="store_true", help="tomei only, tiny, synthetic data "
                   "unless --data-dir is given: checks that the harness works")
    p.add_argument("--torch-threads", type=int, default=None)
    p.add_argument("--no-gemm", action="store_true", help="skip the matrix-product rate probe")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    a = p.parse_args(argv)
    if a.smoke:
        a.frameworks = a.frameworks or "tomei"
        a.reps, a.epochs = a.reps or 1, a.epochs or 1
        a.train_samples, a.test_samples = a.train_samples or 1000, a.test_samples or 500
        a.synthetic = a.synthetic or not a.data_dir
    a.frameworks = [f.strip() for f in (a.frameworks or "tomei,tf,jax,torch").split(",")]
    unknown = [f for f in a.frameworks if f not in FRAMEWORKS]
    if unknown:
        p.error(f"unknown framework(s) {unknown}; choose from {', '.join(FRAMEWORKS)}")
    a.reps, a.epochs = a.reps or 2, a.epochs or 2
    a.train_samples, a.test_samples = a.train_samples or 60000, a.test_samples or 10000
    if not a.synthetic and not (a.data_dir and C.idx_files_present(a.data_dir)):
        p.error(f"--data-dir must name a folder with the four MNIST IDX files "
                f"(received {a.data_dir!r}); or use --synthetic")
    return a


# --- floating-point work -----------------------------------------------------------------------
def flops_per_epoch(n_train: int, batch_size: int) -> dict:
    """Multiply-adds x 2 of the convnet's products for one epoch with validation_split=0.1.

    Per image: conv1 26*26*32 outputs of 3*3*1 taps; conv2 11*11*64 outputs of 3*3*32 taps;
    dense 1600*10. Training costs the forward, the kernels' gradient, and (conv2 and dense
    only: conv1's input needs none) the inputs' gradient; validation the forward only.
    Pooling, ReLU, bias and the optimizer are elementwise and not counted.
    """
    conv1, conv2, dense = 26 * 26 * 32 * 9 * 2, 11 * 11 * 64 * 288 * 2, 1600 * 10 * 2
    train_per_image = 2 * conv1 + 3 * conv2 + 3 * dense
    n_val = int(n_train * 0.1)
    n_fit = n_train - n_val
    total = n_fit * train_per_image + n_val * (conv1 + conv2 + dense)
    # tomei's forward of conv2: Winograd's F(2x2, 3x3) over the 10x10 outputs the pool reads
    # (25 tiles x 16 products of 32 x 64 per image: tomei/engine/conv_ops.py)
    conv2_forward_tomei = 25 * 16 * 32 * 64 * 2
    return {"train_flop_per_image": train_per_image, "epoch_gflop": total / 1e9,
            "conv2_forward_gflop": n_train * conv2 / 1e9,
            "conv2_forward_tomei_gflop": n_train * conv2_forward_tomei / 1e9,
            "steps_per_epoch": -(-n_fit // batch_size)}


GEMM_PROBE = r"""
import json, time, numpy as np
from threadpoolctl import threadpool_limits, threadpool_info
rng = np.random.default_rng(0)
a = rng.random((15488, 288), dtype=np.float32)   # conv2's im2col rows at batch 128
b = rng.random((288, 64), dtype=np.float32)
def best(reps=7):
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
    return min(times)
flop = 2 * a.shape[0] * a.shape[1] * b.shape[1]
out = {"shape": "(15488x288) @ (288x64) float32", "blas": [p.get("internal_api") for p in
       threadpool_info() if p.get("user_api") == "blas"]}
with threadpool_limits(1, user_api="blas"):
    out["gflops_1_thread"] = flop / best() / 1e9
out["gflops_all_threads"] = flop / best() / 1e9
print(json.dumps(out))
"""


def gemm_rate() -> dict:
    try:
        proc = subprocess.run([sys.executable, "-c", GEMM_PROBE], capture_output=True,
                              text=True, timeout=300)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - the report says what failed
        return {"error": repr(exc)}


# --- running --------------------------------------------------------------------------------
def installed(name: str) -> bool:
    return importlib.util.find_spec(FRAMEWORKS[name][1]) is not None


def run_one(name: str, cfg: dict, timeout: float) -> dict:
    runner, _, backend, _ = FRAMEWORKS[name]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TOMEI_OFFLINE="1")
    if backend:
        env["KERAS_BACKEND"] = backend
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, os.path.join(RUNNERS, runner), json.dumps(cfg)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"framework": name, "error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(C.MARKER)]
    if not lines:
        return {"framework": name, "error": (proc.stderr or proc.stdout)[-3000:]}
    result = json.loads(lines[-1][len(C.MARKER):])
    result["process_wall_s"] = wall
    return result


def steady(epoch_s):
    """Mean of the epochs after the first (the first includes warm-up and tracing)."""
    rest = epoch_s[1:] or epoch_s
    return statistics.mean(rest)


def summarize(results: dict) -> dict:
    out = {}
    for name, runs in results.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            out[name] = {"error": runs[0].get("error") if runs else "not run"}
            continue
        out[name] = {
            "epoch_s": statistics.mean(steady(r["epoch_s"]) for r in ok),
            "epoch_best_s": min(min(r["epoch_s"]) for r in ok),
            "first_epoch_s": statistics.mean(r["epoch_s"][0] for r in ok),
            "test_accuracy": statistics.mean(r["test_accuracy"] for r in ok),
            "peak_rss_mb": statistics.mean(r["peak_rss_mb"] for r in ok),
            "import_s": statistics.mean(r["import_s"] for r in ok),
            "runs": len(ok),
        }
    return out


def markdown(args, summary, flops, gemm, machine) -> str:
    base = summary.get("tomei", {})
    lines = [f"## Simple MNIST convnet: {args.train_samples:,} training images "
             f"({'synthetic' if args.synthetic else 'MNIST'}), batch {args.batch_size}, "
             f"{args.epochs} epoch(s), {args.reps} run(s) each, alternated", "",
             "| framework | s/epoch (after the 1st) | ratio to tomei | fastest epoch (s) | "
             "1st epoch (s) | test accuracy | peak RSS (MB) | RSS ratio | import (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in args.frameworks:
        s = summary.get(name, {})
        label = FRAMEWORKS[name][3]
        if "error" in s:
            lines.append(f"| {label} | failed or not installed: {s['error'][:80]!r} |||||||")
            continue
        ratio = f"{s['epoch_s'] / base['epoch_s']:.2f}" if "epoch_s" in base else "-"
        rss = f"{s['peak_rss_mb'] / base['peak_rss_mb']:.2f}" if "peak_rss_mb" in base else "-"
        lines.append(f"| {label} | {s['epoch_s']:.2f} | {ratio} | {s['epoch_best_s']:.2f} | "
                     f"{s['first_epoch_s']:.2f} | {s['test_accuracy']:.4f} | "
                     f"{s['peak_rss_mb']:.0f} | {rss} | {s['import_s']:.2f} |")
    lines += ["", "Ratios are peer / tomei: above 1 means the peer took longer (or more memory).",
              "", "### What bounds it", "",
              f"- Work per epoch: {flops['epoch_gflop']:.0f} GFLOP in matrix products "
              f"({flops['train_flop_per_image'] / 1e6:.1f} MFLOP per training image; "
              f"{flops['steps_per_epoch']} steps).",
              f"- tomei does less than that: the second convolution's forward by Winograd's "
              f"F(2x2, 3x3) over the 10x10 outputs its pool reads "
              f"({flops['conv2_forward_tomei_gflop']:.0f} GFLOP per epoch instead of "
              f"{flops['conv2_forward_gflop']:.0f}), its backward only for the pooled "
              f"gradients that are not 0 (tomei/engine/conv_pool.py); so its effective rate "
              f"below counts work it did not do (docs/convolution.md)."]
    if "gflops_1_thread" in gemm:
        one, every = gemm["gflops_1_thread"], gemm["gflops_all_threads"]
        lines.append(f"- This CPU's float32 product rate at conv2's shape "
                     f"{gemm['shape']}: {one:.1f} GFLOP/s on one BLAS thread, {every:.1f} on "
                     f"all ({', '.join(map(str, gemm['blas']))}).")
        lines.append(f"- Floor: {flops['epoch_gflop'] / one:.1f} s/epoch on one thread, "
                     f"{flops['epoch_gflop'] / every:.1f} s on all, if every FLOP ran at that "
                     f"rate.")
        for name in args.frameworks:
            s = summary.get(name, {})
            if "epoch_s" in s:
                lines.append(f"  - {FRAMEWORKS[name][3]}: {flops['epoch_gflop'] / s['epoch_s']:.1f}"
                             f" GFLOP/s effective.")
    else:
        lines.append(f"- Product-rate probe: {gemm}")
    lines += ["", f"Machine: {machine['cpus']} CPUs, load average {machine['load_start']} at "
              f"the start and {machine['load_end']} at the end. Command: `{machine['command']}`"]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    machine = {"cpus": os.cpu_count(), "load_start": _load(),
               "command": "python " + " ".join([os.path.relpath(__file__)] + sys.argv[1:])}
    gemm = {"skipped": True} if args.no_gemm or args.smoke else gemm_rate()
    results = {name: [] for name in args.frameworks}
    for rep in range(args.reps):
        for name in args.frameworks:
            if not installed(name):
                results[name].append({"framework": name, "error": "not installed"})
                continue
            cfg = {"framework": name, "data": "synthetic" if args.synthetic else "idx",
                   "data_dir": args.data_dir, "n_train": args.train_samples,
                   "n_test": args.test_samples, "epochs": args.epochs,
                   "batch_size": args.batch_size, "seed": args.seed + rep,
                   "torch_threads": args.torch_threads}
            print(f"[convnet_bench] run {rep + 1}/{args.reps}: {name}", file=sys.stderr,
                  flush=True)
            results[name].append(run_one(name, cfg, args.timeout))
    machine["load_end"] = _load()
    summary = summarize(results)
    flops = flops_per_epoch(args.train_samples, args.batch_size)
    report = markdown(args, summary, flops, gemm, machine)
    print(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "machine": machine, "gemm": gemm, "flops": flops,
                       "summary": summary, "runs": results}, f, indent=1, sort_keys=True)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report + "\n")
    failed = [n for n, runs in results.items()
              if any("error" in r and r["error"] != "not installed" for r in runs)]
    return 1 if failed else 0


def _load():
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
