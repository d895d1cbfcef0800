"""Add, Multiply and Concatenate: values, shapes, errors, gradients, functional use, config."""
import numpy as np
import pytest

from tomei.engine.gradcheck import check_gradients
from tomei.keras import Input, Model, layers

RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(4, 3)).astype(np.float32) for _ in range(3))


def test_add_and_multiply_values():
    np.testing.assert_allclose(layers.Add()([A, B]).numpy(), A + B)
    np.testing.assert_allclose(layers.Add()([A, B, C]).numpy(), A + B + C, rtol=1e-6)
    np.testing.assert_allclose(layers.Multiply()([A, B, C]).numpy(), A * B * C, rtol=1e-6)
    np.testing.assert_allclose(layers.add([A, B]).numpy(), A + B)
    np.testing.assert_allclose(layers.multiply([A, B]).numpy(), A * B)


def test_add_broadcasts_size_one_axes():
    row = RNG.normal(size=(4, 1)).astype(np.float32)
    assert layers.Add().compute_output_shape([(None, 3), (None, 1)]) == (None, 3)
    np.testing.assert_allclose(layers.Add()([A, row]).numpy(), A + row)


def test_concatenate_values_and_axes():
    D = RNG.normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_array_equal(layers.Concatenate()([A, D]).numpy(), np.concatenate([A, D], -1))
    np.testing.assert_array_equal(layers.concatenate([A, B], axis=0).numpy(),
                                  np.concatenate([A, B], 0))
    x, y = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 1, 4))
    np.testing.assert_allclose(layers.Concatenate(axis=1)([x, y]).numpy(),
                               np.concatenate([x, y], 1).astype(np.float32))
    assert layers.Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, 1, 4)]) == \
        (None, 4, 4)
    assert layers.Concatenate().compute_output_shape([(None, 3), (None, None)]) == (None, None)


@pytest.mark.parametrize("layer", [layers.Add, layers.Multiply])
def test_merge_errors(layer):
    with pytest.raises(ValueError, match="list of at least 1 input"):
        layer()(A)
    with pytest.raises(ValueError, match=r"broadcastable shapes.*\(4, 3\).*\(4, 2\)"):
        layer()([A, A[:, :2]])


def test_concatenate_errors():
    with pytest.raises(ValueError, match="match except on the concatenation axis"):
        layers.Concatenate()([A, np.zeros((5, 2), np.float32)])
    with pytest.raises(ValueError, match="expects a list"):
        layers.Concatenate()(A)
    with pytest.raises(ValueError, match="match except on the concatenation axis"):
        layers.Concatenate()([Input((3,)), Input((2, 2))])


@pytest.mark.parametrize("layer", [layers.Add(dtype="float64"), layers.Multiply(dtype="float64"),
                                   layers.Concatenate(dtype="float64"),
                                   layers.Concatenate(axis=0, dtype="float64")])
def test_gradients_reach_every_input(layer):
    check_gradients(lambda a, b, c: layer([a, b, c]), A.astype(np.float64),
                    B.astype(np.float64), C.astype(np.float64))


def test_functional_use_builds_shapes_and_trains():
    a, b = Input((3,)), Input((5,))
    s = layers.Add()([layers.Dense(5)(a), b])
    out = layers.Dense(1)(layers.Concatenate()([s, layers.Multiply()([s, b]), a]))
    model = Model([a, b], out)
    assert s.shape == (None, 5) and model.output_shape == (None, 1)
    assert model.get_layer(index=-2).compute_output_shape([(None, 5), (None, 5), (None, 3)]) == \
        (None, 13)
    model.compile("adam", "mse")
    x = [RNG.normal(size=(16, 3)), RNG.normal(size=(16, 5))]
    y = RNG.normal(size=(16, 1))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_config_round_trip():
    layer = layers.Concatenate(axis=1, name="join")
    again = layers.Concatenate.from_config(layer.get_config())
    assert (again.axis, again.name) == (1, "join")
    assert layers.Add.from_config(layers.Add(name="plus").get_config()).name == "plus"
    assert layers.Multiply().get_weights() == []
