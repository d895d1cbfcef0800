"""The Optimizer base class: turns gradients into weight updates.

``apply_gradients(zip(grads, variables))`` runs one step: optional gradient clipping,
optional decoupled weight decay, then the subclass's ``update_step`` on each variable.
``update_step(grad, var, slots, lr)`` works on NumPy arrays *in place*; ``slots`` holds the
optimizer's state for that variable (e.g. Adam's "momentum" and "velocity"). It runs once
per variable, on that variable's own array: no weight is ever moved into storage shared
with other variables, so a layer shared between two models is updated the same way by
either model's optimizer (an earlier flat-buffer layout went stale there and measured no
faster; docs/benchmarks.md).

Denormals: a slot that decays while its gradient stays 0 (a dead ReLU unit, a pixel that
is almost always blank) drifts into the subnormal range below 1.2e-38, where each float32
multiply costs ~40x more (measured: 455 us vs 12 us for 101,770 values). After each step
the slots are flushed every ``FLUSH_EVERY`` steps: values below 1e-30 become exactly 0
(``flush_denormals``). A value needs 26 steps of decay by 0.5 (175 by 0.9, Adam's beta_1)
to fall from 1e-30 to 1e-38, so flushing every 16 steps keeps the slots of every usual
setting normal, at 1/16 of the cost of flushing each step.
"""
from __future__ import annotations

import numpy as np

from tomei.engine import device, fused
from tomei.engine.tensor import Tensor, Variable
from tomei.keras.arguments import unexpected_keywords
from tomei.keras.naming import snake_case


class Optimizer:
    """Base class of all optimizers.

    Args:
        learning_rate: float or a ``LearningRateSchedule`` (callable step -> rate).
        weight_decay: optional float; decoupled decay var -= var * weight_decay * lr
            (Loshchilov & Hutter, 2019, arXiv:1711.05101).
        clipnorm: clip each gradient to this L2 norm. clipvalue: clip each value to
            [-clipvalue, clipvalue]. global_clipnorm: clip all gradients together.
        name: default the snake_case class name.
    """

    slot_names: tuple = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:  # Keras 2's name, removed in Keras 3
            raise TypeError(f"{type(self).__name__}() has no argument 'lr'; Keras 3 calls it "
                            f"learning_rate: {type(self).__name__}(learning_rate="
                            f"{kwargs['lr']!r}).")
        if kwargs:
            raise unexpected_keywords(kwargs, type(self).__name__, type(self))
        clips = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                   ("global_clipnorm", global_clipnorm)) if v is not None}
        if len(clips) > 1:  # Keras 3 refuses any pair
            raise ValueError(f"Pass at most one of clipnorm, clipvalue and global_clipnorm; "
                             f"received {', '.join(f'{k}={v}' for k, v in clips.items())}.")
        if not callable(learning_rate):
            if isinstance(learning_rate, (str, bytes)) or isinstance(learning_rate, bool):
                raise ValueError(f"learning_rate must be a non-negative number or a "
                                 f"LearningRateSchedule; received learning_rate="
                                 f"{learning_rate!r}.")
            learning_rate = float(learning_rate)
            if not np.isfinite(learning_rate) or learning_rate < 0:
                raise ValueError(f"learning_rate must be a non-negative number; received "
                                 f"learning_rate={learning_rate!r}.")
        if use_ema:
            raise NotImplementedError(
                "use_ema=True (a moving average of the weights, with ema_momentum and "
                "ema_overwrite_frequency) is not implemented in tomei; leave use_ema=False.")
        if gradient_accumulation_steps is not None and (
                not isinstance(gradient_accumulation_steps, (int, np.integer)) or
                isinstance(gradient_accumulation_steps, bool) or gradient_accumulation_steps < 2):
            raise ValueError(f"gradient_accumulation_steps must be an integer >= 2 or None; "
                             f"received gradient_accumulation_steps="
                             f"{gradient_accumulation_steps!r}.")
        if loss_scale_factor is not None and not (
                isinstance(loss_scale_factor, (int, float, np.number)) and loss_scale_factor > 0):
            raise ValueError(f"loss_scale_factor must be a positive number or None; received "
                             f"loss_scale_factor={loss_scale_factor!r}.")
        self.name = name or snake_case(type(self).__name__)
        self.use_ema, self.ema_momentum = False, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._accumulated: dict = {}  # id(variable) -> sum of gradients since the last update
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self._iterations = 0  # apply_gradients calls (Keras's internal counter)
        self._variables: list[Variable] = []
        self._slots: list[dict] = []
        self.built = False

    # --- learning rate ---------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """Updates made so far: calls of apply_gradients, or with
        ``gradient_accumulation_steps=k`` the calls // k (Keras 3)."""
        k = self.gradient_accumulation_steps
        return self._iterations // k if k else self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The current rate (a schedule is evaluated at the count of apply_gradients calls,
        as Keras 3 does)."""
        lr = self._learning_rate
        return float(lr(self._iterations)) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value if callable(value) else float(value)

    lr = learning_rate

    @property
    def has_schedule(self) -> bool:
        """True when the learning rate is a schedule (a callable of the step), not a number.
        Keras then saves no learning-rate variable."""
        return callable(self._learning_rate)

    # --- state -----------------------------------------------------------------------
    def build(self, variables):
        """Creates the slots for ``variables`` (zeros unless ``_initial_slot`` says otherwise).

        Building is the first training step, so it also loads the fused kernels when
        fusion is on (tomei/engine/fused.py: a one-off cost per process, never at import).
        """
        fused.kernels()
        self._variables = list(variables)
        self._slots = [{n: self._initial_slot(n, v.value) for n in self.slot_names}
                       for v in self._variables]
        self.built = True

    def _initial_slot(self, name, like):
        return np.zeros_like(like)

    def move_to(self, where):
        """Moves the slots to ``where`` (``"cpu"`` or ``"gpu"``), next to the variables."""
        self._slots = [{n: device.to_device(a, where) for n, a in slots.items()}
                       for slots in self._slots]

    @property
    def variables(self) -> list:
        """Keras order: iteration, learning_rate, then each variable's slots in turn."""
        out = [np.asarray(self._iterations, np.int64), np.asarray(self.learning_rate, np.float32)]
        for slots in self._slots:  # copies: the optimizer keeps updating its own in place
            out.extend(slots[n].copy() for n in self.slot_names)
        return out

    # --- one step ----------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Updates each variable from its gradient; pairs whose gradient is None are skipped.

        Raises:
            ValueError: an entry that is not a (gradient, variable) pair, a gradient whose
                shape differs from its variable's, or no gradient at all (every one None).
        """
        grads_and_vars = list(grads_and_vars)
        grads, variables = [], []
        for item in grads_and_vars:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(
                    f"apply_gradients expects (gradient, variable) pairs, e.g. "
                    f"optimizer.apply_gradients(zip(gradients, model.trainable_variables)); "
                    f"received an entry of type {type(item).__name__}"
                    f"{f' with shape {item.shape}' if hasattr(item, 'shape') else ''}.")
            g, v = item
            if g is None:
                continue
            # each gradient where its variable lives (the GPU or the host); a tape's
            # gradient of a host variable already is a host array
            g = g._value if type(g) is Tensor and type(g._value) is np.ndarray and \
                type(v._value) is np.ndarray else device.like(g, v.value)
            if g.shape != v.shape:
                raise ValueError(f"Gradient for '{v.path}' has shape {g.shape}; the variable "
                                 f"has shape {v.shape}.")
            grads.append(g)
            variables.append(v)
        if not grads:
            names = ", ".join(getattr(v, "path", "?") for _, v in grads_and_vars) or "none"
            raise ValueError(
                f"No gradients provided for any variable ({names}). The loss does not depend "
                f"on the weights through operations the GradientTape recorded: inside call(), "
                f"use tomei ops (tf.matmul, tf.nn.relu, +, * ...) on Tensors, not NumPy "
                f"functions or .numpy() values.")
        self.build_for(variables)
        if self.loss_scale_factor is not None:  # the loss was scaled by scale_loss()
            grads = [g / np.float32(self.loss_scale_factor) for g in grads]
        if self.gradient_accumulation_steps:
            grads = self._accumulate(grads, variables)
            if grads is None:  # not an update step: only the sums and the count move on
                for v in variables:
                    if v.constraint is not None:
                        v.assign(v.constraint(v.value))
                self._iterations += 1
                return self.iterations
        grads = self._clip(grads)
        lr = np.float32(self.learning_rate)
        self._step = self.iterations + 1  # Keras's local_step: 1 on the first update
        if self.weight_decay:
            for v in variables:
                v.assign_sub(v.value * np.float32(self.weight_decay) * lr)
        for g, v, slots in zip(grads, variables, self._slots):
            self._update_and_flush(g.astype(v.dtype, copy=False), v.value, slots, lr)
        for v in variables:
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        self._iterations += 1
        return self.iterations

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when a factor is set, else ``loss`` (Keras 3); the
        gradients are divided by the same factor in ``apply_gradients``."""
        if self.loss_scale_factor is None:
            return loss
        return loss * np.float32(self.loss_scale_factor)

    def _accumulate(self, grads, variables):
        """Gradient accumulation, as Keras 3: on steps 1..k-1 of every k
        (k = gradient_accumulation_steps, counting apply_gradients calls) the gradients are
        only summed and None is returned; on call k the mean of the k gradients is returned
        (then clipped, and the update made with Adam's step count t = updates so far + 1) and
        the sums restart from zero."""
        k = self.gradient_accumulation_steps
        sums = [self._accumulated.setdefault(id(v), np.zeros_like(v.value)) for v in variables]
        if (self._iterations + 1) % k:
            for total, g in zip(sums, grads):
                total += g
            return None
        mean = [(g + total) / np.float32(k) for g, total in zip(grads, sums)]
        for total in sums:
            total[...] = 0
        return mean

    def apply(self, grads, trainable_variables=None):
        """Keras 3 form: ``optimizer.apply(grads, model.trainable_variables)``."""
        return self.apply_gradients(zip(grads, trainable_variables or self._variables))

    def minimize(self, loss, var_list, tape=None):
        """One step on ``loss`` (a Tensor recorded by ``tape``) for ``var_list``."""
        if tape is None:
            raise ValueError("minimize needs the GradientTape that recorded the loss: "
                             "minimize(loss, var_list, tape=tape).")
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def update_step(self, grad, var, slots, lr):
        """Updates ``var`` (an ndarray) in place from ``grad``; subclasses implement it."""
        raise NotImplementedError

    def _update_and_flush(self, grad, var, slots, lr):
        self.update_step(grad, var, slots, lr)
        if self._step % FLUSH_EVERY == 0:
            for slot in slots.values():
                flush_denormals(slot)

    def build_for(self, variables):
        """Makes the slots belong to exactly ``variables`` (in that order): nothing to do when
        they already do; otherwise (re)builds them, keeping the state of variables seen
        before. Loading a saved optimizer state calls it before filling the slots."""
        variables = list(variables)
        if self.built and len(variables) == len(self._variables) and all(
                a is b for a, b in zip(variables, self._variables)):
            return
        old = {id(v): s for v, s in zip(self._variables, self._slots)}
        self.build(variables)
        for v, slots in zip(self._variables, self._slots):
            for name, value in old.get(id(v), {}).items():
                slots[name][...] = value

    def slots_of(self, variable):
        """The slot arrays ``{slot name: array}`` of ``variable`` (e.g. Adam's "momentum" and
        "velocity"), the arrays themselves, so writing into them sets the state; None when
        the optimizer holds no state for that variable."""
        for v, slots in zip(self._variables, self._slots):
            if v is variable:
                return slots
        return None

    def _clip(self, grads):
        # __init__ allows one rule at most.
        if self.clipnorm:
            return [g * min(1.0, self.clipnorm / (np.linalg.norm(g) + 1e-12)) for g in grads]
        if self.global_clipnorm:
            norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
            return [g * min(1.0, self.global_clipnorm / (norm + 1e-12)) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # --- config ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        if callable(lr):
            from tomei.keras.serialization import serialize
            lr = serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from tomei.keras.serialization import deserialize
            config["learning_rate"] = deserialize(config["learning_rate"],
                                                  "keras.optimizers.schedules")
        return cls(**config)


FLUSH_EVERY = 16
_FLUSH_BELOW = {np.dtype(np.float32): 1e-30, np.dtype(np.float64): 1e-300}


def flush_denormals(a: np.ndarray):
    """Rounds values of magnitude below ~1e-30 (float32) to exactly 0, in place.

    Adding and removing C = 1e-30 / eps (8.4e-24 for float32) zeroes anything much smaller
    than 1e-30 and changes any other value by at most 1e-30 (absolute): far below what an
    optimizer slot can express in a weight update, and large enough that one more step of
    decay (a multiply by 0.1 or 0.001) can never produce a subnormal. Two cheap passes.
    """
    if a.dtype not in _FLUSH_BELOW:
        return
    c = a.dtype.type(_FLUSH_BELOW[a.dtype] / np.finfo(a.dtype).eps)
    a += c
    a -= c
