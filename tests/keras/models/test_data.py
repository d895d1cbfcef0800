"""fit/evaluate/predict on tf.data Datasets, Python generators and PyDatasets (streams)."""
import warnings

import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return x, (x.sum(1) > 0).astype("int64")


def classifier(seed=0):
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(2)])
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_dataset_training_equals_array_training(xy):
    x, y = xy
    by_array = classifier()
    by_array.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    by_dataset = classifier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_dataset.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, verbose=0,
                       shuffle=False)
    for a, b in zip(by_array.get_weights(), by_dataset.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    np.testing.assert_allclose(by_dataset.evaluate(ds, verbose=0),
                               by_dataset.evaluate(x, y, batch_size=10, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(by_dataset.predict(ds, verbose=0), by_dataset.predict(x, verbose=0),
                               rtol=1e-6)


def test_fit_warns_that_shuffle_is_ignored_for_datasets(xy):
    with pytest.warns(UserWarning, match="shuffle=True is ignored"):
        classifier().fit(tf.data.Dataset.from_tensor_slices(xy).batch(32), verbose=0)


def test_infinite_dataset_with_steps_per_epoch_carries_over(xy):
    seen = []
    ds = tf.data.Dataset.from_tensor_slices(xy).batch(8).map(
        lambda a, b: (seen.append(1) or a, b)).repeat()
    history = classifier().fit(ds, steps_per_epoch=5, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 3 and len(seen) == 15


def test_validation_data_as_a_dataset_and_tensorflow_style_map(xy):
    x, y = xy
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96).batch(16)
    val = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).map(
        lambda a, b: (a, tf.expand_dims(b, axis=-1)))
    history = classifier().fit(train, validation_data=val, epochs=2, verbose=0, shuffle=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_generator_runs_once_then_warns_and_stops(xy):
    x, y = xy

    def batches():
        for i in range(0, 96, 32):
            yield x[i:i + 32], y[i:i + 32]
    with pytest.warns(UserWarning, match="ran out of data"):
        history = classifier().fit(batches(), epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 1


def test_stream_errors(xy):
    ds = tf.data.Dataset.from_tensor_slices(xy).batch(8)
    model = classifier()
    with pytest.raises(ValueError, match="does not take y"):
        model.fit(ds, xy[1])
    with pytest.raises(ValueError, match="does not take batch_size"):
        model.fit(ds, batch_size=8)
    with pytest.raises(ValueError, match="validation_split works with arrays only"):
        model.fit(ds, validation_split=0.2, shuffle=False)
    with pytest.raises(ValueError, match="never end"):
        model.evaluate(ds.repeat())
    with pytest.raises(ValueError, match=r"x, \(x,\), \(x, y\)"):
        model.predict(tf.data.Dataset.from_tensor_slices((xy[0],) * 4).batch(8), verbose=0)
    assert model.evaluate(ds.repeat(), steps=2, verbose=0)[0] > 0
