"""`tomei summary MODEL.keras` and `tomei export MODEL.keras OUT.onnx`."""
import subprocess
import sys

import numpy as np
import pytest

import tomei.keras as tk
from tomei.keras import layers
from tomei.tools.model_cmds import main_export, main_summary


@pytest.fixture
def saved(tmp_path):
    tk.backend.clear_session()
    tk.utils.set_random_seed(0)
    model = tk.Sequential([layers.Flatten(input_shape=(28, 28)),
                           layers.Dense(16, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(10)])
    model.compile("adam", tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(np.zeros((4, 28, 28)), np.zeros(4), verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    return path, model


def test_summary_prints_the_table(saved, capsys):
    path, model = saved
    assert main_summary([str(path)]) == 0
    out = capsys.readouterr().out
    assert 'Model: "sequential"' in out
    assert "dense (Dense)" in out and "12,730" in out  # 784*16+16 + 16*10+10
    assert "Optimizer params: 25,462" in out  # compiled and trained: the Adam slots count


@pytest.mark.parametrize("main, extra", [(main_summary, []), (main_export, ["out.onnx"])])
def test_missing_and_broken_files_give_one_line(tmp_path, capsys, saved, main, extra):
    assert main([str(tmp_path / "nope.keras")] + extra) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: No such model file: {tmp_path / 'nope.keras'}"
    broken = tmp_path / "broken.keras"
    broken.write_bytes(saved[0].read_bytes()[:500])
    assert main([str(broken)] + extra) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Cannot load the model" in err and "truncated or damaged" in err
    assert "Traceback" not in err


class MyDense(layers.Dense):
    """A class of the user's that load_model is not told about."""


@pytest.mark.parametrize("main, extra", [(main_summary, []), (main_export, ["out.onnx"])])
def test_unknown_class_names_the_file_once(tmp_path, capsys, main, extra):
    model = tk.Sequential([layers.Input((4,)), MyDense(2)])
    path = str(tmp_path / "sub.keras")
    model.save(path)
    assert main([path] + extra) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: Cannot load the model {path}: Unknown layer class 'MyDense'")
    assert err.count(path) == 1 and "Cannot load" not in err[len("error: Cannot load"):]


def test_predict_and_report_loader_names_the_file_once(tmp_path):
    from tomei.tools.predict import load_model_or_error
    path = str(tmp_path / "sub.keras")
    tk.Sequential([layers.Input((4,)), MyDense(2)]).save(path)
    model, message = load_model_or_error(path, "en")
    assert model is None
    assert message.startswith(f"Cannot load the model {path}: Unknown layer class 'MyDense'")
    assert message.count("Cannot load") == 1


def test_usage_errors_exit_2(capsys):
    assert main_summary([]) == 2
    assert main_export(["only_one.keras"]) == 2
    assert "usage: tomei export" in capsys.readouterr().err


def test_export_writes_onnx(saved, tmp_path, capsys):
    import onnxruntime as ort
    path, model = saved
    out = tmp_path / "m.onnx"
    assert main_export([str(path), str(out)]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    session = ort.InferenceSession(str(out))
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_export_unsupported_layer_one_line(tmp_path, capsys):
    model = tk.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    assert main_export([str(tmp_path / "m.keras"), str(tmp_path / "m.txt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: export_onnx: the file name must end in '.onnx'")


def test_japanese_messages(tmp_path, capsys):
    assert main_summary([str(tmp_path / "nope.keras"), "--lang", "ja"]) == 1
    assert "モデルファイルがありません" in capsys.readouterr().err


def test_through_the_tomei_command(saved):
    path, _ = saved
    done = subprocess.run([sys.executable, "-m", "tomei", "summary", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Total params" in done.stdout
    done = subprocess.run([sys.executable, "-m", "tomei", "summary", str(path) + ".missing"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_export_without_onnx_says_so_in_the_chosen_language(saved, tmp_path, capsys, monkeypatch):
    path, _ = saved
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, as where it is missing
    assert main_export([str(path), str(tmp_path / "m.onnx"), "--lang", "ja"]) == 1
    err = capsys.readouterr().err
    assert "onnx パッケージが必要です: pip install onnx" in err and "ONNX export" not in err
    assert not (tmp_path / "m.onnx").exists()
