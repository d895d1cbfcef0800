"""Weight penalties added to the loss: L1, L2, L1L2.

A regularizer is a callable ``weights -> scalar Tensor``; the layer adds its value to the
training loss, so its gradient flows through the tape like everything else.
"""
from __future__ import annotations

from tomei.engine import ops
from tomei.keras.serialization import Configurable, register


class Regularizer(Configurable):
    """Base class: ``regularizer(weight) -> scalar Tensor`` (the penalty added to the loss);
    subclasses implement ``__call__`` and ``get_config``."""

    def __call__(self, x):
        raise NotImplementedError


@register("keras.regularizers")
class L1L2(Regularizer):
    """penalty = l1 * sum(|w|) + l2 * sum(w^2). Defaults l1=0.0, l2=0.0."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = ops.convert_to_tensor(0.0)
        if self.l1:
            total = ops.add(total, ops.multiply(ops.reduce_sum(ops.abs(x)), self.l1))
        if self.l2:
            total = ops.add(total, ops.multiply(ops.reduce_sum(ops.square(x)), self.l2))
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register("keras.regularizers")
class L1(L1L2):
    """penalty = l1 * sum(|w|); default l1=0.01."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


@register("keras.regularizers")
class L2(L1L2):
    """penalty = l2 * sum(w^2); default l2=0.01."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    """None, a name ('l2'), a config dict, or a callable -> a regularizer (or None)."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.regularizers")
    raise ValueError(f"Unknown regularizer: received {identifier!r}. Expected one of "
                     f"{', '.join(sorted(_NAMES))}, a Regularizer or a callable.")
