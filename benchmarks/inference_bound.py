"""How fast can evaluate/predict on 10,000 images be on this CPU? The bound, and tomei on it.

Issue 16 asks for evaluate and predict on the 10,000 test images at least 3x faster than
every peer. This script puts the figures for that question side by side, in one process
per framework:

1. the matrix product that dominates the tutorial model's forward pass, (10,000 x 784) by
   (784 x 128) float32 = 2.0 GFLOP, timed with 1 and 2 BLAS threads, whole and in blocks;
2. the NumPy floor of the whole forward pass from the user's float64 ``x / 255.0``
   (cast each block to float32, Dense, ReLU, Dense): what any NumPy library must spend;
3. tomei's ``predict`` and ``evaluate`` (batch 32 as in the tutorial; tomei computes
   rows-independent models in blocks of ``ROWS_PER_CALL`` rows);
4. PyTorch eager as benchmarks/runners/torch_run.py runs it (x converted to one float32
   tensor before the clock starts, batches of 32, ``torch.no_grad``), in a child process;
5. optionally (``--one-core-busy``) tomei again while a busy loop holds one of the cores,
   which is how other processes on a shared 2-core machine spread tomei's figures.

Each figure is the minimum and the median of ``--calls`` calls, in milliseconds. The model
has the tutorial's shape and freshly initialised weights (the time of a forward pass does
not depend on the values). Run it on a quiet machine: ``python benchmarks/inference_bound.py
--data-dir DIR`` (MNIST's IDX files; without it, random images of the same shape).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "runners"))
import _common as C  # noqa: E402  (standard library only)

N_TEST, HIDDEN = 10_000, 128


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None,
                   help="folder with MNIST's four IDX files (default: random images)")
    p.add_argument("--calls", type=int, default=15, help="timed calls per figure")
    p.add_argument("--test-samples", type=int, default=N_TEST)
    p.add_argument("--one-core-busy", action="store_true",
                   help="also time tomei while a busy loop holds one core")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch child process")
    p.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", dest="json_path", default=None, help="write the figures here")
    args = p.parse_args(argv)
    if args.calls < 1 or args.test_samples < 1:
        p.error("--calls and --test-samples must be at least 1")
    return args


def test_images(args):
    """The test images as the tutorial has them: uint8 / 255.0, float64; and the labels."""
    import numpy as np

    if args.data_dir:
        (_, _), (x, y) = C.read_idx_dataset(args.data_dir)
    else:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (args.test_samples, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, args.test_samples).astype(np.uint8)
    return x[:args.test_samples] / 255.0, y[:args.test_samples]


def timed(fn, calls):
    """(min, median) milliseconds of ``calls`` calls of fn(), after one untimed call."""
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"min_ms": 1e3 * times[0], "median_ms": 1e3 * times[len(times) // 2]}


def numpy_figures(x, calls):
    """The product alone and the NumPy floor of the forward pass, on 1 and 2 BLAS threads."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    n = len(x)
    w1 = (rng.standard_normal((784, HIDDEN)) * 0.05).astype(np.float32)
    b1 = np.zeros(HIDDEN, np.float32)
    w2 = (rng.standard_normal((HIDDEN, 10)) * 0.05).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    x32 = x.reshape(n, -1).astype(np.float32)
    flat64 = x.reshape(n, -1)
    out = {}

    def forward(block_rows, source):
        result = np.empty((n, 10), np.float32)
        buffer = np.empty((block_rows, 784), np.float32)
        for start in range(0, n, block_rows):
            rows = source[start:start + block_rows]
            if rows.dtype != np.float32:
                np.copyto(buffer[:len(rows)], rows, casting="same_kind")
                rows = buffer[:len(rows)]
            h = rows @ w1
            h += b1
            np.maximum(h, 0, out=h)
            np.matmul(h, w2, out=result[start:start + len(rows)])
            result[start:start + len(rows)] += b2
        return result

    for threads in (1, 2):
        with threadpool_limits(threads, "blas"):
            out[f"product whole, {threads} thread(s)"] = timed(lambda: x32 @ w1, calls)
            out[f"product in 256-row blocks, {threads} thread(s)"] = timed(
                lambda: [x32[s:s + 256] @ w1 for s in range(0, n, 256)], calls)
            out[f"forward from float64, 256-row blocks, {threads} thread(s)"] = timed(
                lambda: forward(256, flat64), calls)
            out[f"forward from float32, 256-row blocks, {threads} thread(s)"] = timed(
                lambda: forward(256, x32), calls)
    out["cast float64 -> float32, whole"] = timed(lambda: x.astype(np.float32), calls)
    return out


def tomei_figures(x, y, calls):
    import tomei as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(HIDDEN, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return {"tomei predict": timed(lambda: model.predict(x, verbose=0), calls),
            "tomei evaluate": timed(lambda: model.evaluate(x, y, verbose=0), calls)}


def torch_figures(x, y, calls):
    """PyTorch eager, written as benchmarks/runners/torch_run.py writes evaluate/predict."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, HIDDEN),
                                torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(HIDDEN, 10))
    model.eval()
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))

    def predict():
        with torch.no_grad():
            return np.concatenate([model(xt[s:s + 32]).numpy() for s in range(0, len(xt), 32)])

    def evaluate():
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(xt), 32):
                xb, yb = xt[s:s + 32], yt[s:s + 32]
                logits = model(xb)
                loss_sum += float(loss_fn(logits, yb)) * len(yb)
                correct += int((logits.argmax(1) == yb).sum())
        return loss_sum / len(xt), correct / len(xt)

    return {"PyTorch predict (batch 32)": timed(predict, calls),
            "PyTorch evaluate (batch 32)": timed(evaluate, calls),
            "torch threads": torch.get_num_threads()}


def main(argv=None):
    args = parse_args(argv)
    x, y = test_images(args)
    if args.torch_child:
        print(C.MARKER + json.dumps(torch_figures(x, y, args.calls)))
        return
    figures = {"load_average_start": list(os.getloadavg()),
               "gflop_first_product": 2 * len(x) * 784 * HIDDEN / 1e9}
    figures.update(numpy_figures(x, args.calls))
    figures.update(tomei_figures(x, y, args.calls))
    if args.one_core_busy:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            busy = tomei_figures(x, y, args.calls)
        finally:
            hog.kill()
            hog.wait()
        figures.update({f"{k}, one core busy": v for k, v in busy.items()})
    if not args.no_torch:
        cmd = [sys.executable, os.path.abspath(__file__), "--torch-child",
               "--calls", str(args.calls), "--test-samples", str(args.test_samples)]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(C.MARKER)]
        figures.update(json.loads(lines[-1][len(C.MARKER):]) if lines else
                       {"PyTorch": f"not run: {(proc.stderr or proc.stdout)[-300:]}"})
    figures["load_average_end"] = list(os.getloadavg())
    for key, value in figures.items():
        if isinstance(value, dict):
            gflops = figures["gflop_first_product"] / (value["min_ms"] / 1e3) \
                if key.startswith("product whole") else None
            rate = f"  ({gflops:.0f} GFLOP/s)" if gflops else ""
            print(f"{key:58s} min {value['min_ms']:7.1f} ms  median {value['median_ms']:7.1f} ms"
                  f"{rate}")
        else:
            print(f"{key:58s} {value}")
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
