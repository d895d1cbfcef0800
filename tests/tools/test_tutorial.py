"""``tomei tutorial``'s command line: argument checks, help text and the training message."""
import numpy as np
import pytest

from tomei.tools import tutorial


def _parse_error(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        tutorial.build_parser().parse_args(list(argv))
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, message", [
    (("--epochs", "abc"), "argument --epochs: expected a positive integer, received 'abc'"),
    (("--epochs", "0"), "argument --epochs: expected a positive integer, received '0'"),
    (("--batch-size", "2.5"),
     "argument --batch-size: expected a positive integer, received '2.5'"),
    (("--seed", "x"), "argument --seed: expected a non-negative integer, received 'x'"),
    (("--validation-split", "1.5"),
     "argument --validation-split: expected a fraction in [0, 1) such as 0.1, received '1.5'"),
    (("--validation-split", "1"),
     "argument --validation-split: expected a fraction in [0, 1) such as 0.1, received '1'"),
    (("--validation-split", "-0.1"),
     "argument --validation-split: expected a fraction in [0, 1) such as 0.1, received '-0.1'"),
    (("--validation-split", "nan"),
     "argument --validation-split: expected a fraction in [0, 1) such as 0.1, received 'nan'"),
    (("--validation-split", "half"),
     "argument --validation-split: expected a fraction in [0, 1) such as 0.1, received 'half'"),
])
def test_bad_arguments_read_naturally(capsys, argv, message):
    assert _parse_error(capsys, *argv) == f"tomei tutorial: error: {message}"


def test_good_arguments():
    args = tutorial.build_parser().parse_args(
        ["--epochs", "2", "--batch-size", "16", "--seed", "0", "--validation-split", "0.25"])
    assert (args.epochs, args.batch_size, args.seed, args.validation_split) == (2, 16, 0, 0.25)
    assert tutorial.build_parser().parse_args([]).validation_split == 0.0


def test_bad_validation_split_stops_before_any_work(monkeypatch, capsys):
    def must_not_load(*args):
        raise AssertionError("the data was loaded before the arguments were checked")

    monkeypatch.setattr(tutorial, "load", must_not_load)
    with pytest.raises(SystemExit) as exc:
        tutorial.main(["--validation-split", "1.5"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_description_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        tutorial.build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out
    assert "The TensorFlow beginner tutorial, step by step, on tomei." in out


@pytest.mark.parametrize("epochs, line", [(1, "Training for 1 epoch ..."),
                                          (2, "Training for 2 epochs ...")])
def test_training_message_singular_and_plural(monkeypatch, capsys, epochs, line):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 32)
    monkeypatch.setattr(tutorial, "load", lambda name, path, lang="en": ((x, y), (x[:8], y[:8])))
    code = tutorial.main(["--epochs", str(epochs), "--batch-size", "16", "--seed", "0",
                          "--lang", "en"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert line in out
    assert "Training for 1 epochs ..." not in out


def _must_not_load(*args, **kwargs):
    raise AssertionError("the data was loaded before the output paths were checked")


@pytest.mark.parametrize("make, argv, message", [
    (lambda d: (d / "m.keras").mkdir(), ["--save", "m.keras"], "Cannot save the model to m.keras: "
                                                               "it is a folder"),
    (lambda d: (d / "r").write_text("x"), ["--report", "r"], "Cannot write the report into r: it "
                                                              "is a file, not a folder"),
    (lambda d: (d / "f").write_text("x"), ["--save", "f/m.keras"], "is a file, not a folder"),
])
def test_output_paths_are_checked_before_training(tmp_path, monkeypatch, capsys, make, argv,
                                                  message):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    monkeypatch.setattr(tutorial, "load", _must_not_load)
    assert tutorial.main(argv + ["--lang", "en"]) == 2
    assert message in capsys.readouterr().err


def test_a_save_failing_after_training_is_reported_not_a_traceback(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (32, 28, 28), dtype=np.uint8), rng.integers(0, 10, 32)
    monkeypatch.setattr(tutorial, "load", lambda name, path, lang="en": ((x, y), (x[:8], y[:8])))

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("tomei.keras.models.model.Model.save", disk_full)
    code = tutorial.main(["--epochs", "1", "--save", str(tmp_path / "m.keras"), "--lang", "ja"])
    captured = capsys.readouterr()
    assert code == 1 and "モデルを" in captured.err and "No space left on device" in captured.err
    assert "正解率" in captured.out  # the results are still shown
