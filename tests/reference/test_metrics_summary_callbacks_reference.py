"""Metrics, model.summary() and the monitoring callbacks against real Keras 3."""
import csv
import re

import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [
    pytest.mark.reference,
    # numpy 2 warns about torch's __array__ inside Keras; not ours, and it floods the output
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]


def _batches(seed=0, n_batches=3, n=7, c=4):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        logits = rng.normal(size=(n, c)).astype(np.float32)
        labels = rng.integers(0, c, n)
        out.append(dict(
            probs=(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32),
            labels=labels, onehot=np.eye(c, dtype=np.float32)[labels],
            sw=rng.random(n).astype(np.float32),
            ybin=rng.integers(0, 2, (n, 1)).astype(np.float32),
            pbin=rng.random((n, 1)).astype(np.float32),
            yreg=rng.normal(size=(n, 3)).astype(np.float32),
            preg=rng.normal(size=(n, 3)).astype(np.float32)))
    return out


METRICS = [("SparseCategoricalAccuracy", "labels", "probs"),
           ("CategoricalAccuracy", "onehot", "probs"),
           ("BinaryAccuracy", "ybin", "pbin"),
           ("Accuracy", "labels", "labels"),
           ("MeanSquaredError", "yreg", "preg"),
           ("MeanAbsoluteError", "yreg", "preg"),
           ("SparseCategoricalCrossentropy", "labels", "probs")]


@pytest.mark.parametrize("name, y_true, y_pred", METRICS, ids=[m[0] for m in METRICS])
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_running_values(keras, to_np, name, y_true, y_pred, weighted):
    k_metric, t_metric = getattr(keras.metrics, name)(), getattr(tk.metrics, name)()
    assert t_metric.name == k_metric.name
    for b in _batches():
        w = b["sw"] if weighted else None
        k_metric.update_state(b[y_true], b[y_pred], sample_weight=w)
        t_metric.update_state(b[y_true], b[y_pred], sample_weight=w)
        np.testing.assert_allclose(float(t_metric.result()), float(to_np(k_metric.result())),
                                   rtol=1e-6)
    k_metric.reset_state()
    t_metric.reset_state()
    assert float(t_metric.result()) == float(to_np(k_metric.result())) == 0.0


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_mean_and_sum_with_broadcast_sample_weight(keras, to_np, name):
    k_metric, t_metric = getattr(keras.metrics, name)(), getattr(tk.metrics, name)()
    for b in _batches(1):
        k_metric.update_state(b["yreg"], sample_weight=b["sw"])
        t_metric.update_state(b["yreg"], sample_weight=b["sw"])
    np.testing.assert_allclose(float(t_metric.result()), float(to_np(k_metric.result())),
                               rtol=1e-6)


@pytest.mark.parametrize("case", ["sparse", "one_hot", "binary"])
def test_compiled_accuracy_string_resolves_like_keras(keras, case):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    units, y = {"sparse": (3, rng.integers(0, 3, 30)),
                "one_hot": (3, np.eye(3, dtype=np.float32)[rng.integers(0, 3, 30)]),
                "binary": (1, rng.integers(0, 2, (30, 1)).astype(np.float32))}[case]
    loss = {"sparse": "sparse_categorical_crossentropy", "one_hot": "categorical_crossentropy",
            "binary": "binary_crossentropy"}[case]
    results = []
    for L in (keras, tk):
        m = L.Sequential([L.Input((5,)), L.layers.Dense(units, activation="sigmoid" if units == 1
                                                        else "softmax")])
        if results:
            m.set_weights(results[0][1])
        m.compile("sgd", loss, metrics=["accuracy", "acc"] + (["mae"] if case != "sparse" else []))
        results.append((m.evaluate(x, y, verbose=0, return_dict=True), m.get_weights()))
    (k_logs, _), (t_logs, _) = results
    assert set(t_logs) == set(k_logs) >= {"loss", "accuracy", "acc"}
    for key in k_logs:
        np.testing.assert_allclose(t_logs[key], k_logs[key], rtol=1e-5, err_msg=key)


def _summary_text(model):
    lines = []
    model.summary(print_fn=lambda s, **kwargs: lines.append(s))
    return "\n".join(lines)


def _rows(text):
    """Cell contents of every table row, and the footer lines (box characters removed)."""
    rows, footer = [], []
    for line in text.splitlines():
        if line and line[0] in "┃│":
            rows.append([cell.strip() for cell in re.split("[┃│]", line)[1:-1]])
        elif line.startswith(" ") and "params" in line:
            footer.append(line)
    return rows, footer


def test_tutorial_summary_is_identical(keras, fresh_names):
    def build(L):
        return L.Sequential([L.Input((28, 28)), L.layers.Flatten(),
                             L.layers.Dense(128, activation="relu"), L.layers.Dropout(0.2),
                             L.layers.Dense(10)])
    k_text, t_text = _summary_text(build(keras)), _summary_text(build(tk))
    assert _rows(t_text) == _rows(k_text)
    assert " Total params: 101,770 (397.54 KB)" in t_text.splitlines()
    assert t_text.strip() == k_text.strip()  # box characters and widths too


def test_tutorial_summary_after_fit_counts_optimizer_params(keras, fresh_names):
    texts = []
    for L in (keras, tk):
        m = L.Sequential([L.Input((28, 28)), L.layers.Flatten(),
                          L.layers.Dense(128, activation="relu"), L.layers.Dropout(0.2),
                          L.layers.Dense(10)])
        m.compile("adam", L.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(np.zeros((4, 28, 28), np.float32), np.zeros(4, int), verbose=0)
        texts.append(_summary_text(m))
    assert _rows(texts[1]) == _rows(texts[0])
    assert " Optimizer params: 203,542 (795.09 KB)" in texts[1].splitlines()


def test_functional_summary_rows(keras, fresh_names):
    def build(L):
        a = L.Input((6,), name="a")
        b = L.Input((3,), name="b")
        h = L.layers.Dense(8, activation="relu", name="h")(a)
        h = L.layers.BatchNormalization(name="bn")(h)
        c = L.layers.Concatenate(name="cat")([h, b])
        cls = L.layers.Dense(4, name="cls")(c)
        reg = L.layers.Dense(1, name="reg")(
            L.layers.Add(name="add")([L.layers.Dense(3, name="p")(h), b]))
        return L.Model([a, b], [cls, reg], name="two_heads")
    k_text, t_text = _summary_text(build(keras)), _summary_text(build(tk))
    assert _rows(t_text) == _rows(k_text)
    assert t_text.strip() == k_text.strip()


def _drive(callback, model, values, monitor="val_loss"):
    """Feeds epoch-end logs to a callback; returns (stop flags, learning rates)."""
    callback.set_model(model)
    callback.on_train_begin()
    stops, rates = [], []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.stop_training = False
        callback.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        stops.append(bool(model.stop_training))
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    callback.on_train_end()
    return stops, rates


def _compiled(L):
    m = L.Sequential([L.Input((2,)), L.layers.Dense(1)])
    m.compile(L.optimizers.SGD(0.1), "mse")
    return m


VALUES = [1.0, 0.8, 0.81, 0.79, 0.7999, 0.85, 0.9, 0.6, 0.61, 0.62, 0.63, 0.64]


@pytest.mark.parametrize("kwargs", [
    dict(patience=0), dict(patience=2), dict(patience=2, min_delta=0.02),
    dict(patience=1, baseline=0.75), dict(patience=2, start_from_epoch=3),
    dict(patience=2, mode="max"), dict(patience=3, monitor="val_accuracy", mode="max"),
], ids=str)
def test_early_stopping_decisions(keras, kwargs):
    monitor = kwargs.get("monitor", "val_loss")
    k_cb, t_cb = keras.callbacks.EarlyStopping(**kwargs), tk.callbacks.EarlyStopping(**kwargs)
    k_stops, _ = _drive(k_cb, _compiled(keras), VALUES, monitor)
    t_stops, _ = _drive(t_cb, _compiled(tk), VALUES, monitor)
    assert t_stops == k_stops
    assert (t_cb.stopped_epoch, t_cb.best, t_cb.wait) == (k_cb.stopped_epoch, k_cb.best, k_cb.wait)


@pytest.mark.parametrize("kwargs", [
    dict(patience=1), dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.5, min_lr=0.03), dict(patience=1, mode="max", min_delta=0.05),
], ids=str)
def test_reduce_lr_on_plateau_decisions(keras, kwargs):
    _, k_rates = _drive(keras.callbacks.ReduceLROnPlateau(**kwargs), _compiled(keras), VALUES)
    _, t_rates = _drive(tk.callbacks.ReduceLROnPlateau(**kwargs), _compiled(tk), VALUES)
    np.testing.assert_allclose(t_rates, k_rates, rtol=1e-6)


def test_fit_with_scheduler_and_csv_logger(keras, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype(np.float32), rng.normal(size=(24, 2)).astype(np.float32)
    runs = []
    for L in (keras, tk):
        m = L.Sequential([L.Input((4,)), L.layers.Dense(2)])
        if runs:
            m.set_weights(runs[0][2])
        weights = m.get_weights()
        m.compile(L.optimizers.SGD(0.1), "mse", metrics=["mae"])
        path = tmp_path / f"{L.__name__}.csv"
        hist = m.fit(x, y, batch_size=6, epochs=4, shuffle=False, verbose=0,
                     validation_data=(x[:6], y[:6]),
                     callbacks=[L.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5),
                                L.callbacks.CSVLogger(str(path))])
        with open(path) as f:
            runs.append((hist.history, list(csv.reader(f)), weights, m.get_weights()))
    (k_hist, k_csv, _, k_w), (t_hist, t_csv, _, t_w) = runs
    assert set(t_hist) == set(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(t_hist[key], k_hist[key], rtol=1e-5, err_msg=key)
    assert t_csv[0] == k_csv[0]  # the header
    np.testing.assert_allclose(np.array(t_csv[1:], float), np.array(k_csv[1:], float), rtol=1e-5)
    for a, b in zip(t_w, k_w):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
