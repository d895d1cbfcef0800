"""String ops (``tf.strings``) on NumPy string arrays and Tensors of strings.

tomei keeps text as NumPy unicode arrays (dtype ``<U``); bytes (dtype ``S``, ``bytes``
objects) are decoded as UTF-8 on the way in. These ops have no gradient: text is not
differentiable, and nothing is recorded on a GradientTape.

Each op accepts a Python ``str``, a list (nested lists too) of strings, a NumPy array of
strings or bytes, or a Tensor holding one, and returns a Tensor of strings of the same
shape; as in TensorFlow, a Tensor holds text as UTF-8 bytes (``.numpy()`` gives bytes;
``as_strings`` gives them back as ``str``).
"""
from __future__ import annotations

import re

import numpy as np

from tomei.engine.tensor import Tensor

# ASCII A-Z -> a-z only: tf.strings.lower's default (encoding='') leaves other letters alone.
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def as_strings(value, what="input") -> np.ndarray:
    """``value`` as a NumPy unicode array (dtype ``<U``); bytes are decoded as UTF-8.

    Raises:
        TypeError: numbers or other non-text values, naming ``what``.
    """
    if isinstance(value, Tensor):
        value = value.value
    if isinstance(value, (str, bytes)):
        value = [value]
        scalar = True
    else:
        scalar = False
    # lists go through object dtype, so that ["a", 3] is refused rather than made "3"
    array = np.asarray(value, dtype=object) if isinstance(value, (list, tuple)) \
        else np.asarray(value)
    if array.dtype.kind == "O":  # e.g. a list mixing str and bytes, or pandas' object columns
        flat = [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.ravel()]
        if not all(isinstance(v, str) for v in flat):
            bad = next(v for v in flat if not isinstance(v, str))
            raise TypeError(f"{what} expects strings; received an element of type "
                            f"{type(bad).__name__} ({bad!r}).")
        array = np.array(flat, dtype=str).reshape(array.shape) if flat else \
            np.zeros(array.shape, dtype="<U1")
    elif array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    elif array.dtype.kind != "U":
        raise TypeError(f"{what} expects strings; received an array of dtype {array.dtype}.")
    return array.reshape(()) if scalar else array


def _map(fn, array: np.ndarray) -> np.ndarray:
    out = [fn(s) for s in array.ravel().tolist()]
    return np.array(out, dtype=str).reshape(array.shape) if out else array.copy()


def lower(input, encoding="", name=None) -> Tensor:
    """Lower-cases each string, as ``tf.strings.lower``.

    Args:
        input: strings (see the module docstring).
        encoding: '' (default) lower-cases ASCII letters A-Z only, as TensorFlow; 'utf-8'
            lower-cases every Unicode letter (Python's ``str.lower``).
        name: TensorFlow's op name; unused (tomei builds no graph).

    Raises:
        ValueError: another encoding. TypeError: non-string input.
    """
    strings = as_strings(input, "tf.strings.lower")
    if encoding == "":
        return Tensor(_map(lambda s: s.translate(_ASCII_LOWER), strings))
    if str(encoding).lower().replace("-", "") == "utf8":
        return Tensor(_map(str.lower, strings))
    raise ValueError(f"tf.strings.lower supports encoding='' (ASCII) or 'utf-8'; received "
                     f"encoding={encoding!r}.")


def regex_replace(input, pattern, rewrite, replace_global=True, name=None) -> Tensor:
    """Replaces matches of ``pattern`` in each string with ``rewrite``
    (``tf.strings.regex_replace``).

    Args:
        input: strings. pattern: a regular expression (Python ``re`` syntax; TensorFlow uses
            RE2, which agrees on the usual character classes, groups and escapes).
        rewrite: the replacement; ``\\1`` refers to a group, as in RE2 and ``re``.
        replace_global: default True (every match); False replaces the first only.
        name: TensorFlow's op name; unused (tomei builds no graph).

    Raises:
        ValueError: an invalid pattern, quoting it. TypeError: non-string input.
    """
    strings = as_strings(input, "tf.strings.regex_replace")
    try:
        compiled = re.compile(as_strings(pattern, "pattern").item())
    except re.error as err:
        raise ValueError(f"tf.strings.regex_replace: invalid pattern {pattern!r} ({err}).") \
            from None
    rewrite = as_strings(rewrite, "rewrite").item()
    count = 0 if replace_global else 1
    return Tensor(_map(lambda s: compiled.sub(rewrite, s, count=count), strings))
