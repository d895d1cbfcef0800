#!/usr/bin/env python
"""The hot element-wise chains of one tutorial step, measured in isolation: NumPy (tomei's
readable reference), numba (tomei/engine/fused.py, what tomei uses when numba is installed)
and numexpr (the other candidate), plus what the second core does for Adam.

Sizes are the tutorial's: Adam over 101,770 float32 weights; Dense(128) bias-add + ReLU and
Dropout(0.2) on a (32, 128) batch; sparse softmax cross-entropy on (32, 10) logits; the
batch gather of 32 rows out of a (60000, 784) float64 array with the cast to float32. Each
figure is the minimum over ``--reps`` calls in microseconds (the median is in the JSON).
numexpr has no multi-output expressions, so Adam is three ``evaluate`` calls there; it has
no gather, so that row is NumPy's for it.

Then, in fresh processes: the one-off cost of numba in a process (import numba, load the
cached kernels), which tomei pays at the first training step.

    python benchmarks/fused_kernels.py                 # table on stdout
    python benchmarks/fused_kernels.py --json out.json --reps 500
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def timeit(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"min_us": min(times) * 1e6, "median_us": statistics.median(times) * 1e6}


def cases(k, ne):
    """{name: {impl: zero-argument callable}} on fresh tutorial-sized arrays."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    n = 784 * 128 + 128 + 128 * 10 + 10
    g = (rng.standard_normal(n) * 1e-2).astype(f32)
    var = rng.standard_normal(n).astype(f32)
    m = (rng.standard_normal(n) * 1e-3).astype(f32)
    v = (rng.random(n) * 1e-5).astype(f32)
    alpha, c1, c2, eps = f32(1e-3), f32(0.1), f32(0.001), f32(1e-7)

    def adam_numpy():      # Adam.update_step's NumPy lines
        m.__iadd__((g - m) * c1)
        v.__iadd__((g * g - v) * c2)
        var.__isub__(alpha * m / (np.sqrt(v) + eps))

    names = {"g": g, "var": var, "m": m, "v": v, "alpha": alpha, "c1": c1, "c2": c2,
             "eps": eps}

    def adam_numexpr():
        ne.evaluate("m + (g - m) * c1", local_dict=names, out=m)
        ne.evaluate("v + (g * g - v) * c2", local_dict=names, out=v)
        ne.evaluate("var - alpha * m / (sqrt(v) + eps)", local_dict=names, out=var)

    h = rng.standard_normal((32, 128)).astype(f32)
    b = rng.standard_normal(128).astype(f32)
    out = np.empty_like(h)
    gout = rng.standard_normal((32, 128)).astype(f32)
    gx, gb = np.empty_like(h), np.empty_like(b)
    relu_out = np.maximum(h + b, 0)

    def relu_back_numpy():
        gm = gout * (relu_out > 0)
        gm.sum(axis=0)

    u = rng.random((32, 128), dtype=f32)
    scale = np.empty_like(h)

    def dropout_numpy():
        s = (u < 0.8) * f32(1.25)
        h * s

    z = (rng.standard_normal((32, 10)) * 3).astype(f32)
    labels = rng.integers(0, 10, 32).astype(np.intp)
    probs, loss = np.empty_like(z), np.empty(32, f32)
    gl = np.full(32, f32(1 / 32))
    grad = np.empty_like(z)
    rows = np.arange(32)

    def xent_numpy():      # nn_ops.sparse_softmax_cross_entropy, forward and backward
        shifted = z - z.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=-1)
        np.log(total) - shifted[rows, labels]
        gr = e / total[:, None]
        gr[rows, labels] -= 1
        gr * gl[:, None]

    def xent_fused():
        k.sparse_xent_forward(z, labels, probs, loss)
        k.sparse_xent_backward(probs, labels, gl, grad)

    x = rng.random((60000, 784))
    index = rng.permutation(60000)[:32]
    batch = np.empty((32, 784), f32)

    table = {
        "Adam update, 101,770 weights": {
            "numpy": adam_numpy,
            "numba": lambda: k.adam_update(g, var, m, v, alpha, c1, c2, eps),
            "numexpr": adam_numexpr},
        "bias-add + ReLU forward, 32x128": {
            "numpy": lambda: np.maximum(h + b, 0),
            "numba": lambda: k.bias_relu_forward(h, b, out),
            "numexpr": lambda: ne.evaluate("where(h + b > 0, h + b, 0)",
                                           local_dict={"h": h, "b": b})},
        "ReLU + bias backward, 32x128": {
            "numpy": relu_back_numpy,
            "numba": lambda: k.bias_relu_backward(gout, relu_out, gx, gb),
            "numexpr": lambda: ne.evaluate("where(o > 0, gg, 0)", local_dict={
                "o": relu_out, "gg": gout}).sum(axis=0)},
        "dropout mask + apply, 32x128": {
            "numpy": dropout_numpy,
            "numba": lambda: k.dropout_forward(h.reshape(-1), u.reshape(-1), f32(0.8),
                                               f32(1.25), out.reshape(-1), scale.reshape(-1)),
            "numexpr": lambda: ne.evaluate("where(u < 0.8, h * 1.25, 0)",
                                           local_dict={"u": u, "h": h})},
        "softmax cross-entropy fwd + bwd, 32x10": {
            "numpy": xent_numpy, "numba": xent_fused,
            "numexpr": None},
        "batch gather + cast, 32 of 60,000 rows": {
            "numpy": lambda: x[index].astype(f32),
            "numba": lambda: k.gather_rows(x, index, batch),
            "numexpr": None},
    }
    return table, (g, var, m, v, alpha, c1, c2, eps)


def parallel_adam(k, adam_args, reps):
    """fused.adam_update (compiled with nogil=True) on the whole array in this thread, against
    each half in its own thread of a 2-thread pool (the second core, with the hand-off cost
    an implementation in tomei would pay)."""
    from concurrent.futures import ThreadPoolExecutor

    arrays, scalars = adam_args[:4], adam_args[4:]
    half = len(arrays[0]) // 2
    parts = [[a[:half] for a in arrays], [a[half:] for a in arrays]]
    with ThreadPoolExecutor(2) as pool:
        def two_threads():
            for f in [pool.submit(k.adam_update, *p, *scalars) for p in parts]:
                f.result()
        two_threads()
        return {"1 thread": timeit(lambda: k.adam_update(*adam_args), reps),
                "2 threads": timeit(two_threads, reps)}


def one_off_cost():
    """Seconds to import numba and load tomei's cached kernels in a fresh process."""
    code = ("import time; t = time.perf_counter(); import tomei; t1 = time.perf_counter(); "
            "from tomei.engine import fused; k = fused.kernels(); import numpy as np; "
            "a = np.ones(4, np.float32); "
            "k.adam_update(a, a.copy(), a.copy(), a.copy(), *(np.float32(0.1),) * 4); "
            "t2 = time.perf_counter(); print(t1 - t, t2 - t1)")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TOMEI_FUSED": "auto"}
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=600)
        if out.returncode != 0:
            return {"error": out.stderr[-500:]}
        runs.append([float(v) for v in out.stdout.split()])
    return {"import_tomei_s": [r[0] for r in runs], "numba_and_kernels_s": [r[1] for r in runs]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=300)
    p.add_argument("--json", dest="json_path", default=None)
    args = p.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from tomei.engine import fused
    fused.set_mode("auto")
    k = fused.kernels()
    if k is None:
        raise SystemExit(f"needs numba: {fused.status()}")
    try:
        import numexpr as ne
        ne.set_num_threads(1)
    except ImportError:
        ne = None
    report = {"reps": args.reps, "kernels_us": {}}
    table, adam_args = cases(k, ne)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, impls in table.items():
            row = {}
            for impl, fn in impls.items():
                if fn is None or (impl == "numexpr" and ne is None):
                    continue
                fn()   # warm: compile or cache
                row[impl] = timeit(fn, args.reps)
            report["kernels_us"][name] = row
        report["adam_parallel_us"] = parallel_adam(k, adam_args, args.reps)
    report["one_off"] = one_off_cost()

    print(f"\nKernels in isolation (min of {args.reps} calls, microseconds; numexpr 1 thread)\n")
    print("| chain | NumPy | numba | numexpr | NumPy / numba |\n|---|---|---|---|---|")
    for name, row in report["kernels_us"].items():
        cells = [f"{row[i]['min_us']:.1f}" if i in row else "-"
                 for i in ("numpy", "numba", "numexpr")]
        ratio = row["numpy"]["min_us"] / row["numba"]["min_us"]
        print(f"| {name} | {' | '.join(cells)} | {ratio:.1f}x |")
    print("\nAdam on the second core (halves in a 2-thread pool):",
          ", ".join(f"{k2}: {v['min_us']:.1f} us (median {v['median_us']:.1f})"
                    for k2, v in report["adam_parallel_us"].items()))
    one = report["one_off"]
    if "error" not in one:
        print("One-off per process: import tomei",
              ", ".join(f"{s:.2f}" for s in one["import_tomei_s"]),
              "s; import numba + load cached kernels",
              ", ".join(f"{s:.2f}" for s in one["numba_and_kernels_s"]), "s")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
