"""Runs one tutorial's code cells, in order, in one namespace, as a notebook kernel would.

Started by ``run_tutorials.py`` in a fresh working folder, one process per tutorial and
library::

    python kernel.py --lib tomei|tensorflow --cells cells.json --out result.json
           [--max-epochs N]

``cells.json`` holds the cells already rewritten by the driver (import swap, local data).
Each cell is executed with ``exec``; its last expression is evaluated and ``repr``-ed as a
notebook would display it; an exception marks the cell failed and the next cell still runs
(a learner clicking "run" on each cell in turn). ``!command`` lines run in a shell, whose
failure (like a notebook's) is printed but raises nothing; ``%`` magic lines are dropped.

Every ``Model.fit`` / ``Model.evaluate`` call is recorded (its final logs / result), and with
``--max-epochs`` fit's ``epochs`` is capped (the same cap for both libraries). The result
JSON: per cell {index, status ok|error|skipped, seconds, error}, the fits and evaluations,
and the values of the tutorial's headline expressions.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import json
import math
import os
import subprocess
import sys
import time
import traceback
import types


def _alias_tensorflow_to_tomei():
    """In the tomei run, helper libraries that import TensorFlow themselves (the tutorials'
    ``tensorflow_docs``) get tomei: ``tensorflow`` and ``tensorflow.compat.v2`` name it."""
    import tomei
    compat = types.ModuleType("tensorflow.compat")
    compat.v2 = tomei
    sys.modules.update({"tensorflow": tomei, "tensorflow.compat": compat,
                        "tensorflow.compat.v2": tomei})
    if not hasattr(tomei, "compat"):  # ``import tensorflow.compat.v2 as tf`` reads tomei.compat
        tomei.compat = compat
    return tomei


def _install_recorders(tf, records, max_epochs):
    """Wraps Model.fit / evaluate to record their results and cap fit's epochs."""
    model_cls = tf.keras.Model
    fit, evaluate = model_cls.fit, model_cls.evaluate

    def recording_fit(self, *args, **kwargs):
        if max_epochs is not None:
            if len(args) >= 6:  # fit(x, y, batch_size, epochs, ...) given positionally
                args = list(args)
                args[3] = min(args[3], max_epochs)
            else:
                kwargs["epochs"] = min(kwargs.get("epochs", 1), max_epochs)
        history = fit(self, *args, **kwargs)
        logs = {k: float(v[-1]) for k, v in getattr(history, "history", {}).items() if v}
        records.append({"call": "fit", "epochs": len(getattr(history, "epoch", [])),
                        "final": logs})
        return history

    def recording_evaluate(self, *args, **kwargs):
        result = evaluate(self, *args, **kwargs)
        records.append({"call": "evaluate", "result": _plain(result)})
        return result

    model_cls.fit, model_cls.evaluate = recording_fit, recording_evaluate


def _plain(value):
    """JSON-able numbers from floats, NumPy scalars, tensors, lists and dicts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        number = float(value)
        return number if math.isfinite(number) else str(number)
    except (TypeError, ValueError):
        return repr(value)[:200]


def _shell(command, log):
    """A notebook ``!command`` line: runs in a shell; a failure is printed, not raised."""
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=600)
    log.write(done.stdout + done.stderr)


def run_cell(source, namespace, log):
    """Executes one cell. Returns None, or raises what the cell raised."""
    code_lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("!"):
            code_lines.append(f"__shell__({stripped[1:]!r})")
        elif stripped.startswith("%"):
            continue  # IPython magics (%%time, %load_ext, %tensorboard): no kernel here
        else:
            code_lines.append(line)
    tree = ast.parse("\n".join(code_lines))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        if value is not None:
            log.write(repr(value)[:2000] + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=["tomei", "tensorflow"], required=True)
    parser.add_argument("--cells", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)
    spec = json.load(open(args.cells, encoding="utf-8"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    if args.lib == "tomei":
        tf = _alias_tensorflow_to_tomei()
    else:
        import tensorflow as tf
    for patch in spec.get("prelude", {}).get(args.lib, []):
        exec(patch, {"tf": tf})
    records = []
    _install_recorders(tf, records, args.max_epochs)
    log = open(args.out + ".log", "w", encoding="utf-8")
    namespace = {"__name__": "__main__", "__shell__": lambda c: _shell(c, log)}
    cells = []
    for index, source in enumerate(spec["cells"]):
        entry = {"index": index}
        if not source.strip() or all(line.strip().startswith(("%", "#")) or not line.strip()
                                     for line in source.splitlines()):
            entry.update(status="skipped", seconds=0.0, error="no code (comments or magics)")
            cells.append(entry)
            continue
        start = time.perf_counter()
        log.write(f"\n===== cell {index} =====\n")
        log.flush()
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                run_cell(source, namespace, log)
            entry["status"] = "ok"
        except BaseException as err:  # noqa: BLE001 - a cell may raise anything, even SystemExit
            if isinstance(err, KeyboardInterrupt):
                raise
            entry["status"] = "error"
            entry["error"] = f"{type(err).__name__}: {str(err)[:400]}"
            log.write(traceback.format_exc())
        entry["seconds"] = round(time.perf_counter() - start, 2)
        cells.append(entry)
        log.flush()
    headline = {}
    for name, expression in spec.get("headline", {}).items():
        try:
            headline[name] = _plain(eval(expression, namespace))
        except Exception as err:  # noqa: BLE001 - the value may not exist after a failed cell
            headline[name] = f"unavailable ({type(err).__name__})"
    version = getattr(tf, "__version__", "?")
    result = {"lib": args.lib, "version": version, "max_epochs": args.max_epochs,
              "cells": cells, "records": records, "headline": headline}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    log.close()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        main()
    sys.stdout.flush()
