"""Adamax: Adam with the infinity norm (Kingma & Ba, 2015, arXiv:1412.6980, section 7.1)."""
from __future__ import annotations

import numpy as np

from tomei.keras.optimizers.optimizer import Optimizer
from tomei.keras.serialization import register


@register("keras.optimizers")
class Adamax(Optimizer):
    """Adam's variant that scales steps by a running maximum of |g| instead of sqrt(v).

    At step t (1, 2, ...), for gradient g (Keras 3's update form)::

        m <- m + (g - m) (1 - beta_1)
        u <- max(beta_2 u, |g|)
        var <- var - lr * m / ((1 - beta_1^t) (u + epsilon))

    Args:
        learning_rate: float or schedule, default 0.001. beta_1: default 0.9.
        beta_2: default 0.999. epsilon: default 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see ``Optimizer``.

    Slots per variable: "momentum" (m) and "norm" (u), both starting at 0.
    """

    slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, grad, var, slots, lr):
        m, u = slots["momentum"], slots["norm"]
        m += (grad - m) * np.float32(1 - self.beta_1)
        np.maximum(u * np.float32(self.beta_2), np.abs(grad), out=u)
        correction = np.float32(1 - self.beta_1 ** self._step)
        var -= lr * m / (correction * (u + np.float32(self.epsilon)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
