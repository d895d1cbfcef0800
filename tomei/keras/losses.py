"""Loss functions with Keras names, defaults and reductions.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a
scalar Tensor (float32). ``call`` computes one value per sample; the reduction turns them
into one number:

- ``"sum_over_batch_size"`` (default; alias ``"mean"``): sum(w * l) / number of values
- ``"mean_with_sample_weight"``: sum(w * l) / sum(w)
- ``"sum"``: sum(w * l)
- ``"none"`` or None: the per-sample values, unreduced
"""
from __future__ import annotations

import warnings

import numpy as np

from tomei.engine import device, nn_ops, ops
from tomei.engine.tensor import Tensor
from tomei.keras.naming import snake_case
from tomei.keras.serialization import register

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps]
REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)


class Loss:
    """Base class. Subclasses implement ``call(y_true, y_pred) -> per-sample Tensor``.

    Args:
        reduction: one of ``REDUCTIONS`` (default "sum_over_batch_size").
        name: the loss name used in logs.
    """

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid reduction: expected one of {REDUCTIONS}; received "
                             f"reduction={reduction!r}.")
        self.reduction = reduction
        self.name = name or snake_case(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of ``y_pred`` against ``y_true`` (see the module docstring).

        Raises:
            TypeError: ``y_pred`` holds text (naming this loss and the argument).
            ValueError: ``y_true`` holds text: class names must become indices first.
        """
        y_pred = ops.numbers(y_pred, self.name, "y_pred")
        _refuse_text_targets(self.name, y_true)
        if y_pred.dtype.kind != "f":
            y_pred = ops.cast(y_pred, "float32")
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _refuse_text_targets(name, y_true):
    """Raises ValueError when ``y_true`` holds text (label names), naming the loss ``name``."""
    dtype = getattr(y_true, "dtype", None)
    if dtype is None:
        dtype = np.asarray(y_true).dtype
    if np.dtype(dtype).kind in "SUO":
        raise ValueError(
            f"{name}: argument 'y_true' must hold numbers; received text (dtype "
            f"{np.dtype(dtype)}). Labels given as names must first become class indices "
            f"0, 1, 2, ..., e.g. with np.unique(labels, return_inverse=True).")


def reduce_values(values: Tensor, sample_weight=None, reduction="sum_over_batch_size") -> Tensor:
    """Applies sample weights and a reduction to per-sample loss values."""
    if sample_weight is not None:
        w = device.like(sample_weight, values.value, values.dtype)
        while w.ndim > values.ndim:
            w = w.squeeze(-1)
        while w.ndim < values.ndim:
            w = w[..., None]
        values = ops.multiply(values, w)
    if reduction in ("none", None):
        return values
    if reduction in ("sum_over_batch_size", "mean") and sample_weight is None and values.value.size:
        return ops.reduce_mean(values)  # sum / number of values, as one tape entry
    total = ops.reduce_sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        denom = float(np.broadcast_to(w, values.shape).sum())
    else:
        denom = float(values.value.size)
    if denom == 0:  # divide_no_nan: an empty batch or zero total weight gives 0, not NaN
        return ops.multiply(total, values.dtype.type(0.0))
    return ops.divide(total, values.dtype.type(denom))


def check_sparse_labels(labels: np.ndarray, num_classes: int, argument="y_true"):
    """Raises ValueError if any integer label is outside [0, num_classes), naming the first."""
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"Sparse labels must be class indices (integers 0..{num_classes - 1}); "
                         f"received {argument} of dtype {labels.dtype}. Convert names to "
                         f"indices first, e.g. with np.unique(labels, return_inverse=True).")
    if labels.dtype.kind == "f":
        bad = labels != np.round(labels)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(f"Sparse labels must be whole numbers (class indices); received "
                             f"{argument}[{i}] = {labels.ravel()[i].item()!r}.")
    if device.is_device_array(labels):  # one answer comes back from the GPU, not the labels
        if labels.size == 0 or not bool(((labels < 0) | (labels >= num_classes)).any()):
            return
        labels = device.to_host(labels)
    lo = 0 if labels.dtype.kind == "u" else labels.min(initial=0)  # uint labels: never < 0
    hi = labels.max(initial=0)
    if lo < 0 or hi >= num_classes:
        flat = labels.ravel()
        i = int(np.flatnonzero((flat < 0) | (flat >= num_classes))[0])
        value = flat[i].item()
        value = int(value) if float(value).is_integer() else value
        raise ValueError(
            f"Received a label value of {value} at {argument}[{i}], which is outside the valid "
            f"range of [0, {num_classes}). The model outputs {num_classes} classes; labels must "
            f"be 0..{num_classes - 1}. " + (
                "Labels cannot be negative: re-index them to start at 0." if value < 0 else
                f"If your labels start at 1, subtract 1; if there are more classes, use "
                f"Dense({int(labels.max()) + 1}) as the last layer."))


def _sparse_labels(y_true, y_pred):
    labels = device.like(y_true, y_pred)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]  # (N, 1) -> (N,)
    if labels.shape != y_pred.shape[:-1]:
        if labels.ndim == y_pred.ndim + 1 and labels.shape[:-1] == y_pred.shape:
            raise ValueError(
                f"The arguments look swapped: y_true has shape {labels.shape}, like predictions, "
                f"and y_pred has shape {y_pred.shape}, like labels. The order is "
                f"(y_true, y_pred): labels first, then the model's predictions, e.g. "
                f"loss_fn(y_train[:1], predictions).")
        hint = ""
        if labels.shape == y_pred.shape:  # one-hot labels given to a sparse loss
            hint = (" These look like one-hot labels: use loss='categorical_crossentropy' "
                    "(CategoricalCrossentropy), or turn them into class indices with "
                    "y.argmax(axis=-1).")
        raise ValueError(f"Sparse labels must have shape {y_pred.shape[:-1]} (one class index "
                         f"per sample) to match predictions of shape {y_pred.shape}; received "
                         f"y_true with shape {labels.shape}.{hint}")
    check_sparse_labels(labels, y_pred.shape[-1])
    return labels.astype(np.intp, copy=False)


def _warn_once(owner, key, message):
    flags = owner.__dict__.setdefault("_warned", set())
    if key not in flags:
        flags.add(key)
        warnings.warn(message, UserWarning, stacklevel=4)


def _check_probabilities(loss, y_pred):
    """Warns once when from_logits=False receives rows that are not probability vectors."""
    v = y_pred.value
    if v.size == 0 or "probs" in loss.__dict__.get("_warned", ()):
        return
    off = (v.min() < 0) | (v.max() > 1)  # one answer to wait for when v is on the GPU
    if v.ndim and v.shape[-1] > 1:
        off = off | (np.abs(v.sum(axis=-1) - 1).max() > 1e-3)
    if bool(off):
        _warn_once(loss, "probs", (
            f"{type(loss).__name__} got from_logits=False, but y_pred does not look like "
            f"probabilities (values outside [0, 1] or rows not summing to 1). If the last layer "
            f"has no softmax, use {type(loss).__name__}(from_logits=True)."))


@register("keras.losses")
class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy between integer class labels and predicted class scores.

    Args:
        from_logits: True if ``y_pred`` are raw scores (logits), as the tutorial's
            ``Dense(10)`` gives; False (default) if they are probabilities.
        ignore_class: optional label value whose samples contribute 0.
        reduction: default "sum_over_batch_size". name: default
            "sparse_categorical_crossentropy".

    Shapes: y_true (N,) or (N, 1) integers in [0, C); y_pred (N, C).
    Per sample: -log softmax(y_pred)[y_true] from logits; -log clip(p[y_true], eps, 1-eps)
    from probabilities (renormalised to sum 1 first).

    Raises:
        ValueError: a label outside [0, C), naming the value, its index and the range.
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(reduction, name)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def __call__(self, y_true, y_pred, sample_weight=None):
        """As :meth:`Loss.__call__`; the common case (logits, no weights, no ignored class,
        the default reduction) computes the mean as one op of the engine
        (``nn_ops.mean_sparse_softmax_cross_entropy``: the same numbers, fewer steps)."""
        if not (self.from_logits and sample_weight is None and self.ignore_class is None and
                self.reduction in ("sum_over_batch_size", "mean")):
            return super().__call__(y_true, y_pred, sample_weight)
        y_pred = ops.numbers(y_pred, self.name, "y_pred")
        _refuse_text_targets(self.name, y_true)
        if y_pred.dtype.kind != "f" or y_pred.ndim != 2 or not y_pred.shape[0]:
            return super().__call__(y_true, y_pred, sample_weight)
        return nn_ops.mean_sparse_softmax_cross_entropy(_sparse_labels(y_true, y_pred), y_pred)

    def call(self, y_true, y_pred):
        labels = device.like(y_true, y_pred)
        keep = None
        if self.ignore_class is not None:
            keep = labels != self.ignore_class
            labels = np.where(keep, labels, 0)
        labels = _sparse_labels(labels, y_pred)
        if self.from_logits:
            values = nn_ops.sparse_softmax_cross_entropy(labels, y_pred)
        else:
            _check_probabilities(self, y_pred)
            probs = ops.divide(y_pred, ops.reduce_sum(y_pred, axis=-1, keepdims=True))
            probs = ops.clip(probs, EPSILON, 1 - EPSILON)
            picked = ops.getitem(probs, (*np.indices(labels.shape), labels))
            values = ops.negative(ops.log(picked))
        return ops.multiply(values, keep.reshape(values.shape).astype(values.dtype)) \
            if keep is not None else values

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


@register("keras.losses")
class CategoricalCrossentropy(Loss):
    """Cross-entropy between one-hot (or soft) labels and predicted class scores.

    Args:
        from_logits: default False. label_smoothing: float in [0, 1], default 0.
        axis: the class axis, default -1 (any axis: it is moved last first).

    Shapes: y_true and y_pred (N, C). Per sample: -sum(y_true * log p).
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(reduction, name)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true, y_pred):
        t = device.like(y_true, y_pred, y_pred.dtype)
        if t.shape == y_pred.shape:
            t, y_pred = _class_axis_last(t, y_pred, self.axis)
        if t.shape != y_pred.shape:
            raise ValueError(f"CategoricalCrossentropy expects y_true with the shape of y_pred "
                             f"{y_pred.shape} (one-hot labels); received {t.shape}. For integer "
                             f"labels use SparseCategoricalCrossentropy.")
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        if self.from_logits:
            return nn_ops.softmax_cross_entropy(t, y_pred)
        _check_probabilities(self, y_pred)
        probs = ops.divide(y_pred, ops.reduce_sum(y_pred, axis=-1, keepdims=True))
        logp = ops.log(ops.clip(probs, EPSILON, 1 - EPSILON))
        return ops.negative(ops.reduce_sum(ops.multiply(logp, t), axis=-1))

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@register("keras.losses")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy, averaged over the last axis.

    Args:
        from_logits: default False. label_smoothing: default 0. axis: the axis the per-value
            losses are averaged over, default -1.

    Per value: -(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1-eps]; from logits the
    stable form max(z,0) - z t + log(1 + e^-|z|).
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(reduction, name)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true, y_pred):
        t = _match_shape(device.like(y_true, y_pred, y_pred.dtype), y_pred)
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            per_value = nn_ops.sigmoid_cross_entropy(t, y_pred)
        else:
            p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
            per_value = ops.negative(ops.add(ops.multiply(ops.log(p), t),
                                             ops.multiply(ops.log(ops.subtract(1.0, p)), 1 - t)))
        return ops.reduce_mean(per_value, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@register("keras.losses")
class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2) over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _match_shape(device.like(y_true, y_pred, y_pred.dtype), y_pred)
        return ops.reduce_mean(ops.square(ops.subtract(y_pred, t)), axis=-1)


@register("keras.losses")
class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _match_shape(device.like(y_true, y_pred, y_pred.dtype), y_pred)
        return ops.reduce_mean(ops.abs(ops.subtract(y_pred, t)), axis=-1)


def _targets(y_true, y_pred):
    """y_true as an array of y_pred's dtype and shape (the way Keras squeezes or expands)."""
    return _match_shape(device.like(y_true, y_pred, y_pred.dtype), y_pred)


def _const(value, like):
    return device.like(value, like, like.dtype)


@register("keras.losses")
class Huber(Loss):
    """Huber loss: quadratic for small errors, linear for large ones.

    Args:
        delta: float, default 1.0: where the loss turns from quadratic to linear.
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "huber_loss". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.

    Shapes: y_true and y_pred (N, ..., D); per sample (N, ...). With x = y_pred - y_true,
    per value 0.5 x^2 if |x| <= delta else delta |x| - 0.5 delta^2, averaged over the last
    axis (computed as 0.5 q^2 + delta (|x| - q) with q = min(|x|, delta)).
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(reduction, name)
        self.delta = delta

    def call(self, y_true, y_pred):
        t = _targets(y_true, y_pred)
        delta = _const(self.delta, y_pred)
        err = ops.abs(ops.subtract(y_pred, t))
        q = ops.minimum(err, delta)
        values = ops.add(ops.multiply(ops.square(q), _const(0.5, y_pred)),
                         ops.multiply(ops.subtract(err, q), delta))
        return ops.reduce_mean(values, axis=-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@register("keras.losses")
class KLDivergence(Loss):
    """Kullback-Leibler divergence, summed over the last axis.

    Shapes: y_true and y_pred (N, ..., C) probability distributions; per sample (N, ...).
    Per sample: sum(t * log(t / p)) with t and p clipped to [eps, 1] (eps = 1e-7).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "kl_divergence". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = np.clip(_targets(y_true, y_pred), EPSILON, 1)
        p = ops.clip(y_pred, EPSILON, 1)
        return ops.reduce_sum(ops.multiply(ops.log(ops.divide(t, p)), t), axis=-1)


def _hinge_labels(t):
    """Keras's convention: labels that are all 0 or 1 become -1 or 1; others stay as given."""
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


@register("keras.losses")
class Hinge(Loss):
    """Hinge loss: mean(max(1 - y_true * y_pred, 0)) over the last axis.

    y_true should be -1 or 1; if every label is 0 or 1 they are mapped to -1 or 1 first.
    Shapes: y_true and y_pred (N, ..., D); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "hinge". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _hinge_labels(_targets(y_true, y_pred))
        margin = ops.subtract(_const(1.0, y_pred), ops.multiply(y_pred, t))
        return ops.reduce_mean(ops.maximum(margin, _const(0.0, y_pred)), axis=-1)


@register("keras.losses")
class SquaredHinge(Loss):
    """Squared hinge loss: mean(max(1 - y_true * y_pred, 0)^2) over the last axis.

    y_true should be -1 or 1; if every label is 0 or 1 they are mapped to -1 or 1 first.
    Shapes: y_true and y_pred (N, ..., D); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "squared_hinge". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _hinge_labels(_targets(y_true, y_pred))
        margin = ops.subtract(_const(1.0, y_pred), ops.multiply(y_pred, t))
        return ops.reduce_mean(ops.square(ops.maximum(margin, _const(0.0, y_pred))), axis=-1)


@register("keras.losses")
class CategoricalHinge(Loss):
    """Categorical hinge loss: max(neg - pos + 1, 0).

    pos = sum(y_true * y_pred) and neg = max((1 - y_true) * y_pred), over the last axis.
    Shapes: y_true (one-hot, or -1/+1) and y_pred (N, ..., C); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "categorical_hinge". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _targets(y_true, y_pred)
        pos = ops.reduce_sum(ops.multiply(y_pred, t), axis=-1)
        neg = ops.reduce_max(ops.multiply(y_pred, 1 - t), axis=-1)
        return ops.maximum(ops.add(ops.subtract(neg, pos), _const(1.0, y_pred)),
                           _const(0.0, y_pred))


@register("keras.losses")
class LogCosh(Loss):
    """mean(log(cosh(y_pred - y_true))) over the last axis.

    Computed stably as x + softplus(-2x) - log 2. About x^2 / 2 for small errors and
    |x| - log 2 for large ones. Shapes: y_true and y_pred (N, ..., D); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "log_cosh". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        x = ops.subtract(y_pred, _targets(y_true, y_pred))
        values = ops.add(x, nn_ops.softplus(ops.multiply(x, _const(-2.0, y_pred))))
        return ops.reduce_mean(ops.subtract(values, _const(np.log(2.0), y_pred)), axis=-1)


@register("keras.losses")
class MeanAbsolutePercentageError(Loss):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|) over the last axis (eps = 1e-7).

    Shapes: y_true and y_pred (N, ..., D); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "mean_absolute_percentage_error".
        dtype: accepted for Keras compatibility; the loss is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _targets(y_true, y_pred)
        scale = np.maximum(np.abs(t), _const(EPSILON, y_pred))
        diff = ops.abs(ops.divide(ops.subtract(y_pred, t), scale))
        return ops.multiply(ops.reduce_mean(diff, axis=-1), _const(100.0, y_pred))


@register("keras.losses")
class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis.

    Values at or below 0 are replaced by eps = 1e-7. Shapes: y_true and y_pred (N, ..., D);
    per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "mean_squared_logarithmic_error".
        dtype: accepted for Keras compatibility; the loss is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _targets(y_true, y_pred)
        eps = _const(EPSILON, y_pred)
        log_true = np.log(np.maximum(t, eps) + 1).astype(y_pred.dtype)
        log_pred = ops.log(ops.add(ops.maximum(y_pred, eps), _const(1.0, y_pred)))
        return ops.reduce_mean(ops.square(ops.subtract(log_pred, log_true)), axis=-1)


@register("keras.losses")
class Poisson(Loss):
    """mean(y_pred - y_true * log(y_pred + eps)) over the last axis (eps = 1e-7).

    Shapes: y_true (counts) and y_pred (positive rates) (N, ..., D); per sample (N, ...).

    Args:
        reduction: default "sum_over_batch_size" (see the module docstring).
        name: default "poisson". dtype: accepted for Keras compatibility; the loss
            is computed in y_pred's float dtype.
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        t = _targets(y_true, y_pred)
        log_pred = ops.log(ops.add(y_pred, _const(EPSILON, y_pred)))
        return ops.reduce_mean(ops.subtract(y_pred, ops.multiply(log_pred, t)), axis=-1)

def _class_axis_last(t, y_pred, axis):
    """(t, y_pred) with the class axis ``axis`` moved last (a transpose; the loss is then
    computed over the last axis, as Keras computes it over ``axis``).

    Raises:
        ValueError: ``axis`` outside the rank of y_pred.
    """
    rank = y_pred.ndim
    if not isinstance(axis, (int, np.integer)) or not -rank <= axis < rank:
        raise ValueError(f"axis must be an integer in [-{rank}, {rank}) for y_pred of shape "
                         f"{tuple(y_pred.shape)}; received axis={axis!r}.")
    axis = int(axis) % rank
    if axis == rank - 1:
        return t, y_pred
    perm = [i for i in range(rank) if i != axis] + [axis]
    return t.transpose(perm), ops.transpose(y_pred, perm)


def _match_shape(t, y_pred):
    if t.shape == y_pred.shape:
        return t
    if t.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return t[..., None]
    if t.size == int(np.prod(y_pred.shape)):
        return t.reshape(y_pred.shape)
    raise ValueError(f"y_true has shape {t.shape}, which does not match y_pred's shape "
                     f"{y_pred.shape}.")


# Function forms (per-sample values, no reduction), as keras.losses.<name>.
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None):
    """Per-sample -log p[label] for integer labels y_true (N,) and y_pred (N, C)
    (probabilities, or logits with ``from_logits=True``); shape (N,). See SparseCategoricalCrossentropy."""
    return SparseCategoricalCrossentropy(from_logits, ignore_class).call(
        y_true, ops.convert_to_tensor(y_pred))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample -sum(y_true * log p) for one-hot y_true (N, C); shape (N,).
    See CategoricalCrossentropy (``from_logits``, ``label_smoothing``)."""
    return CategoricalCrossentropy(from_logits, label_smoothing).call(
        y_true, ops.convert_to_tensor(y_pred))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample mean over the last axis of the binary cross-entropy; shape (N,).
    See BinaryCrossentropy (``from_logits``, ``label_smoothing``)."""
    return BinaryCrossentropy(from_logits, label_smoothing).call(
        y_true, ops.convert_to_tensor(y_pred))


def mean_squared_error(y_true, y_pred):
    """Per-sample mean((y_true - y_pred)^2) over the last axis; shape (N,)."""
    return MeanSquaredError().call(y_true, ops.convert_to_tensor(y_pred))


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean(|y_true - y_pred|) over the last axis; shape (N,)."""
    return MeanAbsoluteError().call(y_true, ops.convert_to_tensor(y_pred))


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss (see Huber); delta default 1.0. Shape (N, ...)."""
    return Huber(delta).call(y_true, ops.convert_to_tensor(y_pred))


def kl_divergence(y_true, y_pred):
    """Per-sample sum(t * log(t / p)), t and p clipped to [1e-7, 1]. Shape (N, ...)."""
    return KLDivergence().call(y_true, ops.convert_to_tensor(y_pred))


def hinge(y_true, y_pred):
    """Per-sample mean(max(1 - y_true * y_pred, 0)); 0/1 labels become -1/1. Shape (N, ...)."""
    return Hinge().call(y_true, ops.convert_to_tensor(y_pred))


def squared_hinge(y_true, y_pred):
    """Per-sample mean(max(1 - y_true * y_pred, 0)^2); 0/1 labels become -1/1."""
    return SquaredHinge().call(y_true, ops.convert_to_tensor(y_pred))


def categorical_hinge(y_true, y_pred):
    """Per-sample max(max((1 - t) * p) - sum(t * p) + 1, 0). Shape (N, ...)."""
    return CategoricalHinge().call(y_true, ops.convert_to_tensor(y_pred))


def log_cosh(y_true, y_pred):
    """Per-sample mean(log(cosh(y_pred - y_true))) over the last axis. Shape (N, ...)."""
    return LogCosh().call(y_true, ops.convert_to_tensor(y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample 100 * mean(|t - p| / max(|t|, 1e-7)). Shape (N, ...)."""
    return MeanAbsolutePercentageError().call(y_true, ops.convert_to_tensor(y_pred))


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample mean((log(max(p, eps) + 1) - log(max(t, eps) + 1))^2), eps 1e-7."""
    return MeanSquaredLogarithmicError().call(y_true, ops.convert_to_tensor(y_pred))


def poisson(y_true, y_pred):
    """Per-sample mean(y_pred - y_true * log(y_pred + 1e-7)). Shape (N, ...)."""
    return Poisson().call(y_true, ops.convert_to_tensor(y_pred))


mse, mae = mean_squared_error, mean_absolute_error
mape, msle = mean_absolute_percentage_error, mean_squared_logarithmic_error
kld = kl_divergence

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "log_cosh": LogCosh,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "poisson": Poisson,
}


def get(identifier):
    """A Loss from a name ('sparse_categorical_crossentropy', 'mse', ...), a class name,
    an instance, a config dict or a function ``(y_true, y_pred) -> per-sample values``.

    Raises:
        ValueError: an unknown name, listing the valid ones.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(snake_case(identifier))
        if cls is None:
            raise ValueError(f"Unknown loss: received loss={identifier!r}. Expected one of: "
                             f"{', '.join(sorted(_BY_NAME))}, or a Loss instance.")
        return cls()
    if isinstance(identifier, dict):
        from tomei.keras.serialization import deserialize
        return deserialize(identifier, "keras.losses")
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Expected a loss name, Loss or callable; received loss={identifier!r}.")


@register("keras.losses")
class LossFunctionWrapper(Loss):
    """Wraps ``fn(y_true, y_pred) -> per-sample values`` as a Loss with a reduction."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(reduction, name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        out = self.fn(y_true, y_pred, **self.fn_kwargs)
        return ops.convert_to_tensor(out)
