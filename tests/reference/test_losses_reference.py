"""Every tomei loss against real Keras 3: both from_logits settings, every reduction, with and
without sample_weight, the function forms, label smoothing and ignore_class."""
import numpy as np
import pytest

import tomei.keras as tk

pytestmark = [
    pytest.mark.reference,
    # numpy 2 warns about torch's __array__ inside Keras; not ours, and it floods the output
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

N, C = 6, 4
RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(N, C)).astype(np.float32)
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype(np.float32)
LABELS = RNG.integers(0, C, N)
ONEHOT = np.eye(C, dtype=np.float32)[LABELS]
Z_BIN = RNG.normal(size=(N, 3)).astype(np.float32)
P_BIN = (1 / (1 + np.exp(-Z_BIN))).astype(np.float32)
Y_BIN = RNG.integers(0, 2, (N, 3)).astype(np.float32)
Y_REG = RNG.normal(size=(N, 3)).astype(np.float32)
SAMPLE_WEIGHT = RNG.random(N).astype(np.float32)
# drawn after the data above, so adding them left the older cases' data unchanged
Y_SOFT = RNG.dirichlet(np.ones(C), N).astype(np.float32)
Y_PM1 = np.where(RNG.random((N, 3)) > 0.5, 1.0, -1.0).astype(np.float32)
Y_COUNTS = RNG.poisson(2.0, (N, 3)).astype(np.float32)
RATES = np.exp(RNG.normal(size=(N, 3))).astype(np.float32)
Y_POS = RNG.uniform(0.0, 3.0, (N, 3)).astype(np.float32)

# name -> (y_true, y_pred from logits, y_pred as probabilities); None: no from_logits arg
CASES = {
    "SparseCategoricalCrossentropy": (LABELS, LOGITS, PROBS),
    "CategoricalCrossentropy": (ONEHOT, LOGITS, PROBS),
    "BinaryCrossentropy": (Y_BIN, Z_BIN, P_BIN),
    "MeanSquaredError": (Y_REG, Z_BIN, None),
    "MeanAbsoluteError": (Y_REG, Z_BIN, None),
    "Huber": (Y_REG, 2 * Z_BIN, None),  # errors on both sides of delta=1
    "KLDivergence": (Y_SOFT, PROBS, None),
    "Hinge": (Y_BIN, Z_BIN, None),  # 0/1 labels: Keras maps them to -1/1
    "SquaredHinge": (Y_BIN, Z_BIN, None),
    "CategoricalHinge": (ONEHOT, LOGITS, None),
    "LogCosh": (Y_REG, 3 * Z_BIN, None),
    "MeanAbsolutePercentageError": (Y_REG, Z_BIN, None),
    "MeanSquaredLogarithmicError": (Y_POS, Z_BIN, None),  # negative y_pred: clipped to eps
    "Poisson": (Y_COUNTS, RATES, None),
}
# the string name each loss has in both libraries
STRING_NAMES = {
    "SparseCategoricalCrossentropy": ["sparse_categorical_crossentropy"],
    "CategoricalCrossentropy": ["categorical_crossentropy"],
    "BinaryCrossentropy": ["binary_crossentropy"],
    "MeanSquaredError": ["mse", "mean_squared_error"],
    "MeanAbsoluteError": ["mae", "mean_absolute_error"],
    "Huber": ["huber"],
    "KLDivergence": ["kl_divergence", "kld"],
    "Hinge": ["hinge"],
    "SquaredHinge": ["squared_hinge"],
    "CategoricalHinge": ["categorical_hinge"],
    "LogCosh": ["log_cosh"],
    "MeanAbsolutePercentageError": ["mape", "mean_absolute_percentage_error"],
    "MeanSquaredLogarithmicError": ["msle", "mean_squared_logarithmic_error"],
    "Poisson": ["poisson"],
}
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None]


def _params():
    for name, (_, _, probs) in CASES.items():
        for from_logits in ([True, False] if probs is not None else [None]):
            for reduction in REDUCTIONS:
                for weighted in (False, True):
                    yield pytest.param(name, from_logits, reduction, weighted,
                                       id=f"{name}-logits={from_logits}-{reduction}-w={weighted}")


@pytest.mark.parametrize("name, from_logits, reduction, weighted", list(_params()))
def test_loss_matches_keras(keras, to_np, name, from_logits, reduction, weighted):
    y_true, logits, probs = CASES[name]
    kwargs = {"reduction": reduction}
    if from_logits is not None:
        kwargs["from_logits"] = from_logits
    y_pred = logits if from_logits in (True, None) else probs
    w = SAMPLE_WEIGHT if weighted else None
    expected = to_np(getattr(keras.losses, name)(**kwargs)(y_true, y_pred, sample_weight=w))
    got = getattr(tk.losses, name)(**kwargs)(y_true, y_pred, sample_weight=w).numpy()
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sparse_categorical_crossentropy", "categorical_crossentropy",
                                  "binary_crossentropy"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_function_forms_give_per_sample_values(keras, to_np, name, from_logits):
    cls = "".join(w.capitalize() for w in name.split("_"))
    y_true, logits, probs = CASES[cls]
    y_pred = logits if from_logits else probs
    expected = to_np(getattr(keras.losses, name)(y_true, y_pred, from_logits=from_logits))
    got = getattr(tk.losses, name)(y_true, y_pred, from_logits=from_logits).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, alias", [("mean_squared_error", "mse"),
                                         ("mean_absolute_error", "mae")])
def test_regression_function_forms(keras, to_np, name, alias):
    expected = to_np(getattr(keras.losses, name)(Y_REG, Z_BIN))
    np.testing.assert_allclose(getattr(tk.losses, name)(Y_REG, Z_BIN).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(getattr(tk.losses, alias)(Y_REG, Z_BIN).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("cls", ["CategoricalCrossentropy", "BinaryCrossentropy"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_label_smoothing(keras, to_np, cls, from_logits):
    y_true, logits, probs = CASES[cls]
    y_pred = logits if from_logits else probs
    args = dict(from_logits=from_logits, label_smoothing=0.2)
    np.testing.assert_allclose(getattr(tk.losses, cls)(**args)(y_true, y_pred).numpy(),
                               to_np(getattr(keras.losses, cls)(**args)(y_true, y_pred)),
                               rtol=1e-5)


@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_labels_as_column_and_ignore_class(keras, to_np, from_logits):
    y_pred = LOGITS if from_logits else PROBS
    column = LABELS[:, None]
    np.testing.assert_allclose(
        tk.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(column, y_pred).numpy(),
        to_np(keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(column, y_pred)),
        rtol=1e-6)
    ignored = int(LABELS[0])
    args = dict(from_logits=from_logits, ignore_class=ignored, reduction="none")
    np.testing.assert_allclose(
        tk.losses.SparseCategoricalCrossentropy(**args)(LABELS, y_pred).numpy(),
        to_np(keras.losses.SparseCategoricalCrossentropy(**args)(LABELS, y_pred)),
        rtol=1e-6, atol=1e-7)


def test_string_names_resolve_to_the_same_losses(keras, to_np):
    # Keras's get() returns the per-sample function, tomei's the Loss object with the default
    # reduction; compile() uses either the same way, so compare the batch means.
    assert set(STRING_NAMES) == set(CASES)
    for name, (y_true, logits, probs) in CASES.items():
        y_pred = probs if probs is not None else logits
        for snake in STRING_NAMES[name]:
            expected = to_np(keras.losses.get(snake)(y_true, y_pred)).mean()
            got = tk.losses.get(snake)
            assert type(got).__name__ == name, snake
            np.testing.assert_allclose(got(y_true, y_pred).numpy(), expected, rtol=1e-5,
                                       atol=1e-6, err_msg=snake)


NEW_FUNCTIONS = ["huber", "kl_divergence", "hinge", "squared_hinge", "categorical_hinge",
                 "log_cosh", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
                 "poisson"]


@pytest.mark.parametrize("fn", NEW_FUNCTIONS)
def test_new_function_forms_give_per_sample_values(keras, to_np, fn):
    cls = next(c for c, names in STRING_NAMES.items() if fn in names)
    y_true, y_pred, _ = CASES[cls]
    expected = to_np(getattr(keras.losses, fn)(y_true, y_pred))
    got = getattr(tk.losses, fn)(y_true, y_pred).numpy()
    assert got.shape == expected.shape == (N,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alias, fn", [("kld", "kl_divergence"),
                                       ("mape", "mean_absolute_percentage_error"),
                                       ("msle", "mean_squared_logarithmic_error")])
def test_function_aliases(alias, fn):
    assert getattr(tk.losses, alias) is getattr(tk.losses, fn)


@pytest.mark.parametrize("delta", [0.25, 1.0, 2.5])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
def test_huber_delta(keras, to_np, delta, reduction):
    y_pred = 2 * Z_BIN
    args = {"delta": delta, "reduction": reduction}
    np.testing.assert_allclose(
        tk.losses.Huber(**args)(Y_REG, y_pred, sample_weight=SAMPLE_WEIGHT).numpy(),
        to_np(keras.losses.Huber(**args)(Y_REG, y_pred, sample_weight=SAMPLE_WEIGHT)),
        rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tk.losses.huber(Y_REG, y_pred, delta=delta).numpy(),
                               to_np(keras.losses.huber(Y_REG, y_pred, delta=delta)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ["Hinge", "SquaredHinge", "CategoricalHinge"])
@pytest.mark.parametrize("labels", ["pm1", "non_binary"])
def test_hinge_label_conventions(keras, to_np, cls, labels):
    # -1/1 labels are used as given; labels that are not all 0/1 are not converted either
    y_true = {"pm1": Y_PM1, "non_binary": np.where(Y_BIN == 1, 1.0, 0.5).astype(np.float32)}
    y_true = y_true[labels]
    y_pred = Z_BIN
    np.testing.assert_allclose(
        getattr(tk.losses, cls)(reduction="none")(y_true, y_pred).numpy(),
        to_np(getattr(keras.losses, cls)(reduction="none")(y_true, y_pred)),
        rtol=1e-5, atol=1e-6)


def test_new_losses_default_names_match_keras(keras):
    for name in STRING_NAMES:
        assert getattr(tk.losses, name)().name == getattr(keras.losses, name)().name
