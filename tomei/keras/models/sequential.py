"""Sequential: a plain stack of layers, each feeding the next."""
from __future__ import annotations

from tomei.keras.layers import fusion
from tomei.keras.layers.core import InputLayer
from tomei.keras.layers.keras_tensor import KerasTensor
from tomei.keras.arguments import shape_argument
from tomei.keras.layers.layer import Layer, unique_name
from tomei.keras.models.model import Model
from tomei.keras.serialization import register


@register("keras")
class Sequential(Model):
    """A model that applies its layers one after another.

    Args:
        layers: optional list of layers (an ``Input(shape)`` may come first).
        name: default "sequential" (made unique: "sequential_1", ...).

    The model is built as soon as the input shape is known: from ``Input(shape)``, from
    ``input_shape=`` on the first layer, or from the first data it sees.

    Example::

        model = Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation='relu'),
                            Dropout(0.2), Dense(10)])
    """

    rows_independent = True  # call() only composes layers; each declares its own
    _check_all_input_axes = True  # the Input declares the whole shape

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        self._set_input_layer(None)
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential expects a list of layers, e.g. Sequential([Dense(10)]); "
                            f"received layers={layers!r}.")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer; builds the model if the input shape is now known.

        Raises:
            TypeError: ``layer`` is not a Layer.
            ValueError: another layer of the model already has ``layer.name`` (Keras 3 cannot
                load a file with duplicate names).
        """
        if isinstance(layer, KerasTensor):
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer instance; received {layer!r} of "
                            f"type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._sublayers or self._input_layer is not None:
                raise ValueError("An Input/InputLayer can only be the first entry of a Sequential.")
            self._set_input_layer(layer)
            return
        taken = [other.name for other in self._sublayers]
        if self._input_layer is not None:
            taken.append(self._input_layer.name)
        if layer.name in taken:  # Keras 3 refuses it too: its files address layers by name
            raise ValueError(f"Every layer of a Sequential model needs its own name: '{layer.name}' "
                             f"is already taken in '{self.name}'. Pass another name, e.g. "
                             f"{type(layer).__name__}(..., name='{layer.name}_2'), or none to get "
                             f"a unique one.")
        if not self._sublayers and self._input_layer is None and layer._batch_input_shape:
            self._set_input_layer(InputLayer(batch_shape=layer._batch_input_shape))
        self._sublayers.append(layer)
        self.built = False
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)

    @property
    def input_layer(self):
        """The InputLayer holding the batch shape (from ``Input`` or ``input_shape=``), or None."""
        return self._input_layer

    def get_build_config(self) -> dict:
        """``{"input_shape": [None, ...]}`` from the input layer, or ``None`` as the shape."""
        layer = self._input_layer
        return {"input_shape": list(layer.batch_shape) if layer is not None else None}

    def _set_input_layer(self, layer):
        # Not a tracked sublayer: Keras lists no InputLayer in a Sequential's ``layers``.
        object.__setattr__(self, "_input_layer", layer)

    def pop(self):
        """Removes the last layer."""
        if not self._sublayers:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._sublayers.pop()
        self.built = False
        if self._input_layer is not None and self._sublayers:
            self.build(self._input_layer.batch_shape)
        return layer

    def build(self, input_shape=None):
        """Builds every layer in turn, passing each one's output shape to the next."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("Sequential.build needs an input shape, e.g. build((None, 28, 28)).")
            input_shape = self._input_layer.batch_shape
        input_shape = shape_argument(input_shape, "input_shape", "Sequential.build()", batch_axis=True)
        shape = (None,) + tuple(input_shape[1:])
        if self._input_layer is None:
            self._set_input_layer(InputLayer(batch_shape=shape))
        self._input_spec_shape = shape
        for layer in self._sublayers:
            if not layer.built:
                layer._build_once(shape)
            shape = tuple(layer.compute_output_shape(shape))
            layer._output_shape = shape
        self._output_shape_cache = shape
        self.built = True

    def _build_from_batch(self, batch):
        self.build((None,) + tuple(batch.shape[1:]))

    def _declared_input_shapes(self):
        return [self._input_layer.batch_shape] if self._input_layer is not None else None

    def _last_layer(self):
        return self._sublayers[-1] if self._sublayers else None

    def call(self, inputs, training=None):
        """The layers in turn. A ``Conv2D(activation="relu")`` directly followed by a
        ``MaxPooling2D(2)``, and while training a ``Dense(activation="relu")`` directly
        followed by a ``Dropout``, run as one engine op each with the same numbers
        (tomei/keras/layers/fusion.py; ``TOMEI_FUSED=0`` runs them one by one)."""
        x, layers, i = inputs, self._sublayers, 0
        while i < len(layers):
            y = fusion.pair_call(layers[i], layers[i + 1], x, training) \
                if i + 1 < len(layers) else None
            if y is None:
                x, i = layers[i](x, training=training), i + 1
            else:
                x, i = y, i + 2
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._sublayers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    @property
    def input_shape(self):
        return self._input_layer.batch_shape if self._input_layer else None

    @property
    def output_shape(self):
        return self._output_shape_cache

    def get_config(self):
        from tomei.keras.serialization import serialize
        layers = ([serialize(self._input_layer)] if self._input_layer is not None else []) + \
            [serialize(layer) for layer in self._sublayers]
        cfg = {"name": self.name, "trainable": self.trainable,
               "dtype": {"module": "keras", "class_name": "DTypePolicy",
                         "config": {"name": self.dtype}, "registered_name": None},
               "layers": layers}
        if self._input_layer is not None:
            cfg["build_input_shape"] = list(self._input_layer.batch_shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from tomei.keras.serialization import deserialize
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_cfg in config.get("layers", []):
            model.add(deserialize(layer_cfg, "keras.layers", custom_objects))
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model
