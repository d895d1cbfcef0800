"""Export a tomei model to ONNX, for inference elsewhere (onnxruntime, browsers, C++).

    from tomei.keras.saving import export_onnx
    export_onnx(model, "model.onnx")           # or: tomei export model.keras model.onnx

    import onnxruntime as ort                  # later, anywhere
    session = ort.InferenceSession("model.onnx")
    logits = session.run(None, {session.get_inputs()[0].name: x.astype("float32")})[0]

Each layer becomes standard ONNX operators (opset 17 by default; format source: the ONNX
operator specification, github.com/onnx/onnx/blob/main/docs/Operators.md):

==========================  ====================================================
tomei layer                 ONNX
==========================  ====================================================
Dense                       MatMul, Add, then the activation
Flatten / Reshape           Flatten(axis=1) / Reshape([0, *target_shape])
Activation, activations     Relu, Sigmoid, Tanh, Softmax, LogSoftmax, Elu, Selu,
                            Softplus, Softsign, LeakyRelu, Exp, Erf (gelu), x*Sigmoid(x)
Softmax, ReLU, LeakyReLU,   Softmax(axis), Relu / LeakyRelu / Where+Min, LeakyRelu, Elu
ELU
Dropout, GaussianNoise      Identity (they only act while training)
Concatenate, Add, Multiply  Concat(axis), Sum, Mul
LayerNormalization          LayerNormalization (trailing axes) or ReduceMean/Sqrt form
BatchNormalization          Mul, Add with the moving statistics folded in (inference)
nested Sequential/Model     inlined
==========================  ====================================================

The batch axis is symbolic ("batch"), so any batch size runs. The ``onnx`` package is
imported only when exporting, never by ``import tomei``.
"""
from __future__ import annotations

import os

import numpy as np

from tomei.keras.serialization import is_registered_instance
from tomei.keras.utils.atomic_write import atomic_path


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as err:
        raise ImportError(f"ONNX export needs the 'onnx' package (pip install onnx); it could not "
                          f"be imported ({err}).") from None
    return onnx, helper, numpy_helper


class _Graph:
    """Collects ONNX nodes and constant tensors, handing out unique tensor names."""

    def __init__(self, helper, numpy_helper, opset):
        self.helper, self.numpy_helper, self.opset = helper, numpy_helper, opset
        self.nodes, self.initializers, self._used = [], [], set()

    def name(self, hint):
        base = "".join(c if c.isalnum() or c in "_." else "_" for c in hint) or "t"
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint, **attrs):
        out = self.name(hint)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def reduce_mean(self, x, axes, hint):
        if self.opset >= 18:
            return self.op("ReduceMean", [x, self.const(hint + "_axes",
                                                        np.asarray(axes, np.int64))], hint)
        return self.op("ReduceMean", [x], hint, axes=list(axes), keepdims=1)


def _f32(array):
    return np.asarray(array, dtype=np.float32)


def _activation(g, fn, x, hint):
    from tomei.keras import activations
    name = activations.serialize(fn)
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "elu": "Elu", "selu": "Selu", "exponential": "Exp"}
    if name == "linear":
        return x
    if name in simple:
        return g.op(simple[name], [x], f"{hint}_{name}")
    if name == "softmax":
        return g.op("Softmax", [x], f"{hint}_softmax", axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], f"{hint}_log_softmax", axis=-1)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], f"{hint}_leaky_relu", alpha=0.2)
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{hint}_sigmoid")], f"{hint}_silu")
    if name == "gelu":  # 0.5 x (1 + erf(x / sqrt 2)), Keras's default (approximate=False)
        scaled = g.op("Mul", [x, g.const(f"{hint}_rsqrt2", _f32(1 / np.sqrt(2)))], f"{hint}_xs")
        erf1 = g.op("Add", [g.op("Erf", [scaled], f"{hint}_erf"), g.const(f"{hint}_one", _f32(1))],
                    f"{hint}_erf1")
        half_x = g.op("Mul", [x, g.const(f"{hint}_half", _f32(0.5))], f"{hint}_halfx")
        return g.op("Mul", [half_x, erf1], f"{hint}_gelu")
    raise NotImplementedError(f"ONNX export: activation {name!r} (in layer '{hint}') has no ONNX "
                              f"form in tomei.")


def _emit(g, layer, x):
    """Adds the ONNX nodes of ``layer`` applied to tensor name(s) ``x``; returns the output
    name(s)."""
    kind, hint = type(layer).__name__, layer.name
    if is_registered_instance(layer, "Sequential"):
        for sub in layer.layers:
            x = _emit(g, sub, x)
        return x
    if is_registered_instance(layer, "Functional"):
        return _emit_functional(g, layer, x)
    emit = _EMITTERS.get(kind)
    if emit is None:
        raise NotImplementedError(
            f"ONNX export does not support layer '{layer.name}' ({kind}). Supported: "
            f"{', '.join(sorted(_EMITTERS))}, and Sequential/functional models of them.")
    if getattr(layer, "dtype", "float32") != "float32":
        raise NotImplementedError(f"ONNX export writes float32 graphs; layer '{layer.name}' "
                                  f"uses {layer.dtype}.")
    return emit(g, layer, x, hint)


def _dense(g, layer, x, hint):
    y = g.op("MatMul", [x, g.const(f"{hint}_kernel", _f32(layer.kernel.numpy()))], f"{hint}_matmul")
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(f"{hint}_bias", _f32(layer.bias.numpy()))], f"{hint}_bias_add")
    return _activation(g, layer.activation, y, hint)


def _relu_layer(g, layer, x, hint):
    slope, top, threshold = layer.negative_slope, layer.max_value, layer.threshold
    if threshold == 0 and top is None:
        if slope == 0:
            return g.op("Relu", [x], f"{hint}_relu")
        return g.op("LeakyRelu", [x], f"{hint}_leaky", alpha=float(slope))
    t = g.const(f"{hint}_threshold", _f32(threshold))
    above = g.op("GreaterOrEqual", [x, t], f"{hint}_above")
    below = g.op("Mul", [g.op("Sub", [x, t], f"{hint}_shift"),
                         g.const(f"{hint}_slope", _f32(slope))], f"{hint}_below")
    y = g.op("Where", [above, x, below], f"{hint}_where")
    if top is not None:
        y = g.op("Min", [y, g.const(f"{hint}_max", _f32(top))], f"{hint}_min")
    return y


def _layer_norm(g, layer, x, hint):
    axes, rank = list(layer._axes), len(layer._param_shape)
    shape = tuple(layer._param_shape[a] for a in axes)
    gamma = _f32(layer.gamma.numpy()) if layer.gamma is not None else np.ones(shape, np.float32)
    beta = _f32(layer.beta.numpy()) if layer.beta is not None else np.zeros(shape, np.float32)
    if axes == list(range(axes[0], rank)):
        return g.op("LayerNormalization", [x, g.const(f"{hint}_gamma", gamma),
                                           g.const(f"{hint}_beta", beta)],
                    f"{hint}_ln", axis=axes[0], epsilon=float(layer.epsilon))
    mean = g.reduce_mean(x, axes, f"{hint}_mean")
    centered = g.op("Sub", [x, mean], f"{hint}_centered")
    var = g.reduce_mean(g.op("Mul", [centered, centered], f"{hint}_sq"), axes, f"{hint}_var")
    std = g.op("Sqrt", [g.op("Add", [var, g.const(f"{hint}_eps", _f32(layer.epsilon))],
                             f"{hint}_var_eps")], f"{hint}_std")
    y = g.op("Div", [centered, std], f"{hint}_normed")
    y = g.op("Mul", [y, g.const(f"{hint}_gamma", gamma.reshape(layer._param_shape))], f"{hint}_g")
    return g.op("Add", [y, g.const(f"{hint}_beta", beta.reshape(layer._param_shape))], f"{hint}_b")


def _batch_norm(g, layer, x, hint):
    mean = np.asarray(layer.moving_mean.numpy(), np.float64)
    var = np.asarray(layer.moving_variance.numpy(), np.float64)
    gamma = np.asarray(layer.gamma.numpy(), np.float64) if layer.gamma is not None else 1.0
    beta = np.asarray(layer.beta.numpy(), np.float64) if layer.beta is not None else 0.0
    scale = gamma / np.sqrt(var + layer.epsilon)
    shift = beta - mean * scale
    shape = layer._param_shape
    y = g.op("Mul", [x, g.const(f"{hint}_scale", _f32(scale).reshape(shape))], f"{hint}_scaled")
    return g.op("Add", [y, g.const(f"{hint}_shift", _f32(shift).reshape(shape))], f"{hint}_bn")


def _merge(op):
    def emit(g, layer, xs, hint):
        xs = list(xs) if isinstance(xs, (list, tuple)) else [xs]
        if op == "Sum":
            return g.op("Sum", xs, f"{hint}_sum")
        out = xs[0]
        for i, other in enumerate(xs[1:]):
            out = g.op(op, [out, other], f"{hint}_{op.lower()}{i}")
        return out
    return emit


_EMITTERS = {
    "InputLayer": lambda g, layer, x, hint: x,
    "Dense": _dense,
    "Flatten": lambda g, layer, x, hint: g.op("Flatten", [x], f"{hint}_flatten", axis=1),
    "Reshape": lambda g, layer, x, hint: g.op(
        "Reshape", [x, g.const(f"{hint}_shape", np.asarray([0, *layer.target_shape], np.int64))],
        f"{hint}_reshape"),
    "Activation": lambda g, layer, x, hint: _activation(g, layer.activation, x, hint),
    "Dropout": lambda g, layer, x, hint: g.op("Identity", [x], f"{hint}_identity"),
    "GaussianNoise": lambda g, layer, x, hint: g.op("Identity", [x], f"{hint}_identity"),
    "Softmax": lambda g, layer, x, hint: g.op("Softmax", [x], f"{hint}_softmax",
                                              axis=int(layer.axis)),
    "ReLU": _relu_layer,
    "LeakyReLU": lambda g, layer, x, hint: g.op("LeakyRelu", [x], f"{hint}_leaky",
                                                alpha=float(layer.negative_slope)),
    "ELU": lambda g, layer, x, hint: g.op("Elu", [x], f"{hint}_elu", alpha=float(layer.alpha)),
    "Concatenate": lambda g, layer, xs, hint: g.op("Concat", list(xs), f"{hint}_concat",
                                                   axis=int(layer.axis)),
    "Add": _merge("Sum"),
    "Multiply": _merge("Mul"),
    "LayerNormalization": _layer_norm,
    "BatchNormalization": _batch_norm,
}


def _emit_functional(g, model, x):
    from tomei.keras.layers.keras_tensor import flatten, replay, topological_nodes
    given = flatten(x) if isinstance(x, (list, tuple, dict)) else [x]
    if len(given) != len(model.inputs):
        raise ValueError(f"ONNX export: model '{model.name}' has {len(model.inputs)} inputs; "
                         f"received {len(given)}.")
    outs = replay(topological_nodes(model.outputs), model.inputs, model.outputs, given,
                  lambda layer, args, kwargs: _emit(g, layer, args))
    return outs if len(outs) > 1 else outs[0]


def _value_info(helper, name, shape):
    from onnx import TensorProto
    dims = ["batch" if i == 0 else (None if d is None else int(d)) for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _input_specs(model):
    if is_registered_instance(model, "Functional"):
        return [(t.layer.name, t.shape) for t in model.inputs]
    if is_registered_instance(model, "Sequential") and model.input_layer is not None:
        return [(model.input_layer.name, model.input_layer.batch_shape)]
    shape = model.built_input_shape
    if shape is None:
        raise ValueError("ONNX export needs the model's input shape; build the model first "
                         "(call it on data, or start it with Input(shape=...)).")
    return [("input", shape)]


def _output_shapes(model):
    shape = model.output_shape if hasattr(model, "output_shape") else model._output_shape_cache
    if isinstance(shape, list):
        return shape
    return [shape]


def export_onnx(model, filepath, opset=17):
    """Writes ``model`` (built, float32) as an ONNX model file for inference.

    Args:
        model: a built tomei model (Sequential, functional, or nested ones).
        filepath: str or PathLike ending in ``.onnx``.
        opset: ONNX opset version, default 17 (the lowest with LayerNormalization).

    Returns:
        The path written. Inputs are named after the model's input layers and outputs
        "output" (or "output_0", "output_1", ...), each float32 with a symbolic batch axis.

    Raises:
        ImportError: the ``onnx`` package is missing. ValueError: an unbuilt model, a name
        not ending in ``.onnx``, or opset < 17. NotImplementedError: a layer or activation
        with no ONNX form here (the message lists the supported layers).
    """
    onnx, helper, numpy_helper = _import_onnx()
    path = os.fspath(filepath)
    if not path.lower().endswith(".onnx"):
        raise ValueError(f"export_onnx: the file name must end in '.onnx'; received "
                         f"filepath={path!r}.")
    if not isinstance(opset, int) or opset < 17:
        raise ValueError(f"export_onnx needs opset >= 17; received opset={opset!r}.")
    if not model.built:
        raise ValueError("export_onnx: the model has not been built yet; build it first (call "
                         "it on data, or start it with Input(shape=...)).")
    g = _Graph(helper, numpy_helper, opset)
    specs = _input_specs(model)
    names = [g.name(name) for name, _ in specs]
    result = _emit(g, model, names if len(names) > 1 else names[0])
    results = result if isinstance(result, list) else [result]
    out_names = ["output"] if len(results) == 1 else [f"output_{i}" for i in range(len(results))]
    for src, dst in zip(results, out_names):
        g.nodes.append(helper.make_node("Identity", [src], [dst], name=f"{dst}_identity"))
    graph = helper.make_graph(
        g.nodes, model.name,
        [_value_info(helper, n, shape) for n, (_, shape) in zip(names, specs)],
        [_value_info(helper, n, shape) for n, shape in zip(out_names, _output_shapes(model))],
        g.initializers)
    from tomei.version import __version__
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                   producer_name="tomei", producer_version=__version__)
    onnx_model.ir_version = min(onnx_model.ir_version, 10)  # readable by older runtimes too
    onnx.checker.check_model(onnx_model)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx.save(onnx_model, tmp)
    return path
