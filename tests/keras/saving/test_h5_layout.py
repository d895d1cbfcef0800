"""The HDF5 weights layout of Keras 3 (docs/keras_facts.md, 'The .keras file'): group keys
from class names, the order of containers, the optimizer's variables."""
import h5py
import numpy as np

from tomei.keras import Input, Sequential, layers
from tomei.keras.saving import h5_layout


def test_unique_keys_come_from_class_names_not_layer_names():
    objs = [layers.Dense(1, name="my_dense"), layers.Dropout(0.1), layers.Dense(2),
            layers.BatchNormalization()]
    assert h5_layout.unique_keys(objs) == ["dense", "dropout", "dense_1", "batch_normalization"]


def test_layer_paths_and_own_variables_order():
    model = Sequential([Input((3,)), layers.Dense(2, name="a"), layers.BatchNormalization(),
                        Sequential([layers.Dense(1)], name="inner")])
    assert [p for p, _ in h5_layout.layer_paths(model)] == [
        "layers/dense", "layers/batch_normalization", "layers/sequential",
        "layers/sequential/layers/dense"]
    bn = model.layers[1]
    assert [v.name for v in h5_layout.own_variables(bn)] == \
        ["gamma", "beta", "moving_mean", "moving_variance"]


def test_write_model_then_read_back(tmp_path):
    model = Sequential([Input((3,)), layers.Dense(2), layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), verbose=0)
    with h5py.File(tmp_path / "w.h5", "w") as h5:
        h5_layout.write_model(h5, model)
    with h5py.File(tmp_path / "w.h5", "r") as h5:
        np.testing.assert_array_equal(h5["layers/dense_1/vars/0"][()], model.layers[1].kernel.numpy())
        opt = h5["optimizer/vars"]
        assert opt.attrs["name"] == "adam" and int(opt["0"][()]) == 1  # the step count
        assert len(opt) == 2 + 2 * 4  # iteration, learning rate, m and v of 4 variables
