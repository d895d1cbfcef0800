"""TextVectorization against real Keras 3 (torch backend; Keras's TextVectorization needs
TensorFlow installed, which the 'reference' extra brings): vocabularies, outputs and dtypes
for every mode, the vocabulary argument, callables, configs both ways, tomei files in Keras."""
import json
import re
import string

import numpy as np
import pytest

import tomei
import tomei.keras as tk

pytestmark = [pytest.mark.reference]

TEXTS = ["The cat sat on the mat.", "The dog, the CAT & the bird!", "a b c d e f g h",
         "Ünïcode ÉCOLE café", "it's   spaced\tout\nlines", "", "<br />HTML<br />break"]
QUERIES = ["the cat ate THE zebra", "Ünïcode é", "", "h g f e", "dog-cat"]

CASES = [{}, {"max_tokens": 8}, {"max_tokens": 10, "output_sequence_length": 4},
         {"output_sequence_length": 12}, {"output_mode": "multi_hot"},
         {"output_mode": "count", "max_tokens": 6}, {"output_mode": "tf_idf"},
         {"output_mode": "tf_idf", "max_tokens": 7, "pad_to_max_tokens": True},
         {"output_mode": "multi_hot", "max_tokens": 30, "pad_to_max_tokens": True},
         {"ngrams": 2}, {"ngrams": (1, 3), "output_mode": "count"},
         {"split": "character", "max_tokens": 12}, {"standardize": None},
         {"standardize": "lower"}, {"standardize": "strip_punctuation", "split": None}]


def _unnamed(cfg):
    return {k: v for k, v in cfg.items() if k != "name"}


def _outputs(layer, to_np, queries=QUERIES):
    return np.asarray(to_np(layer(queries)))


@pytest.fixture
def text_keras(keras):
    import tensorflow  # noqa: F401 - Keras's TextVectorization runs on it (required, no skip)
    return keras


@pytest.mark.parametrize("kwargs", CASES, ids=[json.dumps(c) for c in CASES])
def test_adapt_vocabulary_outputs_and_config_match(text_keras, to_np, kwargs):
    k, t = text_keras.layers.TextVectorization(**kwargs), tk.layers.TextVectorization(**kwargs)
    k.adapt(TEXTS)
    t.adapt(TEXTS)
    assert t.get_vocabulary() == [str(v) for v in k.get_vocabulary()]
    k_out, t_out = _outputs(k, to_np), t(QUERIES).numpy()
    assert t_out.dtype == k_out.dtype and t_out.shape == k_out.shape
    np.testing.assert_allclose(t_out, k_out, rtol=1e-6, atol=1e-6)
    k_cfg, t_cfg = k.get_config(), t.get_config()
    t_cfg["vocabulary"], t_cfg["idf_weights"] = None, None  # tomei's carries the vocabulary
    assert _unnamed(t_cfg) == _unnamed(k_cfg)


def test_tutorial_custom_standardization(text_keras, to_np):
    import tensorflow as tf

    def keras_side(x):
        x = tf.strings.lower(x)
        x = tf.strings.regex_replace(x, "<br />", " ")
        return tf.strings.regex_replace(x, f"[{re.escape(string.punctuation)}]", "")

    def tomei_side(x):
        x = tomei.strings.lower(x)
        x = tomei.strings.regex_replace(x, "<br />", " ")
        return tomei.strings.regex_replace(x, f"[{re.escape(string.punctuation)}]", "")

    kw = {"max_tokens": 15, "output_sequence_length": 6}
    k = text_keras.layers.TextVectorization(standardize=keras_side, **kw)
    t = tk.layers.TextVectorization(standardize=tomei_side, **kw)
    k.adapt(np.array(TEXTS))
    t.adapt(np.array(TEXTS))
    assert t.get_vocabulary() == [str(v) for v in k.get_vocabulary()]
    np.testing.assert_array_equal(t(np.array(QUERIES)).numpy(), _outputs(k, to_np))


@pytest.mark.parametrize("kwargs", [
    {"vocabulary": ["the", "cat", "é"]},
    {"vocabulary": ["", "[UNK]", "the", "cat"]},
    {"vocabulary": ["the", "cat"], "output_mode": "multi_hot", "max_tokens": 5,
     "pad_to_max_tokens": True},
    {"vocabulary": ["the", "cat", "dog"], "output_mode": "tf_idf",
     "idf_weights": [0.5, 1.5, 2.0]},
    {"vocabulary": ["[UNK]", "the", "cat"], "output_mode": "tf_idf",
     "idf_weights": [0.1, 0.5, 1.5]},
])
def test_given_vocabulary_matches(text_keras, to_np, kwargs):
    k, t = text_keras.layers.TextVectorization(**kwargs), tk.layers.TextVectorization(**kwargs)
    assert t.get_vocabulary() == [str(v) for v in k.get_vocabulary()]
    np.testing.assert_allclose(t(QUERIES).numpy(), _outputs(k, to_np), rtol=1e-6)
    assert _unnamed(t.get_config()) == _unnamed(k.get_config())
    assert tk.layers.TextVectorization.from_config(k.get_config()).get_config() == \
        k.get_config()
    assert text_keras.layers.TextVectorization.from_config(t.get_config()).get_config() == \
        t.get_config()


@pytest.mark.parametrize("kwargs", [{"vocabulary": ["a", "a"]}, {"max_tokens": 3,
                                     "vocabulary": ["a", "b"]},
                                    {"output_mode": "count", "output_sequence_length": 2}])
def test_both_refuse(text_keras, kwargs):
    with pytest.raises(ValueError):
        text_keras.layers.TextVectorization(**kwargs)
    with pytest.raises(ValueError):
        tk.layers.TextVectorization(**kwargs)


@pytest.mark.parametrize("mode", ["int", "multi_hot"])
def test_tomei_file_with_adapted_layer_runs_the_same_in_keras(text_keras, to_np, tmp_path,
                                                              mode):
    tv = tk.layers.TextVectorization(max_tokens=12, output_mode=mode,
                                     output_sequence_length=5 if mode == "int" else None)
    tv.adapt(TEXTS)
    stack = [tv, tk.layers.Embedding(12, 3), tk.layers.Flatten()] if mode == "int" else [tv]
    model = tk.Sequential(stack + [tk.layers.Dense(2)])
    x = np.array(QUERIES)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "t.keras")
    loaded = text_keras.saving.load_model(tmp_path / "t.keras")
    out = x
    for layer in loaded.layers:  # Keras-on-torch's predict() cannot take strings
        out = layer(out)
    np.testing.assert_allclose(to_np(out), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["int", "multi_hot"])
def test_keras_file_with_adapted_layer_loads_in_tomei(text_keras, to_np, tmp_path, mode):
    # Keras keeps the vocabulary as assets/layers/text_vectorization/vocabulary.txt
    tv = text_keras.layers.TextVectorization(
        max_tokens=12, output_mode=mode, output_sequence_length=5 if mode == "int" else None)
    tv.adapt(TEXTS)
    stack = [tv, text_keras.layers.Embedding(12, 3), text_keras.layers.Flatten()] \
        if mode == "int" else [tv]
    model = text_keras.Sequential([text_keras.Input((1,), dtype="string")] + stack +
                                  [text_keras.layers.Dense(2)])
    model.save(tmp_path / "k.keras")
    x = np.array(QUERIES)[:, None]
    out = x
    for layer in model.layers:
        out = layer(out)
    loaded = tk.models.load_model(tmp_path / "k.keras")
    assert loaded.layers[0].get_vocabulary() == [str(v) for v in tv.get_vocabulary()]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), to_np(out), rtol=1e-5, atol=1e-6)
