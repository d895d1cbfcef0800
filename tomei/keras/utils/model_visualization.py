"""plot_model: a picture of a model's layers, drawn by Graphviz through pydot (Keras 3's
``keras.utils.plot_model``). pydot and Graphviz are not tomei dependencies: without them
plot_model says how to install them, and ``model.summary()`` shows the same structure as text.
"""
from __future__ import annotations

import os


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws ``model.layers`` top to bottom (one box per layer, an arrow from each layer to
    the next) and writes the image to ``to_file``; its extension picks the format (png, svg,
    pdf, dot).

    Args:
        model: a built Sequential model (functional graphs: NotImplementedError).
        to_file: default "model.png". show_shapes / show_dtype / show_layer_names /
            show_layer_activations / show_trainable: what each box lists (defaults as Keras).
        rankdir: "TB" (default) or "LR". dpi: default 200.
        expand_nested: not supported (NotImplementedError when True).

    Raises:
        ImportError: pydot, or Graphviz's ``dot`` program, is missing (how to install both).
        NotImplementedError: a functional or subclassed model, or expand_nested=True.
        TypeError: an unknown keyword argument.
    """
    if kwargs:
        raise TypeError(f"plot_model() got unexpected keyword argument(s): "
                        f"{', '.join(sorted(kwargs))}.")
    if expand_nested:
        raise NotImplementedError("plot_model(expand_nested=True) is not implemented in tomei.")
    if type(model).__name__ != "Sequential" and not hasattr(model, "_input_layer"):
        raise NotImplementedError("plot_model draws Sequential models only in tomei; use "
                                  "model.summary() for functional and subclassed models.")
    pydot = _pydot()
    graph = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=dpi)
    previous = None
    for k, layer in enumerate(model.layers):
        lines = [layer.name if show_layer_names else "", type(layer).__name__]
        if show_layer_activations and getattr(layer, "activation", None) is not None:
            lines.append(f"activation: {getattr(layer.activation, '__name__', layer.activation)}")
        if show_shapes:
            lines.append(f"output: {getattr(layer, '_output_shape', None) or '?'}")
        if show_dtype:
            lines.append(f"dtype: {layer.dtype}")
        if show_trainable:
            lines.append(f"trainable: {layer.trainable}")
        node = pydot.Node(str(k), label="\n".join(line for line in lines if line), shape="box")
        graph.add_node(node)
        if previous is not None:
            graph.add_edge(pydot.Edge(previous, str(k)))
        previous = str(k)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    try:
        graph.write(to_file, format=extension)
    except (FileNotFoundError, OSError) as error:
        raise ImportError(_HOW_TO_INSTALL + f" (writing {to_file} failed: {error})") from error
    return graph


_HOW_TO_INSTALL = ("plot_model needs pydot and Graphviz, which tomei does not install: "
                   "'pip install pydot' and Graphviz's dot program ('apt-get install "
                   "graphviz', 'brew install graphviz', or graphviz.org). model.summary() "
                   "prints the same layers as text")


def _pydot():
    try:
        import pydot
    except ImportError as error:
        raise ImportError(_HOW_TO_INSTALL + ".") from error
    return pydot
