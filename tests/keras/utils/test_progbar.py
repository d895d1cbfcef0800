"""Exact-text tests for tomei.keras.utils.progbar, driven by a fake clock."""
import io
import sys
import types

import numpy as np
import pytest

from tomei.keras.utils import progbar
from tomei.keras.utils.progbar import (
    Progbar,
    format_eta,
    format_metric_value,
    format_time_per_unit,
)

METRICS = ["loss", "accuracy"]
BAR_FULL = "[" + "=" * 30 + "]"


class FakeClock:
    """Stands in for progbar._clock; tests move time by setting ``t``."""

    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar, "_clock", fake)
    return fake


def last_redraw(text):
    """The text of the last in-place redraw, without padding or newline."""
    return text.rsplit("\r", 1)[-1].rstrip("\n").rstrip(" ")


# ----------------------------------------------------------------------------- helpers
@pytest.mark.parametrize("seconds, expected", [
    (2.4, "2s/step"),
    (1.0, "1s/step"),
    (0.0, "0s/step"),
    (0.0123, "12ms/step"),
    (1e-3, "1ms/step"),
    (0.000927, "927us/step"),
    (4e-7, "0us/step"),
])
def test_format_time_per_unit(seconds, expected):
    assert format_time_per_unit(seconds) == expected


def test_format_time_per_unit_other_unit():
    assert format_time_per_unit(0.186, "epoch") == "186ms/epoch"


@pytest.mark.parametrize("seconds, expected", [
    (1.9, "1s"),
    (60, "60s"),
    (61, "1:01"),
    (937, "15:37"),
    (3600, "60:00"),
    (3661, "1:01:01"),
])
def test_format_eta(seconds, expected):
    assert format_eta(seconds) == expected


@pytest.mark.parametrize("value, expected", [
    (0.2966, "0.2966"),
    (0.0011, "0.0011"),
    (1e-3, "1.0000e-03"),
    (0.0005, "5.0000e-04"),
    (0.0, "0.0000e+00"),
    (-0.5, "-0.5000"),
])
def test_format_metric_value(value, expected):
    assert format_metric_value(value) == expected


def test_format_metric_value_without_abs_uses_scientific_for_negatives():
    assert format_metric_value(-0.5, use_abs=False) == "-5.0000e-01"
    assert format_metric_value(0.5, use_abs=False) == "0.5000"


# ----------------------------------------------------------------------------- final line
def test_final_line_matches_tutorial(clock):
    out = io.StringIO()
    bar = Progbar(1875, stateful_metrics=METRICS, file=out)
    clock.t += 0.3  # a slow first step, left out of the time per step
    bar.update(1, [("loss", 2.3), ("accuracy", 0.1)])
    clock.t += 1874 * 0.000927
    bar.update(1875, [("loss", 0.2966), ("accuracy", 0.9143)])
    assert out.getvalue() == (
        "1875/1875 " + BAR_FULL + " - 2s 927us/step - loss: 0.2966 - accuracy: 0.9143\n")


def test_time_per_step_leaves_out_first_step(clock):
    out = io.StringIO()
    bar = Progbar(11, file=out)
    clock.t += 5.0
    bar.update(1)
    clock.t += 0.1
    bar.update(11)
    # 0.1 s over the last 10 steps, not 5.1 s / 11 steps (464ms).
    assert out.getvalue() == "11/11 " + BAR_FULL + " - 5s 10ms/step\n"


def test_single_step_bar_uses_elapsed_over_current(clock):
    out = io.StringIO()
    bar = Progbar(1, file=out)
    clock.t += 3.2
    bar.update(1, [("loss", 0.5)])
    assert out.getvalue() == "1/1 " + BAR_FULL + " - 3s 3s/step - loss: 0.5000\n"


def test_small_values_use_scientific_notation(clock):
    out = io.StringIO()
    bar = Progbar(2, stateful_metrics=METRICS, file=out)
    bar.update(1)
    clock.t += 0.0123
    bar.update(2, [("loss", 0.0005), ("accuracy", 1.0)])
    assert out.getvalue() == (
        "2/2 " + BAR_FULL + " - 0s 12ms/step - loss: 5.0000e-04 - accuracy: 1.0000\n")


def test_values_accept_numpy_arrays(clock):
    out = io.StringIO()
    bar = Progbar(1, stateful_metrics=["loss"], file=out)
    bar.update(1, [("loss", np.array([0.25, 0.75], dtype=np.float32))])
    assert out.getvalue().endswith(" - loss: 0.5000\n")


# ----------------------------------------------------------------------------- averaging
def test_non_stateful_values_are_averaged_weighted_by_steps(clock):
    out = io.StringIO()
    bar = Progbar(4, file=out)
    bar.update(1, [("loss", 1.0)])
    bar.update(3, [("loss", 4.0)])  # covers 2 steps: (1 + 2*4) / 3 = 3
    bar.update(4, [("loss", 3.0)])  # (9 + 3) / 4 = 3; unweighted it would be 2.6667
    assert out.getvalue().endswith(" - loss: 3.0000\n")


def test_stateful_values_are_shown_as_given(clock):
    out = io.StringIO()
    bar = Progbar(4, stateful_metrics=["loss"], file=out)
    bar.update(1, [("loss", 1.0)])
    bar.update(4, [("loss", 7.0)])
    assert out.getvalue().endswith(" - loss: 7.0000\n")


def test_add_advances_by_n(clock):
    out = io.StringIO()
    bar = Progbar(4, file=out)
    for loss in (1.0, 2.0, 3.0, 6.0):
        bar.add(1, [("loss", loss)])
    assert out.getvalue() == "4/4 " + BAR_FULL + " - 0s 0s/step - loss: 3.0000\n"


def test_metric_order_is_first_seen(clock):
    out = io.StringIO()
    bar = Progbar(1, stateful_metrics=["loss", "accuracy", "val_loss"], file=out)
    bar.update(1, [("loss", 0.1), ("accuracy", 0.9), ("val_loss", 0.2)])
    assert out.getvalue().endswith(" - loss: 0.1000 - accuracy: 0.9000 - val_loss: 0.2000\n")


# ----------------------------------------------------------------------------- terminal
def test_running_lines_on_tty(clock):
    out = FakeTTY()
    bar = Progbar(1875, stateful_metrics=METRICS, file=out)
    clock.t += 0.5
    bar.update(1, [("loss", 2.5265), ("accuracy", 0.0625)])
    first = "   1/1875 [" + "." * 30 + "] - ETA: 15:37 - loss: 2.5265 - accuracy: 0.0625"
    assert out.getvalue() == "\r" + first
    clock.t += 112 * 0.0078125
    bar.update(113, [("loss", 0.5213), ("accuracy", 0.8512)])
    second = " 113/1875 [>" + "." * 29 + "] - ETA: 13s - loss: 0.5213 - accuracy: 0.8512"
    # The shorter second line is padded with spaces to wipe the end of the first one.
    assert out.getvalue() == "\r" + first + "\r" + second + " " * (len(first) - len(second))
    assert "\b" not in out.getvalue() and "\n" not in out.getvalue()


def test_step_counter_is_padded_to_target_digits(clock):
    out = FakeTTY()
    Progbar(32, file=out).update(3)
    assert out.getvalue().startswith("\r 3/32 [")
    out = FakeTTY()
    Progbar(1875, file=out).update(7)
    assert out.getvalue().startswith("\r   7/1875 [")


@pytest.mark.parametrize("target, current, expected", [
    (100, 0, "." * 30),
    (1875, 54, "." * 30),  # 54/1875 of 30 columns rounds down to 0
    (1875, 277, "===>" + "." * 26),
    (100, 50, "=" * 14 + ">" + "." * 15),
    (100, 100, "=" * 30),
])
def test_bar_body(clock, target, current, expected):
    out = FakeTTY()
    Progbar(target, file=out).update(current)
    assert last_redraw(out.getvalue()).split(" [", 1)[1].split("]")[0] == expected


def test_redraws_are_throttled_except_the_final_one(clock):
    out = FakeTTY()
    bar = Progbar(100, interval=0.05, file=out)
    bar.update(1)  # the first update always draws
    for step in range(2, 51):  # 49 updates within 0.049 s: no redraw
        clock.t += 0.001
        bar.update(step)
    assert out.getvalue().count("\r") == 1
    clock.t += 0.011
    bar.update(51)
    assert out.getvalue().count("\r") == 2
    assert last_redraw(out.getvalue()).startswith(" 51/100 ")
    clock.t += 0.001  # within the interval, but the final update is always drawn
    bar.update(100)
    text = out.getvalue()
    assert text.count("\r") == 3
    assert text.count("\n") == 1 and text.endswith("\n")
    assert last_redraw(text).startswith("100/100 " + BAR_FULL + " - 0s ")


def test_final_redraw_on_tty_pads_and_ends_line(clock):
    out = FakeTTY()
    bar = Progbar(2, stateful_metrics=["loss"], file=out)
    clock.t += 1.0
    bar.update(1, [("loss", 1.0)])
    running = "1/2 [" + "=" * 14 + ">" + "." * 15 + "] - ETA: 1s - loss: 1.0000"
    clock.t += 0.003
    bar.update(2, [("loss", 0.5)])
    final = "2/2 " + BAR_FULL + " - 1s 3ms/step - loss: 0.5000"
    assert out.getvalue() == "\r" + running + "\r" + final + "\n"


# ----------------------------------------------------------------------------- not a terminal
def test_non_tty_writes_one_clean_line_per_bar(clock):
    out = io.StringIO()
    epochs = 3
    for _ in range(epochs):
        bar = Progbar(50, stateful_metrics=METRICS, interval=0.0, file=out)
        for step in range(1, 51):
            clock.t += 0.0078125
            bar.update(step, [("loss", 1.0 / step), ("accuracy", 0.5)])
    text = out.getvalue()
    assert "\r" not in text and "\b" not in text
    lines = text.splitlines()
    assert len(lines) == epochs and text.endswith("\n")
    assert lines[0] == "50/50 " + BAR_FULL + " - 0s 8ms/step - loss: 0.0200 - accuracy: 0.5000"


def test_non_tty_writes_nothing_before_the_end(clock):
    out = io.StringIO()
    bar = Progbar(10, file=out)
    for step in range(1, 10):
        bar.update(step)
    assert out.getvalue() == ""


def test_default_file_is_sys_stdout_at_call_time(clock, monkeypatch):
    bar = Progbar(1)
    later = io.StringIO()
    monkeypatch.setattr(sys, "stdout", later)  # replaced after the bar was created
    bar.update(1)
    assert later.getvalue() == "1/1 " + BAR_FULL + " - 0s 0s/step\n"


def test_default_file_captured_by_capsys(clock, capsys):
    bar = Progbar(3, stateful_metrics=["loss"])
    for step in (1, 2, 3):
        bar.update(step, [("loss", 0.25)])
    assert capsys.readouterr().out == "3/3 " + BAR_FULL + " - 0s 0s/step - loss: 0.2500\n"


def test_ipykernel_stdout_is_dynamic(clock, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    notebook = io.StringIO()
    monkeypatch.setattr(sys, "stdout", notebook)
    Progbar(4).update(1)
    assert notebook.getvalue().startswith("\r1/4 [")
    # An explicit file that is not the kernel's output stream stays non-dynamic.
    log = io.StringIO()
    Progbar(4, file=log).update(1)
    assert log.getvalue() == ""


# ----------------------------------------------------------------------------- verbose 0 / 2
@pytest.mark.parametrize("stream_cls", [io.StringIO, FakeTTY])
def test_verbose_0_is_silent(clock, stream_cls):
    out = stream_cls()
    bar = Progbar(3, verbose=0, file=out)
    for step in (1, 2, 3):
        clock.t += 1.0
        bar.update(step, [("loss", 0.1)])
    assert out.getvalue() == ""


@pytest.mark.parametrize("stream_cls", [io.StringIO, FakeTTY])
def test_verbose_2_prints_one_summary_line(clock, stream_cls):
    out = stream_cls()
    bar = Progbar(313, verbose=2, stateful_metrics=METRICS, file=out)
    for step in range(1, 313):
        bar.update(step, [("loss", 0.5), ("accuracy", 0.5)])
    assert out.getvalue() == ""
    clock.t += 0.186
    bar.update(313, [("loss", 0.0783), ("accuracy", 0.9753)])
    assert out.getvalue() == (
        "313/313 - 0s - loss: 0.0783 - accuracy: 0.9753 - 186ms/epoch - 594us/step\n")


def test_verbose_2_tests_value_without_abs(clock):
    out = io.StringIO()
    bar = Progbar(5, verbose=2, stateful_metrics=["loss"], file=out)
    clock.t += 2.4
    bar.update(5, [("loss", -0.5)])
    assert out.getvalue() == "5/5 - 2s - loss: -5.0000e-01 - 2s/epoch - 480ms/step\n"


# ----------------------------------------------------------------------------- unknown target
def test_unknown_target_on_tty(clock):
    out = FakeTTY()
    bar = Progbar(None, stateful_metrics=["loss"], file=out)
    clock.t += 0.2
    bar.update(1, [("loss", 0.3)])
    running = "      1/Unknown - 0s 200ms/step - loss: 0.3000"
    assert out.getvalue() == "\r" + running
    clock.t += 2.8
    bar.update(57, [("loss", 0.25)])  # finalize defaults to False for an unknown target
    line = "     57/Unknown - 3s 50ms/step - loss: 0.2500"
    assert out.getvalue() == "\r" + running + "\r" + line + " "
    bar.update(57, finalize=True)
    assert out.getvalue() == "\r" + running + "\r" + line + " " + "\r" + line + "\n"


def test_unknown_target_not_tty_prints_only_when_finalized(clock):
    out = io.StringIO()
    bar = Progbar(None, stateful_metrics=["loss"], file=out)
    bar.update(1, [("loss", 0.3)])
    clock.t += 2.8
    bar.update(57, [("loss", 0.25)])
    assert out.getvalue() == ""
    bar.update(57, finalize=True)
    assert out.getvalue() == "     57/Unknown - 3s 50ms/step - loss: 0.2500\n"


@pytest.mark.parametrize("verbose", ["yes", 3, None])
def test_progbar_refuses_an_unknown_verbose(verbose):
    with pytest.raises(ValueError, match=r"^Progbar\(\): verbose must be one of 0, 1, 2; received"):
        progbar.Progbar(10, verbose=verbose)
