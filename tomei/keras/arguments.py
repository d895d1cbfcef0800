"""Checks of the arguments a learner passes to the Keras surface, one function per kind: a
shape, a size or count, one of a few choices, a ``verbose`` level, a flag. Each returns the
value in the form the code uses and raises ValueError naming the call (``owner``), the
argument, what is allowed and what was received, so a typo fails where it was made instead
of being guessed at or ignored.
"""
from __future__ import annotations

import difflib
import inspect

import numpy as np


def shape_argument(value, argument: str, owner: str, none_ok=True, minus_one_ok=False,
                   batch_axis=False) -> tuple:
    """``value``, a shape given to ``owner`` as its ``argument`` (``input_shape``, ``shape``,
    ``batch_shape``, ``target_shape``, ...), as a tuple of Python ints (and None).

    Keras 3 wants a tuple or list of dimensions: an int (``input_shape=28``), a string or a
    float dimension is refused, not guessed at.

    Args:
        none_ok: a dimension may be None (any size). minus_one_ok: one dimension may be -1
            (``Reshape``: inferred from the others). batch_axis: the shape starts with the
            batch axis (``batch_shape``, ``build``), which the suggested fix then shows.

    Raises:
        ValueError: naming ``owner`` and ``argument``, what a shape is and what was received,
            with the tuple to write for a bare int.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        fix = f"(None, {value})" if batch_axis else f"({value},)"
        raise ValueError(f"{owner}: {argument} must be a tuple or list of dimensions, e.g. "
                         f"{argument}={fix} for one axis of size {value}; received the "
                         f"int {argument}={value!r}.")
    allowed = "ints >= 0" + (", or None for any size" if none_ok else "") + \
        (", and one -1 for 'the rest'" if minus_one_ok else "")
    iterable = hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict, set))
    dims = tuple(value) if iterable else None  # a tuple, list, NumPy array, TensorShape
    bad = dims is None or not all(
        (d is None and none_ok) or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                    and (d >= 0 or (d == -1 and minus_one_ok))) for d in dims)
    if bad or (minus_one_ok and dims.count(-1) > 1):
        example = "(None, 28, 28)" if batch_axis else "(28, 28)"
        raise ValueError(f"{owner}: {argument} must be a tuple or list of dimensions ({allowed}), "
                         f"e.g. {argument}={example}; received {argument}={value!r} "
                         f"({type(value).__name__}).")
    return tuple(None if d is None else int(d) for d in dims)


def size_argument(value, argument: str, owner: str, none_ok=True, minimum=0) -> "int | None":
    """``value`` as a Python int >= ``minimum`` (``input_dim``, ``batch_size``,
    ``initial_epoch``, ``validation_freq``); None when ``none_ok``.

    Raises:
        ValueError: naming ``owner``, ``argument`` and the value received.
    """
    if value is None and none_ok:
        return None
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{owner}: {argument} must be an int >= {minimum}"
                         f"{' or None' if none_ok else ''}; received {argument}={value!r} "
                         f"({type(value).__name__}).")
    return int(value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def one_of(value, argument: str, owner: str, allowed: tuple):
    """``value`` when it is one of ``allowed`` (strings compare exactly, as in Keras).

    Raises:
        ValueError: naming ``owner``, ``argument``, the allowed values and ``value``.
    """
    if isinstance(value, (str, int, type(None))) and any(
            type(value) is type(a) and value == a for a in allowed):
        return value
    choices = ", ".join(repr(a) for a in allowed)
    raise ValueError(f"{owner}: {argument} must be one of {choices}; received "
                     f"{argument}={value!r}.")


def verbose_argument(value, owner: str, allowed=("auto", 0, 1, 2)) -> int:
    """A ``verbose`` level as an int: 'auto' (where allowed) is 1, a bool is 0 or 1.

    Keras's levels: 0 silent, 1 a progress bar (or a message per event for callbacks), 2 one
    line per epoch; fit/evaluate/predict take 'auto', 0, 1 or 2, callbacks 0 or 1.

    Raises:
        ValueError: any other value, naming ``owner`` and the allowed levels.
    """
    if value == "auto" and "auto" in allowed and isinstance(value, str):
        return 1
    if (_is_int(value) or isinstance(value, bool)) and int(value) in allowed:
        return int(value)
    choices = ", ".join(repr(a) for a in allowed)
    meaning = (" (0 silent, 1 a progress bar, 2 one line per epoch)" if "auto" in allowed
               else "")  # the levels of fit, evaluate and predict
    raise ValueError(f"{owner}: verbose must be one of {choices}{meaning}; received "
                     f"verbose={value!r}.")


def flag(value, argument: str, owner: str) -> bool:
    """``value`` as a bool: True, False (or NumPy's bools).

    Raises:
        ValueError: anything else ('yes', 1, None), naming ``owner`` and ``argument``.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{owner}: {argument} must be True or False; received {argument}={value!r} "
                     f"({type(value).__name__}).")


def unexpected_keywords(kwargs, owner: str, cls=None) -> TypeError:
    """The TypeError for keyword arguments ``owner`` (``"Adam"``, ``"Dense"``) does not take,
    to raise. With ``cls``, each name that is close to an argument of ``cls.__init__`` (or of
    a base class's ``__init__``) gets a "did you mean ...?" (``difflib``, ratio >= 0.75), so
    ``Adam(learning_rte=0.01)`` shows ``learning_rate``.
    """
    accepted = set()
    for klass in (cls.__mro__ if cls is not None else ()):
        init = vars(klass).get("__init__")
        if not inspect.isfunction(init):
            continue
        for parameter in list(inspect.signature(init).parameters.values())[1:]:
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                accepted.add(parameter.name)
    words = []
    for name in sorted(kwargs):
        close = difflib.get_close_matches(name, sorted(accepted), n=1, cutoff=0.75)
        words.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return TypeError(f"{owner}() got unexpected keyword argument(s): {', '.join(words)}.")
