"""One PyTorch eager run of the keras-io "Simple MNIST convnet", as a PyTorch user writes it.

Same model (Conv2d 1->32 3x3, ReLU, MaxPool2d 2, Conv2d 32->64 3x3, ReLU, MaxPool2d 2,
Flatten, Dropout 0.5, Linear 1600->10), Keras's initial weights (Glorot-uniform kernels,
zero biases), Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7), cross-entropy, batch 128, the
last 10% of the training set held out for validation (as ``validation_split=0.1``) and
evaluated at the end of every epoch (inside the epoch's time, as Keras's fit does). Images
are NCHW, PyTorch's native layout; the float32 tensors are made once, up front. Threads:
PyTorch's default unless the config sets ``torch_threads``. No torch.compile.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

_t0 = C.now()
import torch  # noqa: E402
IMPORT_S = C.now() - _t0


def main():
    import numpy as np
    from torch import nn

    cfg = C.config_from_argv()
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg["torch_threads"]))
    t = C.now()
    (x_train, y_train), (x_test, y_test) = C.subset(C.load_for_peer(cfg), cfg)
    to_x = lambda a: torch.from_numpy(a.astype("float32")[:, None] / 255)  # noqa: E731
    x_train, x_test = to_x(x_train), to_x(x_test)
    y_train, y_test = torch.from_numpy(y_train.astype(np.int64)), torch.from_numpy(
        y_test.astype(np.int64))
    n_val = int(len(x_train) * 0.1)
    x_fit, y_fit = x_train[:-n_val], y_train[:-n_val]
    x_val, y_val = x_train[-n_val:], y_train[-n_val:]
    load_s = C.now() - t

    torch.manual_seed(cfg["seed"])
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(1600, 10))
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    batch = cfg["batch_size"]

    def evaluate(x, y):
        model.eval()
        total, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(x), batch):
                out = model(x[i:i + batch])
                total += loss_fn(out, y[i:i + batch]).item() * len(out)
                correct += (out.argmax(1) == y[i:i + batch]).sum().item()
        return total / len(x), correct / len(x)

    epoch_s, val_acc = [], []
    t_fit = C.now()
    for _ in range(cfg["epochs"]):
        t = C.now()
        model.train()
        order = torch.randperm(len(x_fit))
        for i in range(0, len(x_fit), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x_fit[idx]), y_fit[idx])
            loss.backward()
            opt.step()
        val_acc.append(evaluate(x_val, y_val)[1])
        epoch_s.append(C.now() - t)
    fit_total_s = C.now() - t_fit
    t = C.now()
    test_loss, test_accuracy = evaluate(x_test, y_test)
    evaluate_s = C.now() - t
    return {
        "framework": "torch", "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "threads": {"num_threads": torch.get_num_threads()}, "import_s": IMPORT_S,
        "load_s": load_s, "epoch_s": epoch_s, "fit_total_s": fit_total_s,
        "evaluate_s": evaluate_s, "test_loss": test_loss, "test_accuracy": test_accuracy,
        "val_accuracy": val_acc, "n_train": int(len(x_train)), "n_test": int(len(x_test)),
        **C.peak_rss(), **C.cpu_times(),
    }


if __name__ == "__main__":
    C.run_guarded(main)
