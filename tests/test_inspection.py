"""tomei.inspect (the module tomei/inspection.py): layer outputs, masks, gradients and one
training step, checked by hand."""
import subprocess
import sys

import numpy as np
import pytest

import tomei
from tomei import inspect as ti
from tomei.keras import layers

SCCE = tomei.keras.losses.SparseCategoricalCrossentropy


def tutorial_model(units=16, rate=0.2, seed=0, compile=True):
    tomei.keras.utils.set_random_seed(seed)
    model = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                    layers.Dense(units, activation="relu"),
                                    layers.Dropout(rate),
                                    layers.Dense(10)])
    if compile:
        model.compile(optimizer="adam", loss=SCCE(from_logits=True), metrics=["accuracy"])
    return model


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    return rng.random((6, 28, 28)), np.array([0, 3, 9, 1, 3, 7])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_layer_outputs_shapes_and_values(batch):
    x, _ = batch
    model = tutorial_model()
    outs = ti.layer_outputs(model, x)
    assert [name for name, _ in outs] == [layer.name for layer in model.layers]
    assert [a.shape for _, a in outs] == [(6, 784), (6, 16), (6, 16), (6, 10)]
    assert all(a.dtype == np.float32 for _, a in outs)
    kernel, bias = model.layers[1].get_weights()
    hidden = np.maximum(x.reshape(6, -1).astype(np.float32) @ kernel + bias, 0)
    np.testing.assert_allclose(outs[1][1], hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outs[2][1], outs[1][1])  # dropout is off when not training
    np.testing.assert_allclose(outs[-1][1], model(x).numpy(), rtol=1e-6)


def test_training_forward_matches_the_model_with_the_same_seed(batch):
    x, _ = batch
    model = tutorial_model(rate=0.5)
    tomei.keras.utils.set_random_seed(11)
    mine = ti.layer_outputs(model, x, training=True)[-1][1]
    tomei.keras.utils.set_random_seed(11)
    theirs = model(x, training=True).numpy()
    np.testing.assert_array_equal(mine, theirs)
    tomei.keras.utils.set_random_seed(12)
    assert not np.array_equal(ti.layer_outputs(model, x, training=True)[-1][1], mine)


def test_masks(batch):
    x, _ = batch
    model = tutorial_model(units=64, rate=0.25)
    tomei.keras.utils.set_random_seed(5)
    m = ti.masks(model, x)
    tomei.keras.utils.set_random_seed(5)
    outs = dict(ti.layer_outputs(model, x, training=True))
    dense, dropout = model.layers[1].name, model.layers[2].name
    assert set(m) == {dense, dropout} and m[dropout].dtype == bool
    np.testing.assert_array_equal(m[dense], outs[dense] > 0)
    # kept units are scaled by 1/(1 - rate), dropped ones are 0, whatever the input value
    expected = np.where(m[dropout], outs[dense] / 0.75, 0)
    np.testing.assert_allclose(outs[dropout], expected, rtol=1e-6)
    assert 0.6 < m[dropout].mean() < 0.9
    # the mask is known even where the ReLU output is 0 (comparing with 0 could not tell)
    assert (~m[dropout] & ~m[dense]).any() and (m[dropout] & ~m[dense]).any()
    assert set(ti.masks(model, x, training=False)) == {dense}


def test_functional_model_and_errors(batch):
    x, y = batch
    inputs = tomei.keras.Input(shape=(28, 28))
    h = layers.Dense(8, activation="relu")(layers.Flatten()(inputs))
    outputs = layers.Dense(3)(layers.Dropout(0.5)(h))
    model = tomei.keras.Model(inputs, outputs)
    outs = ti.layer_outputs(model, x)
    assert [a.shape for _, a in outs] == [(6, 784), (6, 8), (6, 8), (6, 3)]
    np.testing.assert_allclose(outs[-1][1], model(x).numpy(), rtol=1e-6)
    assert sorted(k.split("_")[0] for k in ti.masks(model, x)) == ["dense", "dropout"]
    with pytest.raises(ValueError, match="needs a loss"):
        ti.weight_gradients(model, x, y)
    grads = ti.weight_gradients(model, x, y % 3, loss=SCCE(from_logits=True))
    assert [g.shape for g in grads.values()] == [(784, 8), (8,), (8, 3), (3,)]
    with pytest.raises(ValueError, match="needs an optimizer"):
        ti.step(model, x, y % 3, loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="expects a tomei.keras Model"):
        ti.layer_outputs(layers.Dense(3), x)

    class Custom(tomei.keras.Model):
        def call(self, inputs, training=None):
            return inputs

    with pytest.raises(TypeError, match="subclassed model 'Custom'"):
        ti.layer_outputs(Custom(), x)


def test_weight_gradients_against_the_softmax_formula(batch):
    """d loss / d logits = (softmax - one_hot) / N, so the last bias gets its column mean."""
    x, y = batch
    model = tutorial_model()
    grads = ti.weight_gradients(model, x, y, training=False)
    assert list(grads) == [v.path for v in model.trainable_variables]
    logits = model(x).numpy().astype(np.float64)
    delta = (softmax(logits) - np.eye(10)[y]) / len(y)
    out = model.layers[-1].name
    np.testing.assert_allclose(grads[f"{out}/bias"], delta.sum(0), rtol=1e-4, atol=1e-7)
    hidden = dict(ti.layer_outputs(model, x))[model.layers[1].name]
    np.testing.assert_allclose(grads[f"{out}/kernel"], hidden.T @ delta, rtol=1e-4, atol=1e-6)
    # a different loss gives a different gradient
    mse = ti.weight_gradients(model, x, np.eye(10)[y], loss="mean_squared_error", training=False)
    assert not np.allclose(mse[f"{out}/bias"], grads[f"{out}/bias"])


def test_step_leaves_the_model_alone_and_shows_one_adam_update(batch):
    x, y = batch
    model = tutorial_model()
    before = model.get_weights()
    s = ti.step(model, x, y, training=False)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not model.optimizer.built and model.optimizer.iterations == 0
    assert s["optimizer"] == "Adam" and s["iteration"] == 1 and s["learning_rate"] == 0.001
    np.testing.assert_allclose(s["probabilities"], softmax(s["outputs"].astype(np.float64)),
                               rtol=1e-5)
    expected_loss = -np.mean(np.log(s["probabilities"][np.arange(6), y]))
    assert s["loss"] == pytest.approx(expected_loss, rel=1e-5)
    for path, g in s["gradients"].items():
        # Adam's first step (Keras form): m = (1-b1) g, v = (1-b2) g^2 and
        # var -= lr * sqrt(1-b2)/(1-b1) * m / (sqrt(v) + eps) = lr * g / (|g| + eps/sqrt(1-b2))
        np.testing.assert_allclose(s["updates"][path],
                                   -0.001 * g / (np.abs(g) + 1e-7 / np.sqrt(0.001)),
                                   rtol=1e-3, atol=1e-10)
        np.testing.assert_allclose(s["optimizer_state"][path]["momentum"], 0.1 * g, rtol=1e-5)
        np.testing.assert_allclose(s["optimizer_state"][path]["velocity"], 0.001 * g * g,
                                   rtol=1e-4, atol=1e-20)
        np.testing.assert_allclose(s["weights_before"][path] + s["updates"][path],
                                   s["weights_after"][path], rtol=0, atol=1e-7)


def test_step_matches_train_on_batch_after_training(batch):
    """With optimizer state from earlier steps, the copy used by step() is the real one."""
    x, y = batch
    tomei.keras.utils.set_random_seed(2)
    model = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                    layers.Dense(12, activation="relu"), layers.Dense(10)])
    model.compile(optimizer="adam", loss=SCCE(from_logits=True))
    model.fit(x, y, epochs=3, batch_size=3, verbose=0)
    iterations = model.optimizer.iterations
    s = ti.step(model, x, y)
    assert s["iteration"] == iterations + 1 and model.optimizer.iterations == iterations
    model.train_on_batch(x, y)
    for v in model.trainable_variables:
        np.testing.assert_allclose(v.numpy(), s["weights_after"][v.path], rtol=1e-6, atol=1e-7)
    s2 = ti.step(model, x, y, apply=True)
    assert model.optimizer.iterations == iterations + 2
    for v in model.trainable_variables:
        np.testing.assert_array_equal(v.numpy(), s2["weights_after"][v.path])


def test_import_tomei_does_not_import_inspect():
    code = ("import sys, tomei; print('tomei.inspection' in sys.modules); "
            "print(tomei.inspect.__name__, callable(tomei.inspect.step))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "tomei.inspection", "True"]
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        tomei.nonexistent  # noqa: B018


def test_inside_numbers_script_matches_the_docs():
    """docs/inside_numbers.py runs, and docs/inside*.md show the loss it prints."""
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "docs", "inside_numbers.py")],
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode == 1 and "Fashion-MNIST is not available" in proc.stderr:
        pytest.skip("Fashion-MNIST is not installed")
    assert proc.returncode == 0, proc.stderr
    assert "model unchanged: True" in proc.stdout
    loss = re.search(r"loss = mean = (\d+\.\d{4})", proc.stdout).group(1)
    kept = re.search(r"kept units per image: (\[[\d, ]+\])", proc.stdout).group(1)
    for doc in ("inside.md", "inside.ja.md"):
        with open(os.path.join(root, "docs", doc), encoding="utf-8") as f:
            text = f.read()
        assert loss in text, f"{doc} is out of date: rerun python docs/inside_numbers.py"
        assert ", ".join(kept.strip("[]").split(", ")[:3]) in text.replace("、", ", "), doc
