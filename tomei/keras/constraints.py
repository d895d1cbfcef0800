"""Constraints applied to a weight after each optimizer update: MaxNorm, NonNeg, UnitNorm.

A constraint is a callable ``array -> array``; the optimizer writes its result back.
"""
from __future__ import annotations

import numpy as np

from tomei.keras.serialization import Configurable, register


class Constraint(Configurable):
    """Base class: ``constraint(w) -> w'`` projects a weight array after each optimizer
    update (the base class returns ``w`` unchanged)."""

    def __call__(self, w):
        return w


@register("keras.constraints")
class MaxNorm(Constraint):
    """Rescales each weight vector (norm over ``axis``, default 0) to norm <= max_value (2)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@register("keras.constraints")
class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return w * (w >= 0)


@register("keras.constraints")
class UnitNorm(Constraint):
    """Rescales each weight vector (norm over ``axis``, default 0) to norm 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (1e-7 + np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


max_norm, non_neg, unit_norm = MaxNorm, NonNeg, UnitNorm
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}


def get(identifier):
    """A constraint from None, a callable, a name ('max_norm', 'non_neg', 'unit_norm') or a
    config dict. Raises ValueError for anything else, listing the names."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.constraints")
    raise ValueError(f"Unknown constraint: received {identifier!r}. Expected one of "
                     f"{', '.join(sorted(_NAMES))}, a Constraint or a callable.")
