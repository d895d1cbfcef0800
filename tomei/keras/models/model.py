"""Model: a Layer that can be trained. Three ways to make one, as in Keras:

- ``Sequential([...])``: a stack of layers (``sequential.py``);
- ``Model(inputs, outputs)``: the functional API, a graph of layers (``functional.py``);
- subclassing ``Model`` and writing ``call`` yourself.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import ops
from tomei.engine.tensor import Tensor
from tomei.keras.layers.keras_tensor import is_symbolic
from tomei.keras.arguments import shape_argument
from tomei.keras.layers.layer import Layer
from tomei.keras.models.trainer import Trainer
from tomei.keras.serialization import register, registered


@register("keras")
class Model(Trainer, Layer):
    """A trainable Layer with compile/fit/evaluate/predict/summary.

    ``Model(inputs, outputs, name=None)`` builds a functional model; ``Model()`` subclassed
    with your own ``call`` builds a subclassed model.

    Two tomei extensions travel with the ``.keras`` file (in its ``metadata.json``, which
    Keras 3 does not read, so Keras still opens the file): ``class_names``, a list of str
    naming each output class (``tomei predict`` and ``tomei report`` print them), and
    ``dataset_name``, the ``keras.datasets`` module the model was trained on (``'mnist'``,
    ``'fashion_mnist'``), which ``tomei report`` evaluates on. Both default to None.
    """

    class_names = None
    dataset_name = None

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            # Functional (functional.py) subclasses Model, so it is found through the registry
            # rather than imported here: no import cycle.
            functional = registered("keras")["Functional"]
            return functional.__new__(functional)  # Python then runs Functional.__init__ once
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs) and not _builds_itself(type(self)):
            # ``class MyModel(Model)`` whose __init__ passes (inputs, outputs) on, as in the
            # Keras guide "Customizing what happens in fit()": a functional model of that
            # class (Keras 3 decides here too, from the arguments Model.__init__ receives).
            self.__class__ = _with_functional(type(self))
            registered("keras")["Functional"].__init__(self, *args, **kwargs)
            return
        super().__init__(**{k: v for k, v in kwargs.items() if k in ("name", "trainable", "dtype")})
        self._train_variables = None
        self._output_shape_cache = None
        self.history = None
        self.stop_training = False
        self.optimizer = None

    def __call__(self, inputs, *args, **kwargs):
        declared = self._declared_input_shapes()
        if declared is not None and not is_symbolic(inputs):
            inputs = adjust_input_rank(inputs, declared, self.name)
        return Layer.__call__(self, inputs, *args, **kwargs)

    def _declared_input_shapes(self):
        """The input shapes fixed by the model's Input layers (a list, one per input), or None
        for a subclassed model, which takes whatever its ``call`` accepts."""
        return None

    @property
    def layers(self) -> list:
        return list(self._sublayers)

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index``. ValueError lists the names."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for a model with "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    @property
    def output_names(self) -> list:
        return ["output"]

    def _build_from_batch(self, batch):
        """Builds the model by running one sample through it (subclassed models)."""
        self._building = True  # Layer.__call__ calls build() on the way: do not recurse
        try:
            out = self(batch, training=False)
        finally:
            self._building = False
        self._output_shape_cache = _shapes(out)
        self.built = True

    def build(self, input_shape=None):
        if input_shape is not None and not self.built and not getattr(self, "_building", False):
            input_shape = shape_argument(input_shape, "input_shape", f"{type(self).__name__}.build()",
                                         batch_axis=True)
            shape = tuple(1 if d is None else d for d in input_shape)
            self._build_from_batch(np.zeros(shape, np.float32))
        self.built = True

    def _optimizer_param_count(self) -> int:
        opt = getattr(self, "optimizer", None)
        if opt is None or not getattr(opt, "built", False):
            return 0
        return int(sum(np.size(v) for v in opt.variables))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints the Keras 3 summary table: layers, output shapes, parameter counts.

        As in Keras 3, a model that is not built yet (no input shape known) still prints:
        its unbuilt layers show the output shape "?" and "0 (unbuilt)" parameters.

        Args:
            line_length: total width in characters (default: fits the terminal).
            positions: where each column ends, as fractions of the width.
            print_fn: called with the table's text instead of ``print``.
            expand_nested, show_trainable, layer_range: Keras's options; only their defaults
                (False, False, None) are implemented.

        Raises:
            NotImplementedError: expand_nested or show_trainable True, or a layer_range.
        """
        for option, value, default in (("expand_nested", expand_nested, False),
                                       ("show_trainable", show_trainable, False),
                                       ("layer_range", layer_range, None)):
            if value != default:
                raise NotImplementedError(f"Model.summary({option}={value!r}) is not "
                                          f"implemented; tomei prints the top-level layers only.")
        from tomei.keras.utils.summary import print_summary
        print_summary(self, line_length, positions, print_fn)

    def _summary_rows(self):
        return [(layer.name, type(layer).__name__, getattr(layer, "_output_shape", None) or "?",
                 layer.count_params() if layer.built else "0 (unbuilt)", None)
                for layer in self.layers]

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    def get_build_config(self) -> dict:
        """``{"input_shape": [None, 28, 28]}``: the input shape the model was built for, as
        Keras 3 writes it in ``config.json`` (``None`` when not known yet)."""
        shape = self.built_input_shape
        return {"input_shape": list(shape) if shape is not None else None}

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves architecture, weights and optimizer state: ``.keras`` (the Keras 3 zip) or
        ``.h5`` (the legacy whole-model HDF5 file); see :mod:`tomei.keras.saving`."""
        from tomei.keras.saving import save_model
        return save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Saves the weights to a ``.weights.h5`` file (Keras 3 layout)."""
        from tomei.keras.saving import save_weights
        return save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Loads weights saved by ``save_weights`` (or the weights inside a ``.keras`` file)."""
        from tomei.keras.saving import load_weights
        return load_weights(self, filepath, skip_mismatch=skip_mismatch)


def _functional_arguments(args, kwargs) -> bool:
    """Keras 3's test for Model(inputs, outputs) arguments."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or (
        "inputs" in kwargs and "outputs" in kwargs)


def _builds_itself(cls) -> bool:
    """True for Functional and Sequential (and their subclasses): they take these arguments."""
    keras = registered("keras")
    return issubclass(cls, (keras["Functional"], keras["Sequential"]))


_FUNCTIONAL_SUBCLASSES: dict = {}


def _with_functional(cls):
    """``cls`` with Functional mixed in after it, made once per class: the subclass's own
    methods (train_step, ...) come first, Functional's graph building and call after."""
    if cls not in _FUNCTIONAL_SUBCLASSES:
        functional = registered("keras")["Functional"]
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, functional),
                                           {"__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def adjust_input_rank(inputs, declared, model_name):
    """Keras 3's rule for inputs whose rank differs by one from the model's declared input.

    For each input (one array, or a list/tuple/dict of them, matched in order with
    ``declared``): equal ranks pass unchanged; one axis more whose last size is 1 loses it
    (shape (N, 1) for an input of shape (None,)); one axis less where the declared shape ends
    in 1 gains a trailing axis (a 1-D array or pandas Series of N values for an input of
    shape (None, 1)). Source: keras/src/models/functional.py, ``_adjust_input_rank``.

    Raises:
        ValueError: any other rank difference, naming the expected and received shapes.
    """
    if isinstance(inputs, dict):
        return inputs  # matched by name later; Keras 3 adjusts only positional structures
    many = isinstance(inputs, (list, tuple)) and len(declared) > 1
    values = list(inputs) if many else [inputs]
    if len(values) != len(declared):
        return inputs  # the model's call reports the count mismatch
    adjusted = [_adjust_one(x, tuple(ref), model_name) for x, ref in zip(values, declared)]
    return type(inputs)(adjusted) if many else adjusted[0]


def _adjust_one(x, ref, model_name):
    shape = np.shape(x.value if isinstance(x, Tensor) else x)
    if len(shape) == len(ref) or len(ref) == 0:
        return x
    if len(shape) == len(ref) + 1 and shape[-1] == 1:
        return ops.squeeze(x, axis=-1) if isinstance(x, Tensor) else np.squeeze(np.asarray(x), -1)
    if len(shape) == len(ref) - 1 and ref[-1] == 1:
        return ops.expand_dims(x, -1) if isinstance(x, Tensor) else np.asarray(x)[..., None]
    one_sample = len(shape) == len(ref) - 1 and all(
        r is None or r == s for r, s in zip(ref[1:], shape))
    hint = (" It looks like one sample without the batch axis: pass a batch of one, e.g. "
            "x[None] or x_test[:1] instead of x_test[0]." if one_sample else "")
    raise ValueError(f"Invalid input shape for model '{model_name}': expected shape "
                     f"{tuple(ref)}, but the input has the incompatible shape {tuple(shape)} "
                     f"(only a trailing axis of size 1 can be added or removed).{hint}")


def _shapes(out):
    if isinstance(out, (list, tuple)):
        return [(None,) + tuple(o.shape[1:]) for o in out]
    return (None,) + tuple(out.shape[1:])
