"""Learning-rate schedules: the learning rate as a function of the optimizer step.

Pass one as ``learning_rate`` to any optimizer; the optimizer evaluates it at
``optimizer.iterations`` (0 on the first update) before every step::

    lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse")

A schedule also takes an array of steps and returns the rates as a float32 Tensor, so
it can be plotted (``lr_schedule(np.linspace(0, 100000))``); one step gives a Python float.

Names, arguments, defaults and formulas follow ``keras.optimizers.schedules``.
"""
from __future__ import annotations

import math

import numpy as np

from tomei.engine.tensor import Tensor
from tomei.keras.serialization import register

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]


def _steps(step) -> np.ndarray:
    """The step(s) as float64 (a scalar step gives a 0-d array)."""
    return np.asarray(step.value if isinstance(step, Tensor) else step, dtype=np.float64)


def _rate(value: np.ndarray):
    """A Python float for one step; a float32 Tensor for an array of steps."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else Tensor(value.astype(np.float32))


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


class _RateDecay(LearningRateSchedule):
    """Shared by ExponentialDecay and InverseTimeDecay: their arguments, their config, and
    the progress p = step / decay_steps (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate = decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def _progress(self, step):
        p = _steps(step) / self.decay_steps
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@register("keras.optimizers.schedules")
class ExponentialDecay(_RateDecay):
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
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _rate(self.initial_learning_rate *
                     np.power(float(self.decay_rate), self._progress(step)))


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
        s = _steps(step)
        # the index of the first boundary >= step (len(boundaries) past the last one)
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), s, side="left")
        return _rate(np.asarray(self.values, dtype=np.float64)[index])

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
        cosine = 0.5 * (1.0 + np.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = _steps(step)
        if self.warmup_target is None:
            return _rate(self._decay(np.minimum(step, self.decay_steps),
                                     self.initial_learning_rate))
        step = np.minimum(step, self.decay_steps + self.warmup_steps)
        rise = self.warmup_target - self.initial_learning_rate
        warming = self.initial_learning_rate + rise * step / max(self.warmup_steps, 1)
        decayed = self._decay(step - self.warmup_steps, self.warmup_target)
        return _rate(np.where(step < self.warmup_steps, warming, decayed))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


@register("keras.optimizers.schedules")
class PolynomialDecay(LearningRateSchedule):
    """Decays from ``initial_learning_rate`` to ``end_learning_rate`` along a polynomial::

        s = min(step, decay_steps)                       (cycle=False)
        lr(step) = (initial - end) * (1 - s / decay_steps) ^ power + end

    With ``cycle=True`` the decay restarts: decay_steps is multiplied by
    ceil(step / decay_steps) (by 1 at step 0) instead of clamping the step.

    Args:
        initial_learning_rate: float. decay_steps: int > 0.
        end_learning_rate: default 0.0001. power: default 1.0 (linear). cycle: default False.
        name: default "PolynomialDecay".

    Raises:
        ValueError: decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step):
        s = _steps(step)
        steps = np.full_like(s, float(self.decay_steps))
        if self.cycle:
            steps = steps * np.where(s == 0, 1.0, np.ceil(s / self.decay_steps))
        else:
            s = np.minimum(s, steps)
        span = self.initial_learning_rate - self.end_learning_rate
        return _rate(span * np.power(1.0 - s / steps, self.power) + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


@register("keras.optimizers.schedules")
class InverseTimeDecay(_RateDecay):
    """The rate falls as the inverse of time::

        lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps)

    With ``staircase=True`` step / decay_steps is floored, so the rate drops in steps.

    Args:
        initial_learning_rate: float. decay_steps: int > 0. decay_rate: float.
        staircase: default False. name: default "InverseTimeDecay".

    Raises:
        ValueError: decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return _rate(self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step)))


@register("keras.optimizers.schedules")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine annealing with warm restarts (SGDR; Loshchilov & Hutter, 2017,
    arXiv:1608.03983). The first period lasts ``first_decay_steps``; each later one is
    ``t_mul`` times longer and starts from ``m_mul`` times the previous peak. With
    f = step / first_decay_steps, the restart number i and the fraction c of period i are

        t_mul == 1:  i = floor(f),  c = f - i
        otherwise:   i = floor(log(1 - f (1 - t_mul)) / log(t_mul)),
                     c = (f - (1 - t_mul^i) / (1 - t_mul)) / t_mul^i

    and lr = initial * ((1 - alpha) * 0.5 * m_mul^i * (1 + cos(pi c)) + alpha).

    Args:
        initial_learning_rate: float. first_decay_steps: int > 0.
        t_mul: default 2.0. m_mul: default 1.0. alpha: default 0.0.
        name: default "SGDRDecay".

    Raises:
        ValueError: first_decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        if not first_decay_steps > 0:
            raise ValueError(f"Argument `first_decay_steps` must be > 0; received "
                             f"first_decay_steps={first_decay_steps!r}.")
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        f = _steps(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            i = np.floor(f)
            c = f - i
        else:
            i = np.floor(np.log(1.0 - f * (1.0 - self.t_mul)) / np.log(self.t_mul))
            c = (f - (1.0 - self.t_mul ** i) / (1.0 - self.t_mul)) / self.t_mul ** i
        cosine = 0.5 * self.m_mul ** i * (1.0 + np.cos(math.pi * c))
        return _rate(self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


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
