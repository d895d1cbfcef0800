"""Faults a new user met trying the README (session of 2026-11-30), each with the clear error
it now gets."""
import numpy as np
import pytest

import tomei as tf
from tomei.tools import tutorial
from tomei.tools.playground import server


def test_a_string_tensor_does_not_add_a_number():
    with pytest.raises(TypeError, match="string tensor with a number"):
        tf.constant("abc") + 1


def test_sample_weight_of_the_wrong_length_is_named():
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="sample_weight: \\[5\\]"):
        model.fit(np.ones((8, 3)), np.ones((8, 2)), sample_weight=np.ones(5), verbose=0)


def test_a_text_learning_rate_is_named():
    with pytest.raises(ValueError, match="learning_rate='fast'"):
        tf.keras.optimizers.Adam(learning_rate="fast")


def test_sequential_wants_a_list():
    with pytest.raises(TypeError, match="list of layers"):
        tf.keras.Sequential(tf.keras.layers.Dense)


def test_saving_onto_a_folder_names_the_folder(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    (tmp_path / "m.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="m.keras' is a folder"):
        model.save(tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == [tmp_path / "m.keras"]


def test_tutorial_data_path_must_exist_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="--data-path"):
        tutorial.load("mnist", "not-here.npz")


@pytest.mark.parametrize("port", ["99999", "-5", "http"])
def test_playground_port_out_of_range_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        server._parser().parse_args(["--port", port])
    assert exit_.value.code == 2 and "0 to 65535" in capsys.readouterr().err
