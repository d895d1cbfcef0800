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

# name -> (y_true, y_pred from logits, y_pred as probabilities); None: no from_logits arg
CASES = {
    "SparseCategoricalCrossentropy": (LABELS, LOGITS, PROBS),
    "CategoricalCrossentropy": (ONEHOT, LOGITS, PROBS),
    "BinaryCrossentropy": (Y_BIN, Z_BIN, P_BIN),
    "MeanSquaredError": (Y_REG, Z_BIN, None),
    "MeanAbsoluteError": (Y_REG, Z_BIN, None),
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
    for name, (y_true, logits, probs) in CASES.items():
        snake = {"MeanSquaredError": "mse", "MeanAbsoluteError": "mae"}.get(name) or \
            "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
        y_pred = probs if probs is not None else logits
        expected = to_np(keras.losses.get(snake)(y_true, y_pred)).mean()
        np.testing.assert_allclose(tk.losses.get(snake)(y_true, y_pred).numpy(), expected,
                                   rtol=1e-6)
