"""The functional API's symbolic tensors: ``x = Input((28, 28)); y = Dense(10)(x)``.

Calling a layer on a :class:`KerasTensor` runs no math: it builds the layer for the known
shape and returns a new KerasTensor that remembers which layer made it from which inputs.
``Model(inputs, outputs)`` later replays that graph on real data (see
:mod:`tomei.keras.models.functional`).
"""
from __future__ import annotations


class KerasTensor:
    """A placeholder with a shape (batch axis None) and a dtype, plus how it was made.

    Attributes:
        shape: tuple, e.g. (None, 128). dtype: 'float32'.
        layer: the layer whose call produced it (an InputLayer for ``Input``).
        inputs: the KerasTensors that layer was called on (a flat tuple).
    """

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), structure=None,
                 call_kwargs=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        self.inputs = tuple(inputs)
        self.structure = structure  # how ``inputs`` were nested in the call (single/list/dict)
        self.call_kwargs = call_kwargs or {}
        self.index = index  # position among the layer's outputs when it returns several

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def name(self):
        return self.layer.name if self.layer is not None else "keras_tensor"

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def is_symbolic(x) -> bool:
    """True if ``x`` is a KerasTensor, or a non-empty list/tuple/dict of only KerasTensors."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, KerasTensor) for v in x):
        return True
    return isinstance(x, dict) and x and all(isinstance(v, KerasTensor) for v in x.values())


def flatten(structure):
    """The leaves of a nested list/tuple/dict, in order (dict values by sorted key)."""
    if isinstance(structure, (list, tuple)):
        return [v for s in structure for v in flatten(s)]
    if isinstance(structure, dict):
        return [v for k in sorted(structure) for v in flatten(structure[k])]
    return [structure]


def pack_like(structure, flat):
    """Inverse of ``flatten``: rebuilds ``structure`` with the values of ``flat`` in order."""
    it = iter(flat)

    def rebuild(s):
        if isinstance(s, (list, tuple)):
            return type(s)(rebuild(v) for v in s)
        if isinstance(s, dict):
            return {k: rebuild(s[k]) for k in sorted(s)}
        return next(it)
    return rebuild(structure)


def _shapes(structure):
    if isinstance(structure, (list, tuple)):
        return [_shapes(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _shapes(v) for k, v in structure.items()}
    return structure.shape


def call_symbolic(layer, inputs, *args, training=None, **kwargs):
    """Builds ``layer`` for the inputs' shapes and returns KerasTensor output(s)."""
    if args:
        raise TypeError(f"Layer '{layer.name}' was called on symbolic inputs with extra "
                        f"positional arguments; pass them as keywords.")
    shapes = _shapes(inputs)
    if not layer.built:
        layer._build_once(shapes)
    out_shape = layer.compute_output_shape(shapes)
    flat_inputs = tuple(flatten(inputs))
    structure = pack_like(inputs, range(len(flat_inputs)))
    if training is not None:
        kwargs["training"] = training
    if isinstance(out_shape, list):
        return [KerasTensor(s, layer.dtype, layer, flat_inputs, structure, kwargs, i)
                for i, s in enumerate(out_shape)]
    return KerasTensor(out_shape, layer.dtype, layer, flat_inputs, structure, kwargs)


def topological_nodes(outputs) -> list:
    """KerasTensors needed to compute ``outputs``, each after all of its inputs."""
    order, seen = [], set()

    def visit(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        for parent in t.inputs:
            visit(parent)
        order.append(t)
    for out in flatten(outputs):
        visit(out)
    return order


def call_key(t) -> tuple:
    """Identifies one layer call, shared by all of that call's output KerasTensors."""
    return (id(t.layer), tuple(id(p) for p in t.inputs))


def replay(nodes, inputs, outputs, given, call) -> list:
    """Runs a recorded graph of layer calls on real values: THE one graph walk of tomei
    (``Functional.call``, ``tomei.inspect`` and the ONNX export all use it).

    Args:
        nodes: KerasTensors in topological order, e.g. ``topological_nodes(outputs)``.
        inputs: the graph's input KerasTensors (flat list); ``given``: one value for each.
        outputs: the output KerasTensors (flat list).
        call: ``call(layer, args, recorded_kwargs) -> output``. It runs once per layer call,
            even when that call has several outputs (they then share its result).

    Returns:
        The values of ``outputs``, as a flat list in their order.
    """
    values = {id(t): v for t, v in zip(inputs, given)}
    done = {}
    for node in nodes:
        if id(node) in values:
            continue
        key = call_key(node)
        if key not in done:
            args = pack_like(node.structure, [values[id(p)] for p in node.inputs])
            done[key] = call(node.layer, args, node.call_kwargs)
        out = done[key]
        values[id(node)] = out[node.index] if isinstance(out, (list, tuple)) else out
    return [values[id(t)] for t in outputs]
