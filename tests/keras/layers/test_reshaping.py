"""UpSampling2D and ZeroPadding2D: values, shapes, gradients and errors."""
import numpy as np
import pytest

from tomei.engine.gradcheck import check_gradients
from tomei.keras import layers


def test_upsampling_repeats_pixels():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    out = layers.UpSampling2D((2, 3))(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x[0, :, :, 0], 2, 0), 3, 1))
    assert layers.UpSampling2D().compute_output_shape((None, 4, None, 2)) == (None, 8, None, 2)


@pytest.mark.parametrize("padding, expected", [
    (1, ((1, 1), (1, 1))), ((1, 3), ((1, 1), (3, 3))), (((1, 2), (0, 3)), ((1, 2), (0, 3))),
])
def test_zero_padding_forms(padding, expected):
    layer = layers.ZeroPadding2D(padding)
    assert layer.padding == expected
    x = np.ones((2, 3, 4, 2), np.float32)
    out = layer(x).numpy()
    (t, b), (left, r) = expected
    assert out.shape == (2, 3 + t + b, 4 + left + r, 2)
    assert out.sum() == x.sum() and out[:, t:t + 3, left:left + 4].min() == 1
    assert layer.compute_output_shape((None, 3, 4, 2)) == (None,) + out.shape[1:]


@pytest.mark.parametrize("layer", [layers.UpSampling2D((2, 3), dtype="float64"),
                                   layers.ZeroPadding2D(((1, 2), (0, 1)), dtype="float64")],
                         ids=["upsampling", "zero_padding"])
def test_gradients(layer):
    check_gradients(lambda a: layer(a), np.random.default_rng(0).normal(size=(2, 3, 4, 2)))


@pytest.mark.parametrize("make, error, words", [
    (lambda: layers.UpSampling2D(interpolation="bilinear"), NotImplementedError, "bilinear"),
    (lambda: layers.UpSampling2D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
    (lambda: layers.UpSampling2D(size=0), ValueError, "size"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), ValueError, "padding"),
    (lambda: layers.ZeroPadding2D(-1), ValueError, "padding"),
    (lambda: layers.ZeroPadding2D(data_format="channels_first"), NotImplementedError,
     "channels_first"),
])
def test_bad_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_bad_input_rank():
    with pytest.raises(ValueError, match="must have 4 axes"):
        layers.ZeroPadding2D()(np.zeros((2, 3, 4), np.float32))
