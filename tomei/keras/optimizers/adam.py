"""Adam and AdamW (Kingma & Ba, 2015, arXiv:1412.6980; Loshchilov & Hutter, 2019)."""
from __future__ import annotations

import math

import numpy as np

from tomei.engine import fused
from tomei.keras.optimizers.optimizer import Optimizer
from tomei.keras.serialization import register


@register("keras.optimizers")
class Adam(Optimizer):
    """Adaptive moment estimation, with Keras's defaults and update form.

    Args:
        learning_rate: default 0.001. beta_1: default 0.9. beta_2: default 0.999.
        epsilon: default 1e-7 (Keras's "epsilon hat", not PyTorch's 1e-8).
        amsgrad: default False; if True use the running max of v (Reddi et al., 2018).

    At step t (1, 2, ...), for gradient g::

        m <- m + (g - m) (1 - beta_1)
        v <- v + (g^2 - v) (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        var <- var - alpha * m / (sqrt(v) + epsilon)

    The bias correction is folded into alpha (the form just before section 2.1 of the paper).
    """

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self._constants_key = self._constants = None  # see _step_constants
        if amsgrad:
            self.slot_names = ("momentum", "velocity", "velocity_hat")

    def update_step(self, grad, var, slots, lr):
        m, v = slots["momentum"], slots["velocity"]
        alpha, one_minus_beta_1, one_minus_beta_2, epsilon = self._step_constants(lr)
        k = fused.loaded(var)
        if k is not None and not self.amsgrad and _flat_views_free(grad, var, m, v):
            # the four lines below as one compiled loop (tomei/engine/fused.py adam_update)
            k.adam_update(grad, var, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon)
            return
        m += (grad - m) * one_minus_beta_1
        v += (grad * grad - v) * one_minus_beta_2
        if self.amsgrad:
            np.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
            v = slots["velocity_hat"]
        var -= alpha * m / (np.sqrt(v) + epsilon)

    def _step_constants(self, lr):
        """(alpha, 1 - beta_1, 1 - beta_2, epsilon) as float32 for this step, where
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); computed once per step, not once
        per variable."""
        key = (self._step, lr, self.beta_1, self.beta_2, self.epsilon)
        if self._constants_key != key:
            t = self._step
            self._constants = (
                np.float32(lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)),
                np.float32(1 - self.beta_1), np.float32(1 - self.beta_2),
                np.float32(self.epsilon))
            self._constants_key = key
        return self._constants

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


def _flat_views_free(grad, var, m, v) -> bool:
    """True when the four arrays have the kernels' float type and one shape and are
    C-contiguous, so the kernel can take them as flat (apply_gradients has already matched the
    gradient's shape and dtype to the variable's)."""
    return (var.dtype in fused.FLOAT_TYPES and grad.dtype == var.dtype and
            m.shape == v.shape == var.shape and grad.flags.c_contiguous and
            var.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous)


@register("keras.optimizers")
class AdamW(Adam):
    """Adam with decoupled weight decay: var -= var * weight_decay * lr before each step.

    Args: as Adam, plus weight_decay (default 0.004, as Keras).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)
