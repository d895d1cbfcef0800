"""ONNX export: onnxruntime runs the exported graph and matches tomei's predictions to 1e-5."""
import subprocess
import sys

import numpy as np
import onnx  # required, not skipped: CI installs it (pip install -e ".[reference]")
import onnxruntime as ort
import pytest

import tomei.keras as tk
from tomei.keras import layers
from tomei.keras.saving import export_onnx

ATOL = RTOL = 1e-5


def run_onnx(path, *inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: x.astype(np.float32) for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def trained(model, x, loss="mse"):
    """A couple of steps, so BatchNormalization statistics and biases are not at init."""
    outs = model.predict(x[:2], verbose=0)
    rng = np.random.default_rng(1)
    y = [rng.normal(0, 1, (len(x),) + o.shape[1:]) for o in outs] if isinstance(outs, list) \
        else rng.normal(0, 1, (len(x),) + outs.shape[1:])
    model.compile("adam", loss)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model


def test_tutorial_model(tmp_path):
    tk.utils.set_random_seed(0)
    model = tk.Sequential([layers.Flatten(input_shape=(28, 28)),
                           layers.Dense(128, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(10)])
    x = np.random.default_rng(0).random((37, 28, 28)).astype(np.float32)
    trained(model, x)
    path = export_onnx(model, tmp_path / "tutorial.onnx")
    (got,) = run_onnx(path, x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)
    loaded = onnx.load(str(path))
    assert loaded.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    ops = {n.op_type for n in loaded.graph.node}
    assert ops >= {"Flatten", "MatMul", "Add", "Relu", "Identity"}


ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "softsign", "elu",
               "selu", "gelu", "leaky_relu", "silu", "exponential", "linear"]


def test_every_layer_and_activation(tmp_path):
    tk.utils.set_random_seed(1)
    inp = layers.Input(shape=(4, 6))
    x = layers.Reshape((3, 8))(inp)
    x = layers.LayerNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(12)(x)
    branches = [layers.Dense(6, activation=a)(x) for a in ACTIVATIONS]
    x = layers.Concatenate()(branches)
    x = layers.Activation("tanh")(x)
    x = layers.BatchNormalization()(x)
    x = layers.GaussianNoise(0.5)(x)
    x = layers.Dropout(0.5)(x)
    a = layers.Dense(5)(x)
    b = layers.Dense(5)(x)
    parts = [layers.ReLU()(a), layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2)(a),
             layers.ReLU(negative_slope=0.3)(b), layers.LeakyReLU(0.2)(b), layers.ELU(0.5)(a),
             layers.Softmax()(b)]
    out = layers.Concatenate()([layers.Add()(parts[:3]), layers.Multiply()(parts[3:])])
    model = tk.Model(inp, [out, layers.LayerNormalization(axis=1)(layers.Reshape((5, 1))(a))])
    x_data = np.random.default_rng(2).normal(0, 2, (16, 4, 6)).astype(np.float32)
    trained(model, x_data)
    path = export_onnx(model, tmp_path / "all.onnx")
    got = run_onnx(path, x_data)
    for g, want in zip(got, model.predict(x_data, verbose=0)):
        np.testing.assert_allclose(g, want, rtol=RTOL, atol=ATOL)


def test_nested_and_multi_input(tmp_path):
    tk.utils.set_random_seed(2)
    inner = tk.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)], name="inner")
    a, b = layers.Input(shape=(5,), name="a"), layers.Input(shape=(3,), name="b")
    model = tk.Model([a, b], layers.Add()([inner(a), b]))
    xa = np.random.default_rng(0).random((7, 5)).astype(np.float32)
    xb = np.random.default_rng(1).random((7, 3)).astype(np.float32)
    path = export_onnx(model, tmp_path / "nested.onnx")
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["a", "b"]
    (got,) = session.run(None, {"a": xa, "b": xb})
    np.testing.assert_allclose(got, model.predict([xa, xb], verbose=0), rtol=RTOL, atol=ATOL)


def test_errors(tmp_path):
    class Odd(layers.Layer):
        def call(self, x):
            return x
    model = tk.Sequential([layers.Input((3,)), Odd(), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match=r"'odd' \(Odd\).*Supported: .*Dense"):
        export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="not been built"):
        export_onnx(tk.Sequential([layers.Dense(2)]), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"must end in '\.onnx'"):
        export_onnx(tk.Sequential([layers.Input((3,)), layers.Dense(2)]), tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []


def test_import_tomei_does_not_import_onnx():
    code = ("import sys, tomei, tomei.keras.saving; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
