#!/usr/bin/env python
"""The floor: the tutorial's training epoch as one hand-written NumPy function, no framework.

Same model (784 -> 128 relu -> dropout 0.2 -> 10), same Adam (Keras form, epsilon 1e-7),
batch 32, shuffled, float32, one BLAS thread, all weights in one buffer updated in one pass:
every NumPy call a framework on NumPy must make, and nothing else (no tape, no layers, no
metrics, no callbacks). Its seconds per epoch bound what any NumPy implementation of the
tutorial can reach on this machine; compare with tomei's fit in the same run:

    python benchmarks/numpy_floor.py            # prints both, and their ratio
"""
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


def tomei_epoch(x, y):
    import tomei as tf
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(784,)), tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    model.fit(x, y, epochs=1, verbose=0)
    return time.perf_counter() - start


def main():
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from runners._common import read_fashion_mnist  # the harness's bare IDX reader
    (x, y), _ = read_fashion_mnist()
    x = x.reshape(len(x), -1) / 255.0
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        floor = [hand_fused_epoch(x, y, rng) for _ in range(3)]
    ours = [tomei_epoch(x, y) for _ in range(3)]
    print(f"hand-fused NumPy epoch: {min(floor):.2f} s (runs: {', '.join(f'{s:.2f}' for s in floor)})")
    print(f"tomei fit epoch:        {min(ours):.2f} s (runs: {', '.join(f'{s:.2f}' for s in ours)})")
    print(f"tomei / floor: {min(ours) / min(floor):.2f}x")


if __name__ == "__main__":
    main()
