"""Activation functions by Keras name: ``activations.get('relu')`` returns ``relu``.

Each function takes a Tensor of any shape and returns one of the same shape and dtype.
The math and its gradient live in :mod:`tomei.engine.nn_ops`.
"""
from __future__ import annotations

from tomei.engine import nn_ops, ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); Keras's options: ``negative_slope * (x - threshold)`` below ``threshold``,
    and values capped at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn_ops.relu(x)
    x = ops.convert_to_tensor(x)
    above = (x.value >= threshold).astype(x.dtype)
    out = ops.add(ops.multiply(x, above),
                  ops.multiply(ops.subtract(x, threshold), negative_slope * (1 - above)))
    return ops.minimum(out, max_value) if max_value is not None else out


def sigmoid(x):
    """1 / (1 + e^-x), values in (0, 1)."""
    return nn_ops.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent, values in (-1, 1)."""
    return nn_ops.tanh(x)


def softmax(x, axis=-1):
    """e^x / sum(e^x) along ``axis`` (default last): each row becomes probabilities."""
    return nn_ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis`` (default -1), computed stably as x - logsumexp(x)."""
    return nn_ops.log_softmax(x, axis)


def softplus(x):
    """ln(1 + e^x)."""
    return nn_ops.softplus(x)


def softsign(x):
    """x / (1 + |x|)."""
    return nn_ops.softsign(x)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1)."""
    return nn_ops.elu(x, alpha)


def selu(x):
    """Scaled ELU with alpha 1.67326, scale 1.05070 (Klambauer et al., 2017)."""
    return nn_ops.selu(x)


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016)."""
    return nn_ops.gelu(x, approximate)


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x (Keras default 0.2)."""
    return nn_ops.leaky_relu(x, negative_slope)


def silu(x):
    """x * sigmoid(x), also called swish."""
    return nn_ops.silu(x)


swish = silu


def exponential(x):
    """e^x."""
    return ops.exp(x)


def linear(x):
    """The identity (Dense's default: no activation)."""
    return ops.convert_to_tensor(x)


_ALL = {f.__name__: f for f in (relu, sigmoid, tanh, softmax, log_softmax, softplus, softsign,
                                 elu, selu, gelu, leaky_relu, silu, exponential, linear)}
_ALL["swish"] = silu


def get(identifier):
    """Resolves an activation: None -> linear, a name -> the function, a callable -> itself.

    Raises:
        ValueError: unknown name, listing the valid ones.
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier in _ALL:
            return _ALL[identifier]
        raise ValueError(f"Unknown activation: received activation={identifier!r}. "
                         f"Expected one of: {', '.join(sorted(_ALL))}.")
    if isinstance(identifier, dict):  # Keras 3 config form
        return get(identifier.get("config", {}).get("name") or identifier.get("class_name"))
    raise ValueError(f"Expected an activation name or a callable; received activation="
                     f"{identifier!r} of type {type(identifier).__name__}.")


def serialize(activation) -> str:
    """The Keras name of an activation function (for configs)."""
    for name, fn in _ALL.items():
        if fn is activation:
            return "silu" if name == "swish" else name
    name = getattr(activation, "__name__", None)
    if name == "<lambda>" or name is None:
        return "__lambda__"
    return name
