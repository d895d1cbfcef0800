"""Text progress bar with the Keras 2 (tf.keras <= 2.15) look.

``Progbar`` draws the bar that the TensorFlow beginner tutorial shows, loss first::

     277/1875 [===>..........................] - ETA: 2s - loss: 0.5213 - accuracy: 0.8512
    1875/1875 [==============================] - 2s 927us/step - loss: 0.2966 - accuracy: 0.9143

and, with ``verbose=2``, the one-line summary of Keras 2.7 to 2.15::

    313/313 - 0s - loss: 0.0783 - accuracy: 0.9753 - 186ms/epoch - 594us/step

Where tomei differs from Keras on purpose: the bar is redrawn in place only when the output is
"dynamic", that is a terminal (``isatty()``) or the stdout/stderr of a Jupyter kernel. Anywhere else
(a pipe, ``tee``, a file, a CI or batch-job log) it writes no backspace and no carriage return, and
nothing while running: each bar becomes exactly one line, written when the bar finishes, so
``fit`` writes one line per epoch. Keras 2 treats every POSIX system as dynamic and fills such logs
with control characters (keras-team/keras#8414, #13716).
"""
import sys
import time

import numpy as np

from tomei.keras.arguments import verbose_argument

__all__ = ["Progbar", "format_eta", "format_metric_value", "format_time_per_unit"]

# Looked up at each call, so tests can swap in a fake clock with monkeypatch.
_clock = time.monotonic


def format_time_per_unit(seconds, unit_name="step"):
    """Format a time per unit the Keras way: ``"2s/step"``, ``"12ms/step"``, ``"927us/step"``.

    The number is rounded to an integer (``%.0f``): in seconds when ``seconds >= 1`` or exactly 0,
    in milliseconds when ``seconds >= 1e-3``, otherwise in microseconds.
    """
    if seconds >= 1 or seconds == 0:
        return "%.0fs/%s" % (seconds, unit_name)
    if seconds >= 1e-3:
        return "%.0fms/%s" % (seconds * 1e3, unit_name)
    return "%.0fus/%s" % (seconds * 1e6, unit_name)


def format_eta(seconds):
    """Format a remaining time: ``h:mm:ss`` above 3600 s, ``m:ss`` above 60 s, else ``"<int>s"``."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def format_metric_value(value, use_abs=True):
    """Format a metric value: ``.4f`` when ``abs(value) > 1e-3``, else ``.4e`` (``5.0000e-04``).

    With ``use_abs=False`` the test is ``value > 1e-3``, as in the Keras 2 ``verbose=2`` line, so
    negative values are written in scientific notation there.
    """
    large = abs(value) > 1e-3 if use_abs else value > 1e-3
    return ("%.4f" if large else "%.4e") % value


def _to_float(value):
    if hasattr(value, "numpy"):  # a tomei Tensor
        value = value.numpy()
    return float(np.mean(value))


def _is_dynamic(stream):
    """True where a "\\r" redraw works: a terminal, or the stdout/stderr of a Jupyter kernel."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty(), or a closed file
        pass
    return "ipykernel" in sys.modules and stream in (sys.stdout, sys.stderr)


class Progbar:
    """A text progress bar for loops over a known (or unknown) number of steps.

    Args:
        target: int or None. Total number of steps; ``None`` if unknown (then no bar is drawn and
            the caller ends the bar with ``update(current, finalize=True)``).
        width: int, default 30. Width of the bar in characters, inside the brackets.
        verbose: int, default 1. 0 prints nothing; 1 draws the bar; 2 prints one line when the bar
            finishes: ``<n>/<n> - <elapsed>s - <metrics> - <time>/epoch - <time>/step``.
        interval: float, default 0.05. Minimum seconds between two redraws on a terminal; the
            final redraw is never skipped.
        stateful_metrics: iterable of str or None, default None. Names whose values are shown as
            given (running means, as ``fit`` passes them). Other names are averaged over the steps,
            each value weighted by the steps since the previous update.
        unit_name: str, default ``"step"``. Unit of the time per unit (``927us/step``).
        file: writable text stream or None, default None, meaning ``sys.stdout`` as it is at the
            time of each write. Every write is flushed.

    With ``verbose=1`` on a terminal the line is redrawn in place:
    ``  <current>/<target> [====>.....] - ETA: <eta> - name: value ...`` while running, where the
    ETA is ``h:mm:ss``, ``m:ss`` or ``<n>s``, and
    ``<target>/<target> [==========] - <elapsed>s <time>/step - name: value ...`` at the end, where
    elapsed is whole seconds since the bar was created and the time per step is in ``s``, ``ms``
    or ``us`` and leaves out the first update (it includes start-up costs). Metric values are
    written with 4 decimals, or as ``1.2345e-04`` when their magnitude is at most 1e-3.
    When the output is not a terminal, only the final line is written.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", file=None):
        self.target = target
        self.width = width
        self.verbose = verbose_argument(verbose, "Progbar()", (0, 1, 2))
        self.interval = interval
        self.stateful_metrics = set(stateful_metrics or ())
        self.unit_name = unit_name
        self.file = file
        self._values = {}  # name -> [weighted sum, total weight], in first-seen order
        self._seen_so_far = 0
        self._start = _clock()
        self._first = None  # (time, current) of the first update, for the time per step
        self._last_draw = None  # time of the last redraw; None: draw the next update at once
        self._line_width = 0  # length of the text now on the terminal line

    def update(self, current, values=None, finalize=None):
        """Move the bar to step ``current`` and record metric values.

        Args:
            current: int. Index of the current step (the number of steps done so far).
            values: list of ``(name, value)`` pairs, or None. Values are floats, NumPy scalars
                or arrays (their mean is used) or tensors.
            finalize: bool or None, default None, meaning ``current >= target`` (never, for an
                unknown target). True writes the final line and ends it with a newline.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values)
        now = _clock()
        per_step = self._time_per_step(current, now)
        if self.verbose == 1:
            throttled = self._last_draw is not None and now - self._last_draw < self.interval
            if throttled and not finalize:
                return
            self._last_draw = now
            stream = self.file if self.file is not None else sys.stdout
            dynamic = _is_dynamic(stream)
            if dynamic or finalize:
                self._draw(stream, dynamic, current, now, per_step, finalize)
        elif self.verbose == 2 and finalize:
            stream = self.file if self.file is not None else sys.stdout
            self._write(stream, self._summary_line(current, now) + "\n")

    def add(self, n, values=None):
        """Advance the bar by ``n`` steps; ``values`` as in ``update``."""
        self.update(self._seen_so_far + n, values)

    def _record(self, current, values):
        if hasattr(values, "items"):
            values = values.items()
        for name, value in values or ():
            value = _to_float(value)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                steps = max(current - self._seen_so_far, 1)
                total, weight = self._values.get(name, (0.0, 0))
                self._values[name] = [total + value * steps, weight + steps]
        self._seen_so_far = current

    def _time_per_step(self, current, now):
        # Keras leaves the first step out: (now - time after step 1) / (current - 1).
        # Measuring from the first update generalises this to bars advanced by add(n).
        if current <= 0:
            return 0.0
        if self._first is None:
            self._first = (now, current)
        first_time, first_current = self._first
        if current > first_current:
            return (now - first_time) / (current - first_current)
        return (now - self._start) / current

    def _metrics_text(self, use_abs=True):
        return "".join(" - %s: %s" % (name, format_metric_value(total / max(weight, 1), use_abs))
                       for name, (total, weight) in self._values.items())

    def _counter(self, current):
        """``current/target``, current padded to the digits of target; or ``current/Unknown``."""
        if self.target is None:
            return "%d/Unknown" % current
        return "%*d/%d" % (len(str(int(self.target))), current, self.target)

    def _bar(self, current):
        if self.target:
            done = min(int(self.width * current / self.target), self.width)
        else:
            done = self.width
        head = "=" if current >= self.target else ">"
        body = "=" * (done - 1) + head if done > 0 else ""
        return "[" + body + "." * (self.width - done) + "]"

    def _draw(self, stream, dynamic, current, now, per_step, finalize):
        if self.target is None:
            line = "%7d/Unknown" % current
        else:
            line = self._counter(current) + " " + self._bar(current)
        if self.target is None or finalize:
            line += " - %.0fs %s" % (now - self._start,
                                     format_time_per_unit(per_step, self.unit_name))
        else:
            line += " - ETA: " + format_eta(max(per_step * (self.target - current), 0))
        line += self._metrics_text()
        if not dynamic:  # pipe or file: the final line only, no control characters
            self._write(stream, line + "\n")
            return
        # "\r" returns to the start of the line everywhere (terminals, Jupyter, IDE consoles),
        # while "\b" is shown as "^H" or ignored by some front ends. Trailing spaces wipe what
        # a longer previous line left behind.
        text = "\r" + line + " " * (self._line_width - len(line))
        self._line_width = 0 if finalize else len(line)
        self._write(stream, text + "\n" if finalize else text)

    def _summary_line(self, current, now):
        elapsed = now - self._start
        per_step = elapsed / current if current > 0 else 0.0
        return (self._counter(current) + " - %.0fs" % elapsed + self._metrics_text(use_abs=False)
                + " - " + format_time_per_unit(elapsed, "epoch")
                + " - " + format_time_per_unit(per_step, self.unit_name))

    @staticmethod
    def _write(stream, text):
        stream.write(text)
        stream.flush()
