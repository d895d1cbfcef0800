"""Crafted .keras / legacy .h5 model files (issue 14 items 5 and 7): configs that ask for
more memory than the file holds, configs nested to break the stack, and configs of the wrong
shape anywhere. Each gives a ModelFileError quickly, within 200 MB of memory.
"""
import json
import time
import zipfile

import h5py
import numpy as np
import pytest
from .adv_helpers import MB, peak_memory, rewrite_keras, small_model

import tomei.keras as tk
from tomei.keras.saving import ModelFileError, safety


@pytest.fixture
def keras_file(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    return path


def layer_cfg(cfg, i):
    """The i-th layer entry of a Sequential config (0 is the InputLayer)."""
    return cfg["config"]["layers"][i]


def load_refused(path, match=None):
    started = time.perf_counter()
    with peak_memory() as mem:
        with pytest.raises(ModelFileError, match=match) as info:
            tk.models.load_model(path)
    assert mem["peak"] < 200 * MB, mem
    assert time.perf_counter() - started < 30
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, ModelFileError)
    return info.value


# --- item 5: allocation only within what the file stores -------------------------------------


def big_dense(cfg, units=200_000, inputs=2_000):
    layer_cfg(cfg, 0)["config"]["batch_shape"] = [None, inputs]
    layer_cfg(cfg, 1)["config"]["units"] = units
    layer_cfg(cfg, 1).pop("build_config", None)
    layer_cfg(cfg, 2).pop("build_config", None)
    cfg["build_config"]["input_shape"] = [None, inputs]
    return cfg


def test_dense_200000_units_is_refused_before_allocating(keras_file):
    """The issue's case: 1.6 GB of kernel asked for by a 20 KB file."""
    rewrite_keras(keras_file, config=big_dense)
    load_refused(keras_file, "stores only")


@pytest.mark.parametrize("units", [10**10, 2**62, 10**40])
def test_absurd_integer_units_never_reach_numpy(keras_file, units):
    rewrite_keras(keras_file, config=lambda c: big_dense(c, units=units, inputs=4))
    load_refused(keras_file)


@pytest.mark.parametrize("units", [1e10, -5, 0, "many", None, [], True, {"a": 1}, 3.5])
def test_units_of_the_wrong_kind_are_refused(keras_file, units):
    def lie(cfg):
        layer_cfg(cfg, 1)["config"]["units"] = units
        return cfg
    rewrite_keras(keras_file, config=lie)
    load_refused(keras_file)


@pytest.mark.parametrize("shape", [[None, 10**12], [None, -3], "abc", [None, "x"], 7,
                                   [None, 4.5], [[None]]])
def test_input_shapes_of_the_wrong_kind_are_refused(keras_file, shape):
    def lie(cfg):
        layer_cfg(cfg, 0)["config"]["batch_shape"] = shape
        cfg["build_config"]["input_shape"] = shape
        for i in (1, 2):
            layer_cfg(cfg, i).pop("build_config", None)
        return cfg
    rewrite_keras(keras_file, config=lie)
    load_refused(keras_file)


def test_weights_declared_but_never_written_do_not_buy_memory(keras_file):
    """A dataset that declares 10**9 values but stores none counts for nothing."""
    def pad(h5):
        h5.create_dataset("layers/padding", shape=(10**9,), dtype=np.float32,
                          chunks=(10**6,))
    rewrite_keras(keras_file, mutate_h5=pad, config=big_dense)
    load_refused(keras_file, "stores only")


def test_63_mb_config_of_empty_objects_is_refused_fast(tmp_path, keras_file):
    """The issue's case: a 200 KB .keras whose config.json inflates to 63 MB of {}."""
    body = b'{"class_name": "Sequential", "config": {"layers": [' + b"{}," * 21_000_000 + \
        b'{}]}}'
    rewrite_keras(keras_file, config=body, compression=zipfile.ZIP_DEFLATED)
    del body
    assert keras_file.stat().st_size < 1 * MB
    load_refused(keras_file, "over the limit")


def test_config_with_too_many_objects_is_refused_before_parsing(keras_file):
    body = b'{"a": [' + b"[]," * (safety.MAX_JSON_CONTAINERS + 10) + b"[]]}"
    rewrite_keras(keras_file, config=body, compression=zipfile.ZIP_DEFLATED)
    load_refused(keras_file, "MAX_JSON_CONTAINERS")


def test_zip_member_lying_about_its_size_is_refused(keras_file):
    with zipfile.ZipFile(keras_file) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["config.json"] = b" " * (safety.MAX_JSON_BYTES + 1)
    with zipfile.ZipFile(keras_file, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    load_refused(keras_file, "over the limit")


# --- item 7: depth ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 300, 600, 5000])
def test_deep_config_json_is_refused(keras_file, depth):
    def deepen(cfg):
        return _deep_bytes(cfg, depth)
    rewrite_keras(keras_file, config=deepen)
    load_refused(keras_file, "deep|not valid JSON|nests")


def _deep_bytes(cfg, depth):
    """json.dumps itself recurses; build the deep text by hand."""
    layer_cfg(cfg, 1)["config"]["extra"] = "@@"
    return json.dumps(cfg).replace('"@@"', '{"a": [' * depth + "1" + "]}" * depth).encode()


def nested_sequentials(levels):
    inner = {"module": "keras", "class_name": "Sequential",
             "config": {"name": "s0", "layers": [
                 {"module": "keras.layers", "class_name": "Dense",
                  "config": {"units": 2, "name": "d"}, "registered_name": None}]},
             "registered_name": None}
    for i in range(1, levels):
        inner = {"module": "keras", "class_name": "Sequential",
                 "config": {"name": f"s{i}", "layers": [inner]}, "registered_name": None}
    return inner


def test_300_nested_sequentials_are_refused(keras_file):
    """The issue's case: 300 Sequentials inside each other (text built by hand)."""
    text = json.dumps(nested_sequentials(2)).replace('"layers": [{"module": "keras.layers"',
                                                     '"layers": [@@')
    assert "@@" in text
    head = '{"module": "keras", "class_name": "Sequential", "config": {"layers": ['
    body = head * 300 + '{"module": "keras.layers", "class_name": "Dense", "config": ' \
        '{"units": 2}}' + "]}}" * 300
    rewrite_keras(keras_file, config=body.encode())
    load_refused(keras_file, "deep|nests")


def test_moderately_nested_sequentials_still_load(tmp_path):
    """The depth limit leaves room for real nesting (a model in a model in a model)."""
    tk.utils.set_random_seed(0)
    inner = tk.Sequential([tk.layers.Input(shape=(4,)), tk.layers.Dense(3)])
    middle = tk.Sequential([tk.layers.Input(shape=(4,)), inner, tk.layers.Dense(2)])
    outer = tk.Sequential([tk.layers.Input(shape=(4,)), middle, tk.layers.Dense(1)])
    path = tmp_path / "nest.keras"
    outer.save(path)
    loaded = tk.models.load_model(path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), outer.predict(x, verbose=0),
                               rtol=1e-6)


def test_deep_metadata_json_is_refused(keras_file):
    deep = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    rewrite_keras(keras_file, extra_members={"metadata.json": deep})
    load_refused(keras_file, "deep|nests")


def test_deep_legacy_model_config_is_refused(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = '{"a": ' + "[" * 3000 + "]" * 3000 + "}"
        h5.create_group("model_weights").attrs["layer_names"] = []
    load_refused(path, "deep|nests")


def test_legacy_model_config_asking_for_gigabytes_is_refused(tmp_path):
    model = small_model()
    from tomei.keras.saving import model_config
    cfg = big_dense(model_config.model_to_config(model))
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(cfg)
        h5.create_group("model_weights").attrs["layer_names"] = []
    load_refused(path, "stores only")


@pytest.mark.parametrize("value", [np.arange(4), np.float64(2.0), b"\xff\xfe not utf-8",
                                   "[1, 2]", "null"])
def test_legacy_model_config_of_the_wrong_kind_is_refused(tmp_path, value):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = value
    load_refused(path)


# --- configs of the wrong shape anywhere: never a raw KeyError/TypeError/AttributeError -----


def _set(path, value):
    def mutate(cfg):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return cfg
    return mutate


def _del(path):
    def mutate(cfg):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return cfg
    return mutate


CRAFTED = {
    "config is a list": lambda c: [c],
    "config is a number": lambda c: 5,
    "config is null": lambda c: None,
    "class_name a number": _set(["class_name"], 7),
    "class_name unknown": _set(["class_name"], "Popen"),
    "module os": lambda c: {**c, "module": "os", "class_name": "system"},
    "registered_name a list": _set(["registered_name"], ["x"]),
    "registered_name a dict": _set(["config", "layers", 1, "registered_name"], {"a": 1}),
    "config a list": _set(["config"], [1, 2]),
    "config a string": _set(["config"], "abc"),
    "layers a number": _set(["config", "layers"], 5),
    "layers of numbers": _set(["config", "layers"], [5, 6]),
    "layer without config": _del(["config", "layers", 1, "config"]),
    "layer without class_name": _del(["config", "layers", 1, "class_name"]),
    "layer config a list": _set(["config", "layers", 1, "config"], [1]),
    "activation a number": _set(["config", "layers", 1, "config", "activation"], 3),
    "activation unknown": _set(["config", "layers", 1, "config", "activation"], "rm_rf"),
    "initializer garbage": _set(["config", "layers", 1, "config", "kernel_initializer"],
                                {"class_name": "GlorotUniform", "config": {"seed": "x"}}),
    "initializer unknown": _set(["config", "layers", 1, "config", "kernel_initializer"],
                                {"class_name": "Eval", "config": {}}),
    "dtype garbage": _set(["config", "layers", 1, "config", "dtype"], {"config": 3}),
    "build_config a list": _set(["build_config"], [1]),
    "build input_shape a dict": _set(["build_config", "input_shape"], {"a": 1}),
    "layer build_config garbage": _set(["config", "layers", 1, "build_config"],
                                       {"input_shape": "x"}),
    "optimizer unknown": _set(["compile_config", "optimizer"],
                              {"class_name": "Rocket", "config": {}}),
    "optimizer lr a string": _set(["compile_config", "optimizer", "config", "learning_rate"],
                                  "fast"),
    "optimizer config a list": _set(["compile_config", "optimizer", "config"], [1]),
    "loss a function with a list name": _set(["compile_config", "loss"],
                                             {"class_name": "function", "config": ["x"]}),
    "loss a number": _set(["compile_config", "loss"], 12),
    "metrics a dict of numbers": _set(["compile_config", "metrics"], {"a": 1}),
    "compile_config a list": _set(["compile_config"], [1]),
    "lambda activation": _set(["config", "layers", 1, "config", "activation"],
                              {"class_name": "__lambda__", "config": {"code": "x"}}),
    "name a dict": _set(["config", "layers", 1, "config", "name"], {"a": 1}),
    "trainable a string": _set(["config", "layers", 1, "config", "trainable"], "yes"),
    "use_bias a list": _set(["config", "layers", 1, "config", "use_bias"], [1]),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_configs_give_a_model_file_error(keras_file, case):
    rewrite_keras(keras_file, config=lambda c: json.dumps(CRAFTED[case](c)).encode())
    try:
        tk.models.load_model(keras_file)
    except ModelFileError:
        return
    except (ValueError, TypeError) as err:  # a clear, named error is also acceptable...
        assert not isinstance(err, (KeyError, AttributeError, RecursionError))
        pytest.fail(f"{case}: {type(err).__name__} instead of ModelFileError: {err}")
    # ...and so is a load that works, when the change is harmless (a name, a flag).
    # (registered_name is only a lookup hint; a Sequential is built from its InputLayer, so
    # the build_config entries are not used.)
    assert case in {"name a dict", "trainable a string", "use_bias a list",
                    "metrics a dict of numbers", "registered_name a list",
                    "registered_name a dict", "build input_shape a dict",
                    "layer build_config garbage"}, f"{case} loaded silently"
