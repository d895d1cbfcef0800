"""Preprocessing layers whose state is computed from data by ``adapt``: Normalization.

A preprocessing layer has no trainable weights. ``adapt(data)`` reads the data once and
stores what it learned (here a mean and a variance) as non-trainable weights, so that the
numbers are saved with the model and a loaded model transforms inputs the same way.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from tomei.engine import ops
from tomei.engine.tensor import Tensor
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register

# keras.backend.epsilon(): the smallest standard deviation Normalization divides by.
_EPSILON = 1e-7


def _first_of_batch(batch):
    """``x`` of an ``(x, y)`` or ``(x, y, sample_weight)`` batch; the batch itself otherwise."""
    return batch[0] if isinstance(batch, tuple) else batch


def _as_array(value, what):
    """NumPy array of ``value`` (a Tensor, array, list or pandas object)."""
    if isinstance(value, Tensor):
        return value.numpy() if value.ndim else np.asarray(value.value)
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{what} expects numbers; received an array of dtype {array.dtype}.")
    return array


def _batches(data):
    """(first batch shape, iterator over all batches as arrays) for ``adapt`` inputs.

    An array or Tensor is one batch. A Dataset-like object (anything with ``element_spec``)
    whose elements are single samples (rank-1 spec) is batched by 128, as Keras does; any
    other iterable (Dataset, PyDataset, list of arrays, generator) is taken as batches.
    """
    if isinstance(data, (np.ndarray, Tensor)) or hasattr(data, "__array__") \
            and not hasattr(data, "__iter__") or type(data).__name__ in ("DataFrame", "Series"):
        array = _as_array(data, "adapt")
        return array.shape, iter([array])
    if hasattr(data, "batch") and hasattr(data, "take"):  # a tf.data Dataset
        spec = getattr(data, "element_spec", None)
        if spec is not None:
            rank = len(getattr(_first_of_batch(spec), "shape", ()))
        else:  # tomei's Dataset: look at the first element
            first = next(iter(data.take(1)), None)
            rank = None if first is None else np.ndim(_as_array(_first_of_batch(first), "adapt"))
        if rank == 1:  # single samples, not batches: Keras batches them by 128
            data = data.batch(128)
    if not hasattr(data, "__iter__") and not hasattr(data, "__getitem__"):
        raise TypeError(f"adapt expects a NumPy array, a Tensor, a tf.data Dataset, a "
                        f"PyDataset or an iterable of batches; received {type(data).__name__}.")
    iterator = iter(data)
    first = next(iterator, None)
    if first is None:
        raise ValueError("adapt received an empty iterable (no batches); expected at least "
                         "one batch, e.g. layer.adapt([x]).")
    first = _as_array(_first_of_batch(first), "adapt")
    rest = (_as_array(_first_of_batch(b), "adapt") for b in iterator)
    return first.shape, itertools.chain([first], rest)


@register("keras.layers")
class Normalization(Layer):
    """Shifts and scales inputs by a fixed mean and variance: ``(x - mean) / sqrt(variance)``.

    The mean and variance come either from the constructor or from ``adapt(data)``, which
    computes them over every axis not listed in ``axis`` (the population variance, divided
    by n). The denominator is ``max(sqrt(variance), 1e-7)``, so a constant feature gives 0
    rather than NaN. With ``invert=True`` the layer undoes the transformation:
    ``mean + x * max(sqrt(variance), 1e-7)``.

    Args:
        axis: int, tuple/list of ints, or None; default -1. The axes that keep a separate
            mean and variance per index (-1: one per feature). None: one scalar mean and
            variance over all elements. For a 1-D input (batched scalars) the default keeps
            the batch axis; pass axis=None there.
        mean, variance: optional numbers or arrays, given together, broadcast to the kept
            axes (aligned from the right). Given them, the layer has no weights and
            ``adapt`` is not needed.
        invert: default False. True: map normalized values back to the original scale.

    Input shape: any; the kept axes must have the sizes the layer was built or adapted
    with. Output shape: the same; dtype float32.

    Weights (only without ``mean``/``variance``, non-trainable, Keras's order and names):
    mean and variance (shape: the kept axes' sizes; initially 0 and 1), count (int32 scalar,
    kept at 0 as Keras 3 does, for the file layout).

    Attributes:
        mean, variance: after building, the values in the broadcast shape (kept axes keep
            their size, the others become 1), as Tensors; None before.

    Raises:
        ValueError: only one of mean/variance given; their shapes differ; mean of higher
            rank than the number of axes; an axis outside the input's rank; a kept axis of
            unknown size; adapt data or inputs whose kept axes have other sizes.
        TypeError: adapt data that is not numbers, an array, a Tensor or an iterable.

    Source: the adapt update for several batches combines per-batch means and variances
    with the pairwise formula of Chan, Golub & LeVeque (1979), "Updating formulae and a
    pairwise algorithm for computing sample variances"; Keras 3 does the same.
    """

    _same_input_shape = False  # call checks the kept axes itself; axis=None takes any shape

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(
                isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"Normalization expects axis to be an int, a tuple of ints or "
                             f"None; received axis={axis!r}.")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization needs mean and variance together (or neither, "
                             f"then call adapt); received mean={mean!r} and "
                             f"variance={variance!r}.")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization expects mean and variance of the same shape; "
                                 f"received shapes {np.shape(mean)} and {np.shape(variance)}.")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"Normalization: mean has rank {len(np.shape(mean))} but "
                                 f"axis={self.axis} keeps only {len(self.axis)} axes; received "
                                 f"mean of shape {np.shape(mean)}.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self._build_input_shape = None

    # --- building -------------------------------------------------------------------
    def build(self, input_shape):
        ndim = len(input_shape)
        bad = [a for a in self.axis if not -ndim <= a < ndim]
        if bad:
            raise ValueError(f"Normalization '{self.name}': axis {bad} is outside the input's "
                             f"rank {ndim} (input shape {tuple(input_shape)}); expected axes "
                             f"in [-{ndim}, {ndim}).")
        self._build_input_shape = tuple(input_shape)
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        unknown = [a for a in self._keep_axis if input_shape[a] is None]
        if unknown:
            raise ValueError(f"Normalization '{self.name}': the kept axes {unknown} must have "
                             f"a known size; received input shape {tuple(input_shape)}.")
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axis else 1
                                      for a in range(ndim))
        stats_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", stats_shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", stats_shape, "ones",
                                                  trainable=False)
            self.count = self.add_weight("count", (), "zeros", dtype="int32", trainable=False)
        else:
            self._fixed_mean = self._broadcast_given(self.input_mean)
            self._fixed_variance = self._broadcast_given(self.input_variance)
        self.built = True

    def _broadcast_given(self, value):
        """A constructor mean/variance in the broadcast shape (aligned right on kept axes)."""
        value = np.asarray(value, dtype=self.dtype)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            expanded[self._keep_axis[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(expanded), self._broadcast_shape).copy()
        except ValueError:
            raise ValueError(f"Normalization '{self.name}': mean/variance of shape "
                             f"{value.shape} cannot be broadcast to the kept axes' sizes "
                             f"{tuple(self._broadcast_shape)}.") from None

    def _statistic(self, fixed, weight):
        if not self.built:
            return None
        if self.input_mean is not None:
            return Tensor(fixed)
        return Tensor(weight.value.reshape(self._broadcast_shape))

    @property
    def mean(self):
        """The mean in the broadcast shape (a Tensor), or None before the layer is built."""
        return self._statistic(getattr(self, "_fixed_mean", None), getattr(self, "adapt_mean", None))

    @property
    def variance(self):
        """The variance in the broadcast shape (a Tensor), or None before the layer is built."""
        return self._statistic(getattr(self, "_fixed_variance", None),
                               getattr(self, "adapt_variance", None))

    # --- adapt ----------------------------------------------------------------------
    def adapt(self, data):
        """Computes the mean and variance of ``data`` and stores them in the weights.

        Args:
            data: a NumPy array or Tensor (one batch: statistics straight from NumPy's mean
                and var), or a tf.data Dataset, PyDataset, list of arrays or generator of
                batches (``(x, y)`` batches use ``x``); these are combined batch by batch
                (computed in float64). A Dataset of unbatched rank-1 elements is batched
                by 128 first.

        Raises:
            ValueError: the data's kept axes do not match the built layer; an empty iterable.
            TypeError: data of another kind.
        """
        shape, batches = _batches(data)
        if not self.built:
            self._build_once(shape)
        else:
            self._check_kept_axes(shape, "adapt data")
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}' was given mean and variance; it has "
                             f"nothing to adapt. Construct it without them to use adapt.")
        single = isinstance(data, (np.ndarray, Tensor)) or not hasattr(data, "__iter__") \
            or type(data).__name__ in ("DataFrame", "Series")
        if single:
            array = next(batches)
            if array.ndim != len(self._build_input_shape):
                raise ValueError(f"Normalization '{self.name}' was built for rank "
                                 f"{len(self._build_input_shape)} inputs; adapt received data "
                                 f"of shape {array.shape}.")
            mean = np.mean(array, axis=self._reduce_axis)
            var = np.var(array, axis=self._reduce_axis)
        else:
            mean, var = self._merge_batches(batches)
        self.adapt_mean.assign(np.asarray(mean, dtype=self.adapt_mean.dtype))
        self.adapt_variance.assign(np.asarray(var, dtype=self.adapt_variance.dtype))

    def _merge_batches(self, batches):
        """Running mean and (population) variance over batches.

        With n points so far (mean m, variance v) and a batch of k points (mean mb, variance
        vb), the combined mean is m' = m (n/(n+k)) + mb (k/(n+k)) and the combined variance
        is v' = (v + (m - m')^2) n/(n+k) + (vb + (mb - m')^2) k/(n+k).
        """
        stats_shape = tuple(self._build_input_shape[a] for a in self._keep_axis)
        mean = np.zeros(stats_shape)
        var = np.zeros(stats_shape)
        total = 0
        for batch in batches:
            self._check_kept_axes(batch.shape, "an adapt batch")
            batch = batch.astype(np.float64)
            count = math.prod(batch.shape[a] for a in self._reduce_axis)
            if count == 0:
                continue
            b_mean = batch.mean(axis=self._reduce_axis)
            b_var = batch.var(axis=self._reduce_axis)
            total += count
            w_new = count / total
            w_old = 1.0 - w_new
            new_mean = mean * w_old + b_mean * w_new
            var = (var + (mean - new_mean) ** 2) * w_old + (b_var + (b_mean - new_mean) ** 2) * w_new
            mean = new_mean
        return mean, var

    def _check_kept_axes(self, shape, what):
        expected = self._build_input_shape
        if len(shape) != len(expected) or any(shape[a] != expected[a] for a in self._keep_axis):
            raise ValueError(
                f"Normalization '{self.name}' was built for inputs of shape {expected} "
                f"(kept axes {self._keep_axis} must match); {what} has shape {tuple(shape)}.")

    # --- forward --------------------------------------------------------------------
    def call(self, inputs):
        if self._keep_axis:
            self._check_kept_axes(inputs.shape, "the input")
            mean, variance = self.mean.value, self.variance.value
        else:  # scalar statistics: any input shape, no added axes
            mean, variance = self.mean.value.reshape(()), self.variance.value.reshape(())
        scale = np.maximum(np.sqrt(variance), np.asarray(_EPSILON, variance.dtype))
        if self.invert:
            return ops.add(ops.multiply(inputs, scale), mean)
        return ops.divide(ops.subtract(inputs, mean), scale)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # --- config ---------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _to_list(self.input_mean), "variance": _to_list(self.input_variance)}

    def get_build_config(self):
        """``{"input_shape": [...]}`` once built (saved so that loading rebuilds the weights)."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": list(self._build_input_shape)}

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            self._build_once(tuple(config["input_shape"]))


def _to_list(value):
    return None if value is None else np.asarray(value).tolist()
