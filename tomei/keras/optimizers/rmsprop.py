"""RMSprop (Tieleman & Hinton, 2012, Coursera lecture 6.5) and Adagrad (Duchi et al., 2011)."""
from __future__ import annotations

import numpy as np

from tomei.keras.optimizers.optimizer import Optimizer
from tomei.keras.serialization import register


@register("keras.optimizers")
class RMSprop(Optimizer):
    """Divides the gradient by a running root-mean-square of recent gradients (Keras form)::

        v <- rho v + (1 - rho) g^2
        mean_g <- rho mean_g + (1 - rho) g                (centered only)
        step = lr * g / sqrt(v - mean_g^2 + epsilon)      (mean_g = 0 unless centered)
        m <- momentum m + step; var -= m                  (var -= step when momentum = 0)

    Args:
        learning_rate: default 0.001. rho: default 0.9. momentum: default 0.0.
        epsilon: default 1e-7. centered: default False.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self.slot_names = ("velocity",) + (("momentum",) if momentum else ()) + \
            (("average_gradient",) if centered else ())

    def update_step(self, grad, var, slots, lr):
        rho = np.float32(self.rho)
        v = slots["velocity"]
        v *= rho
        v += (1 - rho) * grad * grad
        denominator = v
        if self.centered:
            mean_g = slots["average_gradient"]
            mean_g *= rho
            mean_g += (1 - rho) * grad
            denominator = v - mean_g * mean_g
        step = lr * grad / np.sqrt(denominator + np.float32(self.epsilon))
        if self.momentum:
            m = slots["momentum"]
            m *= np.float32(self.momentum)
            m += step
            var -= m
        else:
            var -= step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


@register("keras.optimizers")
class Adagrad(Optimizer):
    """Per-weight rates shrinking with the sum of squared gradients::

        acc <- acc + g^2;   var -= lr * g / sqrt(acc + epsilon)

    Args:
        learning_rate: default 0.001. initial_accumulator_value: default 0.1.
        epsilon: default 1e-7.
    """

    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _initial_slot(self, name, like):
        return np.full_like(like, self.initial_accumulator_value)

    def update_step(self, grad, var, slots, lr):
        acc = slots["accumulator"]
        acc += grad * grad
        var -= lr * grad / np.sqrt(acc + np.float32(self.epsilon))

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
