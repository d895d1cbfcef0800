#!/usr/bin/env python
"""tomei vs TensorFlow/Keras, Keras 3 on JAX, Keras 3 on torch and PyTorch eager, on the
beginner tutorial (MNIST or Fashion-MNIST).

Each run of each framework is a fresh ``python benchmarks/runners/<fw>_run.py`` process, so
import time and peak memory belong to that framework alone; frameworks alternate run by run
(tomei, tf, keras-jax, keras-torch, torch, tomei, ...) so slow drifts of a shared machine hit
all of them.
Results are reported as mean and spread per framework and as ratios against tomei measured
in the same invocation. See benchmarks/README.md.

    python benchmarks/tutorial_bench.py --reps 3 --json out.json --markdown out.md
    python benchmarks/tutorial_bench.py --scaling          # + width/batch-size scaling table
    python benchmarks/tutorial_bench.py --smoke --json /tmp/smoke.json   # CI: tomei, tiny

This file imports only the standard library: it stays small, so it cannot inflate the
children's memory figures, and it runs where a peer is not installed.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = os.path.join(HERE, "runners")
sys.path.insert(0, RUNNERS)
import _common as C  # noqa: E402  (standard library only)

# name -> (runner script, modules whose presence means "installed", label in tables)
FRAMEWORKS = {
    "tomei": ("tomei_run.py", ("tomei",), "tomei"),
    # the same runner with TOMEI_FUSED=0: what the fused kernels (numba) change
    "tomei-numpy": ("tomei_run.py", ("tomei",), "tomei, NumPy only"),
    "tf": ("tf_run.py", ("tensorflow",), "TensorFlow/Keras"),
    "keras-jax": ("keras_run.py", ("keras", "jax"), "Keras 3 on JAX"),
    "keras-torch": ("keras_run.py", ("keras", "torch"), "Keras 3 on torch"),
    "torch": ("torch_run.py", ("torch",), "PyTorch"),
}
ALIASES = {"tensorflow": "tf", "tf.keras": "tf", "pytorch": "torch", "jax": "keras-jax",
           "keras_jax": "keras-jax", "keras_torch": "keras-torch"}
SHORT = {"tomei": "tomei", "tomei-numpy": "tomei-NumPy", "tf": "TF", "keras-jax": "Keras-JAX",
         "keras-torch": "Keras-torch",
         "torch": "PyTorch"}
DEFAULT_FRAMEWORKS = "tomei,tomei-numpy,tf,keras-jax,keras-torch,torch"
# The other frameworks (tomei-numpy is tomei itself, with the fused kernels off).
PEERS = ("tf", "keras-jax", "keras-torch", "torch")
# Keras 3's backend for the runners that run Keras 3 itself (keras_run.py).
KERAS_BACKENDS = {"tf": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
# (hidden width, batch size, hidden layers): the tutorial's cell, then one factor at a time.
DEFAULT_SCALING_CELLS = ("128x32x1,128x128x1,128x1024x1,"      # batch size
                         "512x32x1,2048x32x1,2048x1024x1,"      # width
                         "128x32x2,128x32x4,512x128x4")         # depth

# (key, label, digits) for the main table; lower is better except for images/s and accuracy.
# Ratios are "peer / tomei", so above 1 means tomei is faster or smaller.
METRICS = [
    ("import_s", "import (s)", None),
    ("load_s", "load data + x/255 (s)", None),
    ("fit_s_per_epoch", "fit (s/epoch, mean of epochs)", None),
    ("fit_best_epoch_s", "fit, fastest epoch (s)", None),
    ("evaluate_s", "evaluate {test} test images (s)", None),
    ("predict_s", "predict {test} images (s, 2nd call)", None),
    ("predict_images_per_s", "predict (images/s)", None),
    ("test_accuracy", "test accuracy", 4),
    ("peak_rss_mb", "peak RSS (MB)", None),
    ("process_wall_s", "whole tutorial process (s)", None),
]
# Issue 16's targets: (text, kind, key, peer or None, threshold). "ratio": peer / tomei of
# the mean must be at least the threshold; "max": tomei's mean at most; "min": at least.
TARGETS = [
    ("fit at least 1.25x faster than Keras 3 on JAX", "ratio", "fit_s_per_epoch", "keras-jax",
     1.25),
    ("fit at least 3.5x faster than TensorFlow", "ratio", "fit_s_per_epoch", "tf", 3.5),
    ("fit at least 2x faster than PyTorch eager", "ratio", "fit_s_per_epoch", "torch", 2.0),
    ("evaluate at least 3x faster than every peer", "ratio", "evaluate_s", "*", 3.0),
    ("predict at least 3x faster than every peer", "ratio", "predict_s", "*", 3.0),
    ("import tomei at most 0.2 s", "max", "import_s", None, 0.2),
    ("peak RSS of the whole tutorial at most 0.6 GB", "max", "peak_rss_mb", None, 600.0),
    ("test accuracy on MNIST at least 0.975 (mean of the seeds)", "min", "test_accuracy", None,
     0.975),
]
RATIO_METRICS = ["import_s", "load_s", "fit_s_per_epoch", "fit_best_epoch_s", "evaluate_s",
                 "predict_s", "peak_rss_mb", "process_wall_s"]


# --- command line ------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--frameworks", default=None,
                   help=f"comma-separated subset of {DEFAULT_FRAMEWORKS} (default: all; "
                        f"--smoke: tomei)")
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions of the tutorial per framework, alternated (default 3; "
                        "--smoke: 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of repetition 1; repetition k uses seed+k-1 (same for every "
                        "framework within a repetition)")
    p.add_argument("--epochs", type=int, default=None, help="default 5 (--smoke: 1)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128, help="width of the hidden Dense layer")
    p.add_argument("--train-samples", type=int, default=None,
                   help="first N training images (default all 60,000; --smoke: 2,000)")
    p.add_argument("--test-samples", type=int, default=None,
                   help="first N test images (default all 10,000; --smoke: 500)")
    p.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist",
                   help="which images the IDX files in --data-dir hold (a label in the report; "
                        "tomei reads Fashion-MNIST through its own load_data, MNIST through "
                        "the shared IDX reader like the peers)")
    p.add_argument("--data-dir", default=None,
                   help="folder with the four IDX files, gzipped or not (default for "
                        f"fashion-mnist: {C.DEBIAN_DIR}; mnist needs it)")
    p.add_argument("--synthetic", action="store_true",
                   help="use generated Fashion-MNIST-shaped data instead of the real files")
    p.add_argument("--smoke", action="store_true",
                   help="CI check: tomei only, 2,000/500 images, 1 epoch, 1 rep; falls back "
                        "to --synthetic when the Debian files are missing")
    p.add_argument("--scaling", action="store_true",
                   help="also time fit for every hidden width x batch size (see --scaling-*)")
    p.add_argument("--scaling-only", action="store_true",
                   help="run only the scaling table, not the tutorial table")
    p.add_argument("--scaling-cells", default=DEFAULT_SCALING_CELLS,
                   help="comma-separated WIDTHxBATCHxLAYERS cells: hidden width, batch size, "
                        "number of Dense(width, relu)+Dropout hidden blocks")
    p.add_argument("--scaling-samples", type=int, default=6000,
                   help="training images per scaling epoch")
    p.add_argument("--scaling-epochs", type=int, default=2,
                   help="epochs per scaling cell; the LAST epoch is reported (the first "
                        "includes one-off warm-up such as TensorFlow's tracing)")
    p.add_argument("--scaling-reps", type=int, default=1)
    p.add_argument("--torch-threads", type=int, default=None,
                   help="call torch.set_num_threads(N) in the PyTorch runner (default: leave "
                        "PyTorch's default, which is reported)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds before one framework run is abandoned")
    p.add_argument("--json", dest="json_path", default=None, help="write all results here")
    p.add_argument("--from-json", default=None, metavar="PATH",
                   help="run nothing: re-make the markdown report from a saved --json file")
    p.add_argument("--markdown", dest="markdown_path", default=None,
                   help="write the report tables here")
    args = p.parse_args(argv)

    smoke = args.smoke
    args.frameworks = args.frameworks or ("tomei" if smoke else DEFAULT_FRAMEWORKS)
    args.reps = args.reps if args.reps is not None else (1 if smoke else 3)
    args.epochs = args.epochs if args.epochs is not None else (1 if smoke else 5)
    args.train_samples = args.train_samples or (2000 if smoke else 60000)
    args.test_samples = args.test_samples or (500 if smoke else 10000)
    names = []
    for raw in args.frameworks.split(","):
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in FRAMEWORKS:
            p.error(f"unknown framework {raw!r}; choose from {', '.join(FRAMEWORKS)}")
        if name not in names:
            names.append(name)
    args.framework_list = names
    for key in ("reps", "epochs", "batch_size", "hidden", "train_samples", "test_samples",
                "scaling_samples", "scaling_epochs", "scaling_reps"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    try:
        args.cells = [[int(v) for v in cell.lower().split("x")]
                      for cell in args.scaling_cells.split(",")]
    except ValueError:
        args.cells = []
    if not args.cells or any(len(c) != 3 or min(c) < 1 for c in args.cells):
        p.error(f"--scaling-cells takes WIDTHxBATCHxLAYERS cells of positive integers, "
                f"comma-separated (e.g. 128x32x1,512x128x2); received {args.scaling_cells!r}")
    if args.data_dir is None:
        if args.dataset == "mnist" and not args.synthetic:
            p.error("--dataset mnist needs --data-dir: the folder with MNIST's four IDX files")
        args.data_dir = C.DEBIAN_DIR
    args.scaling = args.scaling or args.scaling_only
    return args


def exact_command(argv=None) -> str:
    argv = sys.argv if argv is None else argv
    script = os.path.relpath(os.path.abspath(argv[0]), os.getcwd()) if argv else ""
    return " ".join(["python", shlex.quote(script)] + [shlex.quote(a) for a in argv[1:]])


# --- running one framework ---------------------------------------------------------------------
def installed(name: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in FRAMEWORKS[name][1])


def child_env(name: str) -> dict:
    env = dict(os.environ)
    if name in KERAS_BACKENDS:
        # tf.keras is Keras 3: KERAS_BACKEND=torch left by the test command would move it
        env["KERAS_BACKEND"] = KERAS_BACKENDS[name]
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if name in ("tomei", "tomei-numpy"):
        env["TOMEI_OFFLINE"] = "1"
        if name == "tomei-numpy":
            env["TOMEI_FUSED"] = "0"
    return env


def run_child(script: str, cfg: dict | None, env: dict, timeout: float) -> dict:
    """Runs one runner process; returns its result dict (with process_wall_s) or an error."""
    cmd = [sys.executable, os.path.join(RUNNERS, script)]
    if cfg is not None:
        cmd.append(json.dumps(cfg))
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(C.MARKER):
            result = json.loads(line[len(C.MARKER):])
    if result is None:
        tail = (proc.stderr or proc.stdout)[-3000:]
        return {"error": f"exit status {proc.returncode}, no result line; output tail:\n{tail}"}
    if proc.returncode != 0 and "error" not in result:
        result["error"] = f"exit status {proc.returncode}"
    result["process_wall_s"] = wall
    return result


def machine_info(timeout: float) -> dict:
    info = run_child("machine_info.py", None, dict(os.environ), min(timeout, 120))
    info.pop("process_wall_s", None)
    info["thread_env"] = {k: os.environ[k] for k in
                          ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                           "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
                          if k in os.environ}
    return info


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


# --- statistics --------------------------------------------------------------------------------
def summarize(values):
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values), "values": values}


def ratio_stats(peer_runs, tomei_runs, key):
    """Ratio of the means, and the per-repetition ratios (run k of the peer / run k of tomei,
    which ran next to each other)."""
    p = summarize([r.get(key) for r in peer_runs])
    t = summarize([r.get(key) for r in tomei_runs])
    if not p or not t or t["mean"] <= 0:
        return None
    paired = [a[key] / b[key] for a, b in zip(peer_runs, tomei_runs)
              if a.get(key) is not None and b.get(key)]
    return {"ratio_of_means": p["mean"] / t["mean"], "per_rep": paired,
            "min": min(paired) if paired else None, "max": max(paired) if paired else None}


# --- formatting --------------------------------------------------------------------------------
def fmt(value, digits=None):
    if value is None:
        return "-"
    if digits is not None:
        return f"{value:.{digits}f}"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    if a >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2g}"


def fmt_stat(s, digits=None):
    if not s:
        return "-"
    if s["n"] == 1:
        return fmt(s["mean"], digits)
    return f"{fmt(s['mean'], digits)} ± {fmt(s['sd'], digits)}"


def fmt_ratio(r):
    if not r:
        return "-"
    text = f"{r['ratio_of_means']:.2f}x"
    if r["per_rep"] and len(r["per_rep"]) > 1:
        text += f" ({r['min']:.2f}-{r['max']:.2f})"
    return text


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def machine_lines(report):
    m = report["machine"]
    v = m.get("versions", {})
    blas = m.get("blas", {})
    pools = blas.get("threadpools")
    pools_text = ", ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('user_api')}, "
        f"{p.get('num_threads')} threads, {p.get('architecture') or '?'})"
        for p in pools) if isinstance(pools, list) else str(pools)
    lines = [
        f"- CPU: {m.get('cpu_model')}, {m.get('logical_cpus')} logical cores "
        f"({m.get('cpus_available')} available to this process), {m.get('memory_gb')} GB RAM",
        f"- OS: {m.get('platform')}; Python {m.get('python')}",
        f"- NumPy {blas.get('numpy')} BLAS (threadpoolctl): {pools_text}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in sorted(v.items())),
        f"- tomei source: git {m.get('tomei_git')}",
        f"- Load average (1/5/15 min) at start {report.get('load_average', {}).get('start')}, "
        f"at end {report.get('load_average', {}).get('end')}",
    ]
    if m.get("thread_env"):
        lines.append(f"- Thread variables set: {m['thread_env']}")
    for name, fw in report["frameworks"].items():
        if fw.get("threads"):
            lines.append(f"- {FRAMEWORKS[name][2]} threads: {json.dumps(fw['threads'])}")
    return lines


def render_markdown(report) -> str:
    cfg = report["config"]
    names = report["framework_order"]
    fws = report["frameworks"]
    label = {n: FRAMEWORKS[n][2] for n in names}
    parts = ["# tomei tutorial benchmark", "",
             f"Command: `{report['command']}`  ", f"Run: {report['started']} to "
             f"{report['finished']} (UTC)", "", "## Machine", ""]
    parts += machine_lines(report)
    data = report["data"]
    parts += ["", "## Configuration", "",
              f"- Data: {data['description']}; x = uint8 / 255.0 (float64), "
              f"{cfg['train_samples']:,} training / {cfg['test_samples']:,} test images",
              f"- Model: Flatten, Dense({cfg['hidden']}, relu), Dropout(0.2), Dense(10); Adam "
              f"(lr 1e-3, betas 0.9/0.999, epsilon 1e-7); sparse categorical cross-entropy "
              f"from logits; batch {cfg['batch_size']}; {cfg['epochs']} epoch(s)",
              f"- {cfg['reps']} repetition(s) per framework, alternated run by run, seed(s) "
              f"{', '.join(str(v) for v in cfg['seeds'])}; each run a fresh process"
              + (f"; PyTorch with torch.set_num_threads({cfg['torch_threads']})"
                 if cfg.get("torch_threads") not in (None, "default")
                 and "torch" in names else ""),
              "- Mean ± sample standard deviation over repetitions; each framework's "
              "evaluate and predict use batch 32, verbose 0; predict is timed on its second "
              "call (the first, with any one-off set-up, is in the JSON)"]
    status_rows = [f"- {label[n]}: {fws[n]['status']}" + (f" ({fws[n].get('error_summary')})"
                                                          if fws[n].get("error_summary") else "")
                   for n in names if fws[n]["status"] != "ok"]
    if status_rows:
        parts += ["", "Not measured:", ""] + status_rows
    ok = [n for n in names if fws[n]["status"] == "ok"]
    if ok and report.get("tutorial_ran"):
        parts += ["", "## Tutorial", ""]
        rows = []
        for key, text, digits in METRICS:
            text = text.format(test=f"{cfg['test_samples']:,}")
            rows.append([text] + [fmt_stat(fws[n]["summary"].get(key), digits) for n in ok])
        parts.append(md_table(["metric"] + [label[n] for n in ok], rows))
        peers = [n for n in ok if n != "tomei"]
        if "tomei" in ok and peers:
            parts += ["", "### Ratios against tomei (same invocation)", "",
                      "peer / tomei: above 1 means tomei is faster or smaller. In brackets, "
                      "the lowest and highest ratio of runs made side by side (repetition k "
                      "of the peer against repetition k of tomei).", ""]
            rows = []
            text_of = {k: t.format(test=f"{cfg['test_samples']:,}") for k, t, _ in METRICS}
            for key in RATIO_METRICS:
                rows.append([text_of[key]] + [fmt_ratio(report["ratios"][n].get(key))
                                              for n in peers])
            rows.append(["test accuracy, peer - tomei (points)"] + [
                fmt_points(fws[n]["summary"].get("test_accuracy"),
                           fws["tomei"]["summary"].get("test_accuracy")) for n in peers])
            parts.append(md_table([""] + [f"{SHORT[n]} / tomei" for n in peers], rows))
            parts += ["", "In words: " + "; ".join(
                f"{SHORT[n]} fit / tomei fit = "
                f"{report['ratios'][n]['fit_s_per_epoch']['ratio_of_means']:.1f}x"
                for n in peers if report["ratios"][n].get("fit_s_per_epoch")) + "."]
        targets = render_targets(report)
        if targets:
            parts += ["", targets]
        parts += ["", "### Seconds per epoch, each run", ""]
        rows = []
        for n in ok:
            for run in fws[n]["runs"]:
                before = run.get("load_average_before")
                rows.append([label[n], run.get("seed"),
                             ", ".join(fmt(s) for s in run.get("epoch_s", [])),
                             fmt(run.get("test_accuracy"), 4),
                             fmt(run.get("peak_rss_mb")),
                             fmt(before[0]) if before else "-"])
        parts.append(md_table(["framework", "seed", "s per epoch", "test accuracy",
                               "peak RSS (MB)", "load average before (1 min)"], rows))
    if report.get("scaling"):
        parts += ["", render_scaling(report)]
    return "\n".join(parts) + "\n"


def render_targets(report) -> str:
    """Each target of TARGETS: what was measured in this invocation and whether it is met."""
    fws, ratios = report["frameworks"], report.get("ratios", {})
    tomei = fws.get("tomei", {}).get("summary")
    if not tomei:
        return ""
    rows = []
    for text, kind, key, peer, threshold in TARGETS:
        if kind == "ratio":
            peers = [n for n in ratios if peer == n or (peer == "*" and n in PEERS)]
            values = {n: (ratios[n].get(key) or {}).get("ratio_of_means") for n in peers}
            values = {n: v for n, v in values.items() if v is not None}
            if not values:
                continue
            measured = ", ".join(f"{SHORT[n]} {v:.2f}x" for n, v in values.items())
            met = all(v >= threshold for v in values.values())
        else:
            stat = tomei.get(key)
            if not stat or (key == "test_accuracy" and report["data"]["source"] != "mnist"):
                continue
            value = stat["mean"]
            measured = fmt(value, 4 if key == "test_accuracy" else None)
            met = value <= threshold if kind == "max" else value >= threshold
        rows.append([text, measured, "yes" if met else "**no**"])
    return "\n".join(["### Against the targets of issue 16", "",
                      md_table(["target", "measured (this invocation)", "met"], rows)])


def fmt_points(peer, tomei):
    if not peer or not tomei:
        return "-"
    return f"{100 * (peer['mean'] - tomei['mean']):+.2f}"


def render_scaling(report) -> str:
    sc = report["scaling"]
    names = [n for n in report["framework_order"] if sc["frameworks"].get(n, {}).get("cells")]
    peers = [n for n in names if n != "tomei"] if "tomei" in names else []
    header = ["hidden", "batch", "layers"] + [f"{SHORT[n]} (s/epoch)" for n in names] + \
             [f"{SHORT[n]} / tomei" for n in peers]
    rows = []
    for cell in sc["cells"]:
        key = cell_key(cell)
        row = list(cell)
        for n in names:
            row.append(fmt_stat(sc["frameworks"][n]["cells"].get(key)))
        for n in peers:
            p = sc["frameworks"][n]["cells"].get(key)
            t = sc["frameworks"]["tomei"]["cells"].get(key)
            row.append(f"{p['mean'] / t['mean']:.2f}x" if p and t and t["mean"] > 0 else "-")
        rows.append(row)
    note = (f"Fit seconds per epoch over the first {sc['samples']:,} training images, "
            f"{sc['epochs']} epoch(s) per cell with the last one reported (the first includes "
            f"one-off warm-up), {sc['reps']} repetition(s) alternated, seed(s) "
            f"{', '.join(str(v) for v in sc['seeds'])}; "
            f"Flatten, then `layers` x [Dense(hidden, relu), Dropout(0.2)], then Dense(10); "
            f"Adam; one process per framework per repetition running every cell. "
            f"peer / tomei above 1: tomei is faster.")
    status = [f"- {FRAMEWORKS[n][2]}: {sc['frameworks'][n]['status']}"
              for n in report["framework_order"]
              if sc["frameworks"].get(n, {}).get("status") not in (None, "ok")]
    return "\n".join(["## Scaling: hidden width x batch size x hidden layers", "", note, ""] +
                     ([*status, ""] if status else []) + [md_table(header, rows)])


# --- main --------------------------------------------------------------------------------------
def cell_key(cell) -> str:
    return "x".join(str(v) for v in cell)


def decide_data(args):
    present = C.idx_files_present(args.data_dir)
    if args.synthetic:
        return {"source": "synthetic", "description": "synthetic Fashion-MNIST-shaped data "
                "(--synthetic: class blob patterns with shifts and noise)"}
    if present and args.dataset == "mnist":
        return {"source": "mnist", "path": args.data_dir,
                "description": f"MNIST (IDX files in {args.data_dir})"}
    if present:
        where = ("Debian package dataset-fashion-mnist, " if args.data_dir == C.DEBIAN_DIR
                 else "")
        return {"source": "fashion-mnist", "path": args.data_dir,
                "description": f"Fashion-MNIST ({where}{args.data_dir})"}
    if args.smoke:
        return {"source": "synthetic",
                "description": f"synthetic Fashion-MNIST-shaped data (the files are not in "
                               f"{args.data_dir}; --smoke falls back to generated data)"}
    if args.dataset == "mnist":
        raise SystemExit(f"MNIST's four IDX files not found in {args.data_dir}.")
    raise SystemExit(f"Fashion-MNIST files not found in {args.data_dir}. Install them with "
                     f"'apt-get install dataset-fashion-mnist', pass --data-dir, or use "
                     f"--synthetic.")


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            markdown = render_markdown(json.load(f))
        if args.markdown_path:
            _write(args.markdown_path, markdown)
        print(markdown)
        return 0
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    report = {"schema": 1, "command": exact_command(None if argv is None else
                                                   [sys.argv[0]] + list(argv)),
              "started": started, "load_average": {"start": load_average()},
              "framework_order": args.framework_list}
    data = decide_data(args)
    report["data"] = data
    progress("collecting machine information ...")
    report["machine"] = machine_info(args.timeout)
    seeds = [args.seed + k for k in range(args.reps)]
    report["config"] = {"smoke": args.smoke, "reps": args.reps, "seeds": seeds,
                        "epochs": args.epochs, "batch_size": args.batch_size,
                        "hidden": args.hidden, "train_samples": args.train_samples,
                        "test_samples": args.test_samples, "timeout_s": args.timeout,
                        "torch_threads": args.torch_threads or "default"}
    fws = {}
    for name in args.framework_list:
        fws[name] = {"label": FRAMEWORKS[name][2], "runs": [],
                     "status": "ok" if installed(name) else "not installed"}
        if fws[name]["status"] != "ok":
            progress(f"{FRAMEWORKS[name][2]}: not installed, skipped")
    report["frameworks"] = fws
    base_cfg = {"data": data["source"], "data_dir": data.get("path"),
                "batch_size": args.batch_size, "hidden": args.hidden,
                "n_train": args.train_samples, "n_test": args.test_samples,
                "torch_threads": args.torch_threads}

    report["tutorial_ran"] = not args.scaling_only
    if not args.scaling_only:
        for rep, seed in enumerate(seeds):
            for name in args.framework_list:
                fw = fws[name]
                if fw["status"] != "ok":
                    continue
                cfg = dict(base_cfg, mode="tutorial", seed=seed, epochs=args.epochs)
                progress(f"[rep {rep + 1}/{args.reps}] {FRAMEWORKS[name][2]} (seed {seed}) ...")
                load_before = load_average()
                result = run_child(FRAMEWORKS[name][0], cfg, child_env(name), args.timeout)
                result["seed"] = seed
                result["load_average_before"] = load_before
                if result.get("epoch_s"):
                    result["fit_best_epoch_s"] = min(result["epoch_s"])
                if "error" in result:
                    fw["status"] = "failed"
                    fw["error_summary"] = result["error"].strip().splitlines()[-1][:200]
                    fw["error"] = result["error"]
                    progress(f"    FAILED: {result['error']}")
                    continue
                fw["runs"].append(result)
                progress(f"    fit {fmt(result['fit_s_per_epoch'])} s/epoch, test accuracy "
                         f"{result['test_accuracy']:.4f}, peak RSS {fmt(result['peak_rss_mb'])} "
                         f"MB, process {fmt(result['process_wall_s'])} s")
        for name, fw in fws.items():
            if fw["runs"]:
                fw["summary"] = {key: summarize([r.get(key) for r in fw["runs"]])
                                 for key, _, _ in METRICS}
                fw["versions"] = fw["runs"][0].get("versions")
                fw["threads"] = fw["runs"][0].get("threads")
                fw["optimizer"] = fw["runs"][0].get("optimizer")
        report["ratios"] = {}
        if fws.get("tomei", {}).get("status") == "ok":
            for name, fw in fws.items():
                if name != "tomei" and fw["status"] == "ok":
                    report["ratios"][name] = {key: ratio_stats(fw["runs"], fws["tomei"]["runs"],
                                                               key) for key in RATIO_METRICS}

    if args.scaling:
        report["scaling"] = run_scaling(args, base_cfg)
    report["load_average"]["end"] = load_average()
    report["finished"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    markdown = render_markdown(report)
    if args.json_path:
        _write(args.json_path, json.dumps(report, indent=1, sort_keys=False) + "\n")
    if args.markdown_path:
        _write(args.markdown_path, markdown)
    print(markdown)
    failed = [n for n, fw in fws.items() if fw["status"] == "failed"]
    if report.get("scaling"):
        failed += [n for n, fw in report["scaling"]["frameworks"].items()
                   if fw["status"] == "failed"]
    return 1 if failed else 0


def run_scaling(args, base_cfg):
    cells = args.cells
    seeds = [args.seed + k for k in range(args.scaling_reps)]
    out = {"cells": cells, "samples": args.scaling_samples, "epochs": args.scaling_epochs,
           "reps": args.scaling_reps, "seeds": seeds, "frameworks": {}}
    for name in args.framework_list:
        out["frameworks"][name] = {"status": "ok" if installed(name) else "not installed",
                                   "runs": []}
    for rep, seed in enumerate(seeds):
        for name in args.framework_list:
            fw = out["frameworks"][name]
            if fw["status"] != "ok":
                continue
            cfg = dict(base_cfg, mode="scaling", seed=seed, epochs=args.scaling_epochs,
                       n_train=args.scaling_samples, n_test=1, cells=cells)
            progress(f"[scaling rep {rep + 1}/{args.scaling_reps}] {FRAMEWORKS[name][2]} "
                     f"({len(cells)} cells) ...")
            result = run_child(FRAMEWORKS[name][0], cfg, child_env(name), args.timeout)
            if "error" in result:
                fw["status"] = "failed"
                fw["error"] = result["error"]
                progress(f"    FAILED: {result['error']}")
                continue
            fw["runs"].append(result)
            progress("    " + ", ".join(f"{c['hidden']}x{c['batch_size']}x{c['depth']}: "
                                        f"{fmt(c['epoch_s'][-1])} s" for c in result["cells"]))
    for name, fw in out["frameworks"].items():
        fw["cells"] = {}
        for cell in cells:
            last = [c["epoch_s"][-1] for r in fw["runs"] for c in r["cells"]
                    if [c["hidden"], c["batch_size"], c.get("depth", 1)] == list(cell)]
            fw["cells"][cell_key(cell)] = summarize(last)
    return out


def _write(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
