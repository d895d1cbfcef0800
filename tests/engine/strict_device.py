"""A strict stand-in for a GPU array module, so the device path runs (and is checked) on the
CPU in every test run.

``StrictArray`` holds a NumPy array but behaves as a CuPy array does toward NumPy:

- NumPy functions and ufuncs given a StrictArray run and return StrictArrays (NEP 13/18);
- mixing it with a plain NumPy array in one call raises TypeError (CuPy does the same);
- ``np.asarray(a)`` / ``np.array(a)`` raise TypeError: no silent copy to the host (CuPy's
  rule); ``a.get()`` and ``module.asnumpy(a)`` are the explicit way.

``MODULE`` plays ``cupy``: ``asarray``, ``asnumpy``, ``zeros``, ... and ``random``.
"""
from __future__ import annotations

import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


def _unwrap(value, seen_plain):
    if isinstance(value, StrictArray):
        return value.a
    if type(value) is np.ndarray:
        seen_plain.append(value)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, seen_plain) for v in value)
    return value


def _wrap(value):
    if type(value) is np.ndarray:
        return StrictArray(value)
    if isinstance(value, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return StrictArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _refuse_plain(name, plain):
    bad = list(plain)
    if bad:
        raise TypeError(f"{name}: a device array was mixed with a host NumPy array of shape "
                        f"{bad[0].shape} (CuPy refuses this too; move it with to_device).")


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array pretending to live on a GPU."""

    __array_priority__ = 200

    def __init__(self, a):
        self.a = a

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = []
        inputs = _unwrap(inputs, plain)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], plain)
        _refuse_plain(f"np.{ufunc.__name__}", plain)
        out = getattr(ufunc, method)(*inputs, **kwargs)
        return None if method == "at" else _wrap(out)

    def __array_function__(self, func, types_, args, kwargs):
        plain = []
        args, kwargs = _unwrap(args, plain), {k: _unwrap(v, plain) for k, v in kwargs.items()}
        _refuse_plain(f"np.{func.__name__}", plain)
        return _wrap(func(*args, **kwargs))

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion of a device array to a NumPy array is not "
                        "allowed; use .get() (CuPy's rule).")

    def get(self):
        return self.a.copy()

    # array attributes and methods, answered on the device
    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    nbytes = property(lambda self: self.a.nbytes)
    T = property(lambda self: StrictArray(self.a.T))
    flags = property(lambda self: self.a.flags)
    base = property(lambda self: self.a.base)
    strides = property(lambda self: self.a.strides)

    def __getattr__(self, name):
        attr = getattr(self.a, name)
        if not callable(attr):
            raise AttributeError(name)

        def method(*args, **kwargs):
            plain = []
            args = _unwrap(args, plain)
            kwargs = {k: _unwrap(v, plain) for k, v in kwargs.items()}
            return _wrap(attr(*args, **kwargs))
        return method

    def min(self, axis=None, out=None, keepdims=False):  # CuPy's signature: no initial=
        return _wrap(self.a.min(axis=axis, keepdims=keepdims))

    def max(self, axis=None, out=None, keepdims=False):
        return _wrap(self.a.max(axis=axis, keepdims=keepdims))

    def __getitem__(self, index):
        plain = []
        index = _unwrap(index, plain)
        return _wrap(self.a[index])

    def __setitem__(self, index, value):
        plain = []
        index, value = _unwrap(index, plain), _unwrap(value, plain)
        if isinstance(value, np.ndarray) and any(v is value for v in plain):
            _refuse_plain("setitem", [value])
        self.a[index] = value

    def __len__(self):
        return len(self.a)

    def __float__(self):
        return float(self.a)

    def __int__(self):
        return int(self.a)

    def __bool__(self):
        return bool(self.a)

    def __index__(self):
        return self.a.__index__()

    def __iter__(self):
        return (_wrap(v) if isinstance(v, np.ndarray) else v for v in self.a)

    def __repr__(self):
        return f"StrictArray({self.a!r})"

    # in-place operators keep the same object (as CuPy's do)
    def _inplace(self, ufunc, other):
        ufunc(self, other, out=(self,))
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other)

    def __isub__(self, other):
        return self._inplace(np.subtract, other)

    def __imul__(self, other):
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other):
        return self._inplace(np.true_divide, other)


def _asarray(value, dtype=None, **kwargs):
    if isinstance(value, StrictArray):
        return value if dtype is None else StrictArray(value.a.astype(dtype))
    if isinstance(value, (list, tuple)):
        value = [v.get() if isinstance(v, StrictArray) else v for v in value]
    return StrictArray(np.array(value, dtype=dtype, copy=True))


class _RandomState:
    def __init__(self, seed=None):
        self._rs = np.random.RandomState(seed)

    def random_sample(self, size=None, dtype=np.float64):
        return StrictArray(self._rs.random_sample(size).astype(dtype))


def _module_function(name):
    func = getattr(np, name)

    def call(*args, **kwargs):
        plain = []
        args = _unwrap(args, plain)
        kwargs = {k: _unwrap(v, plain) for k, v in kwargs.items()}
        _refuse_plain(f"strict.{name}", plain)
        return _wrap(func(*args, **kwargs))
    return call


def _scatter_add(target, index, values):
    plain = []
    np.add.at(target.a, _unwrap(index, plain), _unwrap(values, plain))


MODULE = types.SimpleNamespace(
    __name__="strict_device", ndarray=StrictArray, asarray=_asarray, array=_asarray,
    asnumpy=lambda a: a.get() if isinstance(a, StrictArray) else np.asarray(a),
    random=types.SimpleNamespace(RandomState=_RandomState), scatter_add=_scatter_add,
    float32=np.float32, float64=np.float64, int64=np.int64, int32=np.int32, bool_=np.bool_,
    **{name: _module_function(name) for name in (
        "ascontiguousarray", "zeros", "ones", "empty", "full", "arange", "zeros_like", "ones_like", "empty_like",
        "full_like", "where", "maximum", "minimum", "exp", "log", "sqrt", "concatenate",
        "stack", "eye", "sum", "mean", "abs", "sign", "clip", "argmax", "take",
        "take_along_axis", "isfinite", "all", "any", "broadcast_to", "reshape")})
