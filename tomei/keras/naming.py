"""Names derived from class names, the one rule for layers, losses, metrics, optimizers and
initializers: ``snake_case("GlorotUniform") == "glorot_uniform"``."""
from __future__ import annotations

import re


def snake_case(name: str) -> str:
    """``"BatchNormalization"`` -> ``"batch_normalization"``, as Keras names objects.

    Characters other than letters, digits and ``_`` are dropped. An upper-case letter starts
    a new word when lower-case letters follow it, or when it follows a lower-case letter; a
    digit does not start a word: ``"SGD"`` -> ``"sgd"``, ``"MaxPooling2D"`` ->
    ``"max_pooling2d"``, ``"Conv2DTranspose"`` -> ``"conv2d_transpose"`` (Keras's rule,
    docs/keras_facts.md). Args: name (str). Returns: str.
    """
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
