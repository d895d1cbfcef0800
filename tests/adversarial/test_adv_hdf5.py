"""Adversarial HDF5 files (issue 14 items 2, 7 and 13): links out of the file, aliases,
external and virtual storage, cycles, deep nesting, lying shapes and dtypes, NaN weights.

Every case must end in a ModelFileError (or a warning, for NaN weights) and leave the model
as it was; no RecursionError, KeyError, TypeError or AttributeError may reach the user.
"""
import os
import subprocess
import sys
import textwrap
import warnings

import h5py
import numpy as np
import pytest
from .adv_helpers import (
    MB,
    assert_weights_equal,
    fifo_path,
    peak_memory,
    rewrite_keras,
    small_model,
    weights_of,
)

import tomei.keras as tk
from tomei.keras.saving import ModelFileError, safety

# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    """A trained model and its .weights.h5 / .keras files."""
    model = small_model()
    weights = tmp_path / "m.weights.h5"
    model.save_weights(weights)
    keras_file = tmp_path / "m.keras"
    model.save(keras_file)
    return model, weights, keras_file


def fresh():
    """Another model of the same architecture (different initial weights)."""
    return small_model(seed=7)


def replace(h5, name, link):
    del h5[name]
    h5[name] = link


def secret_file(tmp_path, value=123.0):
    """Another HDF5 file a crafted link points into."""
    path = tmp_path / "secret.h5"
    with h5py.File(path, "w") as h5:
        h5["data"] = np.full((4, 5), value, np.float32)
        h5["lr"] = np.float32(value)
        h5.create_group("vars")["0"] = np.full((4, 5), value, np.float32)
    return str(path)


def legacy_file(path, model, mutate=None):
    """A Keras 2 ``save_weights('w.h5')`` file (layer_names / weight_names) for ``model``,
    optionally inside a model_weights group like ``model.save('m.h5')``."""
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        for layer in model.layers:
            group = h5.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, w in zip(names, layer.weights):
                group.create_dataset(name.decode(), data=w.numpy())
        if mutate is not None:
            mutate(h5)
    return path


def refuses(model, path, match=None):
    before = weights_of(model)
    with pytest.raises(ModelFileError, match=match):
        model.load_weights(path)
    assert_weights_equal(model, before)


# --- item 2: links and storage outside the file ----------------------------------------------


def test_external_link_at_optimizer_vars_in_keras_file_is_refused(saved, tmp_path):
    """The issue's case: optimizer/vars -> another file's group (the learning rate)."""
    model, _, keras_file = saved
    target = secret_file(tmp_path, 9.0)
    rewrite_keras(keras_file, lambda h5: replace(h5, "optimizer/vars",
                                                 h5py.ExternalLink(target, "/vars")))
    with pytest.raises(ModelFileError, match="ExternalLink"):
        tk.models.load_model(keras_file)


def test_external_link_at_optimizer_vars_in_weights_file_is_refused(saved, tmp_path):
    model, weights, _ = saved
    target = secret_file(tmp_path, 9.0)
    with h5py.File(weights, "r+") as h5:
        replace(h5, "optimizer/vars", h5py.ExternalLink(target, "/vars"))
    other = fresh()
    refuses(other, weights, "ExternalLink")
    assert float(other.optimizer.learning_rate) != 9.0


@pytest.mark.parametrize("name", ["layers/dense", "layers/dense/vars", "layers/dense/vars/0",
                                  "layers", "optimizer", "vars"])
def test_external_links_anywhere_in_weights_file_are_refused(saved, tmp_path, name):
    _, weights, _ = saved
    target = secret_file(tmp_path)
    with h5py.File(weights, "r+") as h5:
        replace(h5, name, h5py.ExternalLink(target, "/data"))
    refuses(fresh(), weights, "ExternalLink")


@pytest.mark.parametrize("name, target", [
    ("layers/dense/vars/0", "/layers/dense_1/vars/0"),
    ("layers/dense/vars", "/layers/dense_1/vars"),
    ("layers/dense_1", "/layers/dense"),
    ("optimizer/vars/1", "/optimizer/vars/0"),
])
def test_soft_links_are_refused(saved, name, target):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        replace(h5, name, h5py.SoftLink(target))
    refuses(fresh(), weights, "SoftLink")


def test_dangling_soft_link_is_refused(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        replace(h5, "layers/dense/vars/1", h5py.SoftLink("/nowhere/at/all"))
    refuses(fresh(), weights, "SoftLink")


def test_external_raw_storage_is_refused(saved, tmp_path):
    model, weights, _ = saved
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full((4, 5), 5.0, np.float32).tobytes())
    with h5py.File(weights, "r+") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars"].create_dataset("0", shape=(4, 5), dtype=np.float32,
                                               external=[(str(raw), 0, 80)])
    refuses(fresh(), weights, "external raw storage")


def test_virtual_dataset_is_refused(saved, tmp_path):
    _, weights, _ = saved
    source = secret_file(tmp_path, 4.0)
    with h5py.File(weights, "r+") as h5:
        del h5["layers/dense/vars/0"]
        layout = h5py.VirtualLayout(shape=(4, 5), dtype=np.float32)
        layout[:] = h5py.VirtualSource(source, "data", shape=(4, 5))
        h5["layers/dense/vars"].create_virtual_dataset("0", layout)
    refuses(fresh(), weights, "virtual dataset")


def test_link_to_a_named_pipe_is_never_opened(saved, tmp_path):
    """A link to /etc/passwd (or a device, or a pipe) must not even be opened by HDF5: a FIFO
    makes an open hang, so the load runs in a child with a deadline."""
    _, weights, _ = saved
    fifo = fifo_path(str(tmp_path))
    with h5py.File(weights, "r+") as h5:
        replace(h5, "layers/dense", h5py.ExternalLink(fifo, "/x"))
        replace(h5, "optimizer", h5py.ExternalLink("/etc/passwd", "/"))
    child = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from adv_helpers import small_model
        from tomei.keras.saving import ModelFileError
        try:
            small_model(seed=3, fit=False).load_weights({str(weights)!r})
        except ModelFileError as err:
            print("refused:", err)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=60, env=env)
    assert "refused:" in done.stdout and "ExternalLink" in done.stdout, done.stderr


def test_legacy_h5_external_link_on_model_weights_is_refused(tmp_path):
    model = small_model()
    secret = secret_file(tmp_path)
    path = legacy_file(tmp_path / "m.h5", model)
    with h5py.File(tmp_path / "wrapped.h5", "w") as h5:
        h5["model_weights"] = h5py.ExternalLink(str(path), "/")
    refuses(fresh(), tmp_path / "wrapped.h5", "ExternalLink")
    assert os.path.exists(secret)


def test_legacy_h5_external_link_on_layer_group_and_dataset(tmp_path):
    model = small_model()
    secret = secret_file(tmp_path)
    layer = model.layers[0].name
    kernel = f"{layer}/{model.layers[0].weights[0].name}:0"
    one = legacy_file(tmp_path / "a.h5", model,
                      lambda h5: replace(h5, layer, h5py.ExternalLink(secret, "/")))
    refuses(fresh(), one, "ExternalLink|no such group")
    two = legacy_file(tmp_path / "b.h5", model,
                      lambda h5: replace(h5[layer], kernel, h5py.ExternalLink(secret, "/data")))
    refuses(fresh(), two, "ExternalLink")


@pytest.mark.parametrize("weight_name", ["../../etc/passwd", "/etc/passwd", "a/./b", "",
                                         "x//y"])
def test_legacy_weight_names_with_path_tricks_are_refused(tmp_path, weight_name):
    model = small_model()
    layer = model.layers[0].name

    def lie(h5):
        names = [n if isinstance(n, bytes) else n.encode()
                 for n in h5[layer].attrs["weight_names"]]
        names[0] = weight_name.encode()
        h5[layer].attrs["weight_names"] = names
    path = legacy_file(tmp_path / "w.h5", model, lie)
    refuses(fresh(), path)


@pytest.mark.parametrize("value", [np.arange(3), np.float64(1.0), np.array([[b"a"]])])
def test_legacy_name_attributes_of_the_wrong_kind_are_refused(tmp_path, value):
    model = small_model()

    def lie(h5):
        h5.attrs["layer_names"] = value
    path = legacy_file(tmp_path / "w.h5", model, lie)
    refuses(fresh(), path)


def test_legacy_whole_model_with_external_link_is_refused(tmp_path):
    """A Keras 2 ``model.save('m.h5')`` file whose model_weights group lives elsewhere."""
    model = small_model()
    weights = legacy_file(tmp_path / "inner.h5", model)
    from tomei.keras.saving import model_config
    import json
    with h5py.File(tmp_path / "m.h5", "w") as h5:
        h5.attrs["model_config"] = json.dumps(model_config.model_to_config(model))
        h5["model_weights"] = h5py.ExternalLink(str(weights), "/")
    with pytest.raises(ModelFileError, match="ExternalLink"):
        tk.models.load_model(tmp_path / "m.h5")


def test_safe_accessor_is_the_only_way_in():
    """No reader of untrusted HDF5 indexes a group directly or opens h5py.File itself."""
    import tomei.keras.saving.h5_layout as layout
    import tomei.keras.saving.saving_api as api
    import tomei.keras.saving.training_state as state
    import inspect
    import re
    for module in (layout, api, state):
        source = inspect.getsource(module)
        readers = source.split("# --- reading")[-1] if module is layout else source
        assert not re.search(r"h5py\.File\([^)]*\"r\"", readers), module.__name__
        assert not re.search(r"\b(h5|group|grp)\[", readers), module.__name__


# --- item 7: cycles and depth ---------------------------------------------------------------


def test_hard_link_cycle_is_handled(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        g = h5["layers"].create_group("zzz")
        g["loop"] = h5["layers"]  # a hard link back up: layers/zzz/loop/zzz/loop/...
        g["again"] = g
    with pytest.raises(ModelFileError, match="layers the model does not have"):
        fresh().load_weights(weights)
    other = fresh()
    with pytest.warns(UserWarning, match="Skipping"):
        other.load_weights(weights, skip_mismatch=True)


def test_root_hard_link_cycle_under_a_layer(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        h5["layers/dense/self"] = h5["/"]
    model = fresh()
    model.load_weights(weights)  # the extra link is not a layer the model has; loads


def test_1200_nested_groups_are_refused(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        g = h5["layers"].create_group("zzz")
        for _ in range(1200):
            g = g.create_group("g")
        g["w"] = np.zeros(2, np.float32)
    refuses(fresh(), weights, "nest more than")


def test_deep_nesting_limit_counts_from_the_root():
    assert safety.MAX_H5_DEPTH >= 16  # nested models in real files stay far below


# --- shapes, dtypes, sizes -------------------------------------------------------------------


@pytest.mark.parametrize("data", [np.array([b"abc"] * 20).reshape(4, 5),
                                  np.zeros((4, 5), np.int32),
                                  np.zeros((4, 5), [("a", "f4")]),
                                  np.zeros((4, 6), np.float32),
                                  np.float32(1.0)])
def test_wrong_dtype_or_shape_is_refused(saved, data):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = data
    refuses(fresh(), weights)


def test_vars_group_that_is_a_dataset_is_refused(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        del h5["layers/dense/vars"]
        h5["layers/dense/vars"] = np.zeros(3, np.float32)
    refuses(fresh(), weights)


def test_huge_declared_optimizer_variable_is_refused_without_reading(saved):
    """The issue's (6e8,) optimizer variable: refused from its declared shape, never read."""
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        del h5["optimizer/vars/1"]  # the learning rate
        h5["optimizer/vars"].create_dataset("1", shape=(600_000_000,), dtype=np.float32,
                                            chunks=(1_000_000,))
    model = fresh()
    model.fit(np.zeros((4, 4), np.float32), np.zeros(4), verbose=0)
    with peak_memory() as mem:
        with pytest.raises(ModelFileError, match="learning_rate"):
            model.load_weights(weights)
    assert mem["peak"] < 200 * MB, mem


@pytest.mark.parametrize("index, value", [(0, np.float32(1.5)), (0, np.int64(-3)),
                                          (1, np.float32(np.nan)), (1, np.float32(-1)),
                                          (0, np.array([1, 2]))])
def test_bad_optimizer_scalars_are_refused(saved, index, value):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        del h5[f"optimizer/vars/{index}"]
        h5[f"optimizer/vars/{index}"] = value
    model = fresh()
    model.fit(np.zeros((4, 4), np.float32), np.zeros(4), verbose=0)
    with pytest.raises(ModelFileError):
        model.load_weights(weights)


def test_optimizer_vars_named_oddly_are_refused(saved):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        h5["optimizer/vars/not-a-number"] = np.zeros(1)
    model = fresh()
    model.fit(np.zeros((4, 4), np.float32), np.zeros(4), verbose=0)
    with pytest.raises(ModelFileError, match="datasets named"):
        model.load_weights(weights)


def test_truncated_weights_file_is_refused(saved):
    _, weights, _ = saved
    data = weights.read_bytes()
    for cut in (len(data) // 2, 600, 8):
        weights.write_bytes(data[:cut])
        refuses(fresh(), weights)


# --- item 13: NaN / inf weights ---------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_load_with_a_warning_naming_them(saved, bad):
    _, weights, _ = saved
    with h5py.File(weights, "r+") as h5:
        h5["layers/dense_1/vars/1"][0] = bad
    model = fresh()
    with pytest.warns(UserWarning, match=r"/bias' .*layers/dense_1/vars/1 holds 1 NaN or infinite"):
        model.load_weights(weights)
    assert not np.isfinite(model.layers[1].bias.numpy()).all()


def test_non_finite_weights_in_keras_file_warn(saved):
    _, _, keras_file = saved

    def poison(h5):
        h5["layers/dense/vars/0"][1, 2] = np.nan
        h5["optimizer/vars/2"][0, 0] = np.inf
    rewrite_keras(keras_file, poison)
    with pytest.warns(UserWarning) as record:
        tk.models.load_model(keras_file)
    text = " ".join(str(r.message) for r in record)
    assert "/kernel' loaded from" in text and "layers/dense/vars/0" in text
    assert "optimizer variable /optimizer/vars/2" in text


def test_finite_weights_load_without_warnings(saved):
    _, weights, _ = saved
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh().load_weights(weights)
