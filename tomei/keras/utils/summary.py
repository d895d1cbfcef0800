"""``model.summary()``: the Keras 3 table of layers, output shapes and parameter counts.

Layout (docs/keras_facts.md, 'model.summary()'): box-drawing table, 76 characters wide when not on a terminal
(min(88, columns - 4) on one), columns at 45 % / 80 % / 100 % of the width, then
" Total params: 101,770 (397.54 KB)" style footers (float32 = 4 bytes per parameter).
"""
from __future__ import annotations

import shutil
import sys

from tomei.keras.utils.text import printable


def format_bytes(n: float) -> str:
    """397.54 KB style: 2 decimals, dividing by 1024 while >= 1024 (B, KB, MB, GB, TB, PB)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024:
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} PB"


def format_shape(shape) -> str:
    """A shape as ``summary()`` prints it: ``(None, 10)``, ``(None,)``; '?' when unknown."""
    if shape is None or isinstance(shape, str):
        return "?"  # not known (a layer of a subclassed model that was never traced)
    if isinstance(shape, list):
        return ", ".join(format_shape(s) for s in shape)
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _line_length(default=88):
    if sys.stdout.isatty():
        return min(default, shutil.get_terminal_size().columns - 4)
    return min(default, 76)


def _wrap(text, width):
    """Greedy word wrap at spaces, as rich does in Keras's table: a word longer than the
    width gets a line of its own, cut to width - 1 characters plus "…"."""
    lines = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines] or [""]


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Prints (or passes to ``print_fn``) the summary table of ``model``.

    Rows: "name (ClassName)", the output shape with None for the batch axis, and the
    parameter count with thousands separators. Functional models add "Connected to". Names
    (which may come from a loaded file) are shown through ``utils.text.printable``.
    """
    rows = model._summary_rows()  # [(name, class, shape, params, connected_to or None)]
    functional = any(r[4] is not None for r in rows)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    width = line_length or _line_length(108 if functional else 88)
    positions = positions or ([0.3, 0.56, 0.74, 1.0] if functional else [0.45, 0.80, 1.0])
    # Column k ends at positions[k] * width. Each column gets 2 characters of padding, then
    # the excess over the space inside the borders is taken back evenly, left to right,
    # with Python's rounding (how rich fits Keras's fixed-width columns).
    ends = [int(width * p) for p in positions]
    widths = [e - s + 2 for s, e in zip([0] + ends[:-1], ends)]
    excess, left = sum(widths) - (width - len(ends) - 1), len(widths)
    for k in range(len(widths)):
        cut = round(excess / left)
        widths[k] -= cut
        excess, left = excess - cut, left - 1

    def cells(values, right=(2,)):
        """The physical lines of one table row: each cell word-wrapped to its width."""
        wrapped = [_wrap(str(v), w - 2) for v, w in zip(values, widths)]
        out = []
        for n in range(max(len(c) for c in wrapped)):
            parts = []
            for i, (c, w) in enumerate(zip(wrapped, widths)):
                text = c[n] if n < len(c) else ""
                parts.append(" " + (text.rjust(w - 2) if i in right else text.ljust(w - 2)) + " ")
            out.append(parts)
        return out

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    lines = [f'Model: "{printable(model.name)}"', rule("┏", "┳", "┓", "━"),
             *("┃" + "┃".join(p) + "┃" for p in cells(headers)), rule("┡", "╇", "┩", "━")]
    for k, (name, cls, shape, params, connected) in enumerate(rows):
        values = [f"{printable(name)} ({printable(cls)})", format_shape(shape),
                  params if isinstance(params, str) else f"{params:,}"]
        if functional:
            values.append(printable(connected, limit=None) if connected else "-")
        lines.extend("│" + "│".join(p) + "│" for p in cells(values))
        if k < len(rows) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))
    trainable = sum(w.value.size for w in model.trainable_weights)
    total = sum(w.value.size for w in model.weights)
    optimizer_params = model._optimizer_param_count()
    lines.append(f" Total params: {total + optimizer_params:,} "
                 f"({format_bytes(4 * (total + optimizer_params))})")
    lines.append(f" Trainable params: {trainable:,} ({format_bytes(4 * trainable)})")
    lines.append(f" Non-trainable params: {total - trainable:,} "
                 f"({format_bytes(4 * (total - trainable))})")
    if optimizer_params:
        lines.append(f" Optimizer params: {optimizer_params:,} "
                     f"({format_bytes(4 * optimizer_params)})")
    emit = print_fn or print
    for line in lines:
        emit(line)
