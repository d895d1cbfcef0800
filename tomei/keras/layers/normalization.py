"""Normalization layers: LayerNormalization and BatchNormalization.

Both subtract a mean and divide by a standard deviation, then apply a learned scale
``gamma`` and offset ``beta``::

    out = (x - mean) / sqrt(variance + epsilon) * gamma + beta

They differ in *which* numbers the mean and variance are taken over: LayerNormalization
uses the features of each sample; BatchNormalization uses the batch, per feature, and
keeps running averages of them for inference. The math is built from engine ops, so the
GradientTape differentiates through the mean and variance too.
"""
from __future__ import annotations

from tomei.engine import ops
from tomei.keras import constraints, initializers, regularizers
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register, serialize


def _normalize(x, mean, variance, epsilon, gamma, beta):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta (gamma, beta may be None)."""
    out = ops.divide(ops.subtract(x, mean), ops.sqrt(ops.add(variance, epsilon)))
    if gamma is not None:
        out = ops.multiply(out, gamma)
    if beta is not None:
        out = ops.add(out, beta)
    return out


def _moments(x, axes):
    """Mean and biased variance (divided by n, not n - 1) over ``axes``, kept as size-1 axes."""
    mean = ops.reduce_mean(x, axis=axes, keepdims=True)
    variance = ops.reduce_mean(ops.square(ops.subtract(x, mean)), axis=axes, keepdims=True)
    return mean, variance


class _Normalization(Layer):
    """Shared argument handling: center/scale, initializers, regularizers, constraints."""

    rows_independent = True

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"{type(self).__name__} expects epsilon > 0; received "
                             f"epsilon={epsilon!r}.")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = None

    def _add_gamma_beta(self, shape):
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _broadcast(self, weight, shape):
        return None if weight is None else ops.reshape(weight, shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": serialize(self.beta_initializer),
                "gamma_initializer": serialize(self.gamma_initializer),
                "beta_regularizer": serialize(self.beta_regularizer),
                "gamma_regularizer": serialize(self.gamma_regularizer),
                "beta_constraint": serialize(self.beta_constraint),
                "gamma_constraint": serialize(self.gamma_constraint)}


def _positive_axes(axis, rank, layer):
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if not isinstance(a, int) or not -rank <= a < rank or a % rank == 0:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis={axis!r} is invalid "
                             f"for inputs of rank {rank}; expected axes in [1, {rank - 1}] "
                             f"(or negative), never the batch axis 0.")
        out.append(a % rank)
    return sorted(set(out))


@register("keras.layers")
class LayerNormalization(_Normalization):
    """Normalizes each sample over its feature axes (Ba, Kiros & Hinton, 2016,
    arXiv:1607.06450)::

        mean, var = mean and biased variance of x over ``axis``, per sample
        out = (x - mean) / sqrt(var + epsilon) * gamma + beta

    Args:
        axis: int or list of ints, default -1: the axes normalized (and the shape of
            gamma/beta). Never 0 (the batch axis).
        epsilon: float > 0, default 1e-3, added to the variance.
        center: default True, learn ``beta`` (shape of the normalized axes, init zeros).
        scale: default True, learn ``gamma`` (init ones).
        beta_initializer: default 'zeros'. gamma_initializer: default 'ones'.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: default None.

    Input shape: any, e.g. (batch_size, features). Output shape: the same.
    Weights: gamma, beta (in that order, as Keras).

    Raises:
        ValueError: epsilon <= 0, or an axis outside the input's rank or equal to 0.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _positive_axes(self.axis, rank, self)
        shape = tuple(input_shape[a] for a in self._axes)
        self._param_shape = tuple(input_shape[a] if a in self._axes else 1 for a in range(rank))
        self._add_gamma_beta(shape)
        self.built = True

    def call(self, inputs):
        mean, variance = _moments(inputs, tuple(self._axes))
        return _normalize(inputs, mean, variance, self.epsilon,
                          self._broadcast(self.gamma, self._param_shape),
                          self._broadcast(self.beta, self._param_shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register("keras.layers")
class BatchNormalization(_Normalization):
    """Normalizes each feature over the batch (Ioffe & Szegedy, 2015, arXiv:1502.03167).

    While training (``fit``, or ``layer(x, training=True)``), it uses the batch's mean and
    biased variance per feature and updates running averages::

        moving_mean     <- moving_mean * momentum + batch_mean * (1 - momentum)
        moving_variance <- moving_variance * momentum + batch_variance * (1 - momentum)

    At inference (``model(x)``, ``predict``, ``evaluate``) it uses the moving averages
    instead. Either way: out = (x - mean) / sqrt(var + epsilon) * gamma + beta.
    Setting ``layer.trainable = False`` freezes it in inference mode, as in Keras.

    Args:
        axis: int, default -1: the feature axis (gamma, beta and the moving statistics have
            its size). Statistics are taken over every other axis.
        momentum: float, default 0.99. epsilon: float > 0, default 1e-3.
        center: default True (learn beta). scale: default True (learn gamma).
        beta_initializer: 'zeros'. gamma_initializer: 'ones'.
        moving_mean_initializer: 'zeros'. moving_variance_initializer: 'ones'.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: None.
        renorm, renorm_clipping, renorm_momentum: accepted for Keras compatibility;
            renorm=True raises NotImplementedError. synchronized: ignored (one device).

    Input shape: any, e.g. (batch_size, features). Output shape: the same.
    Weights: gamma, beta (trainable), moving_mean, moving_variance (non-trainable), in
    Keras's order.

    Raises:
        ValueError: epsilon <= 0, or an axis that is not one int in the input's rank.
        NotImplementedError: renorm=True.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if renorm:
            raise NotImplementedError("BatchNormalization(renorm=True) is not supported by "
                                      "tomei; received renorm=True. Use renorm=False.")
        if not isinstance(axis, int):
            raise ValueError(f"BatchNormalization expects axis to be one int; received "
                             f"axis={axis!r}.")
        self.axis = axis
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = synchronized

    def build(self, input_shape):
        rank = len(input_shape)
        axis = _positive_axes(self.axis, rank, self)[0]
        self._reduce_axes = tuple(a for a in range(rank) if a != axis)
        self._param_shape = tuple(input_shape[a] if a == axis else 1 for a in range(rank))
        shape = (input_shape[axis],)
        self._add_gamma_beta(shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        if training and self.trainable:
            mean, variance = _moments(inputs, self._reduce_axes)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m
                                    + mean.value.reshape(-1) * (1 - m))
            self.moving_variance.assign(self.moving_variance.value * m
                                        + variance.value.reshape(-1) * (1 - m))
        else:
            mean = ops.reshape(self.moving_mean, self._param_shape)
            variance = ops.reshape(self.moving_variance, self._param_shape)
        return _normalize(inputs, mean, variance, self.epsilon,
                          self._broadcast(self.gamma, self._param_shape),
                          self._broadcast(self.beta, self._param_shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "moving_mean_initializer": serialize(self.moving_mean_initializer),
                "moving_variance_initializer": serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized}


@register("keras.layers")
class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis`` (as ``keras.layers.UnitNormalization``)::

        out = x / sqrt(max(sum(x^2 over axis), 1e-12))

    The floor 1e-12 on the sum of squares keeps an all-zero input at zero instead of NaN
    (the same floor as Keras's; docs/keras_facts.md, 'UnitNormalization').

    Args:
        axis: int or list of ints, default -1: the axes whose L2 norm becomes 1. Never 0 (the
            batch axis).

    Input shape: any, e.g. (batch_size, features). Output shape: the same. No weights.

    Raises:
        ValueError: an axis outside the input's rank, or equal to 0 (at the first call).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)

    def build(self, input_shape):
        self._axes = tuple(_positive_axes(self.axis, len(input_shape), self))
        self.built = True

    def call(self, inputs):
        squares = ops.reduce_sum(ops.square(inputs), axis=self._axes, keepdims=True)
        return ops.divide(inputs, ops.sqrt(ops.maximum(squares, _UNIT_NORM_FLOOR)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


_UNIT_NORM_FLOOR = 1e-12  # on the sum of squares, as Keras
