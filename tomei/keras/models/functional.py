"""Functional models: ``Model(inputs, outputs)`` replays a graph of layer calls."""
from __future__ import annotations

from tomei.keras.layers.core import InputLayer
from tomei.keras.layers.functional import KerasTensor, flatten, pack_like, topological_nodes
from tomei.keras.layers.layer import unique_name
from tomei.keras.models.model import Model
from tomei.keras.serialization import register


@register("keras")
class Functional(Model):
    """A model defined by symbolic inputs and outputs::

        inputs = Input(shape=(28, 28))
        x = Flatten()(inputs)
        outputs = Dense(10)(Dense(128, activation='relu')(x))
        model = Model(inputs, outputs)

    Args:
        inputs: a KerasTensor from ``Input`` (or a list/dict of them).
        outputs: KerasTensor(s) computed from ``inputs``.
        name: default "functional" (made unique).

    Raises:
        ValueError: an output that does not depend on the given inputs.
    """

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, inputs, outputs, name=None, trainable=True):
        super().__init__(name=name or unique_name("functional"), trainable=trainable)
        for t in flatten(inputs) + flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model(inputs, outputs) expects KerasTensors from Input() and "
                                f"layer calls; received {type(t).__name__}.")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = flatten(inputs), flatten(outputs)
        self._nodes = topological_nodes(outputs)
        input_ids = {id(t) for t in self.inputs}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer) and id(node) not in input_ids:
                raise ValueError(f"Output depends on the input '{node.layer.name}', which is "
                                 f"not in Model(inputs=...). Pass every Input the outputs use.")
        for node in self._nodes:
            if node.layer is not None and not any(node.layer is s for s in self._sublayers):
                self._sublayers.append(node.layer)
        self._output_shape_cache = [o.shape for o in self.outputs] if len(self.outputs) > 1 \
            else self.outputs[0].shape
        if len(self.inputs) == 1:
            self._input_spec_shape = self.inputs[0].shape
        for node in self._nodes:
            node.layer._output_shape = node.shape
        self.built = True

    @property
    def output_names(self):
        return [o.layer.name for o in self.outputs]

    @property
    def input_shape(self):
        return self.inputs[0].shape if len(self.inputs) == 1 else [t.shape for t in self.inputs]

    @property
    def output_shape(self):
        return self._output_shape_cache

    def _last_layer(self):
        return self.outputs[0].layer if len(self.outputs) == 1 else None

    def call(self, inputs, training=None):
        given = flatten(inputs) if not isinstance(inputs, dict) else \
            [inputs[t.layer.name] for t in self.inputs]
        if len(given) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s); "
                             f"received {len(given)}.")
        values = {id(t): v for t, v in zip(self.inputs, given)}
        done = {}  # one call per (layer, inputs), even when it has several outputs
        for node in self._nodes:
            if id(node) in values:
                continue
            key = (id(node.layer), tuple(id(p) for p in node.inputs))
            if key not in done:
                args = pack_like(node.structure, [values[id(p)] for p in node.inputs])
                done[key] = node.layer(args, training=training, **node.call_kwargs)
            out = done[key]
            values[id(node)] = out[node.index] if isinstance(out, (list, tuple)) else out
        return pack_like(self._outputs_struct, [values[id(t)] for t in self.outputs])

    def compute_output_shape(self, input_shape):
        return self._output_shape_cache

    def _summary_rows(self):
        rows = []
        for node in self._nodes:
            connected = ", ".join(f"{p.layer.name}[0][0]" for p in node.inputs) or "-"
            rows.append((node.layer.name, type(node.layer).__name__, node.shape,
                         node.layer.count_params(), connected))
        return rows

    def get_config(self):
        from tomei.keras.serialization import serialize
        names = {}
        layers = []
        for node in self._nodes:
            if id(node.layer) in names:
                continue
            names[id(node.layer)] = node.layer.name
            inbound = [[p.layer.name, 0, p.index] for p in node.inputs]
            layers.append({**serialize(node.layer), "name": node.layer.name,
                           "inbound_nodes": [inbound] if inbound else []})
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": [[t.layer.name, 0, 0] for t in self.inputs],
                "output_layers": [[t.layer.name, 0, t.index] for t in self.outputs]}
