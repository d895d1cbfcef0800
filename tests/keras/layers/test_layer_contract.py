"""The layer contract, checked for EVERY layer tomei registers (a new layer adds its case to
``CASES`` below, or ``test_every_registered_layer_has_a_contract_case`` fails):

1. build and call: the layer runs on a batch and gives float32 of ``compute_output_shape``;
2. symbolic call: ``layer(Input(...))`` gives a KerasTensor of the same shape;
3. ``get_config`` is JSON-able and ``from_config`` rebuilds a layer that, given the same
   weights, gives the same output;
4. save/load: a model holding the layer survives ``model.save`` / ``load_model``;
5. Keras reference (real Keras 3 on torch, when it imports): the same layer built in Keras,
   with tomei's weights, gives the same output (to 1e-5).
"""
import json
import os

import numpy as np
import pytest

import tomei.keras as tk
from tomei.keras import serialization

# class name -> (constructor arguments, input shape(s) without the batch axis).
# A list of shapes means the layer takes a list of inputs (merging layers).
CASES = {
    "Activation": ({"activation": "relu"}, (5,)),
    "Add": ({}, [(4,), (4,)]),
    "BatchNormalization": ({"momentum": 0.9}, (5,)),
    "Concatenate": ({"axis": -1}, [(4,), (3,)]),
    "Dense": ({"units": 3, "activation": "tanh"}, (4,)),
    "Dropout": ({"rate": 0.3}, (5,)),
    "ELU": ({"alpha": 0.7}, (5,)),
    "Flatten": ({}, (2, 3)),
    "GaussianNoise": ({"stddev": 0.2}, (5,)),
    "LayerNormalization": ({"epsilon": 1e-3}, (5,)),
    "LeakyReLU": ({"negative_slope": 0.2}, (5,)),
    "Multiply": ({}, [(4,), (4,)]),
    "Normalization": ({"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25]}, (3,)),
    "ReLU": ({"max_value": 0.6, "negative_slope": 0.1, "threshold": 0.05}, (5,)),
    "Reshape": ({"target_shape": (3, 2)}, (6,)),
    "Softmax": ({}, (5,)),
    "UnitNormalization": ({"axis": -1}, (2, 5)),
    "Conv1D": ({"filters": 3, "kernel_size": 3, "padding": "causal"}, (7, 2)),
    "Conv2D": ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (7, 6, 2)),
    "Conv2DTranspose": ({"filters": 3, "kernel_size": 3, "strides": 2}, (3, 4, 2)),
    "MaxPooling1D": ({"pool_size": 2}, (7, 3)),
    "MaxPooling2D": ({"pool_size": 3, "strides": 2, "padding": "same"}, (7, 6, 2)),
    "AveragePooling2D": ({"pool_size": 2}, (6, 5, 2)),
    "GlobalAveragePooling1D": ({}, (7, 3)),
    "GlobalAveragePooling2D": ({"keepdims": True}, (5, 4, 3)),
    "GlobalMaxPooling2D": ({}, (5, 4, 3)),
    "UpSampling2D": ({"size": (2, 3)}, (3, 4, 2)),
    "ZeroPadding2D": ({"padding": ((1, 2), (0, 1))}, (3, 4, 2)),
    "SpatialDropout2D": ({"rate": 0.3}, (3, 4, 2)),
    "Embedding": ({"input_dim": 7, "output_dim": 3}, (5,)),
    "TextVectorization": ({"vocabulary": ["the", "cat", "sat"], "output_sequence_length": 4},
                          (1,)),
}
# Layers that read something other than float32 numbers, and what they read.
INPUT_KINDS = {"Embedding": "ids", "TextVectorization": "text"}
OUTPUT_DTYPES = {"TextVectorization": np.int64}  # token ids; every other layer: float32
NOT_CALLED_ON_DATA = {"InputLayer"}  # made by Input(); every model exercises it
RTOL = ATOL = 1e-5


def _shapes(case):
    shapes = CASES[case][1]
    return shapes if isinstance(shapes, list) else [shapes]


def _inputs(case, n=4, seed=0):
    rng = np.random.default_rng(seed)
    kind = INPUT_KINDS.get(case)
    if kind == "ids":  # whole numbers in float32, what Keras's default Input carries
        arrays = [rng.integers(0, CASES[case][0]["input_dim"], (n,) + tuple(s))
                  .astype(np.float32) for s in _shapes(case)]
    elif kind == "text":
        words = np.array(["the", "cat", "sat", "on", "a", "mat"])
        arrays = [np.array([" ".join(rng.choice(words, 3)) for _ in range(n)]).reshape(
            (n,) + tuple(s)) for s in _shapes(case)]
    else:
        arrays = [rng.normal(0, 1.5, (n,) + tuple(s)).astype(np.float32) for s in _shapes(case)]
    return arrays if isinstance(CASES[case][1], list) else arrays[0]


def _input(lib, shape, case):
    return lib.Input(shape=shape, dtype="string") if INPUT_KINDS.get(case) == "text" \
        else lib.Input(shape=shape)


def _make(lib, case):
    return getattr(lib.layers, case)(**CASES[case][0])


def _perturb(layer, seed=3):
    """Moves every weight away from its initial value (zeros/ones hide mistakes)."""
    rng = np.random.default_rng(seed)
    layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype)
                       for w in layer.get_weights()])


def _np(x):
    return [np.asarray(v) for v in x] if isinstance(x, (list, tuple)) else np.asarray(x)


def test_every_registered_layer_has_a_contract_case():
    registered = set(serialization.registered("keras.layers")) - NOT_CALLED_ON_DATA
    missing = sorted(registered - set(CASES))
    assert not missing, (f"These layers have no case in CASES of {__file__}: {missing}. Add "
                         f"(constructor arguments, input shape) for each (docs/architecture.md, "
                         f"'Where to add things').")


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_call_and_output_shape(case):
    layer = _make(tk, case)
    x = _inputs(case)
    out = layer(x)
    assert layer.built
    batch_shapes = [(4,) + tuple(s) for s in _shapes(case)]
    expected = layer.compute_output_shape(batch_shapes if len(batch_shapes) > 1 else
                                          batch_shapes[0])
    assert out.dtype == OUTPUT_DTYPES.get(case, np.float32)
    assert tuple(out.shape) == tuple(expected)
    assert np.all(np.isfinite(out.numpy()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_symbolic_call_gives_the_same_shape(case):
    inputs = [_input(tk, s, case) for s in _shapes(case)]
    symbolic = _make(tk, case)(inputs if len(inputs) > 1 else inputs[0])
    real = _make(tk, case)(_inputs(case))
    assert tuple(symbolic.shape) == (None,) + tuple(real.shape[1:])


@pytest.mark.parametrize("case", sorted(CASES))
def test_get_config_from_config_round_trip(case):
    layer = _make(tk, case)
    x = _inputs(case)
    layer(x)
    _perturb(layer)
    config = layer.get_config()
    json.dumps(config)  # a config must be plain JSON
    twin = type(layer).from_config(config)
    twin(x)
    twin.set_weights(layer.get_weights())
    assert twin.get_config() == config
    np.testing.assert_array_equal(twin(x).numpy(), layer(x).numpy())


def _model(lib, case):
    inputs = [_input(lib, s, case) for s in _shapes(case)]
    layer = _make(lib, case)
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    return lib.Model(inputs if len(inputs) > 1 else inputs[0], out), layer


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_and_load(case, tmp_path):
    model, layer = _model(tk, case)
    _perturb(layer)
    x = _inputs(case)
    model.save(tmp_path / "m.keras")
    loaded = tk.models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[-1]).__name__ == case
    np.testing.assert_array_equal(_np(loaded.predict(x, verbose=0)),
                                  _np(model.predict(x, verbose=0)))


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ.get("TOMEI_ALLOW_NO_KERAS") == "1":
        return pytest.importorskip("keras")
    import keras
    return keras


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_keras(case, keras):
    x = _inputs(case)
    t_layer, k_layer = _make(tk, case), _make(keras, case)
    t_layer(x)
    k_layer(x)
    _perturb(t_layer)
    assert [w.shape for w in k_layer.get_weights()] == [w.shape for w in t_layer.get_weights()]
    k_layer.set_weights(t_layer.get_weights())
    k_out = k_layer(x, training=False)
    k_out = k_out.detach().cpu().numpy() if hasattr(k_out, "detach") else np.asarray(k_out)
    np.testing.assert_allclose(t_layer(x, training=False).numpy(), k_out, rtol=RTOL, atol=ATOL)
