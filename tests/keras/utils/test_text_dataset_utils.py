"""text_dataset_from_directory: which files, labels, class names, splitting, batching,
label modes, errors (tests/reference compares the splits with real Keras)."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras.utils import text_dataset_utils as tdu


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "train"
    for cls, word in (("pos", "good"), ("neg", "bad"), ("unsup", "meh")):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            (root / cls / f"{i}.txt").write_text(f"{word} review {i}", encoding="utf-8")
    (root / "pos" / "deeper").mkdir()
    (root / "pos" / "deeper" / "x.TXT").write_text("good nested", encoding="utf-8")
    (root / "neg" / "notes.md").write_text("not a review", encoding="utf-8")
    (root / ".cache").mkdir()
    (root / ".cache" / "z.txt").write_text("hidden", encoding="utf-8")
    return root


def _all(ds):
    texts, labels = [], []
    for x, y in ds:
        texts += [t.decode() for t in x.numpy().tolist()]
        labels += y.numpy().tolist()
    return texts, labels


def test_index_directory_walks_sorted_and_skips_hidden_and_other_files(corpus):
    paths, labels, names = tdu.index_directory(corpus, shuffle=False, verbose=False)
    assert names == ["neg", "pos", "unsup"]
    rel = [str(p)[len(str(corpus)) + 1:] for p in paths]
    assert rel[:2] == ["neg/0.txt", "neg/1.txt"] and "pos/deeper/x.TXT" in rel
    assert len(paths) == 19 and labels.dtype == np.int32
    assert [labels[rel.index(r)] for r in ("neg/3.txt", "pos/deeper/x.TXT", "unsup/0.txt")] == \
        [0, 1, 2]


def test_class_names_choose_and_order_the_classes(corpus, capsys):
    ds = tf.keras.utils.text_dataset_from_directory(corpus, class_names=["pos", "neg"],
                                                    batch_size=4, seed=1)
    assert "Found 13 files belonging to 2 classes." in capsys.readouterr().out
    texts, labels = _all(ds)
    assert ds.class_names == ["pos", "neg"]
    assert sorted(texts) == sorted([f"good review {i}" for i in range(6)] + ["good nested"] +
                                   [f"bad review {i}" for i in range(6)])
    assert all((t.startswith("good")) == (y == 0) for t, y in zip(texts, labels))


def test_training_and_validation_partition_the_files(corpus):
    kw = dict(validation_split=0.25, seed=7, batch_size=5)
    train = tf.keras.utils.text_dataset_from_directory(corpus, subset="training", **kw)
    val = tf.keras.utils.text_dataset_from_directory(corpus, subset="validation", **kw)
    both = tf.keras.utils.text_dataset_from_directory(corpus, subset="both", **kw)
    t_texts, v_texts = _all(train)[0], _all(val)[0]
    assert len(v_texts) == int(0.25 * 19) and len(t_texts) == 19 - len(v_texts)
    assert not set(t_texts) & set(v_texts)
    assert sorted(_all(both[0])[0]) == sorted(t_texts) and sorted(_all(both[1])[0]) == \
        sorted(v_texts)
    assert [len(x) for x, _ in train] == [5, 5, 5]  # batches; the last one is partial
    # subset='both' keeps the validation order fixed (a lone 'validation' subset reshuffles)
    assert _all(both[1])[0] == _all(both[1])[0]


@pytest.mark.parametrize("mode, shape, dtype", [("int", (4,), np.int32),
                                                ("categorical", (4, 3), np.float32)])
def test_label_modes(corpus, mode, shape, dtype):
    ds = tf.keras.utils.text_dataset_from_directory(corpus, label_mode=mode, batch_size=4,
                                                    shuffle=False, verbose=False)
    x, y = next(iter(ds))
    assert x.shape == (4,) and y.shape == shape and y.dtype == dtype


def test_binary_labels_none_and_max_length(corpus):
    two = tf.keras.utils.text_dataset_from_directory(
        corpus, label_mode="binary", class_names=["neg", "pos"], batch_size=3, shuffle=False,
        max_length=4, verbose=False)
    x, y = next(iter(two))
    assert y.shape == (3, 1) and y.dtype == np.float32
    assert x.numpy().tolist() == [b"bad ", b"bad ", b"bad "]
    texts_only = tf.keras.utils.text_dataset_from_directory(corpus, labels=None, batch_size=50,
                                                            shuffle=False, verbose=False)
    (batch,) = list(texts_only)
    assert batch.shape == (20,) and texts_only.class_names is None  # walks hidden folders too


@pytest.mark.parametrize("kwargs, match", [
    ({"validation_split": 0.2, "subset": "training"}, "seed"),
    ({"validation_split": 0.2}, "together"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, "between 0 and 1"),
    ({"label_mode": "binary"}, "exactly 2"),
    ({"label_mode": "sparse"}, "label_mode"),
    ({"class_names": ["pos", "nope"]}, "sub-folders"),
    ({"labels": [0, 1]}, "20 files"),  # .cache counts here, as in Keras
    ({"batch_size": 0}, "batch_size"),
])
def test_errors_are_named(corpus, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tf.keras.utils.text_dataset_from_directory(corpus, verbose=False, **kwargs)


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tf.keras.utils.text_dataset_from_directory(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="no .txt files"):
        tf.keras.utils.text_dataset_from_directory(tmp_path, verbose=False)
