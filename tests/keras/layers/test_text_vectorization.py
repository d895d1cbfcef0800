"""TextVectorization: standardize, split, vocabulary order and size, the four output modes,
the vocabulary argument, errors, config and saving (tests/reference compares with Keras)."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import Sequential, layers, models

TEXTS = ["The cat sat on the mat.", "The dog, the CAT & the bird!", "a dog"]


def test_adapt_orders_by_count_then_token_descending():
    tv = layers.TextVectorization()
    tv.adapt(TEXTS)
    # the: 5, cat: 2, dog: 2 (tie: 'dog' > 'cat'), then the count-1 tokens from z to a
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "dog", "cat", "sat", "on", "mat",
                                   "bird", "a"]
    assert tv.vocabulary_size() == 10
    assert tv.get_vocabulary(include_special_tokens=False)[0] == "the"


def test_int_mode_pads_to_the_longest_or_to_output_sequence_length():
    tv = layers.TextVectorization(max_tokens=5)
    tv.adapt(TEXTS)
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "dog", "cat"]
    out = tv(["the zebra", "Cat!"])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[2, 1], [4, 0]])
    fixed = layers.TextVectorization(max_tokens=5, output_sequence_length=3)
    fixed.adapt(TEXTS)
    np.testing.assert_array_equal(fixed(np.array([["the cat the dog"], [""]])).numpy(),
                                  [[2, 4, 2], [0, 0, 0]])


@pytest.mark.parametrize("mode, expected", [
    ("multi_hot", [[1, 1, 0, 0], [0, 0, 0, 1]]),  # index 0: any unknown token
    ("count", [[2, 1, 0, 0], [0, 0, 0, 2]]),
])
def test_multi_hot_and_count(mode, expected):
    tv = layers.TextVectorization(output_mode=mode, max_tokens=4)
    tv.adapt(TEXTS)
    assert tv.get_vocabulary() == ["[UNK]", "the", "dog", "cat"]
    out = tv(["the zebra yak", "cat cat"])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), expected)


def test_tf_idf_weights():
    tv = layers.TextVectorization(output_mode="tf_idf")
    tv.adapt(["a a b", "b c", "a"])
    idf = [np.log(1 + 3 / 3), np.log(1 + 3 / 3), np.log(1 + 3 / 2)]  # a, b: 2 docs; c: 1
    assert tv.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    np.testing.assert_allclose(tv.idf_weights, [np.mean(idf)] + idf, rtol=1e-6)
    out = tv(["a a z"]).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[np.mean(idf), 2 * idf[0], 0, 0]], rtol=1e-6)


def test_callable_standardize_and_split_and_ngrams():
    def standardize(x):
        assert isinstance(x, np.ndarray) and x.dtype.kind == "U"  # as Keras off TensorFlow
        return tf.strings.regex_replace(tf.strings.lower(x), "<br />", " ")
    tv = layers.TextVectorization(standardize=standardize, split=lambda x: [s.split("-")
                                                                            for s in x])
    tv.adapt(["A-B<br />-c", "a-b"])
    # tokens a, "b ", c and a, b: a twice, then the rest by token, descending
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "c", "b ", "b"]
    grams = layers.TextVectorization(ngrams=2)
    grams.adapt(["x y z"])
    assert sorted(grams.get_vocabulary()[2:]) == ["x", "x y", "y", "y z", "z"]


def test_vocabulary_argument_and_file(tmp_path):
    tv = layers.TextVectorization(vocabulary=["hello", "world"])
    assert tv.get_vocabulary() == ["", "[UNK]", "hello", "world"]
    np.testing.assert_array_equal(tv(["world hello new"]).numpy(), [[3, 2, 1]])
    with pytest.raises(ValueError, match="given a vocabulary"):
        tv.adapt(["x"])
    same = layers.TextVectorization(vocabulary=["", "[UNK]", "hello", "world"])
    assert same.get_vocabulary() == tv.get_vocabulary()
    path = tmp_path / "vocab.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    assert layers.TextVectorization(vocabulary=str(path)).get_vocabulary()[2:] == \
        ["hello", "world", ""][:2]
    idf = layers.TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                                   idf_weights=[1.0, 3.0])
    np.testing.assert_allclose(idf(["b b q"]).numpy(), [[2.0, 0.0, 6.0]])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"standardize": "upper"}, ValueError, "standardize"),
    ({"split": "comma"}, ValueError, "split"),
    ({"output_mode": "one_hot"}, ValueError, "output_mode"),
    ({"output_mode": "count", "output_sequence_length": 3}, ValueError, "output_sequence"),
    ({"max_tokens": 1}, ValueError, "max_tokens"),
    ({"ngrams": 0}, ValueError, "ngrams"),
    ({"vocabulary": ["a", "a"]}, ValueError, "repeats"),
    ({"vocabulary": ["a", "[UNK]"]}, ValueError, "reserved"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 4}, ValueError, "max_tokens is 4"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"]}, ValueError, "idf_weights"),
    ({"idf_weights": [1.0]}, ValueError, "tf_idf"),
    ({"sparse": True}, NotImplementedError, "sparse"),
    ({"ragged": True}, NotImplementedError, "ragged"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.TextVectorization(**kwargs)


def test_bad_calls():
    with pytest.raises(RuntimeError, match="needs a vocabulary"):
        layers.TextVectorization(output_mode="multi_hot")(["a"])
    tv = layers.TextVectorization()
    with pytest.raises(ValueError, match=r"\(batch,\) or \(batch, 1\)"):
        tv(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="strings"):
        tv(np.array([1.0, 2.0]))


def test_config_round_trip_carries_the_adapted_vocabulary():
    tv = layers.TextVectorization(max_tokens=6, ngrams=(1, 2), output_mode="tf_idf")
    tv.adapt(TEXTS)
    cfg = tv.get_config()
    assert cfg["vocabulary"] == tv.get_vocabulary() and cfg["ngrams"] == (1, 2)
    again = layers.TextVectorization.from_config(cfg)
    np.testing.assert_allclose(again(TEXTS).numpy(), tv(TEXTS).numpy())


def test_model_with_text_vectorization_predicts_fits_and_saves(tmp_path):
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    tv.adapt(TEXTS)
    model = Sequential([tv, layers.Embedding(20, 3), layers.Flatten(), layers.Dense(1)])
    x = np.array(TEXTS)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.array([1.0, 0.0, 1.0]), epochs=1, verbose=0)
    model.save(tmp_path / "t.keras")
    loaded = models.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
