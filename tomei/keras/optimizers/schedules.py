"""Learning-rate schedules: the learning rate as a function of the optimizer step.

Pass one as ``learning_rate`` to any optimizer; the optimizer evaluates it at
``optimizer.iterations`` (0 on the first update) before every step::

    lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")

Names, arguments, defaults and formulas follow ``keras.optimizers.schedules``.
"""
from __future__ import annotations

import math

from tomei.keras.serialization import register

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "CosineDecay", "serialize", "deserialize"]


class LearningRateSchedule:
    """Base class: a callable ``schedule(step) -> learning rate (float)``.

    Subclasses implement ``__call__`` and ``get_config``; ``from_config`` rebuilds them.
    """

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_decay_steps(decay_steps):
    if not decay_steps > 0:
        raise ValueError(f"Argument `decay_steps` must be > 0; received "
                         f"decay_steps={decay_steps!r}.")


@register("keras.optimizers.schedules")
class ExponentialDecay(LearningRateSchedule):
    """Multiplies the rate by ``decay_rate`` every ``decay_steps`` steps, smoothly::

        lr(step) = initial_learning_rate * decay_rate ^ (step / decay_steps)

    With ``staircase=True`` the exponent is floor(step / decay_steps), so the rate drops
    in steps.

    Args:
        initial_learning_rate: float, the rate at step 0.
        decay_steps: int > 0. decay_rate: float, e.g. 0.96.
        staircase: default False. name: default "ExponentialDecay".

    Raises:
        ValueError: decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate = decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@register("keras.optimizers.schedules")
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate on each interval between ``boundaries``::

        lr(step) = values[0]   if step <= boundaries[0]
                   values[i]   if boundaries[i-1] < step <= boundaries[i]
                   values[-1]  if step > boundaries[-1]

    Args:
        boundaries: list of increasing step numbers. values: list of rates, one more than
            ``boundaries``. name: default "PiecewiseConstant".

    Raises:
        ValueError: len(values) != len(boundaries) + 1, or boundaries not increasing.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay needs one more value than boundaries; "
                             f"received boundaries={list(boundaries)} (length "
                             f"{len(boundaries)}) and values={list(values)} (length "
                             f"{len(values)}).")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay expects strictly increasing boundaries; "
                             f"received boundaries={list(boundaries)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@register("keras.optimizers.schedules")
class CosineDecay(LearningRateSchedule):
    """Cosine annealing (Loshchilov & Hutter, 2017, SGDR, arXiv:1608.03983), optionally
    after a linear warmup (Goyal et al., 2017, arXiv:1706.02677).

    Without warmup (``warmup_target=None``), with s = min(step, decay_steps)::

        lr(step) = initial_learning_rate * ((1 - alpha) * 0.5 (1 + cos(pi s / decay_steps)) + alpha)

    With warmup, the rate first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays as above from ``warmup_target``
    (step counted from the end of the warmup).

    Args:
        initial_learning_rate: float. decay_steps: int > 0, steps to decay over.
        alpha: float, default 0.0: the final rate as a fraction of the starting one.
        name: default "CosineDecay". warmup_target: float or None (default: no warmup).
        warmup_steps: int, default 0.

    Raises:
        ValueError: decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


def serialize(schedule) -> dict:
    """The Keras 3 config dict of a schedule (``{"module", "class_name", "config", ...}``)."""
    from tomei.keras.serialization import serialize as _serialize
    return _serialize(schedule)


def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from ``serialize``'s dict.

    Raises:
        ValueError: an unknown class name.
    """
    from tomei.keras.serialization import deserialize as _deserialize
    return _deserialize(config, "keras.optimizers.schedules", custom_objects)
