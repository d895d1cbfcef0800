"""Metrics: running, sample-weighted means of per-sample scores, as in Keras.

A metric keeps state across batches: ``update_state(y_true, y_pred, sample_weight=None)``
adds a batch, ``result()`` gives the mean so far (a float32 scalar), ``reset_state()``
starts over. Metrics are computed on NumPy values and never enter the gradient tape.

The string ``'accuracy'`` (or ``'acc'``) in ``compile`` is resolved by shapes once the
first batch is seen (``resolve_accuracy``): y_pred's last dimension 1 -> binary accuracy;
y_true of lower rank than y_pred, or last dimension 1 -> sparse categorical accuracy;
otherwise categorical accuracy. The displayed name stays the string given.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import device
from tomei.keras import losses
from tomei.keras.naming import snake_case
from tomei.keras.serialization import register


def _np(x):
    """Host NumPy values: metrics are scored on the CPU (a batch's labels and outputs come
    over from the GPU, a few kilobytes)."""
    return x if type(x) is np.ndarray else np.asarray(device.to_host(x))


class Metric:
    """Base class: subclasses implement update_state, result and reset_state."""

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype or "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("keras.metrics")
class Mean(Metric):
    """Weighted mean of all values seen: sum(w * v) / sum(w)."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        if type(values) is float and type(sample_weight) is int:  # fit's loss, batch size
            self.total += values * sample_weight
            self.count += sample_weight
            return
        values = _np(values)
        if sample_weight is None:
            self.total += float(values.sum(dtype=np.float64))
            self.count += values.size
        elif values.ndim == 0 and isinstance(sample_weight, (int, float, np.number)):
            # a batch's mean, weighted by its size
            self.total += float(values) * float(sample_weight)
            self.count += float(sample_weight)
        else:
            w = _np(sample_weight).astype(np.float64)
            w = np.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)
            self.total += float((values * w).sum())
            self.count += float(w.sum())

    def result(self):
        return np.float32(self.total / self.count) if self.count else np.float32(0.0)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()


@register("keras.metrics")
class Sum(Metric):
    """Running sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        v = _np(values).astype(np.float64)
        if sample_weight is not None:  # (N,) weights scale every value of sample N, as Keras
            w = _np(sample_weight).astype(np.float64)
            v = v * w.reshape(w.shape + (1,) * (v.ndim - w.ndim))
        self.total += float(v.sum())

    def result(self):
        return np.float32(self.total)

    def reset_state(self):
        self.total = 0.0


@register("keras.metrics")
def check_same_length(y_true, y_pred, name):
    """ValueError unless y_true and y_pred have the same first-axis length (one label and
    one prediction per sample), naming the metric and both shapes."""
    n_true = y_true.shape[0] if y_true.ndim else None
    n_pred = y_pred.shape[0] if y_pred.ndim else None
    if n_true is not None and n_pred is not None and n_true != n_pred:
        raise ValueError(
            f"Metric '{name}': y_true and y_pred have different lengths: y_true has {n_true} "
            f"samples (shape {tuple(y_true.shape)}), y_pred has {n_pred} (shape "
            f"{tuple(y_pred.shape)}). Pass one label and one prediction per sample, for the "
            f"same samples.")


class MeanMetricWrapper(Mean):
    """Wraps ``fn(y_true, y_pred) -> per-sample scores`` as a running mean."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or fn.__name__, dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's per-sample scores.

        Raises:
            ValueError: y_true and y_pred hold different numbers of samples.
        """
        y_true, y_pred = _np(y_true), _np(y_pred)
        check_same_length(y_true, y_pred, self.name)
        scores = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(scores, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# --- per-sample score functions (NumPy in, NumPy out) ----------------------------------

def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred, -1) equals the integer label, else 0.0. Shape (N,)."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_pred.argmax(axis=-1) == y_true).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals argmax(y_true) (one-hot labels)."""
    return (np.argmax(_np(y_pred), -1) == np.argmax(_np(y_true), -1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of [(y_pred > threshold) == y_true]."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32).mean(axis=-1)


def accuracy(y_true, y_pred):
    """1.0 where y_pred equals y_true exactly."""
    return (_np(y_true) == _np(y_pred)).astype(np.float32)


# The error metrics use the losses' own per-sample functions: one formula, in losses.py.
def mean_squared_error(y_true, y_pred):
    """Per-sample mean((y_true - y_pred)^2) over the last axis, shape (N,) float32 (NumPy);
    the formula of ``tomei.keras.losses.mean_squared_error``."""
    return _np(losses.mean_squared_error(y_true, y_pred))


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean(|y_true - y_pred|) over the last axis, shape (N,) float32 (NumPy);
    the formula of ``tomei.keras.losses.mean_absolute_error``."""
    return _np(losses.mean_absolute_error(y_true, y_pred))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample -log p[label], shape (N,) float32 (NumPy); ``from_logits`` default False.
    The formula (probabilities clipped to [1e-7, 1 - 1e-7]) of
    ``tomei.keras.losses.sparse_categorical_crossentropy``."""
    return _np(losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary cross-entropy averaged over the last axis, shape (N,) float32
    (NumPy); the formula (probabilities clipped to [1e-7, 1 - 1e-7] unless from logits) of
    ``tomei.keras.losses.binary_crossentropy``."""
    return _np(losses.binary_crossentropy(y_true, y_pred, from_logits=from_logits,
                                          label_smoothing=label_smoothing))


def _in_top_k(labels, scores, k):
    """1.0 where the score of class ``labels[i]`` is among the ``k`` largest of
    ``scores[i]``; ties at the boundary count as inside (TensorFlow's ``in_top_k``)."""
    scores = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    target = np.take_along_axis(scores, labels[:, None], axis=-1)
    higher = (scores > target).sum(axis=-1)
    return ((higher < k) & np.isfinite(target[:, 0])).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the ``k`` highest predictions, shape
    (N,) float32; ties at the k-th place count as a hit."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k).reshape(y_true.shape[:-1])


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest predictions, shape (N,)
    float32. With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted from the
    highest score down, and a hit is the label among its first ``k`` columns."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if from_sorted_ids:
        hits = (y_pred[..., :k] == y_true[..., None]).any(axis=-1)
        return hits.astype(np.float32)
    return _in_top_k(y_true, y_pred, k).reshape(y_true.shape)


# --- the metric classes: a running mean of one per-sample function each ----------------------


@register("keras.metrics")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose argmax prediction equals the integer label.

    Args: name: default "sparse_categorical_accuracy". dtype: default "float32".
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


@register("keras.metrics")
class CategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose argmax prediction equals the argmax of the one-hot label.

    Args: name: default "categorical_accuracy". dtype: default "float32".
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


@register("keras.metrics")
class BinaryAccuracy(MeanMetricWrapper):
    """Fraction of values where (y_pred > threshold) matches y_true.

    Args: name: default "binary_accuracy". dtype: default "float32". threshold: default 0.5.
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


@register("keras.metrics")
class Accuracy(MeanMetricWrapper):
    """Fraction of predictions exactly equal to the labels.

    Args: name: default "accuracy". dtype: default "float32".
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


@register("keras.metrics")
class MeanSquaredError(MeanMetricWrapper):
    """Running mean of (y_true - y_pred)^2 (per sample: the mean over the last axis).

    Args: name: default "mean_squared_error". dtype: default "float32".
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)


@register("keras.metrics")
class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of |y_true - y_pred| (per sample: the mean over the last axis).

    Args: name: default "mean_absolute_error". dtype: default "float32".
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype)


@register("keras.metrics")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical cross-entropy (see ``losses``).

    Args: name: default "sparse_categorical_crossentropy". dtype: default "float32".
        from_logits: default False (y_pred are probabilities).
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False):
        super().__init__(sparse_categorical_crossentropy, name, dtype, from_logits=from_logits)


@register("keras.metrics")
class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary cross-entropy between labels in [0, 1] and predictions.

    Args: name: default "binary_crossentropy". dtype: default "float32".
        from_logits: default False (y_pred are probabilities). label_smoothing: default 0.
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


@register("keras.metrics")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose one-hot label is among the ``k`` highest predictions.

    Args: k: default 5. name: default "top_k_categorical_accuracy". dtype: default "float32".
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)


@register("keras.metrics")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose integer label is among the ``k`` highest predictions.

    Args: k: default 5. name: default "sparse_top_k_categorical_accuracy". dtype: default
        "float32". from_sorted_ids: default False (see ``sparse_top_k_categorical_accuracy``).
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k,
                         from_sorted_ids=from_sorted_ids)

    def get_config(self):
        config = super().get_config()
        if not config["from_sorted_ids"]:
            del config["from_sorted_ids"]  # Keras lists it only when True
        return config


_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "binary_accuracy": BinaryAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
ACCURACY_STRINGS = ("accuracy", "acc")


def resolve_accuracy(name, y_true_shape, y_pred_shape) -> Metric:
    """The accuracy metric Keras picks for ``'accuracy'`` given the batch shapes."""
    if y_pred_shape[-1:] == (1,):
        return BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1:] == (1,)
                                                 and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get(identifier):
    """A Metric from a name, an instance, a class, a config dict or a function.

    'accuracy'/'acc' are not resolved here (they depend on shapes; see resolve_accuracy).

    Raises:
        ValueError: an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        raise ValueError(f"Unknown metric: received metrics=[{identifier!r}]. Expected one of: "
                         f"{', '.join(sorted(set(_BY_NAME) | set(ACCURACY_STRINGS)))}, "
                         f"or a Metric instance.")
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.metrics")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Expected a metric name, Metric or function; received {identifier!r}.")
