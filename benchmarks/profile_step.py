#!/usr/bin/env python
"""Where one tomei training step spends its time: a split timing, then a profile.

1. Split timing: one step of the tutorial model (Flatten, Dense(128, relu), Dropout(0.2),
   Dense(10); Adam; sparse categorical cross-entropy from logits; batch 32) cut into the
   phases of ``Trainer.train_step``, each timed on its own with ``perf_counter``:

       data       x_train[idx] gather + cast to float32 (what fit's data.take does)
       forward    model(x, training=True) inside a GradientTape
       loss       model.compute_loss(x, y, y_pred)            (still inside the tape)
       backward   tape.gradient(loss, variables)
       optimizer  optimizer.apply_gradients(zip(grads, variables))
       metrics    the loss tracker and the compiled metrics (accuracy)

   plus the whole ``model.train_step((x, y))`` and one fit step (fit time / steps). Each phase
   reports the minimum over ``--reps`` steps (the cost without interference; the median is
   shown too). The model is first fitted for a few batches so the
   optimizer slots exist and the metrics are resolved, exactly as during fit, and the phases
   run under the same BLAS thread limit fit uses.

2. Profile: ``model.fit`` on ``--steps`` batches (300 by default) under pyinstrument (when
   installed) or cProfile, printed as text; ``--html`` saves pyinstrument's HTML view and
   ``--pstats`` cProfile's stats file.

    python benchmarks/profile_step.py                     # split + pyinstrument, 300 steps
    python benchmarks/profile_step.py --profiler cprofile --pstats /tmp/step.pstats
    python benchmarks/profile_step.py --batch-size 128 --hidden 512 --profiler none
    python benchmarks/profile_step.py --json /tmp/split.json
    python benchmarks/profile_step.py --blas-threads      # 1 vs all BLAS threads per size

Timings here are for finding hot spots while optimising; comparisons with TensorFlow and
PyTorch are made by benchmarks/tutorial_bench.py.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "runners"))
import _common as C  # noqa: E402

PHASES = ("data", "forward", "loss", "backward", "optimizer", "metrics")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--reps", type=int, default=300, help="steps timed for the split")
    p.add_argument("--steps", type=int, default=300, help="fit steps under the profiler")
    p.add_argument("--profiler", choices=("auto", "pyinstrument", "cprofile", "none"),
                   default="auto", help="auto: pyinstrument if installed, else cProfile")
    p.add_argument("--interval", type=float, default=0.0001,
                   help="pyinstrument sampling interval (s)")
    p.add_argument("--html", default=None, help="save pyinstrument's HTML report here")
    p.add_argument("--pstats", default=None, help="save cProfile's stats here")
    p.add_argument("--synthetic", action="store_true",
                   help="generated data instead of Fashion-MNIST (used anyway when the "
                        "Debian files are missing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", dest="json_path", default=None, help="write the split here")
    p.add_argument("--blas-threads", action="store_true",
                   help="instead: time the three products of one Dense(784 -> hidden) step "
                        "with 1 BLAS thread and with all, for hidden 128/512/2048 and batch "
                        "32/128/1024 (where a second thread starts to pay)")
    return p.parse_args(argv)


def load(args):
    """Fashion-MNIST through tomei (Debian files, no download), else synthetic; x / 255.0."""
    import tomei as tf

    if not args.synthetic and C.idx_files_present():
        os.environ.setdefault("TOMEI_OFFLINE", "1")
        (x, y), _ = tf.keras.datasets.fashion_mnist.load_data()
        source = "fashion-mnist"
    else:
        (x, y), _ = C.synthetic_fashion_mnist(60000, 1, seed=12345)
        source = "synthetic"
    return x / 255.0, y, source


def build(tf, hidden):
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(hidden, activation='relu'),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10)
    ])
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
    return model


@contextlib.contextmanager
def fit_threads(model, batch_size):
    """The BLAS thread limit fit uses for this batch size (model._blas_threads when present)."""
    limiter = getattr(model, "_blas_threads", None)
    if limiter is not None:
        with limiter(batch_size):
            yield
    else:
        yield


def take(x, index):
    from tomei.keras.models import data as data_mod

    return data_mod.take(x, index)


def split_timing(tf, model, x, y, args):
    """Per-phase seconds for ``args.reps`` steps: {phase: [seconds, ...]}."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    variables = getattr(model, "_train_variables", None) or model.trainable_variables
    tracker = getattr(model, "_loss_tracker", None)
    compute_metrics = getattr(model, "compute_metrics", None)
    times = {name: [] for name in PHASES}
    times["train_step"] = []
    now = time.perf_counter
    n = len(x)
    with fit_threads(model, args.batch_size):
        for _ in range(args.reps):
            index = rng.integers(0, n, size=args.batch_size)
            t0 = now()
            xb, yb = take(x, index), y[index]
            t1 = now()
            with tf.GradientTape() as tape:
                y_pred = model(xb, training=True)
                t2 = now()
                loss = model.compute_loss(xb, yb, y_pred)
                t3 = now()
            grads = tape.gradient(loss, variables)
            t4 = now()
            model.optimizer.apply_gradients(zip(grads, variables))
            t5 = now()
            if tracker is not None:
                tracker.update_state(loss.value, sample_weight=len(xb))
            if compute_metrics is not None:
                compute_metrics(xb, yb, y_pred, None)
            t6 = now()
            for name, a, b in zip(PHASES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                times[name].append(b - a)
            # the whole train_step, as fit calls it, on a fresh batch
            index = rng.integers(0, n, size=args.batch_size)
            xb, yb = take(x, index), y[index]
            t0 = now()
            model.train_step((xb, yb))
            times["train_step"].append(now() - t0)
    return times


def fit_step(model, x, y, args):
    """Seconds per step of a real ``fit`` over ``args.reps`` batches (includes callbacks,
    logs, shuffling: everything fit does around train_step)."""
    n = args.reps * args.batch_size
    t = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=args.batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - t) / args.reps


def report_split(times, fit_per_step, args, source):
    us = 1e6
    rows, out = [], {"batch_size": args.batch_size, "hidden": args.hidden, "reps": args.reps,
                     "data": source, "phases_us": {}}
    total_min = 0.0
    for name in PHASES + ("train_step",):
        vals = times[name]
        lo, med = min(vals) * us, statistics.median(vals) * us
        out["phases_us"][name] = {"min": lo, "median": med}
        if name in PHASES:
            total_min += lo
        rows.append((name, lo, med))
    out["sum_of_phase_mins_us"] = total_min
    out["fit_us_per_step"] = fit_per_step * us
    print(f"\nOne training step, batch {args.batch_size}, hidden {args.hidden}, {source} "
          f"({args.reps} steps; min and median in microseconds)\n")
    print(f"{'phase':<12}{'min':>10}{'median':>10}{'share':>8}")
    for name, lo, med in rows:
        if name == "train_step":
            print("-" * 40)
            print(f"{'sum of mins':<12}{total_min:>10.1f}")
        share = f"{100 * lo / total_min:>7.0f}%" if name in PHASES else ""
        print(f"{name:<12}{lo:>10.1f}{med:>10.1f}{share}")
    print(f"{'fit step':<12}{'':>10}{fit_per_step * us:>10.1f}   (fit time / steps, incl. "
          f"callbacks and logs)")
    print(f"\n=> {1e6 / (fit_per_step * us) * args.batch_size:,.0f} images/s in fit, "
          f"{fit_per_step * 60000 / args.batch_size:.2f} s per 60,000-image epoch")
    return out


def profile_fit(model, x, y, args):
    which = args.profiler
    if which == "none":
        return
    if which == "auto":
        try:
            import pyinstrument  # noqa: F401
            which = "pyinstrument"
        except ImportError:
            which = "cprofile"
    n = args.steps * args.batch_size
    xs, ys = x[:n], y[:n]
    print(f"\nProfile ({which}): model.fit on {args.steps} steps of batch {args.batch_size}\n")
    if which == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=args.interval)
        profiler.start()
        model.fit(xs, ys, batch_size=args.batch_size, epochs=1, verbose=0)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(profiler.output_html())
            print(f"HTML report: {args.html}")
    else:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        model.fit(xs, ys, batch_size=args.batch_size, epochs=1, verbose=0)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
        if args.pstats:
            stats.dump_stats(args.pstats)
            print(f"pstats file: {args.pstats} (python -m pstats {args.pstats})")


def blas_threads_table(reps=100):
    """Min seconds of x @ W, x.T @ g and g @ W.T (float32) with 1 thread and all threads."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    most = max([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] or [1])
    rng = np.random.default_rng(0)
    print(f"\nOne Dense(784 -> hidden) step's three float32 products (forward, weight "
          f"gradient, input gradient), min of {reps}, microseconds\n")
    print(f"{'hidden':>7}{'batch':>7}{'1 thread':>11}{f'{most} threads':>12}")
    rows = []
    for hidden in (128, 512, 2048):
        for batch in (32, 128, 1024):
            x = rng.random((batch, 784), dtype=np.float32)
            w = rng.random((784, hidden), dtype=np.float32)
            g = rng.random((batch, hidden), dtype=np.float32)
            best = {}
            for threads in (1, most):
                with threadpool_limits(limits=threads, user_api="blas"):
                    t_min = float("inf")
                    for _ in range(reps):
                        t = time.perf_counter()
                        x @ w
                        x.T @ g
                        g @ w.T
                        t_min = min(t_min, time.perf_counter() - t)
                best[threads] = t_min * 1e6
            rows.append({"hidden": hidden, "batch": batch, "one_thread_us": best[1],
                         "all_threads_us": best[most], "threads": most})
            print(f"{hidden:>7}{batch:>7}{best[1]:>11.0f}{best[most]:>12.0f}")
    return rows


def main(argv=None):
    args = parse_args(argv)
    if args.blas_threads:
        rows = blas_threads_table()
        if args.json_path:
            with open(args.json_path, "w", encoding="utf-8") as f:
                json.dump(rows, f, indent=1)
        return 0
    import tomei as tf

    x, y, source = load(args)
    tf.keras.utils.set_random_seed(args.seed)
    model = build(tf, args.hidden)
    # A short fit builds and packs everything the way a real fit does.
    model.fit(x[:4 * args.batch_size], y[:4 * args.batch_size], batch_size=args.batch_size,
              epochs=1, verbose=0)
    times = split_timing(tf, model, x, y, args)
    per_step = fit_step(model, x, y, args)
    out = report_split(times, per_step, args, source)
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    profile_fit(model, x, y, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
