"""model.save / load_model / save_weights / load_weights: round trips, the Keras 3 file layout,
file-name rules, atomic writes and refusing unsafe or broken files (tomei only; the files'
compatibility with real Keras 3 is tested in test_saving_keras_interop.py)."""
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import h5py
import numpy as np
import pytest

import tomei
import tomei.keras as tk
from tomei.keras import layers
from tomei.keras.saving import ModelFileError, h5_layout, safety

RNG = np.random.default_rng(0)
X = RNG.random((96, 28, 28)).astype(np.float32)
Y = RNG.integers(0, 10, 96)


def tutorial_model(seed=1, dropout=0.2, compile=True):
    tk.utils.set_random_seed(seed)
    model = tk.Sequential([layers.Flatten(input_shape=(28, 28)),
                           layers.Dense(32, activation="relu"),
                           layers.Dropout(dropout),
                           layers.Dense(10)])
    if compile:
        model.compile(optimizer="adam",
                      loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


# --- round trips -----------------------------------------------------------------------------


def test_save_load_round_trip_restores_everything(tmp_path):
    model = tutorial_model()
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = tk.models.load_model(path)

    assert type(loaded) is tk.Sequential
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["Flatten", "Dense", "Dropout", "Dense"]
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert_same_weights(loaded, model)
    # compile configuration
    assert isinstance(loaded.optimizer, tk.optimizers.Adam)
    assert loaded.optimizer.learning_rate == pytest.approx(0.001)
    assert loaded.optimizer.epsilon == 1e-7
    assert isinstance(loaded.loss, tk.losses.SparseCategoricalCrossentropy)
    assert loaded.loss.from_logits is True
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0))
    # optimizer state: step count and both moments of every weight
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    for old, new in zip(model.optimizer._slots, loaded.optimizer._slots):
        for name in ("momentum", "velocity"):
            np.testing.assert_array_equal(old[name], new[name])
            assert np.abs(new[name]).sum() > 0


@pytest.mark.parametrize("shuffle_and_dropout", [False, True])
def test_training_continues_exactly_after_save_and_load(tmp_path, shuffle_and_dropout):
    """Two epochs in one go == one epoch, save, load, one more epoch.

    The .keras file holds weights and optimizer state (as Keras's does). Shuffling and
    dropout also draw from tomei's random generator, which a .keras file does not store
    (Keras does not either); the shuffled variant carries the generator state across by
    hand, as BackupAndRestore does (see test_backup_restore.py)."""
    rate = 0.3 if shuffle_and_dropout else 0.0
    fit = dict(batch_size=16, verbose=0, shuffle=shuffle_and_dropout)
    straight = tutorial_model(seed=5, dropout=rate)
    straight.fit(X, Y, epochs=2, **fit)

    first = tutorial_model(seed=5, dropout=rate)
    first.fit(X, Y, epochs=1, **fit)
    first.save(tmp_path / "half.keras")
    rng_state = tomei.config.rng().bit_generator.state
    del first
    tk.utils.set_random_seed(123)  # a fresh process would have another generator state
    resumed = tk.models.load_model(tmp_path / "half.keras")
    if shuffle_and_dropout:
        tomei.config.rng().bit_generator.state = rng_state
    resumed.fit(X, Y, epochs=1, **fit)
    assert_same_weights(resumed, straight)


def test_load_without_compile(tmp_path):
    model = tutorial_model()
    model.save(tmp_path / "m.keras")
    loaded = tk.models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(X[:4], verbose=0), model.predict(X[:4], verbose=0))


def test_uncompiled_and_unbuilt_models(tmp_path):
    model = tutorial_model(compile=False)
    model.save(tmp_path / "plain.keras")
    loaded = tk.models.load_model(tmp_path / "plain.keras")
    assert not loaded.compiled
    with zipfile.ZipFile(tmp_path / "plain.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
            assert "optimizer" not in h5
    unbuilt = tk.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="not been built"):
        unbuilt.save(tmp_path / "unbuilt.keras")


def branchy_model():
    """A graph whose Keras layer order (by depth) differs from creation order."""
    tk.backend.clear_session()
    tk.utils.set_random_seed(2)
    inp = layers.Input(shape=(6,), name="features")
    side = layers.Dense(4, name="side")(inp)               # created first, but shallow
    deep = layers.Dense(5, activation="tanh", name="deep")(inp)
    deeper = layers.Dense(7, name="deeper")(deep)
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate()([side, deeper])
    out = layers.Add()([shared(layers.Dense(3)(merged)), shared(layers.Dense(3)(side))])
    return tk.Model(inp, out)


def test_functional_layer_order_follows_keras(tmp_path):
    model = branchy_model()
    names = [layer.name for layer in model.layers]
    assert names[0] == "features"
    # depth from the output: deep (3 calls away) before side and deeper (2), etc.
    assert names.index("deep") < names.index("side") < names.index("deeper")
    model.save(tmp_path / "b.keras")
    with zipfile.ZipFile(tmp_path / "b.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
            keys = list(h5["layers"])
            # group keys come from class names in that order: deep is "dense", side "dense_1"
            assert h5["layers/dense/vars"].attrs["name"] == "deep"
            assert h5["layers/dense_1/vars"].attrs["name"] == "side"
            assert h5["layers/input_layer/vars"].attrs["name"] == "features"
            assert h5["layers/dense/vars/0"].shape == (6, 5)
            assert "concatenate" in keys and "add" in keys


def test_functional_config_is_keras3_format_and_round_trips(tmp_path):
    model = branchy_model()
    config = model.get_config()
    assert config["input_layers"] == ["features", 0, 0]
    entry = {e["name"]: e for e in config["layers"]}
    assert entry["features"]["inbound_nodes"] == []
    shared_nodes = entry["shared"]["inbound_nodes"]
    assert len(shared_nodes) == 2  # a shared layer: one node per call
    arg = shared_nodes[0]["args"][0]
    assert arg["class_name"] == "__keras_tensor__"
    assert arg["config"]["keras_history"][1:] == [0, 0]
    concat_args = entry["concatenate"]["inbound_nodes"][0]["args"][0]
    assert [a["config"]["keras_history"][0] for a in concat_args] == ["side", "deeper"]
    assert entry["concatenate"]["build_config"] == {"input_shape": [[None, 4], [None, 7]]}
    assert config["output_layers"] == ["add", 0, 0]

    rebuilt = tk.Model.from_config(config) if hasattr(tk.Model, "from_config") else None
    rebuilt = type(model).from_config(json.loads(json.dumps(config)))
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = RNG.random((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))

    model.compile("sgd", "mse")
    model.save(tmp_path / "b.keras")
    loaded = tk.models.load_model(tmp_path / "b.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_multi_input_multi_output_and_nested_models(tmp_path):
    tk.utils.set_random_seed(4)
    inner = tk.Sequential([layers.Dense(4), layers.Dense(5, activation="relu")], name="inner")
    a = layers.Input(shape=(3,), name="a")
    b = layers.Input(shape=(5,), name="b")
    h = inner(a)
    out1 = layers.Dense(2, name="head")(h)
    out2 = layers.Multiply()([h, b])
    model = tk.Model([a, b], [out1, out2])
    model.compile("rmsprop", ["mse", "mae"])
    xa, xb = RNG.random((8, 3)), RNG.random((8, 5))
    model.fit([xa, xb], [RNG.random((8, 2)), RNG.random((8, 5))], epochs=1, verbose=0)
    model.save(tmp_path / "multi.keras")
    loaded = tk.models.load_model(tmp_path / "multi.keras")
    for got, want in zip(loaded.predict([xa, xb], verbose=0), model.predict([xa, xb], verbose=0)):
        np.testing.assert_array_equal(got, want)
    assert loaded.optimizer.iterations == 1
    with zipfile.ZipFile(tmp_path / "multi.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
            assert h5["layers/sequential/vars"].attrs["name"] == "inner"
            assert h5["layers/sequential/layers/dense_1/vars/0"].shape == (4, 5)
            assert "input_layer_1" in h5["layers"]


# --- the file layout -------------------------------------------------------------------------


def test_archive_layout_matches_keras3(tmp_path):
    model = tutorial_model()
    model.layers[1].name = "my_dense"  # group names come from the class, not the layer name
    model.fit(X[:32], Y[:32], epochs=1, batch_size=32, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
        h5 = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    assert set(metadata) >= {"keras_version", "date_saved"}
    assert metadata["keras_version"].startswith("3.")
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras", "Sequential", None)
    assert config["build_config"] == {"input_shape": [None, 28, 28]}
    first, flatten, dense = config["config"]["layers"][:3]
    assert first["class_name"] == "InputLayer"
    assert first["config"]["batch_shape"] == [None, 28, 28]
    assert "batch_input_shape" not in flatten["config"]
    assert flatten["build_config"] == {"input_shape": [None, 28, 28]}
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert dense["config"]["dtype"] == {"module": "keras", "class_name": "DTypePolicy",
                                        "config": {"name": "float32"}, "registered_name": None}
    assert dense["build_config"] == {"input_shape": [None, 784]}
    compiled = config["compile_config"]
    assert compiled["optimizer"]["class_name"] == "Adam"
    assert compiled["optimizer"]["module"] == "keras.optimizers"
    assert compiled["loss"]["config"]["from_logits"] is True
    assert compiled["metrics"] == ["accuracy"]
    with h5:
        assert h5["vars"].attrs["name"] == "sequential"
        assert sorted(h5["layers"]) == ["dense", "dense_1", "dropout", "flatten"]
        assert h5["layers/dense/vars"].attrs["name"] == "my_dense"
        assert h5["layers/dense/vars/0"].shape == (784, 32)
        assert h5["layers/dense/vars/1"].shape == (32,)
        assert len(h5["layers/flatten/vars"]) == 0
        opt = h5["optimizer/vars"]
        assert opt.attrs["name"] == "adam" and len(opt) == 2 + 2 * 4
        assert opt["0"][()] == 1 and opt["0"].dtype.kind == "i"
        assert opt["1"][()] == np.float32(0.001)
        kernel_slots = model.optimizer._slots[0]
        np.testing.assert_array_equal(opt["2"][()], kernel_slots["momentum"])  # interleaved:
        np.testing.assert_array_equal(opt["3"][()], kernel_slots["velocity"])  # m, v per weight
        assert opt["4"].shape == (32,) and opt["6"].shape == (32, 10)


def test_rmsprop_slots_are_stored_by_kind(tmp_path):
    model = tutorial_model(compile=False)
    model.compile(tk.optimizers.RMSprop(momentum=0.5, centered=True), "mse")
    model.fit(X[:8], RNG.random((8, 10)), epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as h5:
        shapes = [h5[f"optimizer/vars/{i}"].shape for i in range(len(h5["optimizer/vars"]))]
    per_kind = [(784, 32), (32,), (32, 10), (10,)]
    assert shapes == [(), ()] + per_kind * 3  # velocities, then momentums, then averages
    fresh = tutorial_model(seed=9, compile=False)
    fresh.compile(tk.optimizers.RMSprop(momentum=0.5, centered=True), "mse")
    fresh.load_weights(tmp_path / "w.weights.h5")
    for old, new in zip(model.optimizer._slots, fresh.optimizer._slots):
        for name in old:
            np.testing.assert_array_equal(old[name], new[name])


# --- weights only ----------------------------------------------------------------------------


def test_save_weights_load_weights(tmp_path):
    model = tutorial_model()
    model.fit(X[:32], Y[:32], epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = tutorial_model(seed=7)
    other.load_weights(tmp_path / "w.weights.h5")
    assert_same_weights(other, model)
    assert other.optimizer.iterations == 1
    # load_weights also reads the weights inside a .keras file
    model.save(tmp_path / "m.keras")
    third = tutorial_model(seed=8, compile=False)
    third.load_weights(tmp_path / "m.keras")
    assert_same_weights(third, model)


def test_load_weights_mismatch_is_refused_and_leaves_model_untouched(tmp_path):
    model = tutorial_model()
    model.save_weights(tmp_path / "w.weights.h5")
    tk.utils.set_random_seed(3)
    wider = tk.Sequential([layers.Flatten(input_shape=(28, 28)),
                           layers.Dense(33, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(10)])
    before = wider.get_weights()
    with pytest.raises(ModelFileError, match=r"shape \(784, 33\).*\(784, 32\).*skip_mismatch"):
        wider.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, wider.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="Skipping"):
        wider.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(wider.layers[3].get_weights()[1],
                                  model.layers[3].get_weights()[1])

    fewer = tk.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(32)])
    with pytest.raises(ModelFileError, match="layers the model does not have: layers/dense_1"):
        fewer.load_weights(tmp_path / "w.weights.h5")


def test_load_weights_wrong_dtype_is_refused(tmp_path):
    model = tutorial_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r+") as h5:
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars"].create_dataset("1", data=np.zeros(32, np.int32))
    with pytest.raises(ModelFileError, match="int32"):
        tutorial_model().load_weights(path)


def test_keras2_legacy_weights_are_read(tmp_path):
    """Keras 2's save_weights('w.h5') layout: layer_names / weight_names attributes."""
    model = tutorial_model()
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as h5:
        with_weights = [layer for layer in model.layers if layer.weights]
        h5.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        for layer in model.layers:
            group = h5.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, w in zip(names, layer.weights):
                group.create_dataset(name.decode(), data=w.numpy())
    assert len(with_weights) == 2
    other = tutorial_model(seed=11)
    other.load_weights(path)
    assert_same_weights(other, model)


# --- file-name rules (from a user report: an unexpected name is refused clearly) ------------


@pytest.mark.parametrize("name, hint", [
    ("model/1", r"SavedModel.*save\('{dir}model/1.keras'\)"),
    ("w.weights.h5", r"save_weights\('{dir}w.weights.h5'\).*save\('{dir}w.keras'\)"),
    ("model.pkl", r"save\('{dir}model.keras'\)"),
])
def test_save_needs_keras_extension(tmp_path, name, hint):
    model = tutorial_model()
    with pytest.raises(ValueError, match=r"must end in '\.keras'") as info:
        model.save(os.path.join(tmp_path, name))
    hint = hint.format(dir=__import__("re").escape(str(tmp_path) + os.sep))
    assert __import__("re").search(hint, str(info.value)), str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, suggested", [
    ("model/1", "model.save('model/1.keras')"),  # the folder is kept, not dropped
    ("model/1/", "model.save('model/1.keras')"),
    ("runs/model.pkl", "model.save('runs/model.keras')"),
])
def test_save_suggestion_keeps_the_folder(tmp_path, monkeypatch, name, suggested):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"must end in '\.keras'") as info:
        tutorial_model().save(name)
    assert suggested in str(info.value)
    assert os.listdir(tmp_path) == []


def test_save_weights_needs_weights_h5_extension(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"'\.weights\.h5'.*save_weights\('.*w\.weights\.h5'\).*"
                                         r"save\('.*w\.keras'\)"):
        tutorial_model().save_weights(tmp_path / "w.h5")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as info:
        tutorial_model().save_weights("out/w.h5")
    assert "model.save_weights('out/w.weights.h5')" in str(info.value)
    assert "model.save('out/w.keras')" in str(info.value)


def test_load_model_name_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        tk.models.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="folder"):
        tk.models.load_model(tmp_path)
    model = tutorial_model()
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match=r"weights only.*load_weights"):
        tk.models.load_model(tmp_path / "w.weights.h5")


def test_overwrite_false(tmp_path):
    model = tutorial_model()
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m.keras", overwrite=False)
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "w.weights.h5", overwrite=False)


# --- atomic writes ---------------------------------------------------------------------------


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    model = tutorial_model()
    path = tmp_path / "m.keras"
    model.save(path)
    good = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(h5_layout, "write_model", explode)
    model.layers[1].kernel.assign(np.zeros((784, 32)))
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    with pytest.raises(RuntimeError):
        model.save_weights(tmp_path / "w.weights.h5")
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary files left behind


def test_kill_during_saves_never_breaks_the_file(tmp_path):
    """A process saving in a loop is SIGKILLed; the file it was replacing still loads."""
    path = tmp_path / "m.keras"
    script = textwrap.dedent(f"""
        import numpy as np, tomei.keras as tk
        from tomei.keras import layers
        m = tk.Sequential([layers.Input((256,)), layers.Dense(512), layers.Dense(512)])
        m.compile('adam', 'mse')
        m.fit(np.ones((4, 256)), np.ones((4, 512)), verbose=0)
        m.save({str(path)!r})
        print('ready', flush=True)
        i = 0
        while True:
            m.layers[0].bias.assign(np.full(512, i, np.float32)); i += 1
            m.save({str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.4)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    loaded = tk.models.load_model(path)
    bias = loaded.layers[0].get_weights()[1]
    assert np.all(bias == bias[0])  # one consistent save, not a mix


# --- unsafe and broken files -----------------------------------------------------------------


def _rewrite(src, dst, change=None, extra=()):
    """Copies a .keras zip, passing each (name, bytes) through ``change``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if change is not None:
                name, data = change(info.filename, data)
                if name is None:
                    continue
            else:
                name = info.filename
            zout.writestr(name, data)
        for name, data in extra:
            zout.writestr(name, data)


def _edit_config(src, dst, edit):
    def change(name, data):
        if name == "config.json":
            cfg = json.loads(data)
            edit(cfg)
            data = json.dumps(cfg).encode()
        return name, data
    _rewrite(src, dst, change)


@pytest.fixture
def saved(tmp_path):
    model = tutorial_model()
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def test_lambda_is_refused(saved, tmp_path):
    bad = tmp_path / "lambda.keras"

    def lambda_activation(cfg):  # how Keras writes Dense(activation=lambda x: ...)
        cfg["config"]["layers"][2]["config"]["activation"] = {"value": ["4wEAAAAA", None, None]}
    _edit_config(saved, bad, lambda_activation)
    for safe_mode in (True, False):
        with pytest.raises(ModelFileError, match=r"lambda.*'__lambda__'.*Dense.*custom_objects"):
            tk.models.load_model(bad, safe_mode=safe_mode)

    bad2 = tmp_path / "lambda_layer.keras"

    def lambda_layer(cfg):
        cfg["config"]["layers"].insert(2, {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "lambda", "function": {"class_name": "__lambda__",
                                                      "config": {"code": "4wEAAAAA"}}}})
    _edit_config(saved, bad2, lambda_layer)
    with pytest.raises(ModelFileError, match=r"'__lambda__'.*Lambda.*custom_objects=\{'Lambda'"):
        tk.models.load_model(bad2)


class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_unknown_class_names_the_fix_and_custom_objects_work(tmp_path):
    tk.utils.set_random_seed(0)
    model = tk.Sequential([layers.Input((3,)), layers.Dense(2), Scale(3.0)])
    model.save(tmp_path / "custom.keras")
    with pytest.raises(ModelFileError, match=r"Unknown layer class 'Scale'.*custom_objects="
                                             r"\{'Scale': Scale\}"):
        tk.models.load_model(tmp_path / "custom.keras")
    loaded = tk.models.load_model(tmp_path / "custom.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[1].factor == 3.0
    x = RNG.random((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with tk.saving.custom_object_scope({"Scale": Scale}):
        tk.models.load_model(tmp_path / "custom.keras")


def test_register_keras_serializable_and_custom_functions(tmp_path):
    @tk.saving.register_keras_serializable(package="TestPkg")
    class Shift(layers.Layer):
        def call(self, x):
            return x + 1.0

    def doubled(x):
        return x * 2.0

    def my_loss(y_true, y_pred):
        return tomei.reduce_mean(tomei.square(y_pred - y_true), axis=-1)

    model = tk.Sequential([layers.Input((3,)), layers.Dense(2, activation=doubled), Shift()])
    model.compile("sgd", loss=my_loss)
    model.save(tmp_path / "fn.keras")
    with zipfile.ZipFile(tmp_path / "fn.keras") as archive:
        cfg = json.loads(archive.read("config.json"))
    assert cfg["config"]["layers"][2]["registered_name"] == "TestPkg>Shift"
    assert cfg["config"]["layers"][1]["config"]["activation"] == {
        "module": "builtins", "class_name": "function", "config": "doubled",
        "registered_name": "function"}
    assert cfg["compile_config"]["loss"]["config"] == "my_loss"
    with pytest.raises(ModelFileError, match=r"function named 'doubled'.*custom_objects="
                                             r"\{'doubled': doubled\}"):
        tk.models.load_model(tmp_path / "fn.keras")
    loaded = tk.models.load_model(tmp_path / "fn.keras",
                                  custom_objects={"doubled": doubled, "my_loss": my_loss})
    assert loaded.layers[0].activation is doubled
    x = RNG.random((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.fit(x, RNG.random((4, 2)), verbose=0)  # the custom loss works


def test_keras_only_options_dropped_when_off_refused_when_on(saved, tmp_path):
    off = tmp_path / "off.keras"
    _edit_config(saved, off, lambda cfg: cfg["config"]["layers"][2]["config"].update(
        quantization_config=None, lora_rank=None))
    tk.models.load_model(off)
    on = tmp_path / "on.keras"
    _edit_config(saved, on, lambda cfg: cfg["config"]["layers"][2]["config"].update(lora_rank=4))
    with pytest.raises(ModelFileError, match="Dense.*lora_rank=4.*does not implement"):
        tk.models.load_model(on)


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil", "a/../../evil"])
def test_unsafe_member_names_are_refused(saved, tmp_path, member):
    bad = tmp_path / "traversal.keras"
    _rewrite(saved, bad, extra=[(member, b"x")])
    with zipfile.ZipFile(bad) as archive:  # zipfile keeps the name as written
        assert member.lstrip("/") in [n.lstrip("/") for n in archive.namelist()]
    with pytest.raises(ModelFileError, match="absolute path or '..'"):
        tk.models.load_model(bad)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_truncated_files_get_clear_errors(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (len(data) // 2, 100, 0):
        bad = tmp_path / f"cut{cut}.keras"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated|damaged|empty"):
            tk.models.load_model(bad)
    # a complete zip whose HDF5 member is cut short
    short_h5 = tmp_path / "short_h5.keras"
    _rewrite(saved, short_h5, lambda n, d: (n, d[: len(d) // 3] if n.endswith(".h5") else d))
    with pytest.raises(ModelFileError, match=r"model.weights.h5.*(truncated|damaged)"):
        tk.models.load_model(short_h5)
    weights = tmp_path / "w.weights.h5"
    tutorial_model().save_weights(weights)
    raw = weights.read_bytes()
    weights.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="truncated or damaged"):
        tutorial_model().load_weights(weights)


def test_missing_members_and_bad_json(saved, tmp_path):
    no_weights = tmp_path / "no_weights.keras"
    _rewrite(saved, no_weights, lambda n, d: (None, d) if n.endswith(".h5") else (n, d))
    with pytest.raises(ModelFileError,
                       match=r"no model.weights.h5.*found: metadata.json, config.json"):
        tk.models.load_model(no_weights)
    npz = tmp_path / "npz.keras"
    _rewrite(saved, npz, lambda n, d: ("model.weights.npz", b"PK") if n.endswith(".h5") else (n, d))
    with pytest.raises(ModelFileError, match="pickle"):
        tk.models.load_model(npz)
    bad_json = tmp_path / "json.keras"
    _rewrite(saved, bad_json, lambda n, d: (n, d[:-5]) if n == "config.json" else (n, d))
    with pytest.raises(ModelFileError, match="config.json is not valid JSON"):
        tk.models.load_model(bad_json)
    h5_named_keras = tmp_path / "renamed.keras"
    tutorial_model().save_weights(tmp_path / "w.weights.h5")
    os.replace(tmp_path / "w.weights.h5", h5_named_keras)
    with pytest.raises(ModelFileError, match="HDF5 file, not a zip"):
        tk.models.load_model(h5_named_keras)


def test_oversized_members_are_refused_before_reading(saved, tmp_path, monkeypatch):
    import tracemalloc
    monkeypatch.setattr(safety, "MAX_JSON_BYTES", 1000)
    with pytest.raises(ModelFileError, match="config.json declares .* over the limit"):
        tk.models.load_model(saved)
    monkeypatch.undo()
    # a zip bomb: 40 MB of zeros compressed to ~40 KB, declared honestly
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", b"\x00" * (40 * 2**20))
        archive.writestr("model.weights.h5", b"")
    monkeypatch.setattr(safety, "_RATIO_FLOOR", 2**20)
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="zip bomb"):
        tk.models.load_model(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2**20
    monkeypatch.setattr(safety, "MAX_WEIGHTS_BYTES", 2**20)
    with pytest.raises(ModelFileError, match="over the limit"):
        tk.models.load_model(bomb)


def test_external_links_in_hdf5_are_refused(tmp_path):
    model = tutorial_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    (tmp_path / "secret.h5").write_bytes(b"")
    with h5py.File(path, "r+") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink("secret.h5", "/data")
    with pytest.raises(ModelFileError, match="ExternalLink"):
        tutorial_model().load_weights(path)


class TwoLayers(tk.Model):
    """A subclassed model (its own call): saved like Keras, loaded with custom_objects."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="relu")
        self.out = layers.Dense(2)

    def call(self, x, training=None):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_round_trip(tmp_path):
    tk.utils.set_random_seed(0)
    model = TwoLayers(units=5)
    model.compile("adam", "mse")
    x = RNG.random((8, 3)).astype(np.float32)
    model.fit(x, RNG.random((8, 2)), verbose=0)
    model.save(tmp_path / "sub.keras")
    with zipfile.ZipFile(tmp_path / "sub.keras") as archive:
        cfg = json.loads(archive.read("config.json"))
    assert cfg["class_name"] == "TwoLayers" and cfg["registered_name"] == "Custom>TwoLayers"
    assert cfg["build_config"] == {"input_shape": [None, 3]}
    with pytest.raises(ModelFileError, match=r"Unknown model class 'TwoLayers'.*custom_objects"):
        tk.models.load_model(tmp_path / "sub.keras")
    loaded = tk.models.load_model(tmp_path / "sub.keras", custom_objects={"TwoLayers": TwoLayers})
    assert loaded.units == 5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == 1


def test_class_names_and_dataset_travel_in_metadata_json(tmp_path):
    import json
    import warnings
    import zipfile

    import tomei.keras as tk
    model = tk.Sequential([tk.layers.Flatten(input_shape=(2, 2)), tk.layers.Dense(3)])
    path = tmp_path / "plain.keras"
    model.save(path)
    assert tk.models.load_model(path).class_names is None
    model.class_names = ["cat", "dog", "bird"]
    model.dataset_name = "pets"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["tomei"] == {"class_names": ["cat", "dog", "bird"], "dataset": "pets"}
    loaded = tk.models.load_model(path)
    assert (loaded.class_names, loaded.dataset_name) == (["cat", "dog", "bird"], "pets")
    # A malformed entry (untrusted file) is ignored with a warning; the model still loads.
    metadata["tomei"] = {"class_names": [1, {"x": 2}]}
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = json.dumps(metadata) if name == "metadata.json" else src.read(name)
            dst.writestr(name, data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tk.models.load_model(bad).class_names is None
    assert any("malformed 'tomei' entry" in str(w.message) for w in caught)


# --- legacy whole-model .h5 (model.save('m.h5')) ---------------------------------------------


def test_legacy_h5_round_trip_keeps_weights_compile_and_optimizer(tmp_path):
    model = tutorial_model()
    x = np.random.default_rng(0).random((32, 28, 28)).astype("float32")
    y = np.arange(32) % 10
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="legacy HDF5"):
        model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as h5:
        assert {"keras_version", "backend", "model_config", "training_config"} <= set(h5.attrs)
        layer_names = [n.decode() for n in h5["model_weights"].attrs["layer_names"]]
        assert layer_names == [layer.name for layer in model.layers]
        names = [n.decode() for n in h5["optimizer_weights"].attrs["weight_names"]]
        assert names[:2] == ["adam/iteration", "adam/learning_rate"] and len(names) == 10
    loaded = tk.models.load_model(tmp_path / "m.h5")
    assert_same_weights(loaded, model)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled, with its optimizer state
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)


def test_legacy_h5_refuses_lambdas_like_keras_files(tmp_path):
    model = tutorial_model()
    with pytest.warns(UserWarning, match="legacy HDF5"):
        model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as h5:
        config = h5.attrs["model_config"]
        config = config.decode() if isinstance(config, bytes) else config
        h5.attrs["model_config"] = config.replace('"activation": "relu"', '"activation": '
                                                  '{"class_name": "__lambda__", "config": '
                                                  '{"code": "x"}}')
    with pytest.raises(ValueError, match="(?i)lambda"):
        tk.models.load_model(tmp_path / "m.h5")
