"""Stochastic gradient descent, with optional (Nesterov) momentum."""
from __future__ import annotations

import numpy as np

from tomei.keras.optimizers.optimizer import Optimizer
from tomei.keras.serialization import register


@register("keras.optimizers")
class SGD(Optimizer):
    """Gradient descent: ``var -= lr * g``, or with momentum (Keras's form)::

        m <- momentum * m - lr * g
        var <- var + m                               (nesterov=False)
        var <- var + momentum * m - lr * g           (nesterov=True; Sutskever et al., 2013)

    Args:
        learning_rate: default 0.01. momentum: float in [0, 1], default 0.0. nesterov: default False.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or \
                not 0 <= momentum <= 1:
            raise ValueError(f"SGD expects momentum in [0, 1] (as Keras 3; e.g. 0.9); received "
                             f"momentum={momentum!r}.")
        self.momentum, self.nesterov = float(momentum), nesterov
        self.slot_names = ("momentum",) if self.momentum else ()

    def update_step(self, grad, var, slots, lr):
        if not self.momentum:
            var -= lr * grad
            return
        m = slots["momentum"]
        m *= np.float32(self.momentum)
        m -= lr * grad
        if self.nesterov:
            var += np.float32(self.momentum) * m - lr * grad
        else:
            var += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
