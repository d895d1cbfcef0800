"""The Keras 3 regression, hinge and probabilistic losses (Huber ... Poisson): string names in
compile, the unknown-name message, configs and docstrings. Their values against real Keras are
in tests/reference/test_losses_reference.py; their gradients in tests/engine/test_gradcheck.py."""
import inspect

import numpy as np
import pytest

from tomei.keras import layers, losses, models
from tomei.keras.serialization import deserialize, serialize

# string name -> class, as Keras 3's losses.get() accepts them
NAMES = {
    "huber": losses.Huber,
    "kl_divergence": losses.KLDivergence, "kld": losses.KLDivergence,
    "KLD": losses.KLDivergence, "KLDivergence": losses.KLDivergence,
    "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge,
    "categorical_hinge": losses.CategoricalHinge,
    "log_cosh": losses.LogCosh,
    "mape": losses.MeanAbsolutePercentageError, "MAPE": losses.MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "msle": losses.MeanSquaredLogarithmicError, "MSLE": losses.MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "poisson": losses.Poisson,
}
CLASSES = sorted(set(NAMES.values()), key=lambda c: c.__name__)
FUNCTIONS = {"Huber": "huber", "KLDivergence": "kl_divergence", "Hinge": "hinge",
             "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge",
             "LogCosh": "log_cosh", "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
             "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error", "Poisson": "poisson"}


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.uniform(0.0, 1.0, size=(8, 4)).astype(np.float32)
    y /= y.sum(-1, keepdims=True)  # valid for every loss here (KLD wants distributions)
    return x, y


def small_model():
    # softmax outputs are positive distributions, valid input for KLD, MSLE and Poisson too
    return models.Sequential([layers.Input((3,)), layers.Dense(4, activation="softmax")])


@pytest.mark.parametrize("name", sorted(NAMES))
def test_get_resolves_each_name(name):
    loss = losses.get(name)
    assert type(loss) is NAMES[name]
    assert loss.reduction == "sum_over_batch_size"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_compile_with_string_name_trains_with_that_loss(name):
    x, y = data()
    model = small_model()
    model.compile("sgd", loss=name)
    expected = float(NAMES[name]()(y, model.predict(x, verbose=0)).numpy())
    got = np.ravel(model.evaluate(x, y, verbose=0))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown loss.*'hubber'") as info:
        losses.get("hubber")
    for name in ["huber", "kl_divergence", "kld", "hinge", "squared_hinge", "categorical_hinge",
                 "log_cosh", "mape", "msle", "poisson", "mse", "sparse_categorical_crossentropy"]:
        assert name in str(info.value)
    with pytest.raises(ValueError, match=r"Unknown loss.*'poison'.*poisson"):
        small_model().compile("sgd", loss="poison")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    kwargs = {"delta": 0.7} if cls is losses.Huber else {}
    loss = cls(reduction="sum", name="my_loss", **kwargs)
    again = deserialize(serialize(loss), "keras.losses")
    assert type(again) is cls and again.get_config() == loss.get_config()
    x, y = data(1)
    pred = np.abs(x[:, :1]) + y
    np.testing.assert_allclose(again(y, pred).numpy(), loss(y, pred).numpy())


def test_huber_default_delta_and_formula():
    assert losses.Huber().delta == 1.0 and losses.Huber().name == "huber_loss"
    err = np.array([[0.5, -2.0, 1.0, 3.0]])
    expected = np.mean(np.where(np.abs(err) <= 1, 0.5 * err ** 2, np.abs(err) - 0.5))
    np.testing.assert_allclose(losses.huber(np.zeros_like(err), err).numpy(), [expected],
                               rtol=1e-6)


def test_per_sample_shapes_and_reduction_none():
    x, y = data()
    for cls in CLASSES:
        pred = np.abs(x[:, :1]) + y  # (8, 4), positive
        assert cls(reduction="none")(y, pred).shape == (8,), cls.__name__
        assert cls()(y, pred).shape == (), cls.__name__


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_docstring_gives_formula_and_defaults(cls):
    doc = inspect.getdoc(cls)
    assert "Shapes" in doc and "sum_over_batch_size" in doc
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert param.name in doc, f"{cls.__name__}: document argument {param.name!r}"
    fn = getattr(losses, FUNCTIONS[cls.__name__])
    assert len(inspect.getdoc(fn) or "") > 30


def test_swapped_loss_arguments_name_the_order():
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    predictions = np.random.default_rng(0).normal(size=(1, 10)).astype("float32")
    labels = np.array([5], dtype=np.uint8)
    assert np.isfinite(float(loss_fn(labels, predictions)))  # the right order works
    with pytest.raises(ValueError, match=r"look swapped.*The order is \(y_true, y_pred\)"):
        loss_fn(predictions, labels)


# --- issue 13 item 4: CategoricalCrossentropy(axis=...) and BinaryCrossentropy(axis=...) -----

@pytest.mark.reference
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_axis_matches_keras(keras, axis, from_logits):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 5, 3)).astype("float32")
    probs = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
    y_pred = z if from_logits else probs
    classes, rest = z.shape[axis], tuple(np.delete(z.shape, axis))
    labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, int(np.prod(rest)))]
    labels = np.moveaxis(labels.reshape(rest + (classes,)), -1, axis)
    for name in ("CategoricalCrossentropy", "BinaryCrossentropy"):
        k_loss = getattr(keras.losses, name)(from_logits=from_logits, axis=axis)
        t_loss = getattr(losses, name)(from_logits=from_logits, axis=axis)
        y = labels if name == "CategoricalCrossentropy" else (labels > 0).astype("float32")
        p = y_pred if from_logits or name == "CategoricalCrossentropy" else \
            1 / (1 + np.exp(-z))
        expected = float(keras.ops.convert_to_numpy(k_loss(y, p)))
        assert float(t_loss(y, p)) == pytest.approx(expected, rel=1e-5), name


def test_crossentropy_axis_out_of_range_is_refused():
    with pytest.raises(ValueError, match="axis must be an integer"):
        losses.CategoricalCrossentropy(axis=2)(np.eye(3), np.eye(3) * 0.9 + 0.03)


@pytest.mark.parametrize("loss", [losses.MeanSquaredError(), losses.CategoricalCrossentropy(),
                                  losses.SparseCategoricalCrossentropy()])
def test_text_labels_and_text_predictions_are_named(loss):
    with pytest.raises(ValueError, match=rf"^{loss.name}: argument 'y_true' must hold numbers.*"
                                         r"class indices"):
        loss(np.array(["cat"]), np.array([[0.5, 0.5]]))
    with pytest.raises(TypeError, match=rf"^{loss.name}: argument 'y_pred' must hold numbers"):
        loss(np.array([[1.0, 0.0]]), np.array([["a", "b"]]))


@pytest.mark.parametrize("labels", [np.array([2, 0, 1, 1]), np.array([[2], [0], [1], [1]])])
def test_sparse_logits_mean_is_the_mean_of_the_per_sample_values(labels):
    """The one-op path (logits, no weights, default reduction) against the generic one."""
    z = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32) * 4
    mean = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)
    each = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(labels, z)
    assert mean.shape == () and mean.dtype == np.float32
    np.testing.assert_allclose(mean.numpy(), each.numpy().mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="label value of 3"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 3, 1, 1]), z)


def test_one_hot_labels_with_a_sparse_loss_name_the_two_fixes():
    y_pred = np.full((4, 10), 0.1, np.float32)
    one_hot = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    with pytest.raises(ValueError, match=r"received y_true with shape \(4, 10\).*one-hot.*"
                                         r"categorical_crossentropy.*argmax"):
        losses.SparseCategoricalCrossentropy()(one_hot, y_pred)
    with pytest.raises(ValueError) as caught:  # another wrong shape: no one-hot hint
        losses.SparseCategoricalCrossentropy()(np.zeros((4, 3)), y_pred)
    assert "one-hot" not in str(caught.value)
