"""Embedding: integer ids -> learned vectors (a lookup table that training adjusts)."""
from __future__ import annotations

import numpy as np

from tomei.engine import ops
from tomei.keras import constraints, initializers, regularizers
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register, serialize


@register("keras.layers")
class Embedding(Layer):
    """Turns integer ids into dense vectors: ``output[..., :] = embeddings[id]``.

    The table ``embeddings`` has shape (input_dim, output_dim); id ``i`` selects row ``i``.
    Training changes only the rows that a batch used: the gradient is a scatter-add of the
    output gradient into a zero table (:func:`tomei.engine.ops.gather`).

    Args:
        input_dim: positive int, the vocabulary size (ids are in [0, input_dim)).
        output_dim: positive int, the vector size.
        embeddings_initializer: default 'uniform' (RandomUniform(-0.05, 0.05), as Keras).
        embeddings_regularizer, embeddings_constraint, activity_regularizer: default None.
        mask_zero: default False. True is not supported yet (tomei does not propagate
            masks to later layers): NotImplementedError.
        weights: optional initial table, an array of shape (input_dim, output_dim) or a
            list holding one.
        lora_rank, lora_alpha, quantization_config: Keras options tomei does not have;
            any value other than None raises NotImplementedError.

    Input shape: (batch_size, ...) of ids, any integer or float dtype holding whole numbers
    (floats are cast to int32, as Keras). Output shape: (batch_size, ..., output_dim),
    float32.

    Raises:
        ValueError: input_dim or output_dim not a positive int.
        IndexError: an id outside [0, input_dim) in the input.
    """

    _autocast = False  # ids must not become float32
    _same_input_shape = False  # any number of ids per sample

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 activity_regularizer=None, input_length=None, **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding expects {name} to be a positive integer; received "
                                 f"{name}={value!r}.")
        for name, value in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha),
                            ("quantization_config", quantization_config)):
            if value is not None:
                raise NotImplementedError(f"Embedding({name}=...) is not supported by tomei; "
                                          f"received {name}={value!r}. Leave it None.")
        if mask_zero:
            raise NotImplementedError(
                "Embedding(mask_zero=True) is not supported by tomei yet: later layers would "
                "not see the mask and would average or train over padding. Leave "
                "mask_zero=False (padding id 0 then gets its own learned vector).")
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length  # deprecated in Keras 3; kept for old configs only
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def build(self, input_shape):
        if getattr(self, "embeddings", None) is not None:
            return
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        ids = inputs.value if hasattr(inputs, "value") else np.asarray(inputs)
        if ids.dtype.kind not in "iu":
            if ids.dtype.kind not in "fb":
                raise TypeError(f"Embedding '{self.name}' expects integer ids; received an "
                                f"input of dtype {ids.dtype}.")
            ids = ids.astype(np.int32)
        try:
            out = ops.gather(self.embeddings, ids)
        except IndexError as err:
            raise IndexError(f"Embedding '{self.name}' (input_dim={self.input_dim}): {err}") \
                from None
        if self.activity_regularizer is not None:  # divided by the batch size, as Keras 3
            batch = np.asarray(max(out.shape[0], 1) if out.ndim else 1, dtype=out.dtype)
            self._losses.append(ops.divide(self.activity_regularizer(out), batch))
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": serialize(self.embeddings_initializer),
                "embeddings_regularizer": serialize(self.embeddings_regularizer),
                "activity_regularizer": serialize(self.activity_regularizer),
                "embeddings_constraint": serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "quantization_config": None}
