"""tf.data.Dataset: ordering semantics, structures, errors, and hypothesis properties."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tomei as tf
from tomei.data import Dataset

lengths = st.integers(min_value=0, max_value=60)


def rows(n, width=2):
    return np.arange(n * width, dtype=np.float32).reshape(n, width)


def as_list(ds):
    return [tuple(np.asarray(v).tolist() for v in e) if isinstance(e, tuple)
            else np.asarray(e).tolist() for e in ds.as_numpy_iterator()]


# --- properties ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=lengths, batch=st.integers(1, 17), drop=st.booleans())
def test_batch_then_unbatch_returns_the_data(n, batch, drop):
    x, y = rows(n), np.arange(n, dtype=np.int64)
    ds = Dataset.from_tensor_slices((x, y)).batch(batch, drop_remainder=drop).unbatch()
    kept = (n // batch) * batch if drop else n
    got = list(ds.as_numpy_iterator())
    assert len(got) == kept
    if kept:
        np.testing.assert_array_equal(np.stack([g[0] for g in got]), x[:kept])
        np.testing.assert_array_equal(np.array([g[1] for g in got]), y[:kept])


@settings(max_examples=60, deadline=None)
@given(n=lengths, buffer=st.integers(1, 80), seed=st.integers(0, 2**31))
def test_shuffle_is_a_permutation(n, buffer, seed):
    got = [int(v) for v in Dataset.range(n).shuffle(buffer, seed=seed).as_numpy_iterator()]
    assert sorted(got) == list(range(n))


@settings(max_examples=60, deadline=None)
@given(n=lengths, k=st.integers(0, 70))
def test_take_and_skip_partition(n, k):
    ds = Dataset.from_tensor_slices(np.arange(n) * 3)
    head, tail = as_list(ds.take(k)), as_list(ds.skip(k))
    assert head + tail == as_list(ds)
    assert len(head) == min(n, k)
    assert len(ds.take(k)) == min(n, k) and len(ds.skip(k)) == max(n - k, 0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch=st.integers(1, 9), drop=st.booleans())
def test_batch_cardinality_matches_iteration(n, batch, drop):
    ds = Dataset.from_tensor_slices(np.arange(n)).map(lambda v: v * 2).batch(batch, drop)
    assert len(ds) == sum(1 for _ in ds)


# --- shuffle semantics ----------------------------------------------------------------------

def test_buffer_size_one_keeps_the_order():
    assert as_list(Dataset.range(10).shuffle(1)) == list(range(10))


def test_small_buffer_moves_elements_only_a_little():
    # With a buffer of 3, the element emitted at position i was read at most at i + 2.
    for seed in range(20):
        got = as_list(Dataset.range(50).shuffle(3, seed=seed))
        assert all(v <= i + 2 for i, v in enumerate(got))


def test_reshuffles_each_iteration_by_default_and_not_when_asked():
    ds = Dataset.range(30).shuffle(30, seed=4)
    assert as_list(ds) != as_list(ds)
    fixed = Dataset.range(30).shuffle(30, seed=4, reshuffle_each_iteration=False)
    assert as_list(fixed) == as_list(fixed) != list(range(30))


def test_set_random_seed_fixes_the_order():
    def orders():
        tf.keras.utils.set_random_seed(7)
        ds = Dataset.range(20).shuffle(20)
        return as_list(ds), as_list(ds)
    assert orders() == orders()


def test_repeat_reshuffles_each_pass():
    got = as_list(Dataset.range(10).shuffle(10, seed=1).repeat(2))
    assert sorted(got[:10]) == sorted(got[10:]) == list(range(10)) and got[:10] != got[10:]


def test_cache_after_shuffle_freezes_the_first_order():
    ds = Dataset.range(20).shuffle(20, seed=3).cache()
    assert as_list(ds) == as_list(ds)


def test_cache_replays_without_recomputing():
    calls = []
    ds = Dataset.range(5).map(lambda v: calls.append(1) or v).cache()
    assert as_list(ds) == as_list(ds) == list(range(5))
    assert len(calls) == 5


def test_partial_pass_does_not_fill_the_cache():
    calls = []
    ds = Dataset.range(5).map(lambda v: calls.append(1) or v).cache()
    assert as_list(ds.take(2)) == [0, 1]
    assert as_list(ds) == list(range(5)) and len(calls) == 7


# --- structures and conversions -------------------------------------------------------------

def test_dict_elements_and_python_ints_become_int32():
    ds = Dataset.from_tensor_slices({"a": [1, 2, 3], "b": np.ones((3, 2))})
    first = next(iter(ds))
    assert set(first) == {"a", "b"} and first["a"].dtype == np.int32
    assert first["b"].shape == (2,) and first["b"].dtype == np.float64


def test_iteration_gives_tensors_and_prints_like_tensorflow():
    ds = Dataset.from_tensor_slices([1, 2, 3, 4]).map(tf.math.square).batch(2)
    assert [str(t) for t in ds] == ["tf.Tensor([1 4], shape=(2,), dtype=int32)",
                                    "tf.Tensor([ 9 16], shape=(2,), dtype=int32)"]


def test_map_unpacks_tuples_and_returns_structures():
    ds = Dataset.from_tensor_slices((rows(4), np.arange(4))).map(
        lambda x, y: (x * 2, tf.expand_dims(y, axis=-1)))
    x, y = next(iter(ds))
    assert x.shape == (2,) and y.shape == (1,)


def test_filter_and_enumerate_and_zip():
    ds = Dataset.range(10).filter(lambda v: v % 2 == 0)
    assert as_list(ds) == [0, 2, 4, 6, 8] and int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    pairs = list(Dataset.zip((Dataset.range(3), Dataset.range(10, 20))).as_numpy_iterator())
    assert [(int(a), int(b)) for a, b in pairs] == [(0, 10), (1, 11), (2, 12)]
    assert [int(i) for i, _ in Dataset.range(3).enumerate(start=5).as_numpy_iterator()] == [5, 6, 7]


def test_repeat_take_cardinalities():
    ds = Dataset.range(4)
    assert int(ds.repeat().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert len(ds.repeat(3)) == 12 and len(ds.repeat().take(10)) == 10
    assert as_list(ds.repeat().take(6)) == [0, 1, 2, 3, 0, 1]
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())


def test_prefetch_and_autotune_change_nothing():
    ds = Dataset.range(7).batch(3)
    assert as_list(ds.prefetch(tf.data.AUTOTUNE)) == as_list(ds)
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE


def test_from_generator_checks_the_signature():
    def gen():
        yield np.ones(3), 1
        yield np.ones(4), 2
    ds = Dataset.from_generator(gen, output_signature=(tf.TensorSpec((None,), "float32"),
                                                       tf.TensorSpec((), "int64")))
    assert [e[0].dtype for e in ds] == [np.float32, np.float32]
    bad = Dataset.from_generator(gen, output_signature=(tf.TensorSpec((3,), "float32"),
                                                        tf.TensorSpec((), "int64")))
    with pytest.raises(ValueError, match="does not match the declared shape"):
        list(bad)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator(gen())


# --- errors ------------------------------------------------------------------------------------

def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="same number of rows"):
        Dataset.from_tensor_slices((np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="at least one axis"):
        Dataset.from_tensor_slices(np.float32(1))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        Dataset.range(3).batch(0)
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(ValueError, match="different shapes in component 0"):
        list(Dataset.from_generator(lambda: iter([np.ones(2), np.ones(3)])).batch(2))
    with pytest.raises(NotImplementedError, match="in memory only"):
        Dataset.range(3).cache("/tmp/x")
    with pytest.raises(ValueError, match="same first-axis length"):
        list(Dataset.from_tensors((np.ones(2), np.ones(3))).unbatch())
