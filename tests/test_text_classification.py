"""The text_classification tutorial end to end, on a local stand-in for IMDB.

The real corpus (aclImdb) is a download this machine cannot reach, so the test writes a
small one with the same folder layout (train/pos, train/neg, train/unsup, test/pos,
test/neg): short reviews made of sentiment words, neutral words, HTML line breaks and
punctuation. It then runs the tutorial's code with ``import tomei as tf``:
text_dataset_from_directory -> TextVectorization (custom standardization with
tf.strings) -> Embedding -> Dropout -> GlobalAveragePooling1D -> Dropout -> Dense(1),
fit on the Dataset, evaluate, and the export model on raw strings.
"""
import re
import string

import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers, losses

GOOD = ["great", "wonderful", "loved", "brilliant", "moving", "superb", "fun", "best"]
BAD = ["awful", "boring", "hated", "dull", "worst", "mess", "waste", "terrible"]
NEUTRAL = ["the", "movie", "film", "plot", "actor", "scene", "and", "was", "it", "this",
           "story", "director", "a", "of", "ending", "music"]


def _review(rng, positive):
    own, other = (GOOD, BAD) if positive else (BAD, GOOD)
    words = list(rng.choice(NEUTRAL, rng.integers(6, 16))) + \
        list(rng.choice(own, rng.integers(3, 6))) + list(rng.choice(other, rng.integers(0, 2)))
    rng.shuffle(words)
    text = " ".join(words)
    return text.capitalize() + "!<br /><br />" + ("Really." if rng.random() < 0.5 else "(10/10)")


@pytest.fixture(scope="module")
def imdb_like(tmp_path_factory):
    root = tmp_path_factory.mktemp("aclImdb")
    rng = np.random.default_rng(0)
    for split, n in (("train", 500), ("test", 150)):
        for label in ("pos", "neg"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{i}_{rng.integers(1, 11)}.txt").write_text(
                    _review(rng, label == "pos"), encoding="utf-8")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabeled", encoding="utf-8")
    return root


def custom_standardization(input_data):  # the tutorial's function, unchanged
    lowercase = tf.strings.lower(input_data)
    stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
    return tf.strings.regex_replace(stripped_html, "[%s]" % re.escape(string.punctuation), "")  # noqa: UP031


@pytest.mark.slow
def test_text_classification_tutorial_runs_and_learns(imdb_like):
    import shutil
    shutil.rmtree(imdb_like / "train" / "unsup")  # the tutorial removes it too
    batch_size, seed = 32, 42
    raw_train_ds = tf.keras.utils.text_dataset_from_directory(
        imdb_like / "train", batch_size=batch_size, validation_split=0.2, subset="training",
        seed=seed)
    raw_val_ds = tf.keras.utils.text_dataset_from_directory(
        imdb_like / "train", batch_size=batch_size, validation_split=0.2, subset="validation",
        seed=seed)
    raw_test_ds = tf.keras.utils.text_dataset_from_directory(imdb_like / "test",
                                                             batch_size=batch_size)
    assert raw_train_ds.class_names == ["neg", "pos"]
    for text_batch, label_batch in raw_train_ds.take(1):
        assert text_batch.numpy()[0].startswith(tuple(w.capitalize().encode()
                                                      for w in GOOD + BAD + NEUTRAL))
        assert label_batch.numpy()[0] in (0, 1)

    max_features, sequence_length = 200, 40
    vectorize_layer = layers.TextVectorization(
        standardize=custom_standardization, max_tokens=max_features, output_mode="int",
        output_sequence_length=sequence_length)
    train_text = raw_train_ds.map(lambda x, y: x)
    vectorize_layer.adapt(train_text)
    vocab = vectorize_layer.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"] and "br" not in vocab and "great" in vocab

    def vectorize_text(text, label):
        text = tf.expand_dims(text, -1)
        return vectorize_layer(text), label

    text_batch, label_batch = next(iter(raw_train_ds))
    first_review, first_label = text_batch[0], label_batch[0]
    assert raw_train_ds.class_names[first_label] in ("neg", "pos")
    assert vectorize_text(first_review, first_label)[0].shape == (1, sequence_length)

    AUTOTUNE = tf.data.AUTOTUNE
    train_ds = raw_train_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)
    val_ds = raw_val_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)
    test_ds = raw_test_ds.map(vectorize_text).cache().prefetch(buffer_size=AUTOTUNE)

    tf.keras.utils.set_random_seed(0)
    embedding_dim = 16
    model = tf.keras.Sequential([
        layers.Embedding(max_features, embedding_dim),
        layers.Dropout(0.2),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.2),
        layers.Dense(1)])
    model.compile(loss=losses.BinaryCrossentropy(from_logits=True), optimizer="adam",
                  metrics=[tf.metrics.BinaryAccuracy(threshold=0.0)])
    history = model.fit(train_ds, validation_data=val_ds, epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(test_ds, verbose=0)
    print(f"stand-in IMDB test accuracy {accuracy:.3f}, loss {loss:.3f}")
    assert accuracy > 0.9, (loss, accuracy)

    export_model = tf.keras.Sequential([vectorize_layer, model, layers.Activation("sigmoid")])
    export_model.compile(loss=losses.BinaryCrossentropy(from_logits=False), optimizer="adam",
                         metrics=["accuracy"])
    _, raw_accuracy = export_model.evaluate(raw_test_ds, verbose=0)
    assert abs(raw_accuracy - accuracy) < 1e-6
    examples = tf.constant(["The movie was great! Loved it, brilliant.",
                            "The movie was okay.", "The movie was terrible, boring, a waste..."])
    scores = export_model.predict(examples, verbose=0)
    assert scores.shape == (3, 1) and scores[0, 0] > 0.5 > scores[2, 0]
