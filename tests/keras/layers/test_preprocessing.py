"""Normalization: adapt statistics, the forward formula, invert, axes, given mean/variance,
errors, config and saving (tomei alone; tests/reference compares with real Keras)."""
import numpy as np
import pytest

import tomei
from tomei.keras import Sequential, layers, models

RNG = np.random.default_rng(0)
X = RNG.normal(5.0, 3.0, (40, 4)).astype(np.float32)


def test_adapt_on_array_gives_mean_and_population_variance():
    layer = layers.Normalization()
    layer.adapt(X)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), X.var(axis=0), rtol=1e-6)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == [] and layer.count.dtype == np.int32
    assert layer.mean.shape == (1, 4)  # the broadcast shape, as the tutorial prints it
    out = layer(X).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-4)


def test_adapt_on_batches_equals_adapt_on_the_whole_array():
    whole, batched, gen = (layers.Normalization() for _ in range(3))
    whole.adapt(X)
    batched.adapt([X[:7], X[7:30], X[30:]])  # unequal batches
    gen.adapt((x, np.zeros(len(x))) for x in np.array_split(X, 5))  # (x, y) batches
    tensor = layers.Normalization()
    tensor.adapt(tomei.constant(X))
    for other in (batched, gen, tensor):
        np.testing.assert_allclose(other.adapt_mean.numpy(), whole.adapt_mean.numpy(),
                                   rtol=1e-6)
        np.testing.assert_allclose(other.adapt_variance.numpy(), whole.adapt_variance.numpy(),
                                   rtol=1e-5)


def test_adapt_on_a_dataset_batched_or_not():
    whole = layers.Normalization()
    whole.adapt(X)
    for ds in (tomei.data.Dataset.from_tensor_slices(X).batch(8),
               tomei.data.Dataset.from_tensor_slices((X, X[:, 0])).batch(16),
               tomei.data.Dataset.from_tensor_slices(X)):  # single rows: batched by 128
        layer = layers.Normalization()
        layer.adapt(ds)
        np.testing.assert_allclose(layer.adapt_mean.numpy(), whole.adapt_mean.numpy(),
                                   rtol=1e-5)
        np.testing.assert_allclose(layer.adapt_variance.numpy(), whole.adapt_variance.numpy(),
                                   rtol=1e-5)
        assert layer(X[:3]).shape == (3, 4)


def test_axis_none_and_multiple_axes():
    x = RNG.normal(2.0, 4.0, (10, 3, 5)).astype(np.float32)
    scalar = layers.Normalization(axis=None)
    scalar.adapt(x)
    assert scalar.adapt_mean.shape == ()
    np.testing.assert_allclose(scalar(x).numpy(), (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)
    both = layers.Normalization(axis=(1, -1))
    both.adapt(x)
    assert both.adapt_mean.shape == (3, 5) and both.mean.shape == (1, 3, 5)
    np.testing.assert_allclose(both(x).numpy(), (x - x.mean(0)) / x.std(0), rtol=1e-4,
                               atol=1e-4)
    middle = layers.Normalization(axis=1)
    middle.adapt(x)
    np.testing.assert_allclose(middle.adapt_mean.numpy(), x.mean(axis=(0, 2)), rtol=1e-5)


def test_regression_tutorial_horsepower_pattern():
    # Normalization(input_shape=[1,], axis=None) adapted on a 1-D array, then a model on (N, 1)
    horsepower = RNG.uniform(50, 200, 100)
    norm = layers.Normalization(input_shape=[1], axis=None)
    norm.adapt(horsepower)
    model = Sequential([norm, layers.Dense(1)])
    out = model.predict(horsepower[:10, None], verbose=0)
    assert out.shape == (10, 1)
    np.testing.assert_allclose(norm(horsepower[:3, None]).numpy()[:, 0],
                               (horsepower[:3] - horsepower.mean()) / horsepower.std(),
                               rtol=1e-5)


def test_invert_undoes_the_normalization():
    forward, back = layers.Normalization(), layers.Normalization(invert=True)
    forward.adapt(X)
    back.adapt(X)
    np.testing.assert_allclose(back(forward(X)).numpy(), X, rtol=1e-5, atol=1e-4)


def test_given_mean_and_variance_broadcast_and_need_no_adapt():
    layer = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])
    out = layer(np.array([[1.0, 4.0, 0.0]]))
    np.testing.assert_allclose(out.numpy(), [[0.0, 1.0, -1.0]])
    assert layer.weights == []
    scalar = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(scalar(np.array([[1.0], [3.0]])).numpy()[:, 0],
                               [-2 / np.sqrt(2), 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="nothing to adapt"):
        layer.adapt(X[:, :3])


def test_constant_feature_gives_zero_not_nan():
    x = np.ones((5, 2), np.float32)
    layer = layers.Normalization()
    layer.adapt(x)
    assert np.all(layer(x).numpy() == 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"mean": 1.0}, "mean and variance together"),
    ({"mean": [1.0, 2.0], "variance": [1.0]}, "same shape"),
    ({"mean": [[1.0]], "variance": [[1.0]]}, "rank"),
    ({"axis": "last"}, "axis"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Normalization(**kwargs)


def test_bad_shapes_are_named():
    layer = layers.Normalization(axis=3)
    with pytest.raises(ValueError, match="outside the input's rank"):
        layer.adapt(X)
    layer = layers.Normalization()
    layer.adapt(X)
    with pytest.raises(ValueError, match=r"the input has shape \(2, 5\)"):
        layer(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="adapt data"):
        layer.adapt(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="empty"):
        layers.Normalization().adapt([])
    with pytest.raises(TypeError, match="numbers"):
        layers.Normalization().adapt(np.array([["a", "b"]]))


def test_config_round_trip():
    layer = layers.Normalization(axis=(1, 2), invert=True, name="norm")
    cfg = layer.get_config()
    assert cfg["axis"] == (1, 2) and cfg["invert"] is True and cfg["mean"] is None
    again = layers.Normalization.from_config(cfg)
    assert again.get_config() == cfg
    given = layers.Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0])
    assert layers.Normalization.from_config(given.get_config()).get_config()["mean"] == [1.0, 2.0]


def test_save_and_load_keeps_the_adapted_statistics(tmp_path):
    norm = layers.Normalization()
    norm.adapt(X)
    model = Sequential([layers.Input((4,)), norm, layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(loaded.layers[0].adapt_variance.numpy(), X.var(axis=0),
                               rtol=1e-6)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = Sequential([layers.Input((4,)), layers.Normalization(), layers.Dense(2)])
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(fresh.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


def test_normalization_takes_no_gradient_but_passes_one():
    layer = layers.Normalization(mean=[2.0], variance=[4.0])
    x = tomei.Variable(np.array([[1.0], [3.0]], np.float32))
    with tomei.GradientTape() as tape:
        y = tomei.reduce_sum(layer(x))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0.5], [0.5]])
