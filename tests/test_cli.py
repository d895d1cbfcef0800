"""The ``tomei`` command's dispatcher: help, version, unknown commands, exit codes."""
from tomei import cli
from tomei.version import __version__


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


def test_no_command_prints_usage_and_fails(capsys):
    assert cli.main([]) == 2
    assert capsys.readouterr().out.startswith("usage: tomei COMMAND")


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tomei {__version__}"


def test_unknown_command_names_it_and_fails(capsys):
    assert cli.main(["fly"]) == 2
    assert "'fly'" in capsys.readouterr().err


def test_every_command_module_has_an_entry_point():
    import importlib
    for name, (module, _help) in cli.COMMANDS.items():
        mod = importlib.import_module(module)
        assert callable(getattr(mod, f"main_{name}", None) or mod.main), name


def test_library_warnings_print_as_one_line_in_the_chosen_language(tmp_path, capsys):
    import warnings
    before = warnings.showwarning
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"not a zip")
    assert cli.main(["tutorial", "--data-path", str(bad), "--lang", "ja"]) == 1
    err = capsys.readouterr().err
    assert "警告: " in err and "SHA-256" in err
    assert "UserWarning" not in err and "load_data(" not in err  # no Python source line
    assert warnings.showwarning is before


def test_lang_before_the_command(capsys):
    # `tomei --lang ja` is what a learner types first: the Japanese help, not "unknown command".
    assert cli.main(["--lang", "ja"]) == 2
    assert capsys.readouterr().out.startswith("使い方: tomei コマンド")
    assert cli.main(["--lang=ja", "--help"]) == 0
    assert "コマンド:" in capsys.readouterr().out
    assert cli.main(["--lang", "ja", "fly"]) == 2
    assert "不明なコマンド 'fly'" in capsys.readouterr().err


def test_lang_before_the_command_reaches_the_command(capsys):
    assert cli.main(["--lang", "ja", "summary", "no-such-model.keras"]) != 0
    captured = capsys.readouterr()
    assert "モデルファイルがありません" in captured.out + captured.err
