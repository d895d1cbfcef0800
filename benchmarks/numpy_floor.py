#!/usr/bin/env python
"""The floor: the tutorial's training epoch as one hand-written NumPy function, no framework.

Same model (784 -> 128 relu -> dropout 0.2 -> 10), same Adam (Keras form, epsilon 1e-7),
batch 32, shuffled, float32, one BLAS thread, all weights in one buffer updated in one pass:
every NumPy call a framework on NumPy must make, and nothing else (no tape, no layers, no
metrics, no callbacks). Its seconds per epoch bound what any NumPy implementation of the
tutorial can reach on this machine; compare with tomei's fit (fused kernels on, and off) in the same run:

    python benchmarks/numpy_floor.py                        # Debian's Fashion-MNIST
    python benchmarks/numpy_floor.py --data-dir DIR         # MNIST's IDX files in DIR
"""
import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits


def hand_fused_epoch(x, y, rng):
    """One epoch; returns its seconds. x: (N, 784) float64 in [0, 1], y: (N,) labels."""
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    buf = np.zeros(sum(int(np.prod(s)) for s in shapes), np.float32)
    views, at = [], 0
    for s in shapes:
        size = int(np.prod(s))
        views.append(buf[at:at + size].reshape(s))
        at += size
    w1, b1, w2, b2 = views
    w1[...] = rng.uniform(-np.sqrt(6 / 912), np.sqrt(6 / 912), w1.shape)
    w2[...] = rng.uniform(-np.sqrt(6 / 138), np.sqrt(6 / 138), w2.shape)
    m, v, g = np.zeros_like(buf), np.zeros_like(buf), np.empty_like(buf)
    rows = np.arange(32)
    start = time.perf_counter()
    order = rng.permutation(len(x))
    for t, first in enumerate(range(0, len(x) - 31, 32), start=1):
        idx = order[first:first + 32]
        xb, yb = x[idx].astype(np.float32), y[idx].astype(np.intp)
        h = xb @ w1 + b1                                     # forward
        relu = h > 0
        keep = (rng.random(h.shape, dtype=np.float32) < 0.8) * np.float32(1.25)
        hd = h * relu * keep
        z = hd @ w2 + b2
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        dz = e / e.sum(1, keepdims=True)                     # softmax - onehot, / batch
        dz[rows, yb] -= 1
        dz /= 32
        dh = (dz @ w2.T) * keep * relu                       # backward
        np.concatenate([(xb.T @ dh).ravel(), dh.sum(0), (hd.T @ dz).ravel(), dz.sum(0)], out=g)
        alpha = np.float32(1e-3 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
        m += (g - m) * np.float32(0.1)                       # Adam, Keras form
        v += (g * g - v) * np.float32(0.001)
        buf -= alpha * m / (np.sqrt(v) + np.float32(1e-7))
    return time.perf_counter() - start


def tomei_epoch(x, y, fusion):
    """One tomei ``fit`` epoch (fresh model) with the fused kernels on ('auto') or off."""
    import tomei as tf
    from tomei.engine import fused
    fused.set_mode(fusion)
    if fusion == "auto" and fused.kernels() is None:
        return None
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(784,)), tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    model.fit(x, y, epochs=1, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None,
                   help="folder with the four IDX files (MNIST or Fashion-MNIST, gzipped or "
                        "not); default Debian's Fashion-MNIST")
    p.add_argument("--reps", type=int, default=3, help="epochs of each, alternated")
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from runners._common import DEBIAN_DIR, read_idx_dataset  # the harness's bare reader
    (x, y), _ = read_idx_dataset(args.data_dir or DEBIAN_DIR)
    x = x.reshape(len(x), -1) / 255.0
    rng = np.random.default_rng(0)
    runs = {"floor": [], "auto": [], "off": []}
    for _ in range(args.reps):       # alternated, so drifts of a busy machine hit all three
        with threadpool_limits(limits=1, user_api="blas"):
            runs["floor"].append(hand_fused_epoch(x, y, rng))
        for fusion in ("auto", "off"):
            seconds = tomei_epoch(x, y, fusion)
            if seconds is not None:
                runs[fusion].append(seconds)
    labels = {"floor": "hand-fused NumPy epoch", "auto": "tomei fit, fused kernels",
              "off": "tomei fit, NumPy only"}
    for key, values in runs.items():
        if values:
            print(f"{labels[key] + ':':<28}{min(values):.2f} s (runs: "
                  f"{', '.join(f'{s:.2f}' for s in values)})")
    for key in ("auto", "off"):
        if runs[key]:
            print(f"{labels[key]} / floor: {min(runs[key]) / min(runs['floor']):.2f}x")


if __name__ == "__main__":
    main()
