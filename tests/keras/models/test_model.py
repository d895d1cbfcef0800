"""Keras 3's rank rule: a trailing size-1 axis is added or dropped when ranks differ by one."""
import numpy as np
import pandas as pd
import pytest

import tomei as tf
from tomei.keras import layers


def one_feature_model():
    model = tf.keras.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="adam", loss="mean_absolute_error")
    return model


def test_one_dimensional_inputs_gain_a_trailing_axis():
    model = one_feature_model()
    assert model.predict(np.arange(10.0), verbose=0).shape == (10, 1)
    assert model(tf.linspace(0.0, 250, 251)).shape == (251, 1)
    series = pd.Series(np.linspace(0, 1, 40), name="Horsepower")
    history = model.fit(series, series * 2, epochs=2, verbose=0, validation_split=0.2)
    assert len(history.history["val_loss"]) == 2
    assert np.isfinite(model.evaluate(series, series * 2, verbose=0))


def test_rank_one_too_many_drops_a_size_one_axis():
    inputs = tf.keras.Input(shape=(3,))
    model = tf.keras.Model(inputs, layers.Dense(2)(inputs))
    assert model(np.ones((4, 3, 1), np.float32)).shape == (4, 2)


def test_the_adjusted_input_matches_the_explicit_one():
    model = one_feature_model()
    x = np.linspace(-1, 1, 7).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), model(x[:, None]).numpy())


def test_other_rank_differences_are_refused():
    model = one_feature_model()
    with pytest.raises(ValueError, match=r"expected shape \(None, 1\).*\(3, 2, 2\)"):
        model.predict(np.zeros((3, 2, 2)), verbose=0)
    inputs = tf.keras.Input(shape=(3,))
    model = tf.keras.Model(inputs, layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="incompatible shape"):
        model(np.ones((4, 3, 2), np.float32))


def test_subclassed_models_take_inputs_as_given():
    class Twice(tf.keras.Model):
        def call(self, x):
            return x * 2
    assert Twice()(np.ones(3, np.float32)).shape == (3,)


def test_summary_of_an_unbuilt_model_prints_as_keras():
    model = tf.keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    assert sum("(Dense)" in line and "?" in line and "0 (unbuilt)" in line for line in lines) == 2
    assert lines[-3:] == [" Total params: 0 (0.00 B)", " Trainable params: 0 (0.00 B)",
                          " Non-trainable params: 0 (0.00 B)"]


def test_a_subclassed_model_build_wants_a_shape():
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)
    with pytest.raises(ValueError, match=r"^Net.build\(\): input_shape .*\(None, 3\)"):
        Net().build(3)
    net = Net()
    net.build([None, 3])
    assert net.dense.kernel.shape == (3, 2)


def test_summary_refuses_what_it_does_not_do():
    model = tf.keras.Sequential([tf.keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(TypeError, match=r"^Model.summary\(\) got an unexpected keyword argument 'foo'"):
        model.summary(foo=1)
    for option in ({"expand_nested": True}, {"show_trainable": True}, {"layer_range": ["a", "b"]}):
        with pytest.raises(NotImplementedError, match=rf"Model.summary\({next(iter(option))}="):
            model.summary(**option)


def test_save_names_the_call_and_its_keywords(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(TypeError, match=r"^model.save\(\) / save_model\(\) got unexpected keyword "
                                        r"argument\(s\): save_format. It takes filepath"):
        model.save(tmp_path / "m.keras", save_format="keras")
    assert list(tmp_path.iterdir()) == []


def test_one_sample_without_the_batch_axis_gets_a_hint():
    model = tf.keras.Sequential([tf.keras.Input((28, 28)), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"incompatible shape \(28, 28\).*one sample without the "
                                         r"batch axis.*x_test\[:1\]"):
        model.predict(np.zeros((28, 28)), verbose=0)
    with pytest.raises(ValueError, match=r"incompatible shape \(784,\)") as err:
        model(np.zeros((784,)))
    assert "one sample" not in str(err.value)


@pytest.mark.parametrize("argument", ["metrics", "weighted_metrics"])
def test_compile_refuses_a_bare_metric_name_as_keras(argument, keras):
    # real Keras 3 refuses metrics='accuracy' (a str is not a list of metrics)
    ref = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=argument):
        ref.compile(optimizer="sgd", loss="mse", **{argument: "accuracy"})
    model = tf.keras.Sequential([tf.keras.Input((2,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=rf"{argument}=\['accuracy'\]") as err:
        model.compile(optimizer="sgd", loss="mse", **{argument: "accuracy"})
    assert "list, tuple or dict" in str(err.value) and "str" in str(err.value)
    model.compile(optimizer="sgd", loss="mse", **{argument: ("accuracy",)})  # a tuple is fine
