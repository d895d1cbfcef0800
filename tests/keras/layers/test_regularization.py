"""SpatialDropout2D (Dropout and GaussianNoise are covered by the reference and training tests)."""
import numpy as np
import pytest

import tomei.keras as tk
from tomei.keras import layers


def test_spatial_dropout_drops_whole_channels_while_training():
    tk.utils.set_random_seed(0)
    layer = layers.SpatialDropout2D(0.5)
    x = np.ones((64, 3, 4, 8), np.float32)
    out = layer(x, training=True).numpy()
    per_map = out.reshape(64, 12, 8)
    assert np.all(per_map == per_map[:, :1, :])  # one decision per (image, channel)
    assert set(np.unique(out)) == {0.0, 2.0}  # kept maps scaled by 1 / (1 - rate)
    assert 0.35 < (per_map[:, 0, :] == 0).mean() < 0.65
    np.testing.assert_array_equal(layer(x).numpy(), x)  # the identity outside training


def test_spatial_dropout_config_has_keras_keys():
    cfg = layers.SpatialDropout2D(0.3, seed=4, name="sd").get_config()
    assert cfg == {"rate": 0.3, "seed": 4, "name": "sd", "dtype": "float32",
                   "data_format": "channels_last"}
    assert layers.SpatialDropout2D.from_config(cfg).get_config() == cfg


@pytest.mark.parametrize("make, error", [
    (lambda: layers.SpatialDropout2D(1.5), ValueError),
    (lambda: layers.SpatialDropout2D(0.5, data_format="channels_first"), NotImplementedError),
])
def test_bad_arguments(make, error):
    with pytest.raises(error):
        make()


def test_bad_input_rank():
    with pytest.raises(ValueError, match="must have 4 axes"):
        layers.SpatialDropout2D(0.5)(np.zeros((2, 3, 4), np.float32))


def test_dropout_noise_shape_must_be_a_shape():
    with pytest.raises(ValueError, match=r"^Dropout\(\): noise_shape .*noise_shape=\(3,\)"):
        layers.Dropout(0.5, noise_shape=3)
    assert layers.Dropout(0.5, noise_shape=[None, 1]).noise_shape == (None, 1)
