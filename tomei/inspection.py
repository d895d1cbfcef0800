"""Look inside a model, one layer and one training step at a time (for notebooks).

Users reach this module as ``tomei.inspect`` (see ``tomei/__init__.py``); the file is named
``inspection.py`` so that it never shadows the standard library's ``inspect``.

    import tomei
    outs = tomei.inspect.layer_outputs(model, x_test[:4])          # [(name, array), ...]
    m = tomei.inspect.masks(model, x_test[:4])                     # dropout and ReLU masks
    g = tomei.inspect.weight_gradients(model, x_test[:4], y_test[:4])
    s = tomei.inspect.step(model, x_test[:4], y_test[:4])          # everything of one step

Everything here uses the public surface only: ``model.layers`` (or, for a functional model,
the graph of ``model.inputs`` / ``model.outputs``), ``layer(x, training=...)``,
:class:`tomei.GradientTape`, the model's compiled loss and ``optimizer.apply_gradients``.
The functions run the layers themselves, one by one, so that every intermediate value can
be returned; the results equal those of ``model(x, training=...)``.

How dropout masks are obtained: while ``training`` is True, each ``Dropout`` layer is called
with ``training=True`` on an array of ones of its input's shape. The layer draws its random
keep-mask exactly as it would on the real input (same shape, same generator, same number of
draws) and returns ``mask * 1/(1-rate)``. That same array then multiplies the real input.
So after ``tomei.keras.utils.set_random_seed(s)`` the values equal those of
``model(x, training=True)`` after the same seed, and the reported mask is the one used,
including for inputs that happen to be 0 (where comparing outputs with 0 could not tell).

Supported: ``Sequential`` and functional ``Model(inputs, outputs)``. A model nested inside
another is treated as one layer. A subclassed model raises ``TypeError``.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import ops
from tomei.engine.tensor import GradientTape, Tensor

__all__ = ["layer_outputs", "masks", "step", "weight_gradients"]


# --- running a model layer by layer ------------------------------------------------------------
class _Trace:
    def __init__(self):
        self.outputs: list[tuple[str, Tensor]] = []
        self.masks: dict[str, np.ndarray] = {}
        self._names: dict[str, int] = {}

    def name_for(self, layer) -> str:
        n = self._names.get(layer.name, 0)
        self._names[layer.name] = n + 1
        return layer.name if n == 0 else f"{layer.name}#{n + 1}"


def _check_model(model, fn):
    from tomei.keras.models import Model, Sequential
    if not isinstance(model, Model):
        raise TypeError(f"{fn} expects a tomei.keras Model (Sequential or functional); "
                        f"received {type(model).__name__}.")
    if isinstance(model, Sequential):
        return "sequential"
    outputs = getattr(model, "outputs", None)
    if getattr(model, "inputs", None) and outputs:
        return "functional"
    raise TypeError(f"{fn} supports Sequential and functional models; received the subclassed "
                    f"model {type(model).__name__!r}. Call its layers yourself, one by one.")


def _is_relu(layer) -> bool:
    from tomei.keras import activations
    from tomei.keras.layers import ReLU
    return isinstance(layer, ReLU) or getattr(layer, "activation", None) is activations.relu


def _call_layer(layer, inputs, training, trace, kwargs=None):
    from tomei.keras.layers import Dropout
    name = trace.name_for(layer)
    if training and isinstance(layer, Dropout) and layer.rate > 0 and not kwargs \
            and isinstance(inputs, (Tensor, np.ndarray)):
        inputs = ops.convert_to_tensor(inputs)
        scale = np.asarray(layer(np.ones(inputs.shape, inputs.dtype), training=True))
        trace.masks[name] = scale != 0
        out = ops.multiply(inputs, scale.astype(inputs.dtype, copy=False))
    else:
        out = layer(inputs, training=training, **(kwargs or {}))
        if _is_relu(layer) and isinstance(out, Tensor):
            trace.masks[name] = out.numpy() > 0
    trace.outputs.append((name, out))
    return out


def _forward(model, x, training, fn):
    kind = _check_model(model, fn)
    trace = _Trace()
    if kind == "sequential":
        out = x
        for layer in model.layers:
            out = _call_layer(layer, out, training, trace)
        return trace, out
    from tomei.keras.layers.keras_tensor import replay, topological_nodes
    given = [x[t.layer.name] for t in model.inputs] if isinstance(x, dict) else \
        (list(x) if isinstance(x, (list, tuple)) and len(model.inputs) > 1 else [x])
    if len(given) != len(model.inputs):
        raise ValueError(f"x: model {model.name!r} expects {len(model.inputs)} input arrays; "
                         f"received {len(given)}.")
    outs = replay(topological_nodes(model.outputs), model.inputs, model.outputs, given,
                  lambda layer, args, kwargs: _call_layer(layer, args, training, trace, kwargs))
    return trace, (outs[0] if len(outs) == 1 else outs)


def _as_float32(x):
    if isinstance(x, dict):
        return {k: _as_float32(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_as_float32(v) for v in x]
    return np.array(np.asarray(x), dtype=np.float32, copy=True)


def _numpy(value):
    if isinstance(value, (list, tuple)):
        return [_numpy(v) for v in value]
    if isinstance(value, Tensor):
        value = value.numpy()
    return np.array(value, copy=True)


# --- public functions ---------------------------------------------------------------------------
def layer_outputs(model, x, training=False) -> list:
    """The output of every layer of ``model`` on the batch ``x``, in the order they run.

    Args:
        model: a Sequential or functional tomei.keras model.
        x: a batch, e.g. shape (N, 28, 28), any float or uint8 dtype (layers cast to float32);
            a list or dict of arrays for a model with several inputs.
        training: False (default) runs as ``predict`` does (dropout off); True as ``fit``
            does (dropout masks drawn from tomei's generator, see the module docstring).

    Returns:
        A list of ``(layer name, float32 ndarray)`` pairs, one per layer call (a layer called
        twice appears as ``name`` and ``name#2``); the last pair is the model's output.

    Raises:
        TypeError: ``model`` is not a Sequential or functional model.
        ValueError: ``x`` does not fit the model (the layer's message names the shapes).
    """
    trace, _ = _forward(model, x, bool(training), "layer_outputs")
    return [(name, _numpy(out)) for name, out in trace.outputs]


def masks(model, x, training=True) -> dict:
    """The on/off masks of one forward pass: which units dropout kept, which ReLUs fired.

    Args:
        model, x: as :func:`layer_outputs`.
        training: True (default) draws dropout masks as ``fit`` does; with False only ReLU
            masks are returned.

    Returns:
        ``{layer name: bool ndarray}`` with the layer's output shape. For a ``Dropout`` layer
        True marks a kept unit (its value is multiplied by 1/(1-rate)), False a dropped one.
        For a layer whose activation is ReLU (``Dense(..., activation='relu')``,
        ``Activation('relu')``, ``ReLU()``) True marks an output > 0, i.e. a unit that passes
        its gradient back.
    """
    trace, _ = _forward(model, x, bool(training), "masks")
    return dict(trace.masks)


def _loss_fn(model, loss, fn):
    if loss is not None:
        from tomei.keras import losses
        resolved = losses.get(loss)

        def compute(y, y_pred):
            total = resolved(y, y_pred)
            for penalty in model.losses:
                total = ops.add(total, penalty)
            return total
        return compute, resolved
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(f"{fn} needs a loss: compile the model with one (model.compile(..., "
                         f"loss=...)) or pass loss=..., e.g. loss='sparse_categorical_crossentropy'.")
    return (lambda y, y_pred: model.compute_loss(None, y, y_pred)), model.loss


def _gradients(model, x, y, loss, training, fn):
    compute, loss_obj = _loss_fn(model, loss, fn)
    variables = list(model.trainable_variables)
    with GradientTape() as tape:
        trace, y_pred = _forward(model, x, bool(training), fn)
        loss_value = compute(y, y_pred)
    grads = tape.gradient(loss_value, variables)
    return trace, y_pred, loss_value, loss_obj, variables, grads


def weight_gradients(model, x, y, loss=None, training=True) -> dict:
    """Gradient of the loss on the batch ``(x, y)`` with respect to every trainable weight.

    Args:
        model, x: as :func:`layer_outputs`. y: the targets, e.g. integer labels of shape (N,).
        loss: None (default) uses the compiled loss plus regularization penalties; or a loss
            name, ``Loss`` or function, as ``compile(loss=...)`` accepts.
        training: True (default) as in ``fit`` (dropout on); False for a deterministic
            gradient.

    Returns:
        ``{weight path: float32 ndarray}``, e.g. ``{'dense/kernel': (784, 128) array, ...}``,
        in ``model.trainable_variables`` order; a weight the loss does not depend on maps to
        an array of zeros. The model is not changed.

    Raises:
        ValueError: no loss given and the model is not compiled with one.
    """
    _, _, _, _, variables, grads = _gradients(model, x, y, loss, training, "weight_gradients")
    return {v.path: (np.zeros(v.shape, v.dtype) if g is None else _numpy(g))
            for v, g in zip(variables, grads)}


def _optimizer_copy(optimizer, variables):
    """A fresh optimizer with the same config and the same state as ``optimizer``."""
    clone = type(optimizer).from_config(optimizer.get_config())
    if getattr(optimizer, "built", False):
        clone.build_for(variables)
        for v in variables:
            source, target = optimizer.slots_of(v), clone.slots_of(v)
            for name, array in (source or {}).items():
                target[name][...] = array
        if hasattr(optimizer, "u_product"):  # Nadam's product of momentum factors
            clone.set_momentum_product(optimizer.u_product, optimizer.iterations)
        clone.iterations = optimizer.iterations
    return clone


def _slots(optimizer, variables) -> dict:
    slots = {v.path: optimizer.slots_of(v) for v in variables}
    if any(s is None for s in slots.values()):
        return {}
    return {path: {n: _numpy(a) for n, a in s.items()} for path, s in slots.items()}


def step(model, x, y, loss=None, optimizer=None, training=True, apply=False) -> dict:
    """Everything of one training step on the batch ``(x, y)``, as NumPy arrays.

    The step is the one ``fit`` runs: forward with ``training``, loss, gradients under a
    :class:`tomei.GradientTape`, then ``optimizer.apply_gradients``.

    Args:
        model, x, y, loss, training: as :func:`weight_gradients`.
        optimizer: default ``model.optimizer`` (from ``compile``).
        apply: False (default) leaves the model and its optimizer exactly as they were: the
            update runs on a copy of the optimizer (same config and state) and the weights are
            written back afterwards. True keeps the update, as ``train_on_batch`` would.

    Returns:
        A dict with keys:
        ``'inputs'`` the batch as float32; ``'layers'`` list of (layer name, output);
        ``'masks'`` as :func:`masks`; ``'outputs'`` the model output;
        ``'probabilities'`` softmax of the outputs when the loss has ``from_logits=True``
        (else None); ``'loss'`` float; ``'gradients'``, ``'weights_before'``,
        ``'weights_after'`` and ``'updates'`` (after - before): ``{weight path: ndarray}``;
        ``'optimizer'`` the optimizer's class name; ``'learning_rate'`` float;
        ``'iteration'`` the optimizer step number of this update (1 for the first);
        ``'optimizer_state'`` ``{weight path: {slot name: ndarray}}`` after the update
        (Adam: 'momentum' and 'velocity').

    Raises:
        ValueError: no loss or no optimizer (model not compiled and none given).
    """
    optimizer = optimizer if optimizer is not None else getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("step needs an optimizer: compile the model (model.compile(optimizer="
                         "'adam', ...)) or pass optimizer=..., e.g. tomei.keras.optimizers.Adam().")
    if isinstance(optimizer, str):
        from tomei.keras import optimizers
        optimizer = optimizers.get(optimizer)
    trace, y_pred, loss_value, loss_obj, variables, grads = _gradients(
        model, x, y, loss, training, "step")
    before = {v.path: _numpy(v) for v in variables}
    opt = optimizer if apply else _optimizer_copy(optimizer, variables)
    grads = [np.zeros(v.shape, v.dtype) if g is None else g for v, g in zip(variables, grads)]
    lr = float(opt.learning_rate)
    opt.apply_gradients(zip(grads, variables))
    after = {v.path: _numpy(v) for v in variables}
    state = _slots(opt, variables)
    if not apply:
        for v in variables:
            v.assign(before[v.path])
    probs = None
    if getattr(loss_obj, "from_logits", False) and isinstance(y_pred, Tensor):
        from tomei.nn import softmax
        probs = _numpy(softmax(Tensor(y_pred.numpy()), -1))
    return {
        "inputs": _as_float32(x),
        "layers": [(name, _numpy(out)) for name, out in trace.outputs],
        "masks": dict(trace.masks),
        "outputs": _numpy(y_pred),
        "probabilities": probs,
        "loss": float(loss_value),
        "gradients": {v.path: _numpy(g) for v, g in zip(variables, grads)},
        "weights_before": before,
        "weights_after": after,
        "updates": {p: after[p] - before[p] for p in before},
        "optimizer": type(opt).__name__,
        "learning_rate": lr,
        "iteration": int(opt.iterations),
        "optimizer_state": state,
    }
