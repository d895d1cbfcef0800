"""plot_model: a clear error without pydot/Graphviz; the picture with them."""
import builtins
import importlib.util

import pytest

import tomei as tf


def _model():
    return tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, name="d")])


def test_without_pydot_the_error_says_what_to_install(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_pydot(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("No module named 'pydot'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(ImportError, match=r"pip install pydot.*graphviz"):
        tf.keras.utils.plot_model(_model(), to_file=str(tmp_path / "m.png"))
    assert not (tmp_path / "m.png").exists()


def test_unsupported_arguments_are_refused():
    with pytest.raises(NotImplementedError, match="expand_nested"):
        tf.keras.utils.plot_model(_model(), expand_nested=True)
    inputs = tf.keras.Input((4,))
    with pytest.raises(NotImplementedError, match="Sequential models only"):
        tf.keras.utils.plot_model(tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs)))
    with pytest.raises(TypeError, match="show_colors"):
        tf.keras.utils.plot_model(_model(), show_colors=True)


@pytest.mark.skipif(importlib.util.find_spec("pydot") is None,
                    reason="pydot is optional (the error without it is tested above)")
def test_with_pydot_a_dot_file_lists_the_layers(tmp_path):
    tf.keras.utils.plot_model(_model(), to_file=str(tmp_path / "m.dot"), show_shapes=True)
    text = (tmp_path / "m.dot").read_text()
    assert "Dense" in text and "d" in text
