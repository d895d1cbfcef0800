"""Tensor, Variable and GradientTape: the heart of tomei's autodiff.

A ``Tensor`` wraps one NumPy array. When a :class:`GradientTape` is recording and an
op receives a *tracked* tensor (a trainable ``Variable``, a tensor the tape watches,
or the result of an earlier recorded op), the op's result remembers its parents and a
``backward`` function: the vector-Jacobian product that maps the gradient of the
output to gradients of the inputs. ``GradientTape.gradient`` walks those links from
the target back to the sources in reverse topological order (reverse-mode automatic
differentiation; Griewank & Walther, *Evaluating Derivatives*, 2008, ch. 3).

Outside a tape nothing is recorded, so inference (``model(x)``, ``predict``,
``evaluate``) builds no graph at all.

Every op lives in :mod:`tomei.engine.ops` or :mod:`tomei.engine.nn_ops` with its
forward and its gradient side by side; this file only holds the bookkeeping.
"""
from __future__ import annotations

import itertools

import numpy as np

from tomei import config
from tomei.engine import device

# Tapes that are currently recording, innermost last.
_active_tapes: list["GradientTape"] = []
# Creation stamps of recorded results: an op's output is always newer than its inputs, so
# visiting nodes newest-first is a valid reverse topological order.
_clock = itertools.count()
# The module tomei.engine.ops, which sets this when imported; the operators below call it.
_ops = None


class Tensor:
    """An immutable n-dimensional array of numbers, with TensorFlow's eager-tensor API.

    Args:
        value: anything ``np.asarray`` accepts. Python floats and lists of them become
            ``config.floatx()`` (float32) unless ``dtype`` says otherwise; NumPy arrays keep
            their dtype (as ``tf.constant``). Keras layers cast their inputs to float32.
        dtype: optional NumPy dtype or name.

    Attributes:
        shape: tuple of ints. dtype: the NumPy dtype. ndim: number of axes.

    Use ``.numpy()`` or ``np.asarray(t)`` to get the array back.
    """

    __slots__ = ("_value", "_parents", "_backward", "_stamp", "__weakref__")
    __array_priority__ = 100  # make ndarray + Tensor return a Tensor

    def __init__(self, value, dtype=None):
        self._value = _to_array(value, dtype)
        self._parents = ()  # tensors this one was computed from (only when recorded)
        self._backward = None  # g -> tuple of input gradients (only when recorded)
        self._stamp = 0  # creation order of a recorded result

    # --- array access -----------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        return self._value

    def numpy(self) -> np.ndarray:
        """Returns a copy of the values as a NumPy array (a 0-d tensor gives a NumPy scalar),
        as TensorFlow does: changing it never changes the tensor (nor a gradient recorded
        from it), and a Variable's later updates never change it. A tensor on the GPU is
        copied to the host."""
        v = device.to_host(self._value)
        if v is self._value:
            v = v.copy()
        # a 0-d array becomes its scalar; an op's 0-d result may already be one (np.bytes_,
        # a subclass of bytes, cannot be indexed with ())
        return v[()] if v.ndim == 0 and isinstance(v, np.ndarray) else v

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: a read-only view of a Tensor's values (they never change), a
        copy of a Variable's (they do); a copy whenever ``copy=True`` or ``dtype`` differs."""
        # a full reduction leaves a NumPy scalar, not an array; a GPU array comes to the host
        v = np.asarray(device.to_host(self._value))
        if dtype is not None:
            v = v.astype(dtype, copy=False)
        if v is not self._value:
            return v  # already a new array (converted or from the GPU)
        if copy or (copy is None and isinstance(self, Variable)):
            return v.copy()
        v = v.view()
        v.flags.writeable = False
        return v

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    def __len__(self):
        return len(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):  # an integer scalar indexes a list: class_names[label], as in TF
        if self._value.ndim or self._value.dtype.kind not in "iu":
            raise TypeError(f"Only an integer scalar Tensor can be used as an index; this one "
                            f"has shape {self.shape} and dtype {self.dtype.name}.")
        return int(self._value)

    def __bool__(self):
        return bool(self._value)

    def __repr__(self):
        return (f"<tomei.Tensor: shape={self.shape}, dtype={dtype_name(self.dtype)}, "
                f"numpy={np.array_repr(np.asarray(self))}>")

    def __str__(self):
        """TensorFlow's printed form: ``tf.Tensor(3, shape=(), dtype=int32)``; an array that
        prints over several lines starts on the line after ``tf.Tensor(``."""
        v = np.asarray(self)  # a copy from the GPU when it lives there
        body = repr(bytes(v[()])) if v.ndim == 0 and v.dtype.kind == "S" else np.array_str(v)
        if "\n" in body:
            body = "\n" + body
        return f"tf.Tensor({body}, shape={self.shape}, dtype={dtype_name(self.dtype)})"

    def __format__(self, spec):
        """``f"{loss:0.2f}"`` formats the number inside a 0-d tensor, as TensorFlow does."""
        if spec and self._value.ndim == 0:
            return format(self.numpy(), spec)
        return format(str(self), spec)

    @property
    def device(self) -> str:
        """Where the values live, as TensorFlow's device string: ``.../device:CPU:0`` for a
        NumPy array in main memory, ``.../device:GPU:0`` for a CuPy array on the GPU."""
        kind = "GPU" if device.is_device_array(self._value) else "CPU"
        return f"/job:localhost/replica:0/task:0/device:{kind}:0"

    def __hash__(self):
        return id(self)

    # --- autodiff bookkeeping ---------------------------------------------------
    @property
    def tracked(self) -> bool:
        """True when gradients can flow into this tensor on the active tapes."""
        if self._backward is not None:
            return True
        for tape in _active_tapes:
            if tape._watches(self):
                return True
        return False

    # --- Python operators ------------------------------------------------------------
    # Each one is the differentiable op of the same name in tomei/engine/ops.py (``_ops``,
    # set when ops.py is imported: ops imports this module, so this one cannot import it).
    # A plain Python number or array on the other side takes this tensor's dtype.
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(_ops.convert_to_tensor(other, self.dtype), self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(_ops.convert_to_tensor(other, self.dtype), self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(_ops.convert_to_tensor(other, self.dtype), self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(_ops.convert_to_tensor(other, self.dtype), self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(_ops.convert_to_tensor(other, self.dtype), self)

    def __pow__(self, other):
        return _ops.power(self, other)

    def __rpow__(self, other):
        return _ops.power(_ops.convert_to_tensor(other, self.dtype), self)

    def __neg__(self):
        return _ops.negative(self)

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index._value if isinstance(index, Tensor) else index)

    def reshape(self, *shape):
        """``t.reshape((2, 3))`` or ``t.reshape(2, 3)``: :func:`tomei.engine.ops.reshape`."""
        return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    @property
    def T(self):  # noqa: N802 - NumPy's name
        """The transpose (all axes reversed): :func:`tomei.engine.ops.transpose`."""
        return _ops.transpose(self)

    # Comparisons give boolean Tensors, not differentiable.
    def __lt__(self, other):
        return Tensor(self._value < device.like(other, self._value))

    def __le__(self, other):
        return Tensor(self._value <= device.like(other, self._value))

    def __gt__(self, other):
        return Tensor(self._value > device.like(other, self._value))

    def __ge__(self, other):
        return Tensor(self._value >= device.like(other, self._value))

    def __eq__(self, other):
        return Tensor(self._value == device.like(other, self._value))

    def __ne__(self, other):
        return Tensor(self._value != device.like(other, self._value))

    # Integer and logical operators: no gradient (none exists, as in TensorFlow).
    def __floordiv__(self, other):
        return Tensor(self._value // np.asarray(other, self.dtype))

    def __rfloordiv__(self, other):
        return Tensor(np.asarray(other, self.dtype) // self._value)

    def __mod__(self, other):
        return Tensor(self._value % np.asarray(other, self.dtype))

    def __rmod__(self, other):
        return Tensor(np.asarray(other, self.dtype) % self._value)

    def __invert__(self):
        return Tensor(~self._value)

    def __and__(self, other):
        return Tensor(self._value & np.asarray(other))

    def __or__(self, other):
        return Tensor(self._value | np.asarray(other))

    def __xor__(self, other):
        return Tensor(self._value ^ np.asarray(other))


class Variable(Tensor):
    """A mutable tensor holding model state (weights), as ``tf.Variable``.

    Args:
        initial_value: array-like or Tensor; float values are stored as float32 unless
            ``dtype`` is given.
        trainable: if True (default), active tapes watch it automatically and
            ``tape.gradient`` can differentiate with respect to it.
        name: a label such as ``"kernel"``; ``path`` is set by layers ("dense/kernel").
        dtype: optional dtype.

    ``assign`` writes *in place* into the variable's own array. Created inside
    ``with tomei.device('/GPU:0'):`` (or under ``TOMEI_DEVICE=gpu``) the array lives on the
    GPU; :meth:`to` moves it.
    """

    __slots__ = ("trainable", "name", "path", "regularizer", "constraint")

    def __init__(self, initial_value, trainable=True, name=None, dtype=None):
        value = initial_value._value if isinstance(initial_value, Tensor) else initial_value
        if dtype and device.is_device_array(value):
            value = value.astype(np.dtype(dtype))  # a copy, on its device
        elif dtype:
            value = np.array(value, dtype=dtype, copy=True)
        super().__init__(value, dtype)
        if device.current_device() == "gpu" or device.is_device_array(self._value):
            placed = device.to_device(self._value, "gpu")  # a copy when it came from the host
            self._value = placed.copy() if placed is value else placed
        elif self._value is value or self._value.base is not None or \
                not self._value.flags.writeable:
            self._value = self._value.copy()
        self.trainable = bool(trainable)
        self.name = name or "Variable"
        self.path = self.name
        self.regularizer = None  # set by Layer.add_weight: weights -> scalar penalty
        self.constraint = None  # set by Layer.add_weight: applied after each update

    def to(self, where):
        """Moves the variable's array to ``where`` (``"cpu"`` or ``"gpu"``); returns self."""
        self._value = device.to_device(self._value, where)
        return self

    def assign(self, value):
        """Writes ``value`` into the variable in place. Raises ValueError on a shape mismatch."""
        value = device.like(value, self._value)
        if value.shape != self._value.shape:
            raise ValueError(
                f"Variable '{self.path}' has shape {self._value.shape}; cannot assign a value "
                f"of shape {value.shape}.")
        self._value[...] = value
        return self

    def assign_add(self, delta):
        self._value += device.like(delta, self._value, self._value.dtype)
        return self

    def assign_sub(self, delta):
        self._value -= device.like(delta, self._value, self._value.dtype)
        return self

    def __repr__(self):
        return (f"<tomei.Variable '{self.path}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={np.array_repr(np.asarray(self))}>")


class GradientTape:
    """Records operations so that gradients can be computed, like ``tf.GradientTape``.

    Args:
        persistent: if False (default) ``gradient`` may be called only once.
        watch_accessed_variables: if True (default) every trainable ``Variable`` used while
            the tape records is watched automatically.

    Gradients are first order: each backward is plain NumPy and is not itself recorded,
    so a gradient computed inside an outer tape cannot be differentiated again.

    Example::

        with tomei.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched: set[int] = set()
        self._keep_alive: list[Tensor] = []  # watched tensors, so their ids stay unique
        self._used = False
        self._recording = False

    def __enter__(self):
        _active_tapes.append(self)
        self._recording = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        _active_tapes.remove(self)
        return False

    def watch(self, tensor):
        """Marks ``tensor`` (or a list of tensors) as a source of gradients."""
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects a Tensor or Variable; received "
                                f"{type(t).__name__}. Use tomei.constant(x) first.")
            self._watched.add(id(t))
            self._keep_alive.append(t)

    def _watches(self, t: Tensor) -> bool:
        if id(t) in self._watched:
            return True
        return self.watch_accessed_variables and isinstance(t, Variable) and t.trainable

    def gradient(self, target, sources, output_gradients=None):
        """Gradient of ``target`` with respect to each of ``sources``.

        Args:
            target: a Tensor (usually a scalar loss). A non-scalar target is summed first,
                as TensorFlow does, unless ``output_gradients`` is given.
            sources: a Tensor/Variable, or a (nested) list/tuple/dict of them.
            output_gradients: optional array with the shape of ``target``: the upstream
                gradient (a vector-Jacobian product seed).

        Returns:
            Arrays wrapped as Tensors in the structure of ``sources``; ``None`` for a
            source that the target does not depend on (as TensorFlow).

        Raises:
            RuntimeError: a non-persistent tape is asked twice, or asked while recording.
        """
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can compute gradients only once. "
                               "Use GradientTape(persistent=True) to call gradient() repeatedly.")
        if not isinstance(target, Tensor):
            raise TypeError(
                f"GradientTape.gradient expects the target to be a tomei Tensor computed while "
                f"the tape recorded; received {type(target).__name__}. Compute it with tomei "
                f"ops (tf.square, tf.matmul, +, *, ...), not NumPy functions or .numpy() values, "
                f"which the tape cannot see.")
        self._used = True
        seed = (np.ones_like(target._value) if output_gradients is None
                else device.like(output_gradients, target._value, target.dtype))
        outer_tape_records = any(t is not self and t._recording for t in _active_tapes)
        _active_tapes.append(self)  # so that ``tracked`` answers as it did while recording
        try:
            grads = backpropagate(target, seed)
        finally:
            _active_tapes.remove(self)
        results = _map_structure(lambda s: _as_grad(grads.get(id(s)), s), sources)
        if outer_tape_records:  # say so if an outer tape later tries to differentiate these
            _map_structure(_mark_first_order, results)
        return results


def backpropagate(target: Tensor, seed: np.ndarray) -> dict:
    """Reverse-mode sweep from ``target``. Returns {id(tensor): gradient array}.

    Each recorded node is visited once, newest first, so its gradient is complete (every
    consumer, being newer, has already added its share) before it is passed to its inputs.
    """
    grads = {id(target): seed}
    for node in _recorded_ancestors(target):
        g = grads.get(id(node))
        if g is None:
            continue
        for parent, pg in zip(node._parents, node._backward(g)):
            if pg is not None:
                key = id(parent)
                grads[key] = grads[key] + pg if key in grads else pg
    return grads


def _recorded_ancestors(root: Tensor) -> list:
    """The recorded tensors ``root`` depends on (itself included), newest first."""
    found, seen, todo = [], set(), [root]
    while todo:
        node = todo.pop()
        if node._backward is None or id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        todo.extend(node._parents)
    found.sort(key=lambda t: t._stamp, reverse=True)
    return found


def record(value: np.ndarray, parents: tuple, backward) -> Tensor:
    """Wraps an op's output; links it to ``parents`` when a tape records and any is tracked.

    ``backward(g)`` returns one gradient (or None) per parent. An op asks
    ``parent.tracked`` before computing a gradient it may not need.
    """
    if value.base is not None and any(isinstance(p, Variable) for p in parents):
        value = value.copy()  # a view (reshape, transpose, slice) of a Variable: a snapshot,
        # so the result does not change when the Variable is updated (TensorFlow's semantics)
    out = Tensor.__new__(Tensor)
    out._value = value
    out._parents = ()
    out._backward = None
    out._stamp = 0
    if _active_tapes:
        for p in parents:
            if p._backward is not None or p.tracked:
                out._parents = parents
                out._backward = backward
                out._stamp = next(_clock)
                break
    return out


def dtype_name(dtype) -> str:
    """TensorFlow's name of a NumPy dtype: 'float32', 'int32', 'bool'; byte and text strings
    are 'string' (TensorFlow's ``tf.string`` holds bytes)."""
    dtype = np.dtype(dtype)
    return "string" if dtype.kind in "SU" else dtype.name


#: the dtype names tomei's tensors take (TensorFlow's names; 'string' holds bytes)
DTYPE_NAMES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
               "uint16", "uint32", "uint64", "bool", "complex64", "complex128", "string")


def as_dtype(dtype, op: str, argument: str = "dtype") -> np.dtype:
    """``dtype`` (a name such as 'float32', ``tf.float32``, a NumPy dtype or type) as a NumPy
    dtype: the one check every function taking a dtype makes.

    Raises:
        TypeError: an unknown dtype (e.g. the typo 'flaot32'), naming ``op`` and
            ``argument`` and listing :data:`DTYPE_NAMES`.
    """
    if isinstance(dtype, str) and dtype == "string":
        return np.dtype("S")  # TensorFlow's strings are bytes
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: argument '{argument}' must be a dtype; received {dtype!r}, "
                        f"which is not one. Valid names: {', '.join(DTYPE_NAMES)} (or tf.float32, "
                        f"tf.int32, ...).") from None


_INT32 = np.iinfo(np.int32)


def _to_array(value, dtype=None) -> np.ndarray:
    """NumPy array for ``value``, with TensorFlow's choices for Python values: floats become
    float32 (floatx), ints int32 (int64 only when a value does not fit in int32), and text
    ``str`` becomes UTF-8 bytes (TensorFlow strings are bytes). NumPy arrays keep their dtype."""
    if isinstance(value, Tensor):
        value = value._value
    if device.is_device_array(value):  # a GPU array stays where it is
        return value if dtype is None else value.astype(np.dtype(dtype), copy=False)
    if dtype is not None:
        dtype = as_dtype(dtype, "tf.convert_to_tensor")
        if dtype.kind == "S":
            return _as_bytes(np.asarray(value))
        return np.asarray(value, dtype=dtype)
    try:
        arr = np.asarray(value)
    except ValueError as e:  # a ragged list: NumPy's words, and what to do
        raise ValueError(f"Cannot convert {type(value).__name__} to a Tensor: its rows have "
                         f"different lengths ({e}). A tensor is rectangular: pad or cut the "
                         f"rows to one length first.") from None
    from_python = not isinstance(value, (np.ndarray, np.generic))
    if from_python and arr.dtype == np.float64:
        return arr.astype(config.floatx())  # Python floats and lists become float32, as in TF
    if from_python and arr.dtype == np.int64 and (
            arr.size == 0 or (_INT32.min <= arr.min() and arr.max() <= _INT32.max)):
        return arr.astype(np.int32)  # Python ints become int32, as in TF
    if arr.dtype.kind == "U":
        return _as_bytes(arr)
    if arr.dtype == object:
        raise TypeError(f"Cannot convert {type(value).__name__} to a Tensor: received an "
                        f"object array. Expected numbers or nested lists of numbers.")
    return arr


def _as_bytes(arr: np.ndarray) -> np.ndarray:
    """Text as UTF-8 bytes (NumPy 'S' arrays), the way TensorFlow stores strings."""
    return np.asarray(np.char.encode(arr, "utf-8")) if arr.dtype.kind == "U" else arr.astype(bytes)


def _as_grad(g, source):
    if g is None:
        return None
    # A seed of another shape can reach a source unchanged, e.g. tape.gradient(x, x,
    # output_gradients=1.0) with x of shape (3,): broadcast it to the source's shape.
    if g.shape != source.shape:
        g = np.broadcast_to(g, source.shape)
    out = Tensor.__new__(Tensor)
    out._value, out._parents, out._backward, out._stamp = g.astype(source.dtype, copy=False), (), None, 0
    return out


def _mark_first_order(grad):
    if grad is not None:
        grad._backward = _no_second_derivative
        grad._stamp = next(_clock)


def _no_second_derivative(g):
    raise NotImplementedError(
        "tomei computes first-order gradients only: a gradient taken inside another "
        "GradientTape cannot be differentiated again (TensorFlow can). Work out the higher "
        "derivative by hand, or check it with central differences.")


def _map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):  # a Tensor item directly: the hot case, a
        # model's list of variables, without a recursive call per item
        return type(structure)([fn(s) if isinstance(s, Tensor) else _map_structure(fn, s)
                                for s in structure])
    if isinstance(structure, dict):
        return {k: _map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)
