"""PyTorch runner: the tutorial's model and training, as an ordinary eager PyTorch loop.

What matches the Keras tutorial: Flatten, Linear(784, 128), ReLU, Dropout(0.2),
Linear(128, 10); Glorot-uniform weights and zero biases (Keras's defaults); Adam with
lr 1e-3, betas (0.9, 0.999), eps 1e-7; cross-entropy on logits; batch 32; a new random
permutation every epoch; running loss and accuracy kept during training as Keras's fit does.
What is PyTorch's own way: no DataLoader (manual batching by index), x is converted once up
front to one float32 tensor (the Keras runners gather float64 batches and cast each one),
and ``torch.set_num_threads`` is left at its default (reported). Adam's epsilon sits in a
slightly different place than in Keras (added to sqrt(v_hat) rather than to sqrt(v)); at
1e-7 this makes no measurable difference. Data comes from the shared IDX reader.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

_t0 = C.now()
import torch  # noqa: E402
IMPORT_S = C.now() - _t0

from torch import nn  # noqa: E402


def build_model(hidden=128, depth=1):
    """The tutorial's model; ``depth`` > 1 (scaling only) repeats Linear + ReLU + Dropout."""
    layers, width = [nn.Flatten()], 784
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.2)]
        width = hidden
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)   # = Keras glorot_uniform
            nn.init.zeros_(layer.bias)
    return model


def make_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


def train_epoch(model, optimizer, loss_fn, X, Y, batch_size, generator):
    """One epoch of the eager loop; returns (mean loss, accuracy) over the epoch."""
    model.train()
    n = X.shape[0]
    perm = torch.randperm(n, generator=generator)
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.int64)
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = X[idx], Y[idx]
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(dim=1) == yb).sum()
    return float(loss_sum) / n, int(correct) / n


def evaluate(model, loss_fn, X, Y, batch_size=32):
    model.eval()
    n = X.shape[0]
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, n, batch_size):
            xb, yb = X[start:start + batch_size], Y[start:start + batch_size]
            logits = model(xb)
            loss_sum += float(loss_fn(logits, yb)) * len(yb)
            correct += int((logits.argmax(dim=1) == yb).sum())
    return loss_sum / n, correct / n


def predict(model, X, batch_size=32):
    import numpy as np

    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            outs.append(model(X[start:start + batch_size]).numpy())
    return np.concatenate(outs)


def load(cfg):
    (x_train, y_train), (x_test, y_test) = C.subset(C.load_for_peer(cfg), cfg)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    return (x_train, y_train), (x_test, y_test)


def to_tensors(x, y):
    import numpy as np

    return (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            torch.from_numpy(np.asarray(y, dtype=np.int64)))


def run_tutorial(cfg):
    import numpy as np

    result = {"import_s": IMPORT_S}
    t = C.now()
    (x_train, y_train), (x_test, y_test) = load(cfg)
    result["load_s"] = C.now() - t
    result["x_dtype"] = str(x_train.dtype)
    result["n_train"], result["n_test"] = int(len(x_train)), int(len(x_test))
    t = C.now()
    X, Y = to_tensors(x_train, y_train)
    Xt, Yt = to_tensors(x_test, y_test)
    result["to_float32_tensors_s"] = C.now() - t

    torch.manual_seed(cfg["seed"])
    generator = torch.Generator().manual_seed(cfg["seed"])
    t = C.now()
    model = build_model(cfg.get("hidden", 128))
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():   # the tutorial's first look at the untrained model
        predictions = model(X[:1])
        torch.softmax(predictions, dim=1).numpy()
        float(loss_fn(predictions, Y[:1]))
    optimizer = make_optimizer(model)
    result["build_compile_s"] = C.now() - t
    group = optimizer.param_groups[0]
    result["optimizer"] = {"class": "Adam", "learning_rate": group["lr"],
                           "beta_1": group["betas"][0], "beta_2": group["betas"][1],
                           "epsilon": group["eps"]}

    epoch_s = []
    t = C.now()
    for _ in range(cfg["epochs"]):
        e = C.now()
        train_loss, train_acc = train_epoch(model, optimizer, loss_fn, X, Y,
                                            cfg["batch_size"], generator)
        epoch_s.append(C.now() - e)
    result["fit_total_s"] = C.now() - t
    result["epoch_s"] = epoch_s
    result["fit_s_per_epoch"] = sum(epoch_s) / len(epoch_s)
    result["train_loss"], result["train_accuracy"] = train_loss, train_acc

    t = C.now()
    test_loss, test_acc = evaluate(model, loss_fn, Xt, Yt)
    result["evaluate_s"] = C.now() - t
    result["test_loss"], result["test_accuracy"] = test_loss, test_acc

    t = C.now()
    predict(model, Xt)
    result["predict_first_s"] = C.now() - t
    t = C.now()
    logits = predict(model, Xt)
    result["predict_s"] = C.now() - t
    result["predict_images_per_s"] = len(Xt) / result["predict_s"]
    result["predict_accuracy"] = float(np.mean(np.argmax(logits, axis=1) == np.asarray(y_test)))
    result.update(C.peak_rss())
    result.update(C.cpu_times())
    return result


def run_scaling(cfg):
    result = {"import_s": IMPORT_S, "cells": []}
    t = C.now()
    (x_train, y_train), _ = load(cfg)
    X, Y = to_tensors(x_train, y_train)
    result["load_s"] = C.now() - t
    result["n_train"] = int(len(X))
    for hidden, batch, depth in cfg["cells"]:
        torch.manual_seed(cfg["seed"])
        generator = torch.Generator().manual_seed(cfg["seed"])
        model = build_model(hidden, depth)
        optimizer = make_optimizer(model)
        loss_fn = nn.CrossEntropyLoss()
        epoch_s = []
        for _ in range(cfg["epochs"]):
            e = C.now()
            train_epoch(model, optimizer, loss_fn, X, Y, batch, generator)
            epoch_s.append(C.now() - e)
        result["cells"].append({"hidden": hidden, "batch_size": batch, "depth": depth,
                                "epoch_s": epoch_s})
    result.update(C.peak_rss())
    return result


def main():
    import re

    import numpy as np

    cfg = C.config_from_argv()
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg["torch_threads"]))
    result = run_scaling(cfg) if cfg["mode"] == "scaling" else run_tutorial(cfg)
    result["framework"] = "torch"
    result["versions"] = {"torch": torch.__version__, "numpy": np.__version__}
    build = torch.__config__.show()
    keys = ("BLAS_INFO", "LAPACK_INFO", "USE_MKL", "USE_MKLDNN", "USE_OPENMP")
    blas = {key: m.group(1) for key in keys
            for m in [re.search(r"\b%s=([^,\s]+)" % key, build)] if m}
    result["threads"] = {"num_threads": torch.get_num_threads(),
                         "num_interop_threads": torch.get_num_interop_threads(),
                         "build": blas}
    return result


if __name__ == "__main__":
    C.run_guarded(main)
