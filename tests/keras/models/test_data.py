"""tomei.keras.models.data: the checks every array passes before fit/evaluate/predict, and
fit/evaluate/predict on tf.data Datasets, Python generators and PyDatasets (streams)."""
import warnings

import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers
from tomei.keras.models import data


def test_to_arrays_accepts_numbers_of_every_numeric_kind():
    for dtype in (np.float32, np.float64, np.int64, np.uint8, bool):
        assert data.to_arrays(np.ones((2, 3), dtype), "x").shape == (2, 3)


@pytest.mark.parametrize("value, match", [
    (np.float64(1.0), "batch axis"), (np.array(["a"]), "text"), (np.ones(2, complex), "complex"),
    (np.array([None]), "Python objects"), (np.array([np.nan]), "NaN"),
    (np.array([1e300]), "beyond float32"), (np.array([-np.inf], np.float32), "NaN or infinite"),
])
def test_to_arrays_refuses_with_the_argument_name(value, match):
    with pytest.raises(ValueError, match=f"^labels .*{match}|^labels contains.*{match}"):
        data.to_arrays(value, "labels")


def test_to_arrays_float32_huge_but_finite_is_fine():
    data.to_arrays(np.array([3e38], np.float32), "x")


def test_to_weights_refuses_negative_only():
    data.to_weights(np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="sample_weight must be >= 0.*-1.0"):
        data.to_weights(np.array([1.0, -1.0]))
    assert data.to_weights(None) is None


@pytest.mark.parametrize("steps", [0, -1, 2.0, "1", True, [1]])
def test_check_steps_refuses(steps):
    with pytest.raises(ValueError, match="positive integer"):
        data.check_steps(steps, "steps")


def test_check_steps_accepts():
    assert data.check_steps(None) is None
    assert data.check_steps(np.int32(3)) == 3


# --- streams ---------------------------------------------------------------------------------

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


# --- issue 16: evaluate/predict read x in blocks through one reused float32 buffer ----------

def test_row_blocks_cast_float64_rows_into_one_reused_buffer():
    x = np.random.default_rng(0).normal(size=(10, 3, 2))
    blocks = data.RowBlocks(x)
    first = blocks.read(slice(0, 4))
    assert first.dtype == np.float32 and first.shape == (4, 3, 2)
    np.testing.assert_array_equal(first, x[:4].astype(np.float32))
    buffer = blocks.buffer
    last = blocks.read(slice(8, 10))  # a shorter last block: the same memory
    assert blocks.buffer is buffer and np.shares_memory(last, buffer)
    np.testing.assert_array_equal(last, x[8:].astype(np.float32))
    assert np.shares_memory(first, last)  # the first block was overwritten: the contract


@pytest.mark.parametrize("x", [np.arange(12, dtype=np.float32).reshape(6, 2),
                               np.arange(12, dtype=np.uint8).reshape(6, 2),
                               [np.zeros((6, 2)), np.ones((6, 1))]],
                         ids=["float32", "uint8", "list"])
def test_row_blocks_read_anything_else_as_take_does(x):
    blocks = data.RowBlocks(x)
    a, b = blocks.read(slice(0, 3)), blocks.read(slice(3, 6))
    assert blocks.buffer is None
    for got, want in ((a, data.take(x, slice(0, 3))), (b, data.take(x, slice(3, 6)))):
        for g, w in zip(data.flat(got), data.flat(want)):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
