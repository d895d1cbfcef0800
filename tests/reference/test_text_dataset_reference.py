"""text_dataset_from_directory against real Keras 3 (which reads the files with TensorFlow):
the same seed gives the same files in each subset, with the same labels, class names, batch
shapes and dtypes."""
import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [pytest.mark.reference]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("imdb") / "train"
    rng = np.random.default_rng(0)
    for cls in ("neg", "pos", "unsup"):
        (root / cls / "more").mkdir(parents=True)
        for i in range(int(rng.integers(9, 15))):
            sub = "more/" if i % 4 == 0 else ""
            (root / cls / f"{sub}{i}_{cls}.txt").write_text(f"{cls} text {i} é", encoding="utf-8")
    return root


def _pairs(ds):
    out = []
    for x, y in ds:
        out += list(zip(np.asarray(x).tolist(), np.asarray(y).tolist()))
    return out


@pytest.fixture
def tf_keras(keras):
    import tensorflow  # noqa: F401 - Keras reads the files with it (required, no skip)
    return keras


@pytest.mark.parametrize("subset", ["training", "validation"])
@pytest.mark.parametrize("seed", [0, 123])
def test_same_files_in_each_subset(tf_keras, corpus, subset, seed):
    kw = dict(validation_split=0.3, subset=subset, seed=seed, batch_size=4, verbose=False)
    k = tf_keras.utils.text_dataset_from_directory(str(corpus), **kw)
    t = tk.utils.text_dataset_from_directory(str(corpus), **kw)
    assert t.class_names == k.class_names
    assert sorted(_pairs(t)) == sorted(_pairs(k))


@pytest.mark.parametrize("mode", ["int", "categorical", "binary"])
def test_label_modes_and_unshuffled_order(tf_keras, corpus, mode):
    kw = dict(label_mode=mode, shuffle=False, batch_size=5, verbose=False,
              class_names=["pos", "neg"] if mode == "binary" else None)
    k = tf_keras.utils.text_dataset_from_directory(str(corpus), **kw)
    t = tk.utils.text_dataset_from_directory(str(corpus), **kw)
    k_batches, t_batches = list(k), list(t)
    assert len(k_batches) == len(t_batches)
    for (kx, ky), (tx, ty) in zip(k_batches, t_batches):
        assert np.asarray(tx).tolist() == np.asarray(kx).tolist()
        assert ty.dtype == np.asarray(ky).dtype and ty.shape == tuple(ky.shape)
        np.testing.assert_array_equal(ty.numpy(), np.asarray(ky))


def test_both_subsets(tf_keras, corpus):
    kw = dict(validation_split=0.25, subset="both", seed=5, batch_size=3, verbose=False)
    k_train, k_val = tf_keras.utils.text_dataset_from_directory(str(corpus), **kw)
    t_train, t_val = tk.utils.text_dataset_from_directory(str(corpus), **kw)
    assert sorted(_pairs(t_train)) == sorted(_pairs(k_train))
    assert _pairs(t_val) == _pairs(k_val)  # not reshuffled: the same order
