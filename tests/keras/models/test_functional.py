"""The functional API: Input, calling layers on symbolic tensors, Model(inputs, outputs),
several inputs and outputs, get_layer, shared and nested layers, and training with one loss
(and metric) per output."""
import numpy as np
import pytest

import tomei
from tomei.keras import Input, Model, Sequential, layers, losses, optimizers
from tomei.keras.layers.keras_tensor import KerasTensor

RNG = np.random.default_rng(0)
XA = RNG.normal(size=(64, 6)).astype(np.float32)
XB = RNG.normal(size=(64, 3)).astype(np.float32)
Y_CLS = (XA[:, 0] > 0).astype(np.int64) + (XB[:, 0] > 0)
Y_REG = (XA[:, :1] - XB[:, 1:2]).astype(np.float32)


def _two_heads():
    tomei.keras.utils.set_random_seed(0)
    a, b = Input((6,), name="a"), Input((3,), name="b")
    h = layers.Dense(16, activation="relu", name="h")(a)
    c = layers.Concatenate(name="cat")([h, b])
    cls = layers.Dense(3, name="cls")(c)
    reg = layers.Dense(1, name="reg")(layers.Add(name="add")([layers.Dense(3, name="p")(h), b]))
    return Model([a, b], [cls, reg], name="two_heads")


def test_input_and_symbolic_calls():
    x = Input(shape=(28, 28), name="pixels")
    assert isinstance(x, KerasTensor) and x.shape == (None, 28, 28) and x.dtype == "float32"
    y = layers.Dense(10)(layers.Flatten()(x))
    assert y.shape == (None, 10)
    assert Input(shape=(5,), batch_size=8).shape == (8, 5)
    model = Model(x, y)
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Flatten", "Dense"]
    assert model(np.zeros((2, 28, 28))).shape == (2, 10)


def test_model_keyword_form_and_single_initialisation():
    a = Input((4,))
    out = layers.Dense(2)(a)
    first = Model(inputs=a, outputs=out)
    second = Model(a, out, name="mine")
    assert type(first).__name__ == "Functional" and isinstance(first, Model)
    assert second.name == "mine"
    assert len(first.layers) == 2  # one InputLayer, one Dense (built once, not twice)


def test_get_layer_by_name_and_index():
    model = _two_heads()
    assert model.get_layer("cat").name == "cat"
    assert model.get_layer(index=0).name == "a"
    assert model.get_layer(index=-1).name == "reg"
    # Keras order: by depth from the inputs, ties in the order a walk from the outputs meets them
    assert [layer.name for layer in model.layers] == ["a", "h", "b", "p", "cat", "add", "cls",
                                                      "reg"]
    with pytest.raises(ValueError, match="No such layer: 'nope'.*'cat'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="index 8 is out of range"):
        model.get_layer(index=8)


def test_several_inputs_and_outputs_as_lists_and_dicts():
    model = _two_heads()
    cls, reg = model([XA[:5], XB[:5]])
    assert cls.shape == (5, 3) and reg.shape == (5, 1)
    same = model({"a": XA[:5], "b": XB[:5]})  # inputs by name
    np.testing.assert_array_equal(same[0].numpy(), cls.numpy())
    preds = model.predict([XA, XB], verbose=0)
    assert isinstance(preds, list) and [p.shape for p in preds] == [(64, 3), (64, 1)]
    p = Input((2,), name="p")
    dict_out = Model(p, {"u": layers.Dense(1, name="u")(p), "v": layers.Dense(2, name="v")(p)})
    out = dict_out(np.ones((3, 2)))
    assert set(out) == {"u", "v"} and out["v"].shape == (3, 2)
    with pytest.raises(ValueError, match="expects 2 input"):
        model([XA])


def test_errors_for_bad_graphs():
    a, b = Input((3,)), Input((3,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="not in Model\\(inputs=...\\)"):
        Model(a, out)
    with pytest.raises(TypeError, match="expects KerasTensors"):
        Model(a, np.zeros(3))


def test_shared_layer_and_nested_model():
    a = Input((4,))
    shared = layers.Dense(4, name="shared")
    out = shared(shared(a))
    model = Model(a, out)
    assert len(model.trainable_weights) == 2  # one kernel and bias, used twice
    x = RNG.normal(size=(2, 4)).astype(np.float32)
    k, bias = shared.kernel.numpy(), shared.bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), (x @ k + bias) @ k + bias, rtol=1e-5)
    inner = Sequential([Input((4,)), layers.Dense(2)])
    outer = Model(a, inner(layers.Dense(4)(a)))
    assert outer(x).shape == (2, 2) and len(outer.trainable_weights) == 4


@pytest.mark.parametrize("spec", ["list", "dict"])
def test_fit_with_one_loss_and_metric_per_output(spec):
    model = _two_heads()
    sce = losses.SparseCategoricalCrossentropy(from_logits=True)
    if spec == "list":
        model.compile(optimizers.Adam(0.01), loss=[sce, "mse"], loss_weights=[1.0, 0.5],
                      metrics=[["accuracy"], ["mae"]])
    else:
        model.compile(optimizers.Adam(0.01), loss={"cls": sce, "reg": "mse"},
                      loss_weights={"cls": 1.0, "reg": 0.5},
                      metrics={"cls": "accuracy", "reg": ["mae"]})
    history = model.fit([XA, XB], [Y_CLS, Y_REG], epochs=15, batch_size=16, verbose=0)
    h = history.history
    assert list(h) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    # the total is the weighted sum of the per-output losses (each a running mean)
    np.testing.assert_allclose(h["loss"], np.array(h["cls_loss"]) + 0.5 * np.array(h["reg_loss"]),
                               rtol=1e-4)
    assert h["cls_accuracy"][-1] > 0.7 and h["reg_loss"][-1] < h["reg_loss"][0] / 4
    result = model.evaluate([XA, XB], [Y_CLS, Y_REG], verbose=0, return_dict=True)
    assert list(result) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert model.metrics_names == list(result)
    values = model.evaluate([XA, XB], [Y_CLS, Y_REG], verbose=0)
    assert values == pytest.approx(list(result.values()))


def test_one_loss_for_every_output_and_metric_names_as_given():
    model = _two_heads()
    model.compile("sgd", loss="mse", metrics=["mse", tomei.keras.metrics.MeanAbsoluteError()])
    y = [np.zeros((64, 3), np.float32), Y_REG]
    logs = model.evaluate([XA, XB], y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "cls_mse", "cls_mean_absolute_error",
                          "reg_mse", "reg_mean_absolute_error"]
    np.testing.assert_allclose(logs["loss"], logs["cls_loss"] + logs["reg_loss"], rtol=1e-5)
    np.testing.assert_allclose(logs["cls_loss"], logs["cls_mse"], rtol=1e-5)


def test_single_output_functional_trains_like_sequential():
    def train(make):
        tomei.keras.utils.set_random_seed(3)
        model = make()
        model.compile(optimizers.Adam(0.01), "mse")
        model.fit(XA, Y_REG, epochs=3, batch_size=16, verbose=0, shuffle=False)
        return model.get_weights()

    def functional():
        a = Input((6,))
        return Model(a, layers.Dense(1)(layers.Dense(8, activation="relu")(a)))

    def sequential():
        return Sequential([Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(1)])

    for got, expected in zip(train(functional), train(sequential)):
        np.testing.assert_array_equal(got, expected)


def test_summary_lists_inputs_and_connections():
    lines = []
    _two_heads().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    assert "│ cat (Concatenate)   │ (None, 19)        │          0 │ h[0][0], b[0][0]  │" in text
    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert rows == ["a (InputLayer)", "h (Dense)", "b (InputLayer)", "p (Dense)",
                    "cat (Concatenate)", "add (Add)", "cls (Dense)", "reg (Dense)"]
