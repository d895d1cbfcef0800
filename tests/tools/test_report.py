"""The training report: every plot rendered from a short real run, and the numbers in it."""
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

import tomei
from tomei.keras import layers
from tomei.tools import report
from tomei.tools.report import PLOT_SIZES, most_confident_mistakes, write_report

SCCE = tomei.keras.losses.SparseCategoricalCrossentropy


def _data(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 120, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(y):  # a bright bar whose row tells the class: learnable
        x[i, 2 + 2 * label:4 + 2 * label, 4:24] = 255
    return x, y


@pytest.fixture(scope="module")
def trained():
    """The tutorial's model, smaller, fitted for 2 epochs on 200 images with validation."""
    tomei.keras.utils.set_random_seed(0)
    model = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                    layers.Dense(32, activation="relu"),
                                    layers.Dropout(0.2),
                                    layers.Dense(10)])
    model.compile(optimizer="adam", loss=SCCE(from_logits=True), metrics=["accuracy"])
    x, y = _data(200, 1)
    history = model.fit(x / 255.0, y, epochs=2, validation_split=0.2, verbose=0)
    x_test, y_test = _data(120, 2)
    x_test[:40] = np.random.default_rng(3).integers(0, 256, (40, 28, 28))  # some mistakes
    return model, history, x_test, y_test


def test_every_plot_is_a_real_png_of_its_size(trained, tmp_path):
    model, history, x_test, y_test = trained
    index = write_report(model, history, x_test, y_test, tmp_path / "r",
                         class_names=[f"c{i}" for i in range(10)])
    assert index == os.path.join(str(tmp_path / "r"), "index.html")
    with open(index, encoding="utf-8") as f:
        page = f.read()
    for name, size in PLOT_SIZES.items():
        with Image.open(tmp_path / "r" / name) as img:
            assert img.format == "PNG" and img.size == size, name
            pixels = np.asarray(img.convert("L"))
        assert pixels.std() > 5, f"{name} is blank"
        assert f'src="{name}"' in page
    assert sorted(os.listdir(tmp_path / "r")) == sorted(
        list(PLOT_SIZES) + ["index.html", "summary.json", "history.json"])  # no temp files left


def test_numbers_match_the_model(trained, tmp_path):
    model, history, x_test, y_test = trained
    write_report(model, history, x_test, y_test, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    pred = model.predict(x_test / 255.0, verbose=0).argmax(1)
    assert summary["test_accuracy"] == pytest.approx(float(np.mean(pred == y_test)))
    loss, _ = model.evaluate(x_test / 255.0, y_test, verbose=0)
    assert summary["test_loss"] == pytest.approx(loss, rel=1e-6)
    cm = np.array(summary["confusion_matrix"])
    assert cm.sum() == len(y_test) and np.trace(cm) == int(np.sum(pred == y_test))
    for c, row in enumerate(summary["per_class"]):
        assert row["count"] == int(np.sum(y_test == c))
        assert row["correct"] == int(np.sum((y_test == c) & (pred == c)))
    assert summary["activations"] == ["relu", "linear"]
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f"{summary['test_loss']:.4f}" in page and f"{summary['test_accuracy']:.2%}" in page
    assert json.loads((tmp_path / "history.json").read_text()) == {
        k: pytest.approx(v) for k, v in history.history.items()}
    assert set(history.history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}


def test_without_history_there_are_no_curves(trained, tmp_path):
    _model, _, x_test, y_test = trained
    fresh = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(10)])
    fresh.compile(optimizer="adam", loss=SCCE(from_logits=True))
    write_report(fresh, None, x_test, y_test, tmp_path, lang="ja")
    assert not (tmp_path / "learning_curves.png").exists()
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "学習履歴がないため" in page and '<html lang="ja">' in page
    assert "正解率" in page
    assert "first_layer_weights.png" in page  # Dense(10) reads the 784 pixels too
    # a history dict (as saved to JSON) works as well as a History object
    write_report(fresh, {"loss": [2.0, 1.5], "val_loss": [2.1, 1.9]}, x_test, y_test,
                 tmp_path / "d")
    assert (tmp_path / "d" / "learning_curves.png").exists()


def test_activation_plot_lists_every_activation(tmp_path):
    tomei.keras.utils.set_random_seed(0)
    model = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                    layers.Dense(6, activation="tanh"), layers.LeakyReLU(),
                                    layers.Dense(5, activation="sigmoid"),
                                    layers.Dense(10, activation="softmax")])
    x, y = _data(30, 4)
    write_report(model, None, x, y, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["activations"] == ["tanh", "LeakyReLU", "sigmoid", "softmax"]
    # not compiled: the loss is the cross-entropy of the softmax outputs
    probs = model.predict(x / 255.0, verbose=0).astype(np.float64)
    assert summary["test_loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(30), y])),
                                                 rel=1e-4)


def test_most_confident_mistakes_order():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]])
    y = np.array([1, 1, 1, 0, 0])
    # wrong: 0 (0.9 for class 0), 2 (0.6), 3 (0.95); right: 1 and 4
    assert most_confident_mistakes(probs, y).tolist() == [3, 0, 2]
    assert most_confident_mistakes(probs, y, k=1).tolist() == [3]


def test_bad_arguments(trained, tmp_path):
    model, history, x_test, y_test = trained
    with pytest.raises(ValueError, match="x_test has 10 samples but y_test has 9"):
        write_report(model, history, x_test[:10], y_test[:9], tmp_path)
    with pytest.raises(ValueError, match="class_names: expected 10 names .* received 3"):
        write_report(model, history, x_test, y_test, tmp_path, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        write_report(model, history, x_test[:2], np.array([0, 12]), tmp_path)
    with pytest.raises(ValueError, match="lang: expected 'en' or 'ja'"):
        write_report(model, history, x_test, y_test, tmp_path, lang="de")
    with pytest.raises(TypeError, match="history: expected a History"):
        write_report(model, "history", x_test, y_test, tmp_path)
    assert not (tmp_path / "index.html").exists()


def test_history_files_round_trip(tmp_path, trained):
    _, history, _, _ = trained
    path = report.history_path_for(tmp_path / "m.keras")
    assert path == str(tmp_path / "m.history.json")
    report.save_history(history, path)
    loaded = report.load_history(path)
    # pytest >= 9.2's approx() refuses dicts of lists, so compare each list by hand
    assert set(loaded) == set(history.history)
    for key, values in history.history.items():
        assert len(loaded[key]) == len(values), key
        np.testing.assert_allclose(loaded[key], values, rtol=1e-6, err_msg=key)
    assert report.load_history(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="expected JSON of per-epoch lists"):
        report.load_history(tmp_path / "bad.json")


def test_command_errors(tmp_path, capsys):
    code = report.main([str(tmp_path / "none.keras"), "--dataset", "mnist"])
    err = capsys.readouterr().err
    assert code == 1 and err.strip() == f"error: No such model file: {tmp_path / 'none.keras'}"
    code = report.main([str(tmp_path / "none.keras"), "--dataset", "cifar"])
    assert code == 2 and "Unknown dataset 'cifar'" in capsys.readouterr().err
    code = report.main([str(tmp_path / "none.keras")])  # --dataset may come from the file
    assert code == 1 and "No such model file" in capsys.readouterr().err


def test_report_without_dataset_uses_the_one_stored_in_the_model(tmp_path, trained, monkeypatch,
                                                                   capsys):
    from tomei.keras.datasets import fashion_mnist
    model, history, x_test, y_test = trained
    model.save(tmp_path / "plain.keras")
    code = report.main([str(tmp_path / "plain.keras"), "--out", str(tmp_path / "r0"),
                        "--lang", "ja"])
    err = capsys.readouterr().err
    assert code == 2 and "どのデータセットで学習したか" in err and "--dataset mnist" in err
    monkeypatch.setattr(model, "class_names", [f"c{i}" for i in range(10)], raising=False)
    monkeypatch.setattr(model, "dataset_name", "fashion_mnist", raising=False)
    model.save(tmp_path / "m.keras")
    seen = []

    def load_data(*args, **kwargs):
        seen.append("fashion_mnist")
        return (x_test, y_test), (x_test, y_test)

    monkeypatch.setattr(fashion_mnist, "load_data", load_data)
    code = report.main([str(tmp_path / "m.keras"), "--out", str(tmp_path / "r"), "--lang", "en"])
    assert code == 0, capsys.readouterr().err
    assert seen == ["fashion_mnist"]
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "c9" in html


def test_command_prints_the_whole_dataset_message(tmp_path, trained, monkeypatch, capsys):
    """A missing dataset: every line of DatasetNotFoundError (what was tried, the ways out)."""
    from tomei.keras.datasets import discovery, mnist
    from tomei.keras.datasets.spec import DatasetNotFoundError
    lines = discovery.not_found_lines(mnist.spec(), [], attempts=None)
    message = str(DatasetNotFoundError(lines))
    assert len(message.splitlines()) > 3

    def missing(*args, **kwargs):
        raise DatasetNotFoundError(lines)

    monkeypatch.setattr(mnist, "load_data", missing)
    monkeypatch.setattr(report, "load_model_or_error", lambda path, lang: (trained[0], None))
    model_file = tmp_path / "m.keras"
    model_file.write_bytes(b"stand-in")
    code = report.main([str(model_file), "--dataset", "mnist", "--out", str(tmp_path / "r"),
                        "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: MNIST is not on this machine and could not be downloaded.\n")
    assert err.count("MNIST is not on this machine") == 1
    assert "Ways out:" in err and "Check what tomei finds with: tomei datasets" in err
    assert err.rstrip("\n").endswith(message.splitlines()[-1])
    assert not (tmp_path / "r").exists()


def test_command_with_stand_in_model(tmp_path, trained, monkeypatch, capsys):
    """The command end to end, the model loader and the dataset replaced by test doubles."""
    from tomei.keras.datasets import fashion_mnist
    model, history, x_test, y_test = trained
    monkeypatch.setattr(fashion_mnist, "load_data", lambda *a, **k: ((x_test, y_test),
                                                                      (x_test, y_test)))
    monkeypatch.setattr(report, "load_model_or_error", lambda path, lang: (model, None))
    model_file = tmp_path / "m.keras"
    model_file.write_bytes(b"stand-in")
    report.save_history(history, report.history_path_for(model_file))
    code = report.main([str(model_file), "--dataset", "fashion-mnist", "--out",
                        str(tmp_path / "out"), "--lang", "en"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert re.fullmatch(r"Test loss: \d+\.\d{4}", out[0]) and out[1].startswith("Test accuracy: ")
    assert out[2] == f"Report written to {tmp_path / 'out' / 'index.html'}"
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Ankle boot" in page and "learning_curves.png" in page


@pytest.fixture
def saved_model(trained, tmp_path):
    saving = pytest.importorskip("tomei.keras.saving")
    if not (hasattr(saving, "save_model") and hasattr(saving, "load_model")):
        pytest.skip("model.save lands with tomei.keras.saving")
    model = trained[0]
    path = tmp_path / "model.keras"
    model.save(str(path))
    return path


def test_command_on_a_saved_model(saved_model, trained, tmp_path, monkeypatch, capsys):
    from tomei.keras.datasets import mnist
    _, _history, x_test, y_test = trained
    monkeypatch.setattr(mnist, "load_data", lambda *a, **k: ((x_test, y_test), (x_test, y_test)))
    code = report.main([str(saved_model), "--dataset", "mnist", "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    pred = trained[0].predict(x_test / 255.0, verbose=0).argmax(1)
    assert summary["test_accuracy"] == pytest.approx(float(np.mean(pred == y_test)))
