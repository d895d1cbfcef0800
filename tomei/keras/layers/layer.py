"""The Layer base class: the Keras contract every layer follows.

- ``__init__`` stores the configuration (validated; strings resolved to functions).
- ``build(input_shape)`` creates the weights with ``add_weight``, once, when the input
  shape is first known.
- ``call(inputs, training=None)`` is the forward math, written with engine ops. No layer
  writes a backward: the GradientTape differentiates whatever ``call`` did.
- ``get_config`` / ``from_config`` round-trip the configuration (for saving).

``Layer.__call__`` does the rest: it casts the input to float32 once, builds the layer on
first use, checks the input's shape against the one the layer was built for, and calls.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import threading
from collections import defaultdict

import numpy as np

from tomei import config
from tomei.engine.ops import convert_to_tensor, divide, numbers
from tomei.keras.arguments import shape_argument, size_argument, unexpected_keywords
from tomei.engine.tensor import Tensor, Variable
from tomei.keras import initializers
from tomei.keras.layers import keras_tensor
from tomei.keras.naming import snake_case

_name_counts: dict[str, int] = defaultdict(int)
_budget = threading.local()  # .left (elements), .error (callable) while loading a file
_OWN_LAYERS = "tomei.keras.layers."  # the module prefix of tomei's built-in layers


@contextlib.contextmanager
def weight_budget(elements: int, error):
    """While active (in this thread), ``add_weight`` refuses, before allocating anything, a
    weight that would take the total past ``elements`` values, raising ``error(message)``.

    Loading a model file sets it to what the file actually stores, so a crafted config
    (``Dense(units=10**9)``) cannot make tomei allocate gigabytes the file does not hold.
    """
    previous = getattr(_budget, "state", None)
    _budget.state = [int(elements), error]
    try:
        yield
    finally:
        _budget.state = previous


def _spend_budget(layer, name, shape):
    state = getattr(_budget, "state", None)
    if state is None:
        return
    count = math.prod(shape)
    if count > state[0]:
        raise state[1](f"layer '{layer.name}' ({type(layer).__name__}) would create weight "
                       f"'{name}' of shape {shape} ({count:,} values), but the file stores "
                       f"only {state[0]:,} more values; its config does not match its weights.")
    state[0] -= count


def unique_name(base: str) -> str:
    """'dense', then 'dense_1', 'dense_2', ... (per base name, per process, as Keras)."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset_names():
    """Restarts automatic names (``keras.backend.clear_session`` does this)."""
    _name_counts.clear()


class Layer:
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training (default True).
        name: the layer name; default: the snake_case class name made unique ("dense_1").
        dtype: compute and weight dtype, default ``config.floatx()`` ('float32').
        input_shape: optional shape of one sample, without the batch axis, e.g. (28, 28);
            lets a Sequential model build as soon as the layer is added.
        input_dim: shortcut for ``input_shape=(input_dim,)``.
        batch_input_shape: the shape with the batch axis, e.g. (None, 28, 28).
        batch_size: optional fixed batch size that goes with ``input_shape``.

    Raises:
        TypeError: for a keyword argument the layer does not know.
        ValueError: a shape that is not a tuple or list of dimensions (``input_shape=28``),
            an ``input_dim`` or ``batch_size`` that is not an int >= 0.
    """

    _autocast = True  # cast float inputs to the layer dtype (Keras's autocast)
    _same_input_shape = True  # False: later calls may have any shape (no check at all)
    #: Which axes of later inputs must match the input the layer was built for, as Keras's
    #: input specs: False (the default) checks only the last axis, and only for a layer that
    #: owns weights (Dense, Conv, normalization: their weights were sized from it); a
    #: weightless layer (Dropout, Flatten, Activation, ...) takes any shape, as in Keras 3.
    #: True checks every axis but the batch axis (Sequential and functional models, whose
    #: Input declares the shape).
    _check_all_input_axes = False

    #: Declares that at inference (training=False) each output row depends on its own input
    #: row alone, so evaluate/predict may send several batches through one call with the
    #: same results. False here (a layer of your own may mix rows); the built-in layers
    #: declare True and their subclasses inherit it. A subclass whose call mixes rows (a
    #: batch statistic, say) sets it back to False.
    rows_independent = False

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, batch_size=None, **kwargs):
        if kwargs:
            raise unexpected_keywords(kwargs, type(self).__name__, type(self))
        object.__setattr__(self, "_sublayers", [])
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = trainable
        self.dtype = _dtype_name(dtype)
        # the same, as a NumPy dtype (fast compare)
        self._compute_dtype = np.dtype(str) if self.dtype == "string" else np.dtype(self.dtype)
        self.built = False
        self._weights: list[Variable] = []
        self._input_spec_shape = None  # shape the layer was built for (batch axis None)
        self._losses: list = []  # activity/weight regularization terms of the last call
        owner = f"{type(self).__name__}()"
        batch_size = size_argument(batch_size, "batch_size", owner)
        if input_dim is not None and input_shape is None:
            input_shape = (size_argument(input_dim, "input_dim", owner, none_ok=False),)
        if batch_input_shape is not None:
            self._batch_input_shape = shape_argument(batch_input_shape, "batch_input_shape", owner,
                                                     batch_axis=True)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + shape_argument(input_shape, "input_shape", owner)
        else:
            self._batch_input_shape = None

    # --- sublayer tracking (layers kept as attributes, or in lists of them) ---------
    def __setattr__(self, name, value):
        if isinstance(value, Layer) and name != "_outer" or (
                isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value)):
            layers = value if isinstance(value, (list, tuple)) else [value]
            for layer in layers:
                if layer is not self and not any(layer is s for s in self._sublayers):
                    self._sublayers.append(layer)
        object.__setattr__(self, name, value)

    # --- weights ---------------------------------------------------------------------
    def add_weight(self, name=None, shape=(), initializer="glorot_uniform", dtype=None,
                   trainable=True, regularizer=None, constraint=None):
        """Creates a weight Variable, initialised now, and tracks it.

        Args:
            name: e.g. "kernel". shape: tuple of ints. initializer: name, instance or callable
                ``(shape, dtype) -> array``. dtype: default the layer dtype.
            trainable: False for state that training must not change (e.g. moving means).
            regularizer: optional callable ``weights -> scalar`` added to the loss.
            constraint: optional callable applied to the weight after each update.
        """
        dtype = dtype or self.dtype
        init = initializers.get(initializer) if initializer is not None else initializers.Zeros()
        shape = _checked_shape(self, name, shape)
        _spend_budget(self, name, shape)
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        var = Variable(value, trainable=trainable, name=name or f"variable_{len(self._weights)}")
        var.path = f"{self.name}/{var.name}"
        var.regularizer = regularizer
        var.constraint = constraint
        self._weights.append(var)
        return var

    @property
    def weights(self) -> list[Variable]:
        """All weights: the layer's own, then its sublayers', in creation order."""
        out, seen = [], set()
        for w in self._weights + [w for layer in self._sublayers for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [w for w in self._weights if w.trainable]
        return _dedup(own + [w for layer in self._sublayers for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    trainable_variables = trainable_weights
    variables = weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weight values, in ``weights`` order."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Writes arrays into the weights, in ``weights`` order.

        Raises:
            ValueError: wrong number of arrays, or an array of the wrong shape.
        """
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}' expects {len(own)} weight arrays "
                             f"({[w.shape for w in own]}); received {len(weights)}.")
        for var, value in zip(own, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(f"Weight '{var.path}' has shape {var.shape}; received an "
                                 f"array of shape {value.shape}.")
        for var, value in zip(own, weights):
            var.assign(np.asarray(value, dtype=var.dtype))

    @property
    def built_input_shape(self):
        """The input shape the layer was built for, batch axis None (e.g. ``(None, 28, 28)``);
        None before ``build`` or when the input is a structure of several tensors."""
        return self._input_spec_shape

    def count_params(self) -> int:
        return int(sum(w.value.size for w in self.weights))

    @property
    def losses(self) -> list:
        """Regularization terms (scalar Tensors) from the last call, this layer and below."""
        terms = list(self._losses)
        for w in self._weights:
            if w.regularizer is not None:
                terms.append(w.regularizer(w))
        for layer in self._sublayers:
            if layer._sublayers or layer._losses or layer._weights:
                terms.extend(layer.losses)
        return terms

    def add_loss(self, loss):
        """Adds a scalar Tensor to the training loss for this call (e.g. a penalty)."""
        self._losses.append(loss)

    def _add_activity_penalty(self, outputs):
        """Adds ``activity_regularizer(outputs)`` divided by the batch size to this call's
        losses, as Keras 3 does for layers built with an ``activity_regularizer``."""
        batch = np.asarray(max(outputs.shape[0], 1), dtype=outputs.dtype)
        self._losses.append(divide(self.activity_regularizer(outputs), batch))

    # --- the Keras contract ------------------------------------------------------------
    def build(self, input_shape):
        """Creates the weights for inputs of ``input_shape`` (batch axis included, may be None)."""
        self.built = True

    def call(self, inputs, training=None):
        """The forward computation. Subclasses override it."""
        return inputs

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``. Default: run ``call`` on a batch of one zero."""
        shape = tuple(1 if d is None else d for d in input_shape)
        if not self.built:
            self._build_once(input_shape)
        out = self._call(Tensor(np.zeros(shape, dtype=self.dtype)), None)
        return (input_shape[0],) + tuple(out.shape[1:])

    def __call__(self, inputs, *args, training=None, **kwargs):
        # Fast path first: a Tensor of the layer's dtype needs no conversion (the common
        # case inside a model, on every training step).
        if type(inputs) is not Tensor or inputs.dtype is not self._compute_dtype:
            if keras_tensor.is_symbolic(inputs):
                return keras_tensor.call_symbolic(self, inputs, *args, training=training, **kwargs)
            inputs = self._convert_inputs(inputs)
        if not self.built:
            self._build_once(_shape_of(inputs))
        elif self._input_spec_shape is not None:
            self._check_input_shape(inputs)
        if self._losses:
            self._losses.clear()
        if self._takes_training:
            kwargs["training"] = bool(training)
        return self.call(inputs, *args, **kwargs)

    def _call(self, inputs, training, *args, **kwargs):
        if self._takes_training:
            kwargs["training"] = bool(training)
        return self.call(inputs, *args, **kwargs)

    @property
    def _takes_training(self) -> bool:
        """Whether ``call`` accepts ``training`` (looked up once per class)."""
        cls = type(self)
        cached = cls.__dict__.get("_call_takes_training")
        if cached is None:
            params = inspect.signature(cls.call).parameters
            cached = "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
            setattr(cls, "_call_takes_training", cached)
        return cached

    def _build_once(self, input_shape):
        self._input_spec_shape = (None,) + tuple(input_shape[1:]) \
            if self._same_input_shape and _is_shape(input_shape) else None
        self.build(input_shape)
        self.built = True

    def _convert_inputs(self, inputs):
        if _nested_numbers(inputs):
            # Keras 3 refuses these too: a list of lists reads as several inputs
            raise ValueError(
                f"{type(self).__name__} '{self.name}': inputs must be a tensor or a NumPy "
                f"array; received a nested Python list ({_preview(inputs)}). A list passes "
                f"several inputs to layers that take several; for one input of numbers, "
                f"convert it first: np.array(inputs) or tf.constant(inputs).")
        if isinstance(inputs, (list, tuple)) and inputs and not np.isscalar(inputs[0]) \
                and not isinstance(inputs[0], (int, float)):
            return type(inputs)(self._convert_inputs(x) for x in inputs)
        if isinstance(inputs, dict):
            return {k: self._convert_inputs(v) for k, v in inputs.items()}
        t = convert_to_tensor(inputs)
        if self._autocast and t.dtype != self.dtype:
            if t.dtype.kind in "fiub":
                from tomei.engine.ops import cast
                t = cast(t, self.dtype)  # uint8 pixels and float64 arrays become float32 once
            elif self.dtype != "string" and type(self).__module__.startswith(_OWN_LAYERS):
                # text reaching one of tomei's layers of numbers: say so, naming the layer (a
                # layer of your own, or a model, gets what it was given, as in Keras)
                numbers(t, f"{type(self).__name__} '{self.name}'", "inputs")
        return t

    def _check_input_shape(self, inputs):
        if not isinstance(inputs, Tensor):
            return
        expected, got = self._input_spec_shape, inputs.shape
        if got[1:] == expected[1:] or (len(expected) == len(got) and all(
                e is None or e == g for e, g in zip(expected, got))):
            return
        if not self._check_all_input_axes:
            if not self._weights or (got and expected[-1] in (None, got[-1])):
                return
            raise ValueError(
                f"Input of layer '{self.name}' is incompatible with the layer: expected axis -1 "
                f"of the input to have size {expected[-1]} (the layer's weights were made for "
                f"inputs of shape {_fmt_shape(expected)}), found shape="
                f"{_fmt_shape((None,) + tuple(got[1:]))} (full input shape {tuple(got)}).")
        raise ValueError(
            f"Input of layer '{self.name}' is incompatible with the layer: expected shape="
            f"{_fmt_shape(expected)}, found shape={_fmt_shape((None,) + tuple(got[1:]))} "
            f"(full input shape {tuple(got)}).")

    # --- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments as a JSON-able dict (Keras 3 keys)."""
        cfg = {"name": self.name, "trainable": self.trainable,
               "dtype": {"module": "keras", "class_name": "DTypePolicy",
                         "config": {"name": self.dtype}, "registered_name": None}}
        if self._batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self._batch_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        dtype = config.get("dtype")
        if isinstance(dtype, dict):
            config["dtype"] = dtype.get("config", {}).get("name")
        config.pop("batch_shape", None) if cls.__name__ != "InputLayer" else None
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def all_sublayers(layer):
    """Every layer inside ``layer``, depth first, each before its own sublayers (``layer``
    itself excluded): a model's layers, nested models and their layers, the layers a custom
    layer keeps as attributes. A generator."""
    for sub in layer._sublayers:
        yield sub
        yield from all_sublayers(sub)


def _dtype_name(dtype):
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, dict):
        return dtype.get("config", {}).get("name", config.floatx())
    if dtype in ("string", str):  # tf.string: text inputs (TextVectorization)
        return "string"
    return np.dtype(dtype).name


def _dedup(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _is_shape(shape):
    return isinstance(shape, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in shape)


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: _shape_of(v) for k, v in inputs.items()}
    return tuple(inputs.shape)


def _fmt_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _checked_shape(layer, name, shape) -> tuple:
    """``shape`` as a tuple of non-negative Python ints, or a ValueError naming the layer."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                               and d >= 0 for d in dims):
        raise ValueError(f"layer '{layer.name}' ({type(layer).__name__}): weight '{name}' needs "
                         f"a shape of non-negative integers; received shape={shape!r}.")
    return tuple(int(d) for d in dims)


def _nested_numbers(inputs) -> bool:
    """Whether ``inputs`` is a Python list (or tuple) of lists whose first leaf is a number,
    e.g. ``[[1, 2], [3, 4]]``: Keras 3 refuses these as a layer's inputs."""
    if not (isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], (list, tuple))):
        return False
    first = inputs[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, (int, float, np.number)) and not isinstance(first, np.ndarray)


def _preview(value, limit=60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
