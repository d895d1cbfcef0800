"""Merging layers: combine a list of tensors into one (Add, Multiply, Concatenate).

They are mostly used with the functional API, where one layer can take several inputs::

    a = Input(shape=(16,)); b = Input(shape=(16,))
    s = Add()([a, b])                  # (None, 16)
    c = Concatenate()([a, b])          # (None, 32)

Each also has a lowercase function form (``add([a, b])``) that creates the layer and calls
it at once, as in Keras.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import ops
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register


class _Merge(Layer):
    """Base of the elementwise merges: checks the list and broadcasts the shapes."""

    rows_independent = True

    def _check_list(self, inputs):
        """Accepts a list of tensors (or of their shapes); a lone tensor or shape is refused."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 1 or any(
                x is None or isinstance(x, (int, np.integer)) for x in inputs):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects a list of at "
                             f"least 1 input tensor; received a single input of shape/type "
                             f"{inputs if isinstance(inputs, tuple) else type(inputs).__name__}.")

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)  # raises now for shapes that do not broadcast
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        rank = max(len(s) for s in input_shape)
        out = []
        for axis in range(-rank, 0):
            dims = {s[axis] for s in input_shape if len(s) >= -axis} - {1}
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(
                    f"Inputs of layer '{self.name}' ({type(self).__name__}) must have "
                    f"broadcastable shapes; received shapes {[tuple(s) for s in input_shape]}.")
            out.append(known.pop() if known else (None if None in dims else 1))
        return tuple(out)

    def call(self, inputs):
        self._check_list(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out

    def _merge(self, a, b):
        raise NotImplementedError


@register("keras.layers")
class Add(_Merge):
    """Adds a list of tensors elementwise: ``Add()([a, b, ...]) = a + b + ...``.

    Args:
        **kwargs: Layer arguments (name, dtype, trainable).

    Input shape: a list of tensors with broadcastable shapes, e.g. [(batch, d), (batch, d)].
    Output shape: the broadcast shape, e.g. (batch, d).

    Raises:
        ValueError: the input is not a list, or the shapes do not broadcast.
    """

    def _merge(self, a, b):
        return ops.add(a, b)


@register("keras.layers")
class Multiply(_Merge):
    """Multiplies a list of tensors elementwise: ``Multiply()([a, b]) = a * b``.

    Args:
        **kwargs: Layer arguments (name, dtype, trainable).

    Input shape: a list of tensors with broadcastable shapes. Output shape: the broadcast
    shape.

    Raises:
        ValueError: the input is not a list, or the shapes do not broadcast.
    """

    def _merge(self, a, b):
        return ops.multiply(a, b)


@register("keras.layers")
class Concatenate(Layer):
    """Joins a list of tensors along ``axis``.

    Args:
        axis: int, default -1 (the feature axis). All other axes must have equal sizes.
        **kwargs: Layer arguments (name, dtype, trainable).

    Input shape: a list of tensors, e.g. [(batch, 3), (batch, 5)].
    Output shape: the sizes along ``axis`` summed, e.g. (batch, 8).

    Raises:
        ValueError: fewer than 1 input, different ranks, or a mismatch on another axis.
    """

    rows_independent = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates the shapes
        self.built = True

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"Layer '{self.name}' (Concatenate) expects a list of at least 1 "
                             f"input tensor; received input shape {input_shape!r}.")
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        for s in shapes:
            same = len(s) == rank and all(
                a is None or b is None or a == b for i, (a, b) in enumerate(zip(s, shapes[0]))
                if i != axis)
            if not same:
                raise ValueError(
                    f"Concatenate (layer '{self.name}', axis={self.axis}) needs inputs whose "
                    f"shapes match except on the concatenation axis; received shapes {shapes}.")
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        for i in range(rank):
            if i != axis and out[i] is None:
                out[i] = next((s[i] for s in shapes if s[i] is not None), None)
        out[axis] = None if any(d is None for d in sizes) else int(np.sum(sizes))
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError(f"Layer '{self.name}' (Concatenate) expects a list of tensors; "
                             f"received {type(inputs).__name__}.")
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        return ops.concat(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    """Function form of :class:`Add`: ``add([a, b])`` returns a + b."""
    return Add(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Function form of :class:`Multiply`: ``multiply([a, b])`` returns a * b."""
    return Multiply(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Function form of :class:`Concatenate`: joins ``inputs`` along ``axis`` (default -1)."""
    return Concatenate(axis=axis, **kwargs)(inputs)
