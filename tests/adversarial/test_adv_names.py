"""Names from files are untrusted text (issue 14 items 8 and 9): plots draw them as plain
text, the terminal never receives their control characters, the report appears whole or not
at all, and no file is written through a name another user could have planted."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from .adv_helpers import rewrite_keras

import tomei.keras as tk
from tomei.tools import model_cmds, predict, report

EVIL_NAMES = ["$\\foo{$", "\x1b[2J\x1b]0;pwned\x07", "a\u202eb", "x\ry\bz", "\\mathrm{$x$}",
              "line\nbreak", "$" * 3, "naïve"]
CONTROL = [chr(c) for c in range(32) if chr(c) != "\n"] + ["\x7f", "\u202e", "\x9b"]


@pytest.fixture
def evil_model(tmp_path):
    """A small 28x28 classifier whose layer names and model name are hostile, saved and
    loaded back (so the names really come from a file)."""
    tk.utils.set_random_seed(0)
    model = tk.Sequential([tk.layers.Input(shape=(28, 28)), tk.layers.Flatten(name="$\\foo{$"),
                           tk.layers.Dense(16, activation="relu", name="\x1b[31mred\u202e"),
                           tk.layers.Dense(10, name="\\mathrm{$x$}")], name="m\x1b[2J")
    model.compile(optimizer="adam",
                  loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    path = tmp_path / "evil.keras"
    model.save(path)
    return tk.models.load_model(path), path


def test_summary_of_a_hostile_file_prints_no_control_characters(evil_model, capsys):
    model, path = evil_model
    assert model_cmds.main_summary([str(path)]) == 0
    out = capsys.readouterr().out
    assert "\\x1b[31mred\\u202e" in out and "$\\foo{$" in out
    assert not any(c in out for c in CONTROL)


def test_cli_errors_quoting_a_file_print_no_control_characters(tmp_path, capsys):
    model = tk.Sequential([tk.layers.Input(shape=(4,)), tk.layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    rewrite_keras(path, config=lambda c: {**c, "class_name": "Evil\x1b[2J\u202eName"})
    assert model_cmds.main_summary([str(path)]) == 1
    err = capsys.readouterr().err
    assert "Evil" in err and not any(c in err for c in CONTROL)


def test_report_draws_hostile_names_as_plain_text(evil_model, tmp_path):
    """The issue's case: '$\\foo{$' made `tomei report` stop with matplotlib's error. The
    same report checks that HTML in names is escaped and that symlinks planted at the old,
    pid-based temporary names are not followed."""
    model, _ = evil_model
    names = EVIL_NAMES + ["<script>alert(1)</script>", "n9"]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 40)
    out = tmp_path / "report"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    pid = os.getpid()
    for name in ("summary.json", "index.html", "history.json", "confusion_matrix.png"):
        for p in range(pid - 2, pid + 3):
            os.symlink(victim, out / f"{name}.{p}.tmp")
            os.symlink(victim, out / f".{name}.{p}.tmp")
    index = report.write_report(model, {"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, x, y, out,
                                class_names=names)
    assert victim.read_bytes() == b"precious"
    assert os.path.basename(index) == "index.html" and not (out / "summary.json").is_symlink()
    page = open(index, encoding="utf-8").read()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert [c["class"] for c in summary["per_class"]] == names
    assert not [n for n in os.listdir(out) if n.startswith(".") and not n.endswith(".tmp")]


def test_failed_report_leaves_the_previous_report_untouched(evil_model, tmp_path, monkeypatch):
    model, _ = evil_model
    x = np.zeros((10, 28, 28), np.uint8)
    y = np.arange(10)
    out = tmp_path / "report"
    out.mkdir()
    for name in ("index.html", "summary.json", "learning_curves.png", "history.json"):
        (out / name).write_bytes(f"the previous report's {name}".encode())
    before = {n: (out / n).read_bytes() for n in os.listdir(out)}

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed half way")
    monkeypatch.setattr(report, "_plot_confusion", broken)  # after the curves are drawn
    with pytest.raises(RuntimeError):
        report.write_report(model, {"loss": [2.0, 1.0]}, x, y, out)
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before


def test_predict_show_ignores_a_symlink_planted_at_the_old_name(evil_model, tmp_path, capsys):
    _, path = evil_model
    image = tmp_path / "digit.png"
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255  # a "1"
    Image.fromarray(pixels).save(image)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    show = tmp_path / "seen.png"
    for p in range(os.getpid() - 2, os.getpid() + 3):
        os.symlink(victim, tmp_path / f".seen.png.{p}.tmp")
    assert predict.main([str(path), str(image), "--show", str(show)]) == 0
    assert victim.read_bytes() == b"precious"
    assert Image.open(show).size[1] == 28
    out = capsys.readouterr().out
    assert not any(c in out for c in CONTROL)


HOSTILE_CONFIGS = {
    "model class": lambda c: {**c, "class_name": "Evil\x1b[2J"},
    "layer class": lambda c: _put(c["config"]["layers"][1], "class_name", "La\x1b]0;x\x07yer", c),
    "activation": lambda c: _put(c["config"]["layers"][1]["config"], "activation", "a\u202ect", c),
    "unknown key": lambda c: _put(c["config"]["layers"][1]["config"], "bogus\r\x1b[2K", 5, c),
    "loss name": lambda c: _put(c["compile_config"], "loss",
                                {"class_name": "function", "config": "lo\x9bss",
                                 "module": "builtins", "registered_name": "function"}, c),
}


def _put(node, key, value, whole):
    node[key] = value
    return whole


@pytest.mark.parametrize("case", sorted(HOSTILE_CONFIGS))
def test_errors_about_hostile_names_carry_no_control_characters(tmp_path, case):
    """Printing the exception in a notebook or a traceback cannot drive the terminal."""
    from tomei.keras.saving import ModelFileError
    path = tmp_path / "m.keras"
    model = tk.Sequential([tk.layers.Input(shape=(4,)), tk.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.save(path)
    rewrite_keras(path, config=HOSTILE_CONFIGS[case])
    with pytest.raises(ModelFileError) as info:
        tk.models.load_model(path)
    text = str(info.value)
    assert "\\x1b" in text or "\\u202e" in text or "\\x0d" in text or "\\x9b" in text
    assert not any(c in text for c in CONTROL)


@pytest.mark.parametrize("command", ["summary", "predict", "report"])
def test_every_command_prints_file_errors_safely(tmp_path, capsys, command):
    model = tk.Sequential([tk.layers.Input(shape=(28, 28)), tk.layers.Flatten(),
                           tk.layers.Dense(10)])
    path = tmp_path / "m.keras"
    model.save(path)
    rewrite_keras(path, config=lambda c: {**c, "class_name": "Evil\x1b[2J\u202eName"})
    image = tmp_path / "d.png"
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255
    Image.fromarray(pixels).save(image)
    argv = {"summary": (model_cmds.main_summary, [str(path)]),
            "predict": (predict.main, [str(path), str(image)]),
            "report": (report.main, [str(path), "--dataset", "mnist", "--out",
                                     str(tmp_path / "r")])}[command]
    assert argv[0](argv[1]) == 1
    err = capsys.readouterr().err
    assert "Evil" in err and not any(c in err for c in CONTROL)
    assert not (tmp_path / "r").exists()
