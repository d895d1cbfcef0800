#!/usr/bin/env bash
# Every benchmark behind docs/benchmarks.md, in one command, into benchmarks/results/:
#   1. the tutorial on MNIST: tomei (fused kernels on, and off) and 4 peers alternated,
#      3 seeds, plus the scaling cells
#   2. the fused kernels in isolation (NumPy / numba / numexpr, second core, one-off cost)
#   3. the plain-NumPy floor against tomei's fit (fused on and off)
# About 12 minutes on the quiet 2-core build machine.
#
#   bash benchmarks/run_all.sh MNIST_DIR     # MNIST_DIR: the four IDX files (gzipped or not)
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${1:?usage: bash benchmarks/run_all.sh MNIST_DIR (the four MNIST IDX files)}"
out=benchmarks/results
# the tomei of this checkout, not whichever one pip installed
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
# numba compiles the fused kernels once per version of tomei/engine/fused.py (then caches
# them); a few training steps first, so that no timed run pays for a compilation
python -c "
import numpy as np, tomei as tf
x, y = np.random.default_rng(0).random((256, 28, 28)), np.arange(256, dtype=np.uint8) % 10
m = tf.keras.models.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'), tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10)])
m.compile(optimizer='adam', loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
          metrics=['accuracy'])
m.fit(x, y, epochs=1, verbose=0); m.evaluate(x, y, verbose=0)
from tomei.engine import fused; print('fused kernels:', fused.status())"
python benchmarks/tutorial_bench.py --dataset mnist --data-dir "$data_dir" --reps 3 --scaling \
  --timeout 300 \
  --json "$out/latest.json" --markdown "$out/latest.md" \
  || echo "run_all: a framework failed or timed out; the report says which" >&2
python benchmarks/fused_kernels.py --json "$out/fused_kernels.json" > "$out/fused_kernels.md"
python benchmarks/numpy_floor.py --data-dir "$data_dir" > "$out/numpy_floor.txt"
cat "$out/fused_kernels.md" "$out/numpy_floor.txt"
