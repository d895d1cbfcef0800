"""Files move both ways between tomei and real Keras 3 (torch backend).

For the tutorial model and a model for every layer type tomei registers:
- tomei trains a step, saves ``.keras``; Keras's ``load_model`` reads it and predicts the same
  (to 1e-5), with the optimizer state (step count, Adam moments) loaded;
- Keras trains a step, saves ``.keras``; tomei's ``load_model`` reads it and predicts the same;
- ``.weights.h5`` files go both ways too.

Keras is imported once, in this process, with KERAS_BACKEND=torch set before the import
(as tests/reference does). Without keras these tests fail; TOMEI_ALLOW_NO_KERAS=1 skips them.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tomei.keras as tk  # noqa: E402
from tomei.keras import serialization  # noqa: E402

pytestmark = pytest.mark.reference
ATOL = RTOL = 1e-5


@pytest.fixture(scope="module")
def keras():
    if os.environ.get("TOMEI_ALLOW_NO_KERAS") == "1":
        pytest.importorskip("keras")
    import keras
    if keras.backend.backend() != "torch":
        pytest.fail(f"these tests need KERAS_BACKEND=torch; keras runs on "
                    f"{keras.backend.backend()!r}")
    return keras


# --- one model per layer type ----------------------------------------------------------------
# ("seq", input shape, [(class, kwargs), ...]) or
# ("fn", input shape, [(name, class, kwargs, [input names]), ...]) with "in" the input.

MERGE = lambda cls, kw=None: ("fn", (4, 6), [  # noqa: E731
    ("f", "Flatten", {}, ["in"]),
    ("a", "Dense", {"units": 5}, ["f"]),
    ("b", "Dense", {"units": 5, "activation": "relu"}, ["f"]),
    ("m", cls, kw or {}, ["a", "b"]),
    ("out", "Dense", {"units": 3}, ["m"])])

CASES = {
    "Dense": ("seq", (4, 6), [("Dense", {"units": 5, "activation": "tanh"}),
                              ("Dense", {"units": 2, "use_bias": False})]),
    "Flatten": ("seq", (4, 6), [("Flatten", {}), ("Dense", {"units": 3})]),
    "Reshape": ("seq", (4, 6), [("Reshape", {"target_shape": (3, 8)}), ("Dense", {"units": 3}),
                                ("Flatten", {})]),
    "Activation": ("seq", (6,), [("Dense", {"units": 5}),
                                 ("Activation", {"activation": "sigmoid"})]),
    "Dropout": ("seq", (6,), [("Dense", {"units": 5}), ("Dropout", {"rate": 0.4}),
                              ("Dense", {"units": 2})]),
    "GaussianNoise": ("seq", (6,), [("GaussianNoise", {"stddev": 0.3}), ("Dense", {"units": 2})]),
    "Softmax": ("seq", (6,), [("Dense", {"units": 5}), ("Softmax", {})]),
    "ReLU": ("seq", (6,), [("Dense", {"units": 5}),
                           ("ReLU", {"max_value": 0.6, "negative_slope": 0.1, "threshold": 0.05})]),
    "LeakyReLU": ("seq", (6,), [("Dense", {"units": 5}), ("LeakyReLU", {"negative_slope": 0.2})]),
    "ELU": ("seq", (6,), [("Dense", {"units": 5}), ("ELU", {"alpha": 0.7})]),
    "LayerNormalization": ("seq", (6,), [("Dense", {"units": 5}), ("LayerNormalization", {})]),
    "BatchNormalization": ("seq", (6,), [("Dense", {"units": 5}), ("BatchNormalization", {}),
                                         ("Dense", {"units": 2})]),
    "Normalization": ("seq", (6,), [("Normalization", {"axis": -1}), ("Dense", {"units": 2})]),
    "UnitNormalization": ("seq", (6,), [("Dense", {"units": 5}), ("UnitNormalization", {}),
                                        ("Dense", {"units": 2})]),
    "Embedding": ("seq", (7,), [("Embedding", {"input_dim": 12, "output_dim": 3}),
                                ("Flatten", {}), ("Dense", {"units": 2})]),
    "Concatenate": MERGE("Concatenate"),
    "Add": MERGE("Add"),
    "Multiply": MERGE("Multiply"),
    "InputLayer": ("fn", (6,), [  # branches whose Keras order differs from creation order
        ("side", "Dense", {"units": 4}, ["in"]),
        ("deep", "Dense", {"units": 5, "activation": "relu"}, ["in"]),
        ("deeper", "Dense", {"units": 7}, ["deep"]),
        ("cat", "Concatenate", {}, ["side", "deeper"]),
        ("out", "Dense", {"units": 2}, ["cat"])]),
}
IMAGE = (9, 9, 2)
CASES.update({
    "Conv2D": ("seq", IMAGE, [("Conv2D", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
                              ("Conv2D", {"filters": 3, "kernel_size": (2, 3), "strides": 2,
                                          "padding": "same", "use_bias": False}),
                              ("Flatten", {}), ("Dense", {"units": 2})]),
    "Conv1D": ("seq", (12, 3), [("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}),
                                ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 2}),
                                ("Flatten", {})]),
    "Conv2DTranspose": ("seq", (4, 4, 2), [
        ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}),
        ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2,
                             "output_padding": 1}),
        ("Flatten", {})]),
    "MaxPooling2D": ("seq", IMAGE, [("Conv2D", {"filters": 3, "kernel_size": 2}),
                                    ("MaxPooling2D", {"pool_size": 3, "strides": 2,
                                                      "padding": "same"}),
                                    ("Flatten", {})]),
    "AveragePooling2D": ("seq", IMAGE, [("Conv2D", {"filters": 3, "kernel_size": 2}),
                                        ("AveragePooling2D", {"pool_size": 2}), ("Flatten", {})]),
    "MaxPooling1D": ("seq", (12, 3), [("Conv1D", {"filters": 3, "kernel_size": 2}),
                                      ("MaxPooling1D", {}), ("Flatten", {})]),
    "GlobalAveragePooling2D": ("seq", IMAGE, [("Conv2D", {"filters": 3, "kernel_size": 2}),
                                              ("GlobalAveragePooling2D", {})]),
    "GlobalMaxPooling2D": ("seq", IMAGE, [("Conv2D", {"filters": 3, "kernel_size": 2}),
                                          ("GlobalMaxPooling2D", {"keepdims": True}),
                                          ("Flatten", {})]),
    "GlobalAveragePooling1D": ("seq", (12, 3), [("Conv1D", {"filters": 3, "kernel_size": 2}),
                                                ("GlobalAveragePooling1D", {})]),
    "UpSampling2D": ("seq", (4, 4, 2), [("UpSampling2D", {"size": (2, 3)}),
                                        ("Conv2D", {"filters": 2, "kernel_size": 3}),
                                        ("Flatten", {})]),
    "ZeroPadding2D": ("seq", IMAGE, [("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}),
                                     ("Conv2D", {"filters": 2, "kernel_size": 3}),
                                     ("Flatten", {})]),
    "SpatialDropout2D": ("seq", IMAGE, [("Conv2D", {"filters": 3, "kernel_size": 2}),
                                        ("SpatialDropout2D", {"rate": 0.3}), ("Flatten", {}),
                                        ("Dense", {"units": 2})]),
})
TUTORIAL = ("seq", (28, 28), [("Flatten", {}), ("Dense", {"units": 128, "activation": "relu"}),
                              ("Dropout", {"rate": 0.2}), ("Dense", {"units": 10})])


def build(lib, spec):
    kind, shape, items = spec
    L = lib.layers
    if kind == "seq":
        return lib.Sequential([L.Input(shape=shape)] + [getattr(L, c)(**kw) for c, kw in items])
    tensors = {"in": L.Input(shape=shape)}
    for name, cls, kw, inputs in items:
        args = [tensors[i] for i in inputs]
        tensors[name] = getattr(L, cls)(**kw)(args[0] if len(args) == 1 else args)
    return lib.Model(tensors["in"], tensors["out"])


def data(spec, n=16, seed=0):
    rng = np.random.default_rng(seed)
    first = spec[2][0]
    if first[0] == "Embedding":  # ids (whole numbers in float32, as Keras's default Input)
        return rng.integers(0, first[1]["input_dim"], (n,) + tuple(spec[1])).astype(np.float32)
    return rng.normal(0, 1.5, (n,) + tuple(spec[1])).astype(np.float32)


def train_one_step(model, x):
    """One Adam step on fixed targets, so no weight keeps its initial value."""
    out = model.predict(x[:2], verbose=0)
    y = np.random.default_rng(5).normal(0, 1, (len(x),) + out.shape[1:]).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return model


def to_np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


# Layers whose files go both ways in their own reference tests (they need other inputs).
ELSEWHERE = {"TextVectorization": "tests/reference/test_text_vectorization_reference.py"}


def test_every_tomei_layer_type_has_a_case():
    missing = sorted(set(serialization.registered("keras.layers")) - set(CASES) - set(ELSEWHERE))
    assert not missing, (f"Add a model using {missing} to CASES: every tomei layer must save "
                         f"and load with real Keras.")


@pytest.mark.parametrize("case", sorted(CASES))
def test_tomei_file_loads_in_keras(keras, tmp_path, case):
    spec = CASES[case]
    x = data(spec)
    tk.utils.set_random_seed(1)
    model = train_one_step(build(tk, spec), x)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    assert int(to_np(loaded.optimizer.iterations)) == 1
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_file_loads_in_tomei(keras, tmp_path, case):
    spec = CASES[case]
    x = data(spec)
    keras.utils.set_random_seed(2)
    model = train_one_step(build(keras, spec), x)
    model.save(tmp_path / "k.keras")
    loaded = tk.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    assert loaded.optimizer.iterations == 1
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def _adam_state_keras(model):
    return [to_np(v) for v in model.optimizer.variables]


def test_tutorial_both_ways_with_optimizer_state(keras, tmp_path):
    """The tutorial model, compiled as in the tutorial, after a few steps: Keras continues
    training a tomei file as tomei does, which needs the Adam moments and step count."""
    x = data(TUTORIAL, n=64)
    y = np.random.default_rng(3).integers(0, 10, 64)
    tk.utils.set_random_seed(4)
    model = tk.Sequential([tk.layers.Flatten(input_shape=(28, 28)),
                           tk.layers.Dense(128, activation="relu"),
                           tk.layers.Dropout(0.2), tk.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    model.save(tmp_path / "tutorial.keras")

    k_model = keras.saving.load_model(tmp_path / "tutorial.keras")
    np.testing.assert_allclose(k_model.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    k_state = _adam_state_keras(k_model)
    assert int(k_state[0]) == 4 and float(k_state[1]) == pytest.approx(0.001)
    t_slots = [s[n] for s in model.optimizer._slots for n in ("momentum", "velocity")]
    for k_value, t_value in zip(k_state[2:], t_slots):
        np.testing.assert_array_equal(k_value, t_value)
    assert k_model.loss.get_config()["from_logits"] is True

    # one more step on the same batch in both libraries, dropout off so that both see the
    # same forward pass: the update depends on the loaded moments and step count
    k_model.layers[2].rate = 0.0
    model.layers[2].rate = 0.0
    k_model.train_on_batch(x[:32], y[:32])
    model.train_on_batch(x[:32], y[:32])
    for k_w, t_w in zip(k_model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(to_np(k_w), t_w, rtol=1e-4, atol=1e-6)

    # and back: Keras's file (with Keras's optimizer state) in tomei
    k_model.save(tmp_path / "from_keras.keras")
    back = tk.models.load_model(tmp_path / "from_keras.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    assert back.optimizer.iterations == 5
    assert isinstance(back.loss, tk.losses.SparseCategoricalCrossentropy) and back.loss.from_logits
    assert back.evaluate(x, y, verbose=0)[1] == pytest.approx(
        k_model.evaluate(x, y, verbose=0)[1])


def test_weights_files_both_ways(keras, tmp_path):
    spec = CASES["BatchNormalization"]
    x = data(spec)
    tk.utils.set_random_seed(6)
    t_model = train_one_step(build(tk, spec), x)
    keras.utils.set_random_seed(7)
    k_model = train_one_step(build(keras, spec), x)
    t_model.save_weights(tmp_path / "t.weights.h5")
    k_model.save_weights(tmp_path / "k.weights.h5")

    k_model.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_allclose(k_model.predict(x, verbose=0), t_model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    tk.utils.set_random_seed(8)
    t_other = train_one_step(build(tk, spec), x)
    t_other.load_weights(tmp_path / "k.weights.h5")
    keras_again = build(keras, spec)
    keras_again.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(t_other.predict(x, verbose=0), keras_again.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)


def test_nested_multi_input_multi_output(keras, tmp_path):
    def make(lib):
        L = lib.layers
        inner = lib.Sequential([L.Dense(4), L.Dense(5, activation="relu")], name="inner")
        a, b = L.Input(shape=(3,), name="a"), L.Input(shape=(5,), name="b")
        h = inner(a)
        return lib.Model([a, b], [L.Dense(2, name="head")(h), L.Add()([h, b])])
    xa = np.random.default_rng(0).random((6, 3)).astype(np.float32)
    xb = np.random.default_rng(1).random((6, 5)).astype(np.float32)
    tk.utils.set_random_seed(3)
    t_model = make(tk)
    t_model.save(tmp_path / "t.keras")
    k_loaded = keras.saving.load_model(tmp_path / "t.keras")
    for got, want in zip(k_loaded.predict([xa, xb], verbose=0),
                         t_model.predict([xa, xb], verbose=0)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    k_model = make(keras)
    k_model.save(tmp_path / "k.keras")
    t_loaded = tk.models.load_model(tmp_path / "k.keras")
    for got, want in zip(t_loaded.predict([xa, xb], verbose=0),
                         k_model.predict([xa, xb], verbose=0)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_keras_custom_layer_needs_custom_objects(keras, tmp_path):
    @keras.saving.register_keras_serializable(package="interop")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), Twice()])
    model.save(tmp_path / "custom.keras")
    with pytest.raises(tk.saving.ModelFileError, match=r"'Twice'.*custom_objects=\{'Twice'"):
        tk.models.load_model(tmp_path / "custom.keras")

    class TomeiTwice(tk.layers.Layer):
        def call(self, x):
            return x * 2.0
    loaded = tk.models.load_model(tmp_path / "custom.keras",
                                  custom_objects={"interop>Twice": TomeiTwice})
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)


def test_keras_legacy_h5_model_loads_in_tomei(keras, tmp_path):
    """Keras 3 still writes the legacy whole-model .h5 (model_config + model_weights)."""
    spec = TUTORIAL
    x = data(spec, n=4)
    keras.utils.set_random_seed(9)
    model = build(keras, spec)
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "legacy.h5")
    loaded = tk.models.load_model(tmp_path / "legacy.h5")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)
    assert isinstance(loaded.optimizer, tk.optimizers.Adam) and loaded.loss == "mse"
    other = build(tk, spec)
    other.load_weights(tmp_path / "legacy.h5")
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=RTOL, atol=ATOL)


OPTIMIZERS = {"Adam": {"amsgrad": True}, "AdamW": {}, "Adamax": {}, "Nadam": {},
              "RMSprop": {"momentum": 0.3, "centered": True}, "Adagrad": {},
              "SGD": {"momentum": 0.5, "nesterov": True}}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_continues_across_libraries(keras, tmp_path, name):
    """Save after two steps in one library, load in the other, take one more step in both:
    the weights agree only if every slot, the step count and the slot order were loaded."""
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 3)).astype(np.float32), rng.random((16, 2)).astype(np.float32)

    def make(lib):
        model = lib.Sequential([lib.layers.Input((3,)), lib.layers.Dense(4, activation="tanh"),
                                lib.layers.Dense(2)])
        model.compile(getattr(lib.optimizers, name)(learning_rate=0.05, **OPTIMIZERS[name]), "mse")
        return model

    for source, target in ((keras, tk), (tk, keras)):
        source.utils.set_random_seed(1)
        first = make(source)
        first.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        first.save(tmp_path / "m.keras")
        loaded = (tk.models.load_model if target is tk else keras.saving.load_model)(
            tmp_path / "m.keras")
        first.train_on_batch(x, y)
        loaded.train_on_batch(x, y)
        for a, b in zip(first.get_weights(), loaded.get_weights()):
            np.testing.assert_allclose(to_np(b), to_np(a), rtol=1e-5, atol=1e-6)


def test_class_names_in_the_file_and_keras_still_opens_it(keras, tmp_path):
    """tomei's class names live in metadata.json, which Keras 3 does not read."""
    model = tk.Sequential([tk.layers.Flatten(input_shape=(28, 28)), tk.layers.Dense(10)])
    model.class_names = [f"item {i}" for i in range(10)]
    model.dataset_name = "fashion_mnist"
    path = str(tmp_path / "named.keras")
    model.save(path)
    loaded = tk.models.load_model(path)
    assert loaded.class_names == [f"item {i}" for i in range(10)]
    assert loaded.dataset_name == "fashion_mnist"
    assert tk.models.load_model(path).class_names is not model.class_names  # a copy
    x = np.random.default_rng(0).random((2, 28, 28)).astype("float32")
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)),
                               model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


# --- beyond one machine: a tomei model continues training in Keras 3 on JAX, data-parallel --

_CONTINUE_ON_JAX = """
import sys
import numpy as np
import keras
source, target, data = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
devices = keras.distribution.list_devices("cpu")
assert len(devices) == 2, devices
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
model = keras.saving.load_model(source)
history = model.fit(data["x"], data["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
model.save(target)
np.save(target + ".predictions.npy", np.asarray(model.predict(data["x"], verbose=0)))
print(int(np.asarray(model.optimizer.iterations)), *history.history["loss"])
"""


def test_model_saved_by_tomei_continues_training_on_jax_data_parallel_and_comes_back(tmp_path):
    """docs/beyond_one_machine.md: save in tomei, load in Keras 3 on JAX, train with
    keras.distribution.DataParallel over 2 (forced) CPU devices, load the result in tomei."""
    import subprocess
    import sys
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 3, 64)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    model = tk.Sequential([tk.Input((8,)), tk.layers.Dense(16, activation="relu"),
                           tk.layers.Dense(3)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=tk.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "tomei.keras")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    run = subprocess.run([sys.executable, "-c", _CONTINUE_ON_JAX, str(tmp_path / "tomei.keras"),
                          str(tmp_path / "jax.keras"), str(tmp_path / "data.npz")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    iterations, *losses = run.stdout.split()
    assert int(iterations) == 4 + 8  # the optimizer state travelled: 4 tomei steps, 8 more
    back = tk.models.load_model(tmp_path / "jax.keras")
    assert back.optimizer.iterations == 12
    np.testing.assert_allclose(back.predict(x, verbose=0),
                               np.load(tmp_path / "jax.keras.predictions.npy"),
                               rtol=1e-4, atol=1e-5)
    assert not np.allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))
    back.fit(x, y, batch_size=16, epochs=1, verbose=0)  # and tomei trains it further
    assert back.optimizer.iterations == 16


# --- issue 13 item 6: every file tomei writes opens in real Keras 3 ---------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAMES = st.sampled_from([None, None, "a", "b", "dense", "block", "dropout", "x_1"])
LEAF = st.one_of(
    st.tuples(st.just("Dense"), st.integers(1, 5), NAMES),
    st.tuples(st.just("Dropout"), st.just(0.3), NAMES),
    st.tuples(st.just("Activation"), st.sampled_from(["relu", "tanh"]), NAMES),
    st.tuples(st.just("LayerNormalization"), st.just(None), NAMES),
    st.tuples(st.just("BatchNormalization"), st.just(None), NAMES))
SPEC = st.recursive(LEAF, lambda inner: st.tuples(st.just("Sequential"),
                                                  st.lists(inner, min_size=1, max_size=3), NAMES),
                    max_leaves=6)


def _layer(lib, spec):
    kind, arg, name = spec
    named = {} if name is None else {"name": name}
    if kind == "Sequential":
        return lib.Sequential([_layer(lib, s) for s in arg], **named)
    cls = getattr(lib.layers, kind)
    return cls(arg, **named) if arg is not None else cls(**named)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(SPEC, min_size=1, max_size=4), functional=st.booleans())
def test_random_models_saved_by_tomei_load_in_keras(keras, tmp_path_factory, specs, functional):
    tk.backend.clear_session()
    try:
        layers_ = [_layer(tk, s) for s in specs]
        if functional:
            inputs = tk.Input((4,))
            x = inputs
            for layer in layers_:
                x = layer(x)
            model = tk.Model(inputs, x)
        else:
            model = tk.Sequential([tk.Input((4,))] + layers_)
    except ValueError as error:  # refused: only for a name used twice in one model
        assert "own name" in str(error)
        return
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    path = tmp_path_factory.mktemp("random") / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(keras.ops.convert_to_numpy(loaded(x))),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_duplicate_names_are_refused_as_keras_refuses_them(keras):
    for lib in (keras, tk):
        with pytest.raises(ValueError):
            lib.Sequential([lib.Input((4,)), lib.layers.Dense(4, name="d"),
                            lib.layers.Dense(2, name="d")])
        inputs = lib.Input((4,))
        with pytest.raises(ValueError):
            lib.Model(inputs, lib.layers.Dense(2, name="d")(lib.layers.Dense(4, name="d")(inputs)))
