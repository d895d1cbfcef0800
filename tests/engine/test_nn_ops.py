"""nn_ops: activations and softmax against closed forms, with gradient checks; dropout's
inverted scaling. (Cross-entropies from logits: tests/test_nn.py; more gradients:
tests/engine/test_gradcheck.py.)"""
import math

import numpy as np
import pytest

from tomei.engine import nn_ops
from tomei.engine.gradcheck import check_gradients

X = np.linspace(-4, 4, 17).reshape(1, 17)


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("softplus", lambda x: np.log1p(np.exp(x))),
    ("softsign", lambda x: x / (1 + np.abs(x))),
    ("elu", lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    ("silu", lambda x: x / (1 + np.exp(-x))),
    ("gelu", lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
])
def test_activation_values_and_gradients(name, formula):
    fn = getattr(nn_ops, name)
    np.testing.assert_allclose(fn(X).numpy(), formula(X), rtol=1e-6, atol=1e-7)
    check_gradients(fn, X + 0.013)  # away from the kinks at 0


def test_softmax_and_log_softmax():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    s = nn_ops.softmax(z).numpy()
    np.testing.assert_allclose(s.sum(-1), [1.0, 1.0])
    np.testing.assert_allclose(s[1], [1 / 3] * 3)  # no overflow for large logits
    np.testing.assert_allclose(nn_ops.log_softmax(z).numpy(), np.log(s), rtol=1e-12)
    check_gradients(nn_ops.softmax, z[:1])
    check_gradients(nn_ops.log_softmax, z[:1])


def test_dropout_keeps_the_expected_value():
    x = np.ones((200, 50), np.float32)
    out = nn_ops.dropout(x, 0.25, rng=np.random.default_rng(0)).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02
    np.testing.assert_array_equal(nn_ops.dropout(x, 0.0).numpy(), x)


# --- text (and booleans where NumPy cannot subtract them) get one clear error -----------------

_ACTIVATIONS = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu",
                "erf", "gelu", "silu", "softmax", "log_softmax"]


@pytest.mark.parametrize("name", _ACTIVATIONS + ["dropout"])
def test_an_activation_given_text_names_itself_and_x(name):
    args = (0.5,) if name == "dropout" else ()
    with pytest.raises(TypeError, match=rf"^{name}: argument 'x' must hold numbers.*received "
                                        rf"text \(dtype string, shape \(2,\)\)"):
        getattr(nn_ops, name)(["a", "b"], *args)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu", "softmax", "log_softmax"])
def test_activations_that_negate_refuse_booleans_by_name(name):
    with pytest.raises(TypeError, match=rf"^{name}: .*received booleans"):
        getattr(nn_ops, name)(np.array([True, False]))


@pytest.mark.parametrize("name", ["sparse_softmax_cross_entropy", "softmax_cross_entropy",
                                  "sigmoid_cross_entropy"])
def test_cross_entropies_name_their_logits(name):
    labels = np.array([0]) if name.startswith("sparse") else np.array([[1.0, 0.0]])
    with pytest.raises(TypeError, match=rf"^{name}: argument 'logits' .*received text"):
        getattr(nn_ops, name)(labels, np.array([["a", "b"]]))
