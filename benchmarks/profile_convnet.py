#!/usr/bin/env python
"""Where one training step of the keras-io "Simple MNIST convnet" spends its time.

The model of ``benchmarks/convnet_bench.py`` (Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64
3x3 relu, MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10 softmax; Adam; categorical
cross-entropy), on random MNIST-shaped float32 data, under the BLAS thread rule ``fit`` uses.
Each step is cut into:

- ``fwd <layer>``: each layer's ``call`` (the forward ops it runs, e.g. conv2d + bias_relu);
- ``loss``: ``compute_loss`` inside the tape;
- ``bwd <op> <shape>``: each recorded op's backward function during ``tape.gradient``,
  named by the op that recorded it and the shape of its output;
- ``optimizer``: ``apply_gradients``; ``metrics``: the loss tracker and accuracy.

Each row is the minimum over ``--reps`` steps (and the median); their sum is compared with
the whole ``train_step`` and with a real ``fit`` step. For hot spots while optimising only:
the comparison with TensorFlow is ``benchmarks/convnet_bench.py``'s.

    python benchmarks/profile_convnet.py                  # batch 128, 30 steps
    python benchmarks/profile_convnet.py --reps 50 --json /tmp/convnet_split.json
    TOMEI_FUSED=0 python benchmarks/profile_convnet.py    # NumPy only
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "runners"))
import _common as C  # noqa: E402  (standard library only)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--reps", type=int, default=30, help="steps timed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", dest="json_path", default=None, help="write the split here")
    return p.parse_args(argv)


def timed_layers(model, times):
    """Wraps each layer's ``call`` (on the instance) so that it adds its seconds to times,
    and the fused Conv2D + MaxPooling2D pairs (tomei/keras/layers/fusion.py), which run
    as one op without calling the two layers: row ``fwd <conv>+<pool>``."""
    from tomei.keras.layers import fusion

    def pair(conv, pool, x, _inner=fusion.conv_relu_max_pool):
        t = time.perf_counter()
        out = _inner(conv, pool, x)
        key = f"fwd {conv.name}+{pool.name}"
        times[key] = times.get(key, 0.0) + time.perf_counter() - t
        return out
    fusion.conv_relu_max_pool = pair
    for layer in model.layers:
        def call(*args, _inner=layer.call, _key=f"fwd {layer.name}", **kwargs):
            t = time.perf_counter()
            out = _inner(*args, **kwargs)
            times[_key] = times.get(_key, 0.0) + time.perf_counter() - t
            return out
        layer.call = call


def timed_backwards(loss, times):
    """Wraps the backward function of every op recorded on the way to ``loss``."""
    from tomei.engine import tensor

    for node in tensor._recorded_ancestors(loss):
        op = node._backward.__qualname__.split(".<locals>")[0]
        key = f"bwd {op} {tuple(node.shape)}"

        def backward(g, _inner=node._backward, _key=key):
            t = time.perf_counter()
            out = _inner(g)
            times[_key] = times.get(_key, 0.0) + time.perf_counter() - t
            return out
        node._backward = backward


def one_step(tf, model, xb, yb):
    """One train_step, cut into its phases: {row: seconds}."""
    times = {}
    now = time.perf_counter
    variables = model._train_variables or model.trainable_variables
    t0 = now()
    with tf.GradientTape() as tape:
        y_pred = model(xb, training=True)
        t1 = now()
        loss = model.compute_loss(xb, yb, y_pred)
        t2 = now()
    timed_backwards(loss, times)
    t3 = now()
    grads = tape.gradient(loss, variables)
    t4 = now()
    model.optimizer.apply_gradients(zip(grads, variables))
    t5 = now()
    model._loss_tracker.update_state(loss.value, sample_weight=len(xb))
    model.compute_metrics(xb, yb, y_pred, None)
    t6 = now()
    times.update({"forward (all layers)": t1 - t0, "loss": t2 - t1,
                  "backward (all ops)": t4 - t3, "optimizer": t5 - t4, "metrics": t6 - t5})
    return times


@contextlib.contextmanager
def fit_threads(model, batch_size):
    limiter = getattr(model, "_blas_threads", None)
    with (limiter(batch_size) if limiter else contextlib.nullcontext()):
        yield


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    import tomei as tf
    from tomei.engine import fused

    rng = np.random.default_rng(args.seed)
    n = 16 * args.batch_size
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = tf.keras.utils.to_categorical(rng.integers(0, 10, n), 10)
    tf.keras.utils.set_random_seed(args.seed)
    model = C.convnet_model(tf.keras)
    model.fit(x[:2 * args.batch_size], y[:2 * args.batch_size], batch_size=args.batch_size,
              epochs=1, verbose=0)  # builds everything, loads the fused kernels
    t = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
    fit_step = (time.perf_counter() - t) / (n // args.batch_size)

    rows, whole = {}, []
    with fit_threads(model, args.batch_size):
        for _ in range(3):
            model.train_step((x[:args.batch_size], y[:args.batch_size]))
        for _ in range(args.reps):
            idx = rng.integers(0, n, args.batch_size)
            xb, yb = x[idx], y[idx]
            t = time.perf_counter()
            model.train_step((xb, yb))
            whole.append(time.perf_counter() - t)
        layer_times = {}
        timed_layers(model, layer_times)
        for _ in range(args.reps):
            idx = rng.integers(0, n, args.batch_size)
            layer_times.clear()
            step = one_step(tf, model, x[idx], y[idx])
            step.update(layer_times)
            for key, val in step.items():
                rows.setdefault(key, []).append(val)

    ms = 1e3
    print(f"Convnet training step, batch {args.batch_size}, {args.reps} steps, fused kernels: "
          f"{'on' if fused.loaded() else 'off'} (min and median, ms)\n")
    order = sorted(rows, key=lambda k: (not k.startswith("fwd"), not k.startswith("bwd"),
                                        -min(rows[k])))
    out = {"batch_size": args.batch_size, "reps": args.reps, "rows_ms": {}}
    total = {"fwd": 0.0, "bwd": 0.0}
    for key in order:
        lo, med = min(rows[key]) * ms, statistics.median(rows[key]) * ms
        out["rows_ms"][key] = {"min": lo, "median": med}
        if key[:3] in total:
            total[key[:3]] += lo
        print(f"  {key:<48}{lo:8.2f}{med:8.2f}")
    out["train_step_ms"] = {"min": min(whole) * ms, "median": statistics.median(whole) * ms}
    out["fit_step_ms"] = fit_step * ms
    print(f"\n  {'sum of fwd rows / bwd rows':<48}{total['fwd']:8.2f}{total['bwd']:8.2f}")
    print(f"  {'train_step (untimed inside)':<48}{out['train_step_ms']['min']:8.2f}"
          f"{out['train_step_ms']['median']:8.2f}")
    print(f"  {'fit step (fit time / steps)':<48}{fit_step * ms:8.2f}")
    print(f"\n=> about {fit_step * 85:.2f} s for the 85 training steps of a 12,000-image epoch")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
