"""Core layers: InputLayer/Input, Dense, Flatten, Reshape, Activation."""
from __future__ import annotations

import math

import numpy as np

from tomei.engine import nn_ops, ops
from tomei.keras import activations, initializers
from tomei.keras.arguments import one_of, shape_argument, size_argument
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register, serialize


def add_kernel_and_bias(layer, kernel_shape, units):
    """Gives ``layer`` (Dense, Conv) its ``kernel`` of ``kernel_shape`` and, when
    ``layer.use_bias``, its ``bias`` of shape ``(units,)`` (else None), each with the layer's
    initializer, regularizer and constraint; marks the layer built."""
    layer.kernel = layer.add_weight("kernel", tuple(kernel_shape), layer.kernel_initializer,
                                    regularizer=layer.kernel_regularizer,
                                    constraint=layer.kernel_constraint)
    layer.bias = layer.add_weight("bias", (units,), layer.bias_initializer,
                                  regularizer=layer.bias_regularizer,
                                  constraint=layer.bias_constraint) if layer.use_bias else None
    layer.built = True


def kernel_and_bias_config(layer) -> dict:
    """The config entries a Dense or Conv ``layer`` shares, in Keras's order: activation,
    use_bias, then the kernel's and bias's initializers, regularizers and constraints."""
    return {"activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
            "kernel_initializer": serialize(layer.kernel_initializer),
            "bias_initializer": serialize(layer.bias_initializer),
            "kernel_regularizer": serialize(layer.kernel_regularizer),
            "bias_regularizer": serialize(layer.bias_regularizer),
            "activity_regularizer": serialize(layer.activity_regularizer),
            "kernel_constraint": serialize(layer.kernel_constraint),
            "bias_constraint": serialize(layer.bias_constraint)}


def bias_and_activation(layer, x):
    """``activation(x + bias)`` for a Dense or Conv ``layer`` (bias add and ReLU as one op,
    same numbers), then its activity regularizer's penalty on the result."""
    if layer.bias is not None and layer.activation is activations.relu:
        x = nn_ops.bias_relu(x, layer.bias)
    else:
        if layer.bias is not None:
            x = nn_ops.bias_add(x, layer.bias)
        x = layer.activation(x)
    if layer.activity_regularizer is not None:
        layer._add_activity_penalty(x)
    return x


@register("keras.layers")
class InputLayer(Layer):
    """Marks the input of a model: its per-sample ``shape`` (batch axis excluded).

    Args:
        shape: tuple, e.g. (28, 28). batch_size: optional fixed batch size.
        dtype: default 'float32'. name: default "input_layer".

    Raises:
        ValueError: ``shape`` or ``batch_shape`` is not a tuple or list of dimensions (ints
            >= 0 or None), e.g. ``shape=28``; ``batch_size`` is not an int >= 0.
    """

    rows_independent = True

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, sparse=False, ragged=False, optional=False, **kwargs):
        argument = "shape"
        if shape is None and input_shape is not None:
            shape, argument = input_shape, "input_shape"
        owner = "Input"  # Input() and InputLayer() alike
        if batch_shape is not None:
            batch_shape = shape_argument(batch_shape, "batch_shape", owner, batch_axis=True)
        elif shape is not None:
            batch_shape = (size_argument(batch_size, "batch_size", owner),) + \
                shape_argument(shape, argument, owner)
        else:
            raise ValueError("InputLayer needs shape=..., e.g. InputLayer(shape=(28, 28)); "
                             "received neither shape nor batch_shape.")
        super().__init__(name=name or _input_name(), dtype=dtype, **kwargs)
        self.batch_shape = batch_shape
        self._batch_input_shape = batch_shape
        self.built = True

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}


def _input_name():
    from tomei.keras.layers.layer import unique_name
    return unique_name("input_layer")


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input for the functional API: ``x = Input(shape=(28, 28))``.

    Returns a KerasTensor of shape (batch_size, *shape) to call layers on; also accepted
    as the first entry of a Sequential model.
    """
    from tomei.keras.layers.keras_tensor import KerasTensor
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape)
    return KerasTensor(layer.batch_shape, layer.dtype, layer=layer, inputs=())


@register("keras.layers")
class Dense(Layer):
    """A fully connected layer: ``output = activation(inputs @ kernel + bias)``.

    Args:
        units: positive int, the output size.
        activation: name or callable; default None (linear).
        use_bias: default True.
        kernel_initializer: default 'glorot_uniform'. bias_initializer: default 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints applied after updates.

    Input shape: (batch_size, ..., input_dim). Output shape: (batch_size, ..., units).
    Weights: kernel (input_dim, units), bias (units,).
    """

    rows_independent = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        from tomei.keras import constraints, regularizers
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense expects units to be a positive integer; received units={units!r}.")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        if len(input_shape) == 0:
            raise ValueError(f"Dense '{self.name}' needs inputs with at least one axis (the "
                             f"features, e.g. shape (batch, features)); received a single "
                             f"number, input shape (). Wrap it: np.array([[value]]).")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}' needs a known last input dimension; received "
                             f"input shape {input_shape}.")
        add_kernel_and_bias(self, (input_dim, self.units), self.units)

    def call(self, inputs):
        relu = self.activation is activations.relu  # then part of the op: one tape entry
        x = nn_ops.dense(inputs, self.kernel, self.bias, relu=relu)
        if not relu:
            x = self.activation(x)
        if self.activity_regularizer is not None:
            self._add_activity_penalty(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, **kernel_and_bias_config(self)}


@register("keras.layers")
class Flatten(Layer):
    """Flattens each sample into a vector: (batch, d1, d2, ...) -> (batch, d1*d2*...).

    The tutorial's first layer turns each 28x28 image into 784 numbers.

    Args:
        data_format: 'channels_last' (default) or 'channels_first': with channels first the
            channel axis is moved last before flattening, so the order of the numbers is the
            channels-last order either way (as Keras 3).

    Raises:
        ValueError: any other data_format.
    """

    rows_independent = True

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = one_of(data_format or "channels_last", "data_format", "Flatten()",
                                  ("channels_last", "channels_first"))

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        # the size, not -1: a batch of 0 samples has no size to infer from
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@register("keras.layers")
class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch axis excluded; one entry may be -1)."""

    rows_independent = True

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = shape_argument(target_shape, "target_shape", "Reshape()",
                                           none_ok=False, minus_one_ok=True)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape and all(d is not None for d in input_shape[1:]):
            known = math.prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = math.prod(input_shape[1:]) // known
        return (input_shape[0],) + tuple(shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register("keras.layers")
class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    rows_independent = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
