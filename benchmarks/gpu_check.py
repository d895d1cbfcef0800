"""tomei on a GPU: correctness checks and epoch times next to PyTorch and Keras 3 on JAX.

    python benchmarks/gpu_check.py --data DIR [--json OUT.json] [--parts a,b,...]

DIR holds MNIST's four IDX files (``train-images-idx3-ubyte[.gz]`` ...). Each part runs in
its own process (so frameworks do not share GPU memory or threads) and prints one JSON line;
the summary at the end gives every check as PASS/FAIL and the epoch times as ratios.

Parts (all by default, in this order):

- ``ops``       float64 gradient checks of every engine op on the GPU
                (``tomei.engine.gradcheck.check_all_ops(on_gpu=True)``);
- ``parity``    the tutorial MLP and the keras-io convnet, same weights and batch: forward
                output and loss on the GPU equal the CPU's to 1e-5;
- ``mlp``       the tutorial on the GPU: 5 epochs, batch 32, test accuracy >= 0.97;
- ``mlp_cpu``   two tutorial epochs on this machine's CPU (the placement rule's other side);
- ``convnet``   the keras-io "Simple MNIST convnet" on the GPU: 2 epochs, batch 128,
                validation_split 0.1;
- ``torch_mlp``, ``torch_convnet``   the same models as eager PyTorch loops on the GPU;
- ``jax_mlp``, ``jax_convnet``       the same with Keras 3 on JAX (``model.fit``).

Epoch times leave out the first epoch (kernel compilation, warm-up) where two or more ran.
The targets (issue: GPU training): convnet epoch <= 1.5x PyTorch eager's, tutorial epoch <=
PyTorch eager's. Written for a machine with no network: nothing is downloaded.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARK = "@@GPU@@ "
PARTS = ["ops", "parity", "mlp", "mlp_cpu", "convnet", "torch_mlp", "torch_convnet", "jax_mlp",
         "jax_convnet"]


# --- data ------------------------------------------------------------------------------------
def load_mnist(folder):
    """(x_train, y_train), (x_test, y_test) as uint8 arrays from the IDX files in ``folder``."""
    import numpy as np

    def read(name, offset, shape):
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.exists(path):
                opener = gzip.open if path.endswith(".gz") else open
                with opener(path, "rb") as f:
                    return np.frombuffer(f.read(), np.uint8, offset=offset).reshape(shape)
        raise FileNotFoundError(f"{name} not in {folder}")

    return ((read("train-images-idx3-ubyte", 16, (-1, 28, 28)),
             read("train-labels-idx1-ubyte", 8, (-1,))),
            (read("t10k-images-idx3-ubyte", 16, (-1, 28, 28)),
             read("t10k-labels-idx1-ubyte", 8, (-1,))))


def epoch_seconds(times):
    """Mean epoch time, leaving out the first when there are two or more."""
    times = list(times)
    return sum(times[1:]) / len(times[1:]) if len(times) > 1 else times[0]


# --- tomei parts -----------------------------------------------------------------------------
def tutorial_model(tf):
    return tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])


def convnet_model(tf):
    return tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(pool_size=(2, 2)),
        tf.keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(pool_size=(2, 2)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dropout(0.5),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])


class EpochTimer:
    """A tomei/Keras callback recording each epoch's wall time."""

    def __new__(cls, base):
        class _Timer(base):
            def __init__(self):
                super().__init__()
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._t)
        return _Timer()


def part_ops(data):
    import cupy

    from tomei.engine.gradcheck import check_all_ops, op_cases
    passed, failed = [], {}
    for name, _, _ in op_cases():
        try:
            passed += check_all_ops(on_gpu=True, only={name})
        except Exception as exc:  # noqa: BLE001 - every op is reported
            failed[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return {"ok": not failed, "passed": len(passed), "failed": failed,
            "gpu": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()}


def part_parity(data):
    import numpy as np

    import tomei as tf
    (x, y), _ = data
    results = {}
    for name, build, loss, xb, yb in [
        ("mlp", tutorial_model,
         tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), x[:256] / 255.0,
         y[:256]),
        ("convnet", convnet_model, tf.keras.losses.CategoricalCrossentropy(),
         (x[:256] / 255.0)[..., None], np.eye(10, dtype=np.float32)[y[:256]]),
    ]:
        tf.keras.utils.set_random_seed(0)
        cpu_model = build(tf)
        cpu_out = cpu_model(xb).numpy()
        cpu_loss = float(loss(yb, cpu_out).numpy())
        with tf.device("/GPU:0"):
            gpu_model = build(tf)
            gpu_model.set_weights(cpu_model.get_weights())
            gpu_out_t = gpu_model(xb)
            gpu_loss = float(loss(yb, gpu_out_t).numpy())
        on_gpu = all(type(v.value).__module__.startswith("cupy") for v in gpu_model.variables)
        diff = float(np.max(np.abs(gpu_out_t.numpy() - cpu_out)))
        results[name] = {"max_abs_diff": diff, "loss_cpu": cpu_loss, "loss_gpu": gpu_loss,
                         "weights_on_gpu": on_gpu,
                         "ok": on_gpu and diff <= 1e-5 and abs(gpu_loss - cpu_loss) <= 1e-5}
    return {"ok": all(r["ok"] for r in results.values()), **results}


def _scaled(data, convnet):
    """The tutorial's x / 255; for the convnet a channel axis and one-hot labels, as in
    keras-io's example."""
    import numpy as np
    (x, y), (xt, yt) = data
    x, xt = x / 255.0, xt / 255.0
    if convnet:
        x, xt = x[..., None].astype("float32"), xt[..., None].astype("float32")
        y, yt = np.eye(10, dtype="float32")[y], np.eye(10, dtype="float32")[yt]
    return x, y, xt, yt


def _tomei_fit(data, build, epochs, batch_size, convnet, where):
    import tomei as tf
    x, y, xt, yt = _scaled(data, convnet)
    if convnet:
        loss, extra = "categorical_crossentropy", {"validation_split": 0.1}
    else:
        loss, extra = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), {}
    tf.keras.utils.set_random_seed(0)
    model = build(tf)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    timer = EpochTimer(tf.keras.callbacks.Callback)
    with tf.device(where):
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=2, callbacks=[timer],
                  **extra)
        test_loss, test_acc = model.evaluate(xt, yt, verbose=0)
    placed = type(model.trainable_variables[0].value).__module__.split(".")[0]
    return {"epoch_s": epoch_seconds(timer.times), "epoch_times": timer.times,
            "test_accuracy": float(test_acc), "test_loss": float(test_loss),
            "weights_on": placed, "flops_per_step": model.flops_per_step(batch_size)}


def part_mlp(data):
    out = _tomei_fit(data, tutorial_model, 5, 32, False, "/GPU:0")
    return {"ok": out["test_accuracy"] >= 0.97 and out["weights_on"] == "cupy", **out}


def part_mlp_cpu(data):
    out = _tomei_fit(data, tutorial_model, 2, 32, False, "/CPU:0")
    return {"ok": out["weights_on"] == "numpy", **out}


def part_convnet(data):
    out = _tomei_fit(data, convnet_model, 2, 128, True, "/GPU:0")
    return {"ok": out["test_accuracy"] >= 0.97 and out["weights_on"] == "cupy", **out}


# --- PyTorch eager ---------------------------------------------------------------------------
def _torch_fit(data, convnet, epochs, batch_size):
    import numpy as np
    import torch
    from torch import nn
    dev = torch.device("cuda")
    (x, y), (xt, yt) = data
    shape = (-1, 1, 28, 28) if convnet else (-1, 28, 28)
    X = torch.tensor(x.reshape(shape), dtype=torch.float32, device=dev) / 255.0
    Y = torch.tensor(y.astype(np.int64), device=dev)
    Xt = torch.tensor(xt.reshape(shape), dtype=torch.float32, device=dev) / 255.0
    Yt = torch.tensor(yt.astype(np.int64), device=dev)
    if convnet:
        n_train = int(len(X) * 0.9)  # validation_split=0.1: the last 10% held out
        X, Y = X[:n_train], Y[:n_train]
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Dropout(0.5), nn.Linear(1600, 10))
    else:
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(128, 10))
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        torch.cuda.synchronize()
        t = time.perf_counter()
        model.train()
        perm = torch.randperm(len(X), device=dev)
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            loss = loss_fn(model(X[idx]), Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        acc = float((model(Xt).argmax(1) == Yt).float().mean())
    return {"ok": True, "epoch_s": epoch_seconds(times), "epoch_times": times,
            "test_accuracy": acc, "torch": torch.__version__}


def part_torch_mlp(data):
    return _torch_fit(data, False, 2, 32)


def part_torch_convnet(data):
    return _torch_fit(data, True, 2, 128)


# --- Keras 3 on JAX --------------------------------------------------------------------------
def _jax_fit(data, convnet, epochs, batch_size):
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax
    import keras
    x, y, xt, yt = _scaled(data, convnet)
    if convnet:
        loss, extra = "categorical_crossentropy", {"validation_split": 0.1}
        model = convnet_model(type("tf", (), {"keras": keras}))
    else:
        loss, extra = keras.losses.SparseCategoricalCrossentropy(from_logits=True), {}
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    timer = EpochTimer(keras.callbacks.Callback)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer], **extra)
    _, acc = model.evaluate(xt, yt, verbose=0)
    return {"ok": True, "epoch_s": epoch_seconds(timer.times), "epoch_times": timer.times,
            "test_accuracy": float(acc), "jax": jax.__version__, "keras": keras.__version__,
            "devices": [str(d) for d in jax.devices()]}


def part_jax_mlp(data):
    return _jax_fit(data, False, 2, 32)


def part_jax_convnet(data):
    return _jax_fit(data, True, 2, 128)


# --- orchestration ---------------------------------------------------------------------------
def run_part(name, data_dir):
    sys.path.insert(0, ROOT)
    try:
        result = globals()[f"part_{name}"](load_mnist(data_dir))
    except Exception:  # noqa: BLE001 - reported as a failed part
        result = {"ok": False, "error": traceback.format_exc()[-2000:]}
    sys.stdout.flush()
    print(MARK + json.dumps(result), flush=True)


def summary(results):
    lines = ["", "== tomei GPU check =="]
    for name in results:
        r = results[name]
        extra = ""
        if "epoch_s" in r:
            extra = f"epoch {r['epoch_s']:.2f} s, test accuracy {r.get('test_accuracy', 0):.4f}"
        elif name == "ops":
            extra = f"{r.get('passed', 0)} ops passed, failed: {r.get('failed') or 'none'}"
        elif name == "parity":
            extra = ", ".join(f"{k}: max |gpu-cpu| {v['max_abs_diff']:.2e}, loss "
                              f"{v['loss_gpu']:.6f} vs {v['loss_cpu']:.6f}"
                              for k, v in r.items() if isinstance(v, dict))
        if r.get("error"):
            extra = r["error"].strip().splitlines()[-1]
        lines.append(f"{'PASS' if r.get('ok') else 'FAIL'}  {name:<14} {extra}")
    ratios = {}
    for ours, peer in [("mlp", "torch_mlp"), ("mlp", "jax_mlp"), ("convnet", "torch_convnet"),
                       ("convnet", "jax_convnet"), ("mlp", "mlp_cpu")]:
        if results.get(ours, {}).get("epoch_s") and results.get(peer, {}).get("epoch_s"):
            ratios[f"{ours}/{peer}"] = results[ours]["epoch_s"] / results[peer]["epoch_s"]
    lines.append("epoch-time ratios (tomei GPU / other; < 1 means tomei is faster):")
    lines += [f"  {k:<24} {v:.2f}x" for k, v in ratios.items()]
    targets = {"convnet <= 1.5x torch eager": ratios.get("convnet/torch_convnet", 99) <= 1.5,
               "mlp <= torch eager": ratios.get("mlp/torch_mlp", 99) <= 1.0}
    lines += [f"target {'MET' if ok else 'NOT MET'}: {k}" for k, ok in targets.items()]
    return "\n".join(lines), ratios, targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with MNIST's IDX files")
    parser.add_argument("--json", default=None, help="write all results here")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)  # one part, in-process
    parser.add_argument("--timeout", type=float, default=240, help="seconds per part")
    args = parser.parse_args(argv)
    if args.part:
        run_part(args.part, args.data)
        return 0
    results = {}
    for name in args.parts.split(","):
        start = time.perf_counter()
        print(f"--- {name}", flush=True)
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--data", args.data,
                                   "--part", name], capture_output=True, text=True,
                                  timeout=args.timeout, env=dict(os.environ, TOMEI_DEVICE="auto"))
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
            results[name] = json.loads(lines[-1][len(MARK):]) if lines else {
                "ok": False, "error": (proc.stderr or proc.stdout)[-2000:]}
            tail = [ln for ln in (proc.stdout + proc.stderr).splitlines()
                    if not ln.startswith(MARK)][-6:]
            print("\n".join(tail), flush=True)
        except subprocess.TimeoutExpired:
            results[name] = {"ok": False, "error": f"timed out after {args.timeout} s"}
        results[name]["wall_s"] = round(time.perf_counter() - start, 1)
        print(f"    {name}: {'ok' if results[name].get('ok') else 'FAILED'} in "
              f"{results[name]['wall_s']} s", flush=True)
    text, ratios, targets = summary(results)
    print(text, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "ratios": ratios, "targets": targets}, f, indent=1)
    return 0 if all(r.get("ok") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
