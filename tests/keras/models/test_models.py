"""tomei.keras.models: the three model classes and load_model."""
import numpy as np
import pytest

from tomei.keras import Input, layers, models


def test_model_with_inputs_and_outputs_is_functional():
    inp = Input((3,))
    model = models.Model(inp, layers.Dense(2)(inp))
    assert type(model) is models.Functional and isinstance(model, models.Model)


def test_load_model_round_trip(tmp_path):
    model = models.Sequential([Input((3,)), layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises((FileNotFoundError, ValueError)):
        models.load_model(tmp_path / "missing.keras")
