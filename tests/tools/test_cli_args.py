"""Every command's parser speaks the language of --lang: usage, help and errors, argparse's own
texts included; in English it is argparse's output, unchanged."""
import re

import pytest

from tomei import cli
from tomei.tools import cli_args, datasets_cmd, model_cmds, predict, report, tutorial
from tomei.tools.playground import server

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# argparse's English words, which must not show under --lang ja
ARGPARSE_ENGLISH = re.compile(r"usage:|error:|argument |invalid|unrecognized|required|expected|"
                              r"choose from|options:|positional|show this help")

PARSERS = {"tutorial": tutorial.build_parser, "datasets": datasets_cmd._parser,
           "summary": model_cmds.summary_parser, "export": model_cmds.export_parser,
           "predict": predict._parser, "report": report._parser, "playground": server._parser}


def _exit_code(argv):
    """cli.main's exit code: returned, or raised by argparse as SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exit_:
        return exit_.code


def _all_parsers():
    for name, make in PARSERS.items():
        parser = make()
        yield name, parser
        for action in parser._actions:  # the sub-commands of tomei datasets
            choices = action.choices if isinstance(action.choices, dict) else {}
            for sub_name, sub in choices.items():
                if isinstance(sub, cli_args.Parser):
                    yield f"{name} {sub_name}", sub


@pytest.mark.parametrize("name, parser", list(_all_parsers()))
def test_every_option_and_description_has_japanese_help(name, parser):
    assert parser.description_ja and JAPANESE.search(parser.description_ja), name
    for action in parser._actions:
        if action.help and "-h" not in action.option_strings:
            assert action.help_ja and JAPANESE.search(action.help_ja), (name, action.dest)


@pytest.mark.parametrize("argv", [
    ["tutorial", "--epochs", "abc"], ["tutorial", "--dataset", "foo"], ["tutorial", "--bogus"],
    ["tutorial", "--validation-split", "2"], ["tutorial", "--seed", "-1"], ["tutorial", "--epochs"],
    ["summary"], ["export", "m.keras", "o.onnx", "--opset", "x"], ["datasets", "bogus"],
    ["datasets", "fetch", "--timeout", "0", "mnist"], ["playground", "--port", "x"],
    ["predict"], ["report"]])
@pytest.mark.parametrize("where", ["after", "before"])
def test_usage_errors_are_all_japanese_under_lang_ja(argv, where, capsys):
    argv = argv + ["--lang", "ja"] if where == "after" else [argv[0], "--lang", "ja"] + argv[1:]
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("使い方: tomei ") and "エラー: " in err, err
    assert not ARGPARSE_ENGLISH.search(err), err


@pytest.mark.parametrize("name", list(PARSERS))
def test_help_is_japanese_under_lang_ja(name, capsys):
    assert _exit_code([name, "--help", "--lang", "ja"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("使い方: ") and "オプション:" in out and "このヘルプを表示" in out
    assert not ARGPARSE_ENGLISH.search(out), out


def test_english_stays_argparses_own(capsys, monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert _exit_code(["tutorial", "--epochs", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: tomei tutorial") and err.rstrip().endswith(
        "tomei tutorial: error: argument --epochs: expected a positive integer, received 'abc'")


def test_lang_after_a_sub_command_is_accepted(capsys):
    assert cli.main(["datasets", "fetch", "nonsense", "--lang", "ja"]) == 2
    assert "不明なデータセット 'nonsense'" in capsys.readouterr().err


def test_unknown_command_and_top_level_help_follow_lang(capsys):
    assert cli.main(["bogus", "--lang", "ja"]) == 2
    assert "使い方: tomei コマンド" in capsys.readouterr().err
    assert cli.main(["--help", "--lang", "ja"]) == 0
    assert capsys.readouterr().out.startswith("使い方: tomei コマンド")


def test_data_path_missing_in_japanese(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="--data-path: そのようなファイルもフォルダーもありません"):
        tutorial.load("mnist", "not-here.npz", "ja")


def test_translate_passes_unknown_texts_through():
    assert cli_args.translate("something new", "ja") == "something new"
    assert cli_args.translate("argument --x: something new", "ja") == "引数 --x: something new"
    assert cli_args.translate("argument --x: something new", "en") == "argument --x: something new"


@pytest.mark.parametrize("check, good, bad", [
    (cli_args.positive_integer, ("1", 1), ["0", "-1", "1.5", "x"]),
    (cli_args.non_negative_integer, ("0", 0), ["-1", "x"]),
    (cli_args.fraction, ("0.25", 0.25), ["1", "nan", "-0.1", "x"]),
    (cli_args.positive_seconds, ("2.5", 2.5), ["0", "inf", "nan", "x"]),
    (cli_args.port, ("0", 0), ["65536", "-1", "x"])])
def test_option_checks(check, good, bad):
    assert check(good[0]) == good[1]
    for text in bad:
        with pytest.raises(cli_args.argparse.ArgumentTypeError, match=re.escape(repr(text))):
            check(text)


def test_lang_in_finds_the_last_lang():
    assert cli_args.lang_in(["x", "--lang", "en", "--lang=ja"]) == "ja"
    assert cli_args.lang_in(["--lang"]) is None and cli_args.lang_in([]) is None


def test_unwritable_says_why(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    assert cli_args.unwritable(str(tmp_path / "new" / "m.keras"), False) is None
    assert cli_args.unwritable(str(tmp_path / "d"), False) == "it is a folder"
    assert cli_args.unwritable(str(tmp_path / "f"), True) == "it is a file, not a folder"
    assert "is a file, not a folder" in cli_args.unwritable(str(tmp_path / "f" / "m.keras"), False)
