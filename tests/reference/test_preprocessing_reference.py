"""Normalization against real Keras 3 (torch backend): adapt results, outputs, invert,
get_config both ways, and .keras files with adapted statistics both ways."""
import json

import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [pytest.mark.reference]

RNG = np.random.default_rng(3)
X2 = RNG.normal(4.0, 3.0, (50, 5)).astype(np.float32)
X3 = RNG.normal(-1.0, 2.0, (20, 3, 4)).astype(np.float32)


@pytest.mark.parametrize("axis, data", [
    (-1, X2), (None, X2), (1, X3), ((1, 2), X3), ((-1,), X3), (None, X2[:, 0]),
    (-1, X2.astype(np.float64)),
], ids=["features", "scalar", "middle", "two-axes", "last-of-3d", "1d-scalar", "float64"])
def test_adapt_on_arrays_matches(keras, to_np, axis, data):
    k, t = keras.layers.Normalization(axis=axis), tk.layers.Normalization(axis=axis)
    k.adapt(data)
    t.adapt(data)
    for kw, tw in zip(k.weights, t.weights):
        assert tw.name == kw.name and tuple(tw.shape) == tuple(kw.shape)
        np.testing.assert_allclose(tw.numpy(), to_np(kw), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(t.mean.numpy(), to_np(k.mean), rtol=1e-6)
    np.testing.assert_allclose(t(data).numpy(), to_np(k(data)), rtol=1e-5, atol=1e-5)


def test_adapt_on_a_list_of_batches_matches(keras, to_np):
    batches = [X2[:13], X2[13:20], X2[20:]]
    k, t = keras.layers.Normalization(), tk.layers.Normalization()
    k.adapt(batches)
    t.adapt(batches)
    np.testing.assert_allclose(t.adapt_mean.numpy(), to_np(k.adapt_mean), rtol=1e-5)
    np.testing.assert_allclose(t.adapt_variance.numpy(), to_np(k.adapt_variance), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [
    {"invert": True}, {"mean": [1.0, -2.0, 0.5, 3.0, 0.0], "variance": [4.0, 1.0, 0.25, 9.0, 0.0]},
    {"mean": 2.0, "variance": 3.0}, {"mean": 2.0, "variance": 3.0, "invert": True},
])
def test_outputs_match(keras, to_np, kwargs):
    k, t = keras.layers.Normalization(**kwargs), tk.layers.Normalization(**kwargs)
    if "mean" not in kwargs:
        k.adapt(X2)
        t.adapt(X2)
    np.testing.assert_allclose(t(X2).numpy(), to_np(k(X2)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"axis": None}, {"axis": (1, 2), "invert": True},
                                    {"mean": [1.0, 2.0], "variance": [3.0, 4.0]}])
def test_get_config_both_ways(keras, fresh_names, kwargs):
    k, t = keras.layers.Normalization(**kwargs), tk.layers.Normalization(**kwargs)
    def as_json(cfg):  # tuples become lists
        return json.loads(json.dumps(cfg))
    assert as_json(t.get_config()) == as_json(k.get_config())
    assert as_json(tk.layers.Normalization.from_config(k.get_config()).get_config()) == \
        as_json(k.get_config())
    assert as_json(keras.layers.Normalization.from_config(t.get_config()).get_config()) == \
        as_json(t.get_config())


def _model(lib, norm):
    return lib.Sequential([lib.layers.Input((5,)), norm, lib.layers.Dense(3, activation="tanh")])


def test_tomei_file_with_adapted_normalization_loads_in_keras(keras, to_np, tmp_path):
    norm = tk.layers.Normalization()
    norm.adapt(X2)
    model = _model(tk, norm)
    model.save(tmp_path / "t.keras")
    loaded = keras.saving.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(to_np(loaded.layers[0].adapt_variance), X2.var(axis=0), rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(X2, verbose=0), model.predict(X2, verbose=0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, None])
def test_keras_file_with_adapted_normalization_loads_in_tomei(keras, tmp_path, axis):
    norm = keras.layers.Normalization(axis=axis)
    norm.adapt(X2)  # adapted before the model exists, as in the regression tutorial
    model = _model(keras, norm)
    model.save(tmp_path / "k.keras")
    loaded = tk.models.load_model(tmp_path / "k.keras")
    assert loaded.layers[0].get_config()["axis"] == (() if axis is None else (-1,))
    np.testing.assert_allclose(loaded.predict(X2, verbose=0), model.predict(X2, verbose=0),
                               rtol=1e-5, atol=1e-5)
