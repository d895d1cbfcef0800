"""Functional models: ``Model(inputs, outputs)`` replays a graph of layer calls."""
from __future__ import annotations

from tomei.keras.layers.core import InputLayer
from tomei.keras.layers.keras_tensor import (
    KerasTensor, call_key, flatten, pack_like, replay, topological_nodes,
)
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
        ValueError: an output that does not depend on the given inputs, or two layers of
            the model with the same name.
    """

    rows_independent = True  # call() only composes layers; each declares its own
    _check_all_input_axes = True  # the Input declares the whole shape

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
        for layer in keras_layer_order(self.inputs, self.outputs):
            if not any(layer is s for s in self._sublayers):
                self._sublayers.append(layer)
        names = [layer.name for layer in self._sublayers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:  # Keras 3 refuses it too: its files address layers by name
            raise ValueError(f"Every layer of a model needs its own name; "
                             f"{', '.join(repr(n) for n in repeated)} is used by several layers "
                             f"of this model. Pass other names (name=...), or none to get unique "
                             f"ones.")
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

    def _declared_input_shapes(self):
        return [t.shape for t in self.inputs]

    def _last_layer(self):
        return self.outputs[0].layer if len(self.outputs) == 1 else None

    def call(self, inputs, training=None):
        given = flatten(inputs) if not isinstance(inputs, dict) else \
            [inputs[t.layer.name] for t in self.inputs]
        if len(given) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s); "
                             f"received {len(given)}.")

        def call(layer, args, recorded):
            kwargs = dict(recorded)
            if training is not None or "training" not in kwargs:
                kwargs["training"] = training  # the call's training wins over a recorded one
            return layer(args, **kwargs)
        outs = replay(self._nodes, self.inputs, self.outputs, given, call)
        return pack_like(self._outputs_struct, outs)

    def compute_output_shape(self, input_shape):
        return self._output_shape_cache

    def get_build_config(self) -> dict:
        """``{"input_shape": None}``: a functional model's shapes are in its Input layers."""
        return {"input_shape": None}

    def _summary_rows(self):
        # One row per layer in ``self.layers`` order, as Keras; "Connected to" lists the
        # inputs of every call as name[call index][output index].
        calls = _calls_per_layer(self._nodes)
        index_of = {key: i for per_layer in calls.values() for i, (key, _) in enumerate(per_layer)}
        rows = []
        for layer in self.layers:
            links = [f"{p.layer.name}[{index_of[call_key(p)]}][{p.index}]"
                     for _, t in calls.get(id(layer), []) for p in t.inputs]
            rows.append((layer.name, type(layer).__name__, layer._output_shape,
                         layer.count_params(), ", ".join(links) or "-"))
        # A plain chain (one input, one output, every call fed by at most one tensor that no
        # other call uses, no shared layer) prints like a Sequential: no "Connected to".
        used = [call_key(p) for per_layer in calls.values() for _, t in per_layer
                for p in t.inputs]
        chain = len(self.inputs) == len(self.outputs) == 1 and len(used) == len(set(used)) \
            and all(len(per_layer) == 1 and len(per_layer[0][1].inputs) <= 1
                    for per_layer in calls.values())
        return [row[:4] + (None,) for row in rows] if chain else rows

    def get_config(self):
        """The Keras 3 functional config: layers (each with its ``inbound_nodes``),
        ``input_layers`` and ``output_layers``, as ``keras.Model.get_config`` writes it.

        Each inbound node is ``{"args": [...], "kwargs": {...}}``, where a tensor is
        ``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
        [layer name, node index, tensor index]}}``.
        """
        from tomei.keras.serialization import serialize
        calls = _calls_per_layer(self._nodes)
        index_of = {key: i for per_layer in calls.values() for i, (key, _) in enumerate(per_layer)}
        layers = []
        for layer in self.layers:
            entry = serialize(layer)
            entry["config"].pop("batch_input_shape", None)  # the Input carries the shape
            nodes = []
            for _, t in calls.get(id(layer), []):
                if isinstance(layer, InputLayer):
                    continue
                args = _structure_config(t.structure, t.inputs, index_of)
                nodes.append({"args": [args], "kwargs": dict(t.call_kwargs)})
            if nodes:
                first = calls[id(layer)][0][1]
                entry["build_config"] = {"input_shape": _structure_shapes(first.structure,
                                                                         first.inputs)}
            entry["name"] = layer.name
            entry["inbound_nodes"] = nodes
            layers.append(entry)
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _endpoints_config(self._inputs_struct, index_of),
                "output_layers": _endpoints_config(self._outputs_struct, index_of)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds the model from ``get_config()`` output (Keras 3 format; the Keras 2
        list format of ``inbound_nodes`` is read too), calling each layer on the tensors its
        nodes name.

        Raises:
            ValueError: a node naming a layer, node or tensor that the config never creates.
        """
        from tomei.keras.serialization import deserialize
        outputs_of: dict[str, list] = {}  # layer name -> one output per call, in order
        pending: dict[str, list] = {}  # layer name -> its calls not made yet, in order
        layers: dict[str, object] = {}
        for entry in config.get("layers", []):
            layer = deserialize(entry, "keras.layers", custom_objects)
            name = entry.get("name") or layer.name
            layers[name] = layer
            outputs_of[name] = []
            if isinstance(layer, InputLayer):
                outputs_of[name].append(KerasTensor(layer.batch_shape, layer.dtype, layer=layer,
                                                    inputs=()))
            pending[name] = list(entry.get("inbound_nodes") or [])
        while any(pending.values()):
            progress = False
            for name, nodes in pending.items():
                while nodes and _node_ready(nodes[0], outputs_of):
                    args, kwargs = _node_call(nodes.pop(0), outputs_of)
                    outputs_of[name].append(layers[name](args, **kwargs))
                    progress = True
            if not progress:
                name = next(n for n, nodes in pending.items() if nodes)
                raise ValueError(f"Functional config: a call of layer '{name}' uses a tensor "
                                 f"that no layer in the config produces (missing: "
                                 f"{_missing_refs(pending[name][0], outputs_of)}).")
        inputs = _endpoints_tensors(config.get("input_layers", []), outputs_of)
        outputs = _endpoints_tensors(config.get("output_layers", []), outputs_of)
        return cls(inputs, outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))


# --- layer order -----------------------------------------------------------------------------

def keras_layer_order(inputs, outputs) -> list:
    """The layers of a graph in the order Keras 3 lists them (``model.layers``).

    Keras sorts layers by depth, the longest path from the layer's calls to an output, from
    the deepest (the inputs) to 0 (the outputs); layers at equal depth keep the order in
    which a depth-first walk from the outputs (first output first, each call's inputs in
    order) first met them. The order matters beyond display: weight files name each layer
    by its class and its position in this list ("dense", "dense_1", ...).
    """
    input_ids = {id(t) for t in flatten(inputs)}
    first_seen, postorder, visited = {}, [], set()

    def visit(t):
        key = call_key(t)
        if key in visited:
            return
        first_seen.setdefault(id(t.layer), len(first_seen))
        if id(t) not in input_ids:
            for parent in t.inputs:
                visit(parent)
        visited.add(key)
        postorder.append(t)

    for out in flatten(outputs):
        visit(out)
    layer_of = {id(t.layer): t.layer for t in postorder}
    call_depth, layer_depth = {}, {}
    for t in reversed(postorder):  # outputs first
        key = call_key(t)
        depth = max(call_depth.get(key, 0), layer_depth.get(id(t.layer), 0))
        layer_depth[id(t.layer)] = depth
        call_depth[key] = depth
        if id(t) not in input_ids:
            for parent in t.inputs:
                pkey = call_key(parent)
                call_depth[pkey] = max(depth + 1, call_depth.get(pkey, 0))
    for t in flatten(inputs):  # an input no output uses still belongs to the model
        if id(t.layer) not in layer_depth:
            layer_of[id(t.layer)] = t.layer
            layer_depth[id(t.layer)], first_seen[id(t.layer)] = 0, -1
    order = sorted(layer_of, key=lambda k: (-layer_depth[k], first_seen[k]))
    return [layer_of[k] for k in order]


# --- config helpers --------------------------------------------------------------------------

def _calls_per_layer(nodes):
    """id(layer) -> [(call key, one output tensor of that call)], in graph order."""
    calls, seen = {}, set()
    for t in nodes:
        key = call_key(t)
        if key not in seen:
            seen.add(key)
            calls.setdefault(id(t.layer), []).append((key, t))
    return calls


def _tensor_config(t, index_of):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(t.shape), "dtype": str(t.dtype),
                       "keras_history": [t.layer.name, index_of[call_key(t)], t.index]}}


def _structure_config(structure, flat_inputs, index_of):
    if isinstance(structure, (list, tuple)):
        return [_structure_config(s, flat_inputs, index_of) for s in structure]
    if isinstance(structure, dict):
        return {k: _structure_config(v, flat_inputs, index_of) for k, v in structure.items()}
    if structure is None:
        return _tensor_config(flat_inputs[0], index_of)
    return _tensor_config(flat_inputs[structure], index_of)


def _structure_shapes(structure, flat_inputs):
    if isinstance(structure, (list, tuple)):
        return [_structure_shapes(s, flat_inputs) for s in structure]
    if isinstance(structure, dict):
        return {k: _structure_shapes(v, flat_inputs) for k, v in structure.items()}
    t = flat_inputs[0 if structure is None else structure]
    return list(t.shape)


def _endpoints_config(structure, index_of):
    if isinstance(structure, (list, tuple)):
        return [_endpoints_config(s, index_of) for s in structure]
    if isinstance(structure, dict):
        return {k: _endpoints_config(v, index_of) for k, v in structure.items()}
    return [structure.layer.name, index_of[call_key(structure)], structure.index]


def _is_ref(x):
    return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"


def _legacy_ref(x):
    """A Keras 2 inbound reference [layer name, node index, tensor index(, kwargs)]."""
    return isinstance(x, (list, tuple)) and len(x) in (3, 4) and isinstance(x[0], str) \
        and isinstance(x[1], int)


def _refs(node):
    if _is_ref(node):
        yield node["config"]["keras_history"]
    elif _legacy_ref(node):
        yield node[:3]
    elif isinstance(node, dict):
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _refs(v)


def _lookup(ref, outputs_of):
    name, node_index, tensor_index = ref[0], int(ref[1]), int(ref[2])
    calls = outputs_of.get(name)
    if calls is None or node_index >= len(calls):
        return None
    out = calls[node_index]
    if isinstance(out, (list, tuple)):
        return out[tensor_index] if tensor_index < len(out) else None
    return out if tensor_index == 0 else None


def _node_ready(node, outputs_of):
    return all(_lookup(ref, outputs_of) is not None for ref in _refs(node))


def _missing_refs(node, outputs_of):
    return [list(ref) for ref in _refs(node) if _lookup(ref, outputs_of) is None]


def _resolve(x, outputs_of):
    if _is_ref(x):
        return _lookup(x["config"]["keras_history"], outputs_of)
    if isinstance(x, (list, tuple)):
        return [_resolve(v, outputs_of) for v in x]
    if isinstance(x, dict):
        return {k: _resolve(v, outputs_of) for k, v in x.items()}
    return x


def _node_call(node, outputs_of):
    """(inputs, kwargs) of one call, from the Keras 3 dict or the Keras 2 list form."""
    if isinstance(node, dict):
        args = [_resolve(a, outputs_of) for a in node.get("args", [])]
        kwargs = {k: _resolve(v, outputs_of) for k, v in (node.get("kwargs") or {}).items()}
    else:  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        refs = [r for r in node if _legacy_ref(r)]
        tensors = [_lookup(r, outputs_of) for r in refs]
        args = [tensors[0] if len(tensors) == 1 else tensors]
        kwargs = dict(refs[0][3]) if refs and len(refs[0]) == 4 and refs[0][3] else {}
    if kwargs.get("mask", 0) is None:
        kwargs.pop("mask")  # tomei has no masking; Keras records mask=None on some calls
    if len(args) != 1:
        raise ValueError(f"Functional config: tomei layers take their inputs as one argument; "
                         f"received a call with {len(args)} positional arguments.")
    return args[0], kwargs


def _endpoints_tensors(spec, outputs_of):
    if _legacy_ref(spec):
        tensor = _lookup(spec, outputs_of)
        if tensor is None:
            raise ValueError(f"Functional config: input/output {list(spec)} names a layer call "
                             f"that the config does not make.")
        return tensor
    if isinstance(spec, dict):
        return {k: _endpoints_tensors(v, outputs_of) for k, v in spec.items()}
    return [_endpoints_tensors(s, outputs_of) for s in spec]
