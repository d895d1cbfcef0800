"""Nadam: Adam with Nesterov momentum (Dozat, 2016, "Incorporating Nesterov Momentum into
Adam", ICLR workshop), in Keras 3's form with the momentum schedule of the paper."""
from __future__ import annotations

import numpy as np

from tomei.keras.optimizers.optimizer import Optimizer
from tomei.keras.serialization import register


@register("keras.optimizers")
class Nadam(Optimizer):
    """Nesterov-accelerated Adam.

    The momentum coefficient follows the schedule mu_t = beta_1 (1 - 0.5 * 0.96^t), and
    P_t = mu_1 mu_2 ... mu_t is kept across steps. At step t, for gradient g::

        m <- m + (g - m) (1 - beta_1)
        v <- v + (g^2 - v) (1 - beta_2)
        m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
        v_hat = v / (1 - beta_2^t)
        var <- var - lr * m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate: float or schedule, default 0.001. beta_1: default 0.9.
        beta_2: default 0.999. epsilon: default 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see ``Optimizer``.

    Slots per variable: "momentum" and "velocity"; plus one scalar, the product P_t
    (listed last in ``variables``, as Keras does).
    """

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = np.float32(1.0)
        self._u_step = 0  # the step u_product was last advanced for

    def set_momentum_product(self, value, step):
        """Restores P_t, the product of the momentum factors up to ``step`` (loading a saved
        state: the next update, step + 1, multiplies it by mu_{step+1})."""
        self.u_product = np.float32(value)
        self._u_step = int(step)

    def _mu(self, t):
        return np.float32(self.beta_1 * (1.0 - 0.5 * 0.96 ** t))

    def update_step(self, grad, var, slots, lr):
        t = self._step
        if self._u_step != t:  # once per step, even when called once per variable
            self.u_product = np.float32(self.u_product * self._mu(t))
            self._u_step = t
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        m, v = slots["momentum"], slots["velocity"]
        m += (grad - m) * np.float32(1 - self.beta_1)
        v += (grad * grad - v) * np.float32(1 - self.beta_2)
        m_hat = (m * (mu_next / (1 - self.u_product * mu_next))
                 + grad * ((1 - mu_t) / (1 - self.u_product)))
        v_hat = v / np.float32(1 - self.beta_2 ** t)
        var -= lr * m_hat / (np.sqrt(v_hat) + np.float32(self.epsilon))

    @property
    def variables(self) -> list:
        return super().variables + [np.asarray(self.u_product, np.float32)]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
