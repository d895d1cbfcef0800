"""Weight initializers with Keras names and defaults.

An initializer is called as ``init(shape, dtype='float32')`` and returns a NumPy array.
Fans for a kernel of shape (..., fan_in, fan_out): fan_in = prod(shape[:-1]),
fan_out = shape[-1] times the receptive field for conv kernels.
"""
from __future__ import annotations

import math

import numpy as np

from tomei import config
from tomei.keras.naming import snake_case
from tomei.keras.serialization import Configurable, register


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(Configurable):
    """Base class: subclasses implement ``__call__(shape, dtype=None)``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        # A seeded initializer gives the same values every time it is called, like Keras.
        return np.random.default_rng(self.seed) if self.seed is not None else config.rng()

    def get_config(self):
        return {"seed": self.seed}


@register("keras.initializers")
class Zeros(Initializer):
    """All zeros (Dense's default bias)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or config.floatx())


@register("keras.initializers")
class Ones(Initializer):
    """All ones (BatchNormalization's default gamma)."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=dtype or config.floatx())


@register("keras.initializers")
class Constant(Initializer):
    """Every value equals ``value`` (default 0.0)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or config.floatx())

    def get_config(self):
        return {"value": self.value}


@register("keras.initializers")
class RandomUniform(_Seeded):
    """U(minval, maxval); defaults -0.05, 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype or config.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@register("keras.initializers")
class RandomNormal(_Seeded):
    """N(mean, stddev^2); defaults 0.0, 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(dtype or config.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal samples redrawn until they fall within two standard deviations."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


@register("keras.initializers")
class TruncatedNormal(RandomNormal):
    """N(mean, stddev^2) with samples beyond 2 stddev redrawn; defaults 0.0, 0.05."""

    def __call__(self, shape, dtype=None):
        values = _truncated_normal(self._rng(), shape, self.mean, self.stddev)
        return values.astype(dtype or config.floatx())


@register("keras.initializers")
class VarianceScaling(_Seeded):
    """Samples scaled to the layer's fan (He et al., 2015; Glorot & Bengio, 2010).

    n = fan_in, fan_out or their mean (``mode``); s = scale / max(1, n).
    'uniform': U(-sqrt(3 s), sqrt(3 s)). 'truncated_normal': truncated N(0, s) with
    stddev sqrt(s) / 0.87962566103423978. 'untruncated_normal': N(0, s).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Expected mode in 'fan_in', 'fan_out', 'fan_avg'; received mode={mode!r}.")
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal", "normal"):
            raise ValueError("Expected distribution in 'uniform', 'truncated_normal', "
                             f"'untruncated_normal'; received distribution={distribution!r}.")
        self.scale, self.mode = scale, mode
        self.distribution = "truncated_normal" if distribution == "normal" else distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        s = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            values = rng.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            values = _truncated_normal(rng, shape, 0.0, math.sqrt(s) / 0.87962566103423978)
        else:
            values = rng.normal(0.0, math.sqrt(s), shape)
        return values.astype(dtype or config.floatx())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale, mode and distribution: only ``seed`` is its own."""

    def get_config(self):
        return {"seed": self.seed}


@register("keras.initializers")
class GlorotUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Dense's default kernel initializer. Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed)


@register("keras.initializers")
class GlorotNormal(_Preset):
    """Truncated normal, stddev = sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed)


@register("keras.initializers")
class HeUniform(_Preset):
    """U(-limit, limit), limit = sqrt(6 / fan_in) (He et al., 2015).

    Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=2.0, mode="fan_in", distribution="uniform", seed=seed)


@register("keras.initializers")
class HeNormal(_Preset):
    """Truncated normal, stddev = sqrt(2 / fan_in) (He et al., 2015).

    Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=2.0, mode="fan_in", distribution="truncated_normal", seed=seed)


@register("keras.initializers")
class LecunUniform(_Preset):
    """U(-limit, limit), limit = sqrt(3 / fan_in) (LeCun et al., 1998).

    Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_in", distribution="uniform", seed=seed)


@register("keras.initializers")
class LecunNormal(_Preset):
    """Truncated normal, stddev = sqrt(1 / fan_in) (LeCun et al., 1998).

    Args: seed: default None (the global generator).
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_in", distribution="truncated_normal", seed=seed)


_ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_uniform": RandomUniform,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "uniform": RandomUniform, "normal": RandomNormal,  # Keras's short aliases (Embedding)
}


def get(identifier):
    """Resolves an initializer from a name ('glorot_uniform'), a class name, a config dict,
    an instance or a callable. Raises ValueError for an unknown name, listing valid ones."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.initializers")
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _ALIASES.get(snake_case(identifier))
        if cls is not None:
            return cls()
    raise ValueError(f"Unknown initializer: received {identifier!r}. Expected one of: "
                     f"{', '.join(sorted(_ALIASES))}, or an Initializer instance.")


def serialize(initializer):
    """The Keras 3 config dict of ``initializer`` (see ``tomei.keras.serialization``)."""
    from tomei.keras.serialization import serialize as ser
    return ser(initializer)
