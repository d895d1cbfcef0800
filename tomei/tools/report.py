"""``tomei report``: a training report, PNG plots tied together by one ``index.html``.

    tomei report MODEL.keras --dataset fashion_mnist --out report/ [--history H.json] [--lang ja]

The library function :func:`write_report` does the work; ``tomei tutorial --report DIR`` calls
it right after training. The report holds:

- ``learning_curves.png``: loss and accuracy per epoch, training and validation (a validation
  curve turning away from the training curve shows overfitting);
- ``confusion_matrix.png``: counts of (true class, predicted class) on the test set;
- ``confident_mistakes.png``: the test images the model got wrong with the highest
  probability for its wrong answer, with true and predicted labels;
- ``first_layer_weights.png``: the first Dense layer's weights, one 28x28 picture per unit;
- ``activations.png``: each activation function the model uses, drawn over [-5, 5];
- ``index.html``: the numbers (test loss, accuracy, accuracy per class) and the pictures;
- ``summary.json``: the same numbers for scripts (and ``history.json`` when there is one).

Plots are drawn by matplotlib's Agg canvas (no pyplot, so a notebook's backend is left
alone), imported only when a report is written, and have fixed pixel sizes
(:data:`PLOT_SIZES`). Each file is written under a temporary name and renamed into place, so
a reader never sees half a file. Plot text is Japanese only when a Japanese font is
installed (otherwise English; ``index.html`` follows ``lang`` regardless).

Exit code of the command: 0 on success, 1 when the model, the dataset or the output folder
cannot be used (one line on stderr; for a dataset that is not on the machine, the full
message of :class:`~tomei.keras.datasets.DatasetNotFoundError` with the ways out), 2 for a
usage error.
"""
from __future__ import annotations

import html
import importlib
import json
import math
import os
import shutil
import sys

import numpy as np

from tomei.keras.layers.layer import all_sublayers
from tomei.keras.utils.atomic_write import atomic_path, temp_folder_beside, write_bytes
from tomei.keras.utils.text import printable
from tomei.tools.cli_args import MODEL_HELP_JA, Parser
from tomei.tools.messages import dataset_error, detect_lang, print_error, t
from tomei.tools.predict import fit_to_model, load_model_or_error, model_class_names, probabilities

__all__ = [
    "DPI",
    "PLOT_SIZES",
    "history_path_for",
    "load_history",
    "main",
    "most_confident_mistakes",
    "save_history",
    "write_report",
]

DPI = 100
#: File name -> (width, height) in pixels of each plot.
PLOT_SIZES = {
    "learning_curves.png": (1100, 420),
    "confusion_matrix.png": (820, 720),
    "confident_mistakes.png": (1200, 900),
    "first_layer_weights.png": (1200, 660),
    "activations.png": (1100, 380),
}
MAX_UNITS = 32
MAX_MISTAKES = 24
_MISTAKE_COLS = 6
_UNIT_COLS = 8

_JA_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "IPAPGothic",
             "TakaoGothic", "TakaoPGothic", "VL Gothic", "VL PGothic", "Hiragino Sans",
             "Hiragino Maru Gothic Pro", "Yu Gothic", "Meiryo", "MS Gothic", "Source Han Sans JP")


# --- history ------------------------------------------------------------------------------------
def history_path_for(model_path) -> str:
    """Where a model's training history is looked for: ``m.keras`` -> ``m.history.json``."""
    root, _ = os.path.splitext(os.fspath(model_path))
    return root + ".history.json"


def _history_dict(history):
    if history is None:
        return None
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, dict):
        raise TypeError(f"history: expected a History (from fit), a dict of per-epoch lists "
                        f"or None; received {type(history).__name__}.")
    clean = {}
    for key, values in history.items():
        try:
            clean[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"history[{key!r}]: expected a list of numbers, one per epoch; "
                             f"received {values!r}.") from None
    return clean if any(clean.values()) else None


def save_history(history, path) -> str:
    """Writes ``history`` (a History or its ``.history`` dict) as JSON to ``path``; returns it."""
    data = _history_dict(history) or {}
    write_bytes(path, json.dumps(data, indent=1).encode("utf-8"))
    return os.fspath(path)


def load_history(path):
    """The dict saved by :func:`save_history`, or None when ``path`` does not exist.

    Raises:
        ValueError: the file is not a JSON object of per-epoch lists.
    """
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"history file {path}: expected JSON of per-epoch lists; {exc}") from None
    return _history_dict(data)


def _accuracy_key(hist):
    for key in hist:
        if not key.startswith("val_") and "acc" in key:
            return key
    return None


# --- files ----------------------------------------------------------------------------------------
def _save_figure(fig, out_dir, name):
    with atomic_path(os.path.join(out_dir, name)) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return name


def _figure(name):
    # A bare Figure drawn by the Agg canvas: no pyplot, so the caller's backend (a notebook's,
    # say) is never switched and no global figure list grows.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    width, height = PLOT_SIZES[name]
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _plot_font(lang):
    """('ja', font name) when Japanese plot text can be drawn, else ('en', None)."""
    if lang != "ja":
        return "en", None
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _JA_FONTS:
        if name in installed:
            return "ja", name
    return "en", None


# --- the plots ------------------------------------------------------------------------------------
def _plot_curves(hist, out_dir, lang):
    fig = _figure("learning_curves.png")
    acc = _accuracy_key(hist)
    panels = [("loss", t("report_loss", lang))] + ([(acc, t("report_accuracy", lang))] if acc else [])
    for i, (key, title) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        for k, style, label in ((key, "o-", t("report_train", lang)),
                                ("val_" + key, "s--", t("report_validation", lang))):
            values = hist.get(k)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=label)
        ax.set_title(title)
        ax.set_xlabel(t("report_epoch", lang))
        ax.grid(alpha=0.3)
        ax.legend()
        epochs = max(len(hist.get(key) or []), 1)
        ax.set_xticks(range(1, epochs + 1, max(1, epochs // 10)))
    fig.tight_layout()
    return _save_figure(fig, out_dir, "learning_curves.png")


def _plot_confusion(cm, names, out_dir, lang):
    fig = _figure("confusion_matrix.png")
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(cm, cmap="Blues")
    n = len(names)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(t("report_predicted", lang))
    ax.set_ylabel(t("report_true", lang))
    ax.set_title(t("report_confusion", lang))
    if n <= 20:
        top = cm.max() if cm.size else 0
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    return _save_figure(fig, out_dir, "confusion_matrix.png")


def _plot_mistakes(images, y, pred, conf, names, out_dir, lang):
    fig = _figure("confident_mistakes.png")
    rows = math.ceil(MAX_MISTAKES / _MISTAKE_COLS)
    # one colour map for all: MNIST-style data (light ink on black) is shown as dark ink on
    # white paper; every image on the same 0..1 scale
    cmap = "gray_r" if float(np.mean(images)) < 0.5 else "gray"
    for k in range(len(images)):
        ax = fig.add_subplot(rows, _MISTAKE_COLS, k + 1)
        ax.imshow(images[k], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"{t('report_true', lang)}: {names[y[k]]}\n"
                     f"{t('report_predicted', lang)}: {names[pred[k]]} ({conf[k]:.0%})",
                     fontsize=8)
        ax.axis("off")
    fig.suptitle(t("report_wrong", lang))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.3, hspace=0.6)
    return _save_figure(fig, out_dir, "confident_mistakes.png")


def _plot_weights(kernel, side, layer_name, out_dir, lang):
    fig = _figure("first_layer_weights.png")
    units = min(MAX_UNITS, kernel.shape[1])
    rows = math.ceil(units / _UNIT_COLS)
    for j in range(units):
        w = kernel[:, j].reshape(side, side)
        limit = float(np.abs(w).max()) or 1.0
        ax = fig.add_subplot(rows, _UNIT_COLS, j + 1)
        ax.imshow(w, cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(t("report_unit", lang, i=j), fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{t('report_weights', lang)} ({layer_name})")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.15, hspace=0.35)
    return _save_figure(fig, out_dir, "first_layer_weights.png")


def _activation_functions(model):
    """[(label, fn(ndarray (N,) float32) -> ndarray (N,))] for each activation the model uses."""
    from tomei.keras import activations
    from tomei.keras.layers import ELU, LeakyReLU, ReLU, Softmax
    found = {}
    for layer in all_sublayers(model):
        if isinstance(layer, Softmax) or getattr(layer, "activation", None) is activations.softmax:
            found.setdefault("softmax", _softmax_curve)
        elif isinstance(layer, (ReLU, LeakyReLU, ELU)):
            label = type(layer).__name__
            # a fresh copy: the model's layer checks its input shape against the model's
            copy = type(layer).from_config(layer.get_config())
            found.setdefault(label, lambda x, copy=copy: np.asarray(copy(x[None, :]))[0])
        elif callable(getattr(layer, "activation", None)):
            fn = layer.activation
            label = activations.serialize(fn)
            if label == "__lambda__":
                label = getattr(fn, "__name__", "custom")
            found.setdefault(label, lambda x, fn=fn: np.asarray(fn(_tensor(x[None, :]))).reshape(-1))
    return list(found.items())


def _tensor(x):
    import tomei
    return tomei.convert_to_tensor(x)


def _softmax_curve(x):
    import tomei
    pairs = np.stack([x, np.zeros_like(x)], axis=1)
    return np.asarray(tomei.nn.softmax(_tensor(pairs), -1))[:, 0]


def _curve(fn, x):
    """fn(x) as float64 of x's shape, or None when fn fails or changes the shape."""
    try:
        y = np.asarray(fn(x), dtype=np.float64)
    except Exception:  # noqa: BLE001 - any user function may fail here
        return None
    return y if y.shape == x.shape else None


def _plot_activations(functions, out_dir, lang):
    fig = _figure("activations.png")
    x = np.linspace(-5, 5, 401, dtype=np.float32)
    cols = min(len(functions), 4)
    rows = math.ceil(len(functions) / cols)
    drawn = []
    for k, (label, fn) in enumerate(functions):
        y = _curve(fn, x)
        if y is None:  # a custom activation that is not elementwise
            continue
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.plot(x, y, linewidth=2)
        ax.axhline(0, color="gray", linewidth=0.6)
        ax.axvline(0, color="gray", linewidth=0.6)
        ax.set_title(label if label != "softmax" else "softmax([x, 0])[0]")
        ax.set_xlim(-5, 5)
        ax.grid(alpha=0.3)
        drawn.append(label)
    fig.tight_layout()
    _save_figure(fig, out_dir, "activations.png")
    return drawn


def _first_dense_kernel(model):
    """(layer name, kernel (side*side, units), side) of the first square-input Dense, or None."""
    from tomei.keras.layers import Dense
    for layer in all_sublayers(model):
        if isinstance(layer, Dense) and layer.built:
            kernel = layer.get_weights()[0]
            side = math.isqrt(kernel.shape[0])
            if side * side == kernel.shape[0] and side >= 2:
                return layer.name, kernel, side
            return None
    return None


# --- the numbers ----------------------------------------------------------------------------------
def _prepare_inputs(x_test):
    x = np.asarray(x_test)
    if x.dtype == np.uint8 or (x.dtype.kind in "iu") or (x.dtype.kind == "f" and x.size
                                                           and float(x.max()) > 1.5):
        return x.astype(np.float32) / np.float32(255.0)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"x_test: expected an array of images (numbers); received dtype {x.dtype}.")
    return x.astype(np.float32, copy=False)


def _prepare_labels(y_test, n):
    y = np.asarray(y_test)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if y.shape[0] != n:
        raise ValueError(t("report_bad_lengths", "en", nx=n, ny=y.shape[0]))
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError("y_test: expected integer class labels (or one-hot rows); received "
                         "fractional values.")
    return y.astype(np.int64)


def _test_loss(model, x, y, probs):
    if getattr(model, "compiled", False) and getattr(model, "loss", None) is not None:
        try:
            return float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
        except (ValueError, TypeError, RuntimeError, KeyError):
            pass  # a loss that does not fit these labels: use the one below
    picked = probs[np.arange(len(y)), y]
    return float(np.mean(-np.log(np.clip(picked, 1e-7, 1.0))))


def most_confident_mistakes(probs, y, k=MAX_MISTAKES) -> np.ndarray:
    """Indices of at most ``k`` wrongly classified samples, highest wrong probability first.

    Args:
        probs: (N, C) class probabilities. y: (N,) integer labels. k: how many (default 24).

    Returns:
        int64 ndarray of indices into ``probs`` (ties keep the data order).
    """
    probs = np.asarray(probs)
    y = np.asarray(y).reshape(-1)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    return wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:k].astype(np.int64)


# --- the report -----------------------------------------------------------------------------------
def write_report(model, history, x_test, y_test, out_dir, class_names=None, lang="en",
                 model_path=None) -> str:
    """Writes the report of ``model`` on ``(x_test, y_test)`` into ``out_dir``.

    Args:
        model: a trained tomei.keras classifier (outputs logits or probabilities, one column
            per class).
        history: the ``History`` returned by ``fit``, its ``.history`` dict, or None. None
            uses ``model.history`` when the model was trained in this process; with no
            history at all the learning curves are left out.
        x_test: test images, e.g. (N, 28, 28). uint8 (or any values above 1.5) are divided by
            255 as the tutorial does; float arrays in [0, 1] are used as they are.
        y_test: (N,) integer labels (or (N, C) one-hot rows).
        out_dir: folder for the files (created if missing; existing report files are
            replaced).
        class_names: optional list of C names (default "0", "1", ...).
        lang: 'en' or 'ja' for the titles and labels.
        model_path: optional file name shown in the report.

    Returns:
        The path of the written ``index.html`` (str).

    Raises:
        ValueError: x_test and y_test differ in length, labels out of range, class_names of
            the wrong length, or the model does not take these images.
        TypeError: history or x_test of an unsupported type.
    """
    if lang not in ("en", "ja"):
        raise ValueError(f"lang: expected 'en' or 'ja'; received {lang!r}.")
    x = _prepare_inputs(x_test)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x_test: expected a non-empty batch of images, e.g. shape (N, 28, 28); "
                         f"received shape {x.shape}.")
    y = _prepare_labels(y_test, x.shape[0])
    hist = _history_dict(history if history is not None else getattr(model, "history", None))
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    # Everything is drawn into a private hidden folder inside out_dir first; only a complete
    # report is moved into place (index.html last), so a failure leaves out_dir as it was.
    stage = temp_folder_beside(os.path.join(out_dir, "index.html"))
    try:
        _write_report_files(model, hist, x, y, stage, class_names, lang, model_path)
        names = sorted(os.listdir(stage), key=lambda n: n == "index.html")
        for name in names:
            os.replace(os.path.join(stage, name), os.path.join(out_dir, name))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return os.path.join(out_dir, "index.html")


def _write_report_files(model, hist, x, y, out_dir, class_names, lang, model_path):

    probs = probabilities(model.predict(fit_to_model(model, x), verbose=0))
    n_classes = probs.shape[1]
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y_test: labels must be in [0, {n_classes}) for a model with "
                         f"{n_classes} outputs; received values from {y.min()} to {y.max()}.")
    names = list(class_names) if class_names is not None else [str(i) for i in range(n_classes)]
    if len(names) != n_classes:
        raise ValueError(f"class_names: expected {n_classes} names (one per model output); "
                         f"received {len(names)}.")
    pred = probs.argmax(axis=1)
    correct = pred == y
    accuracy = float(correct.mean())
    loss = _test_loss(model, x, y, probs)
    cm = np.bincount(y * n_classes + pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)
    per_class = [{"class": names[c], "count": int((y == c).sum()),
                  "correct": int(cm[c, c]),
                  "accuracy": float(cm[c, c] / max(1, (y == c).sum()))} for c in range(n_classes)]

    plot_lang, font = _plot_font(lang)
    import matplotlib
    # Names come from files (class names, layer names): drawn as plain text, never parsed as
    # matplotlib math ('$\\foo{$' would abort the report).
    rc = {"text.parse_math": False, **({"font.family": [font, "DejaVu Sans"]} if font else {})}
    figures = {}
    with matplotlib.rc_context(rc):
        if hist and hist.get("loss"):
            figures["curves"] = _plot_curves(hist, out_dir, plot_lang)
            write_bytes(os.path.join(out_dir, "history.json"),
                          json.dumps(hist, indent=1).encode("utf-8"))
        shown = [printable(n, limit=40) for n in names]  # control characters made visible
        figures["confusion"] = _plot_confusion(cm, shown, out_dir, plot_lang)
        wrong = np.flatnonzero(~correct)
        per_sample = int(np.prod(x.shape[1:]))
        side = math.isqrt(per_sample)
        if wrong.size and side * side == per_sample:
            order = most_confident_mistakes(probs, y, MAX_MISTAKES)
            figures["wrong"] = _plot_mistakes(x[order].reshape(-1, side, side), y[order],
                                              pred[order], probs[order, pred[order]], shown,
                                              out_dir, plot_lang)
        dense = _first_dense_kernel(model)
        if dense is not None:
            figures["weights"] = _plot_weights(dense[1], dense[2], printable(dense[0], limit=60),
                                               out_dir, plot_lang)
        functions = _activation_functions(model)
        drawn = _plot_activations(functions, out_dir, plot_lang) if functions else []
        if drawn:
            figures["activations"] = "activations.png"

    summary = {"test_loss": loss, "test_accuracy": accuracy, "test_samples": len(y),
               "per_class": per_class, "confusion_matrix": cm.tolist(),
               "activations": drawn, "files": sorted(figures.values())}
    write_bytes(os.path.join(out_dir, "summary.json"),
                  json.dumps(summary, indent=1, ensure_ascii=False).encode("utf-8"))
    page = _html(model, summary, hist, figures, dense, lang, model_path,
                 n_wrong=int((~correct).sum()))
    write_bytes(os.path.join(out_dir, "index.html"), page.encode("utf-8"))


def _model_summary(model):
    lines = []
    try:
        model.summary(print_fn=lambda line="", *a, **k: lines.append(str(line)))
    except Exception:  # noqa: BLE001 - the report does not need the table
        return ""
    return "\n".join(lines)


def _html(model, summary, hist, figures, dense, lang, model_path, n_wrong):
    from tomei import __version__
    e = html.escape

    def img(key, alt):
        return f'<p><img src="{figures[key]}" alt="{e(alt)}" style="max-width:100%"></p>' \
            if key in figures else ""

    rows = "\n".join(
        f"<tr><td>{e(r['class'])}</td><td>{r['count']}</td><td>{r['correct']}</td>"
        f"<td>{r['accuracy']:.2%}</td></tr>" for r in summary["per_class"])
    title = t("report_title", lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        ("<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
        "text-align:right}td:first-child{text-align:left}pre{background:#f6f6f6;"
        "padding:.5em;overflow-x:auto}</style></head><body>"),
        f"<h1>{e(title)}</h1>",
    ]
    if model_path:
        parts.append(f"<p>{e(t('report_model', lang))}: <code>{e(os.fspath(model_path))}</code></p>")
    parts += [
        f"<h2>{e(t('report_numbers', lang))}</h2>",
        "<table>",
        f"<tr><td>{e(t('report_test_loss', lang))}</td><td>{summary['test_loss']:.4f}</td></tr>",
        (f"<tr><td>{e(t('report_test_accuracy', lang))}</td>"
        f"<td>{summary['test_accuracy']:.2%}</td></tr>"),
        f"<tr><td>{e(t('report_test_samples', lang))}</td><td>{summary['test_samples']}</td></tr>",
        "</table>",
        f"<h2>{e(t('report_per_class', lang))}</h2>",
        (f"<table><tr><th>{e(t('report_class', lang))}</th><th>{e(t('report_count', lang))}</th>"
        f"<th>{e(t('report_correct', lang))}</th><th>{e(t('report_accuracy', lang))}</th></tr>"),
        rows, "</table>",
        f"<h2>{e(t('report_curves', lang))}</h2>",
    ]
    if "curves" in figures:
        parts.append(f"<p>{e(t('report_curves_note', lang))}</p>")
        parts.append(img("curves", t("report_curves", lang)))
        last = {k: v[-1] for k, v in hist.items() if v}
        parts.append("<p>" + ", ".join(f"{e(k)}: {v:.4f}" for k, v in last.items()) + "</p>")
    else:
        parts.append(f"<p>{e(t('report_no_history', lang))}</p>")
    parts += [f"<h2>{e(t('report_confusion', lang))}</h2>",
              f"<p>{e(t('report_confusion_note', lang))}</p>",
              img("confusion", t("report_confusion", lang)),
              f"<h2>{e(t('report_wrong', lang))}</h2>"]
    if "wrong" in figures:
        parts += [f"<p>{e(t('report_wrong_note', lang))} ({n_wrong})</p>",
                  img("wrong", t("report_wrong", lang))]
    elif n_wrong == 0:
        parts.append(f"<p>{e(t('report_no_wrong', lang))}</p>")
    parts.append(f"<h2>{e(t('report_weights', lang))}</h2>")
    if "weights" in figures:
        units = min(MAX_UNITS, dense[1].shape[1])
        parts += [f"<p>{e(t('report_weights_note', lang, n=units, layer=dense[0]))}</p>",
                  img("weights", t("report_weights", lang))]
    else:
        parts.append(f"<p>{e(t('report_no_weights', lang))}</p>")
    parts.append(f"<h2>{e(t('report_activations', lang))}</h2>")
    if "activations" in figures:
        parts += [(f"<p>{e(t('report_activations_note', lang))} "
                  f"({e(', '.join(summary['activations']))})</p>"),
                  img("activations", t("report_activations", lang))]
    else:
        parts.append(f"<p>{e(t('report_no_activations', lang))}</p>")
    table = _model_summary(model)
    if table:
        parts += [f"<h2>{e(t('report_model', lang))}</h2>", f"<pre>{e(table)}</pre>"]
    parts += [f"<hr><p><small>{e(t('report_generated', lang, version=__version__))}</small></p>",
              "</body></html>", ""]
    return "\n".join(parts)


# --- the command --------------------------------------------------------------------------------
_DATASETS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "fashion-mnist": "fashion_mnist"}


def _parser():
    parser = Parser(
        prog="tomei report",
        description="Write a training report (PNG plots and index.html) for a saved model.",
        description_ja="保存したモデルの学習レポート (PNG の図と index.html) を書き出します。")
    parser.add_argument("model", metavar="MODEL.keras", help="a model saved with model.save()",
                        help_ja=MODEL_HELP_JA)
    parser.add_argument("--dataset", default=None, metavar="NAME",
                        help="the test set to evaluate on: mnist or fashion_mnist (default: the "
                             "one named in the model file by tomei tutorial --save)",
                        help_ja="評価に使うテストデータ: mnist または fashion_mnist (既定: tomei "
                                "tutorial --save がモデルファイルに記録したもの)")
    parser.add_argument("--out", default="report", metavar="DIR",
                        help="folder for the report (default: ./report)",
                        help_ja="レポートを書き出すフォルダー (既定: ./report)")
    parser.add_argument("--history", metavar="FILE.json", default=None,
                        help="per-epoch history saved by save_history (default: MODEL.history.json "
                             "next to the model, when it exists)",
                        help_ja="save_history で保存したエポックごとの履歴 (既定: モデルの隣に "
                                "MODEL.history.json があればそれ)")
    parser.add_argument("--lang", choices=["en", "ja"], default=None,
                        help="report language (default: from LANG / LC_ALL)",
                        help_ja="レポートとメッセージの言語 (既定: LANG / LC_ALL から)")
    return parser


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv=None) -> int:
    """Entry point of ``tomei report``; returns the exit code."""
    args = _parser().parse_args(argv)
    lang = detect_lang(args.lang)
    dataset = None
    if args.dataset is not None:
        dataset = _DATASETS.get(args.dataset.lower())
        if dataset is None:
            print_error(t("unknown_dataset", lang, dataset=args.dataset,
                     choices="mnist, fashion_mnist"), lang)
            return 2
    if not os.path.isfile(args.model):
        print_error(t("model_missing", lang, path=args.model), lang)
        return 1
    history_file = args.history or history_path_for(args.model)
    try:
        history = load_history(history_file)
    except ValueError as exc:
        print_error(_first_line(exc), lang)
        return 1
    if args.history and history is None:
        print_error(t("history_missing", lang, path=args.history), lang)
        return 1
    model, message = load_model_or_error(args.model, lang)
    if model is None:
        print_error(message, lang)
        return 1
    if dataset is None:  # the model file says which dataset it was trained on
        dataset = _DATASETS.get(str(getattr(model, "dataset_name", None) or "").lower())
        if dataset is None:
            print_error(t("report_needs_dataset", lang, path=args.model), lang)
            return 2
    from tomei.keras.datasets import DatasetNotFoundError
    try:
        module = importlib.import_module(f"tomei.keras.datasets.{dataset}")
        _, (x_test, y_test) = module.load_data()
    except DatasetNotFoundError as exc:  # what was tried and the ways out, as tutorial prints
        print_error(dataset_error(exc, lang), lang)
        return 1
    except Exception as exc:  # noqa: BLE001 - a corrupt dataset is one line
        print_error(t("dataset_missing", lang, dataset=dataset, detail=_first_line(exc)), lang)
        return 1
    names = model_class_names(model) or list(getattr(module, "CLASS_NAMES", [])) or None
    try:
        index = write_report(model, history, x_test, y_test, args.out, class_names=names,
                             lang=lang, model_path=args.model)
    except OSError as exc:
        print_error(t("out_dir_failed", lang, path=args.out, detail=exc.strerror or exc), lang)
        return 1
    except (ValueError, TypeError) as exc:
        print_error(_first_line(exc), lang)
        return 1
    print(t("test_loss", lang, value=_summary_value(args.out, "test_loss")))
    acc = _summary_value(args.out, "test_accuracy")
    print(t("test_accuracy", lang, value=acc, pct=acc * 100))
    print(t("report_written", lang, path=index))
    return 0


def _summary_value(out_dir, key):
    with open(os.path.join(out_dir, "summary.json"), encoding="utf-8") as f:
        return float(json.load(f)[key])


if __name__ == "__main__":
    sys.exit(main())
