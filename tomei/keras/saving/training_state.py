"""Everything a training run needs to continue exactly: weights, optimizer state, random
generators and the position in the run. Used by ``callbacks.BackupAndRestore``.

One file holds it all, ``<backup_dir>/latest.weights.h5``: the weights and optimizer state in
the Keras 3 HDF5 layout (so it is also a valid ``.weights.h5`` file), plus a root attribute
``tomei_training_state`` with JSON::

    {"epoch": 3, "step": 0,                  # where to continue (step > 0: mid-epoch)
     "rng": {...}, "epoch_rng": {...},        # tomei's generator: now / at the epoch start
     "layer_rngs": {"layers/dropout": {...}}} # generators of seeded layers (Dropout(seed=1))

Generator states are NumPy's ``bit_generator.state`` dicts written as JSON (arrays as
lists), never pickled. The file is written atomically, so a kill during a backup leaves the
previous backup in place.
"""
from __future__ import annotations

import json

import numpy as np

from tomei import config
from tomei.keras.saving import h5_layout, safety
from tomei.keras.saving.safety import ModelFileError
from tomei.keras.utils.atomic_write import atomic_path

STATE_ATTR = "tomei_training_state"


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            if value["dtype"] not in _STATE_DTYPES:
                raise ModelFileError(f"a random state array has dtype {value['dtype']!r}; "
                                     f"expected one of {sorted(_STATE_DTYPES)}.")
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


_STATE_DTYPES = {"uint8", "uint16", "uint32", "uint64", "int32", "int64"}


def generator_state(generator: np.random.Generator) -> dict:
    """The generator's bit_generator state as a JSON-able dict."""
    return _jsonable(generator.bit_generator.state)


def _checked_state(generator, state, what):
    """``state`` converted and tried on a scratch generator of the same kind, so a bad one
    is refused before anything real changes."""
    kind = type(generator.bit_generator).__name__
    if not isinstance(state, dict) or state.get("bit_generator") != kind:
        found = state.get("bit_generator") if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(f"The backup's {what} is for {found!r}, but tomei's generator is "
                             f"{kind}.")
    try:
        converted = _from_json(state)
        type(generator.bit_generator)().state = converted
    except ModelFileError as err:
        raise ModelFileError(f"The backup's {what} is not valid: {err}") from None
    except (ValueError, TypeError, KeyError, OverflowError) as err:
        raise ModelFileError(f"The backup's {what} is not a valid {kind} state "
                             f"({type(err).__name__}: {err}).") from None
    return converted


def set_generator_state(generator: np.random.Generator, state: dict, what="random state"):
    """Puts a state from :func:`generator_state` back, in place (holders keep their object).

    Raises:
        ModelFileError: a state for another kind of bit generator, or one that is not valid.
    """
    generator.bit_generator.state = _checked_state(generator, state, what)


def layer_generators(model) -> dict:
    """{"layers/dropout": Generator} for layers with their own generator (a ``seed``)."""
    found = {}

    def walk(layer, path):
        rng = getattr(layer, "_rng", None)
        if isinstance(rng, np.random.Generator):
            found[path or layer.name] = rng
        for name, content in h5_layout.children(layer):
            if isinstance(content, list):
                for key, child in content:
                    walk(child, f"{path}/{name}/{key}".lstrip("/"))
            else:
                walk(content, f"{path}/{name}".lstrip("/"))
    walk(model, "")
    return found


def write_backup(path, model, epoch, step, epoch_rng=None):
    """Writes weights, optimizer state and generator states to ``path`` atomically."""
    import h5py
    state = {"epoch": int(epoch), "step": int(step), "rng": generator_state(config.rng()),
             "epoch_rng": epoch_rng,
             "layer_rngs": {k: generator_state(g) for k, g in layer_generators(model).items()}}
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5_layout.write_model(h5, model, optimizer="built")
            h5.attrs[STATE_ATTR] = json.dumps(state)


def _validate_state(state, model, path):
    """Checks every field of a backup's state before the model or a generator changes."""
    for key in ("epoch", "step"):
        value = state.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ModelFileError(f"The backup {path} is not valid: {key} must be an integer "
                                 f">= 0; found {value!r}. Delete it to start training from the "
                                 f"beginning.")
    rng = config.rng()
    _checked_state(rng, state.get("rng"), "random state")
    if state.get("epoch_rng") is not None:
        _checked_state(rng, state["epoch_rng"], "epoch-start random state")
    layer_rngs = state.get("layer_rngs") or {}
    if not isinstance(layer_rngs, dict):
        raise ModelFileError(f"The backup {path} is not valid: layer_rngs should be an object.")
    generators = layer_generators(model)
    for key, saved in layer_rngs.items():
        if key in generators:
            _checked_state(generators[key], saved, f"random state of {key}")


def read_backup(path, model) -> dict:
    """Loads weights and optimizer state from a backup into ``model``; returns its state
    dict (generators not yet restored: see :func:`restore_generators`).

    The backup is checked like a model file (safe HDF5 access, bounded JSON) and its state
    (epoch and step >= 0, generator states) before anything in the model changes.

    Raises:
        ModelFileError: a damaged, crafted or foreign backup (the message says to delete it).
    """
    with safety.h5_open(path, f"The backup {path}") as h5:
        raw = h5.attrs.get(STATE_ATTR)
        if raw is None:
            raise ModelFileError(f"{path} has no {STATE_ATTR} attribute; it is not a tomei "
                                 f"BackupAndRestore file.")
        state = safety.parse_json_text(raw, path, "the training state")
        _validate_state(state, model, path)
        h5_layout.read_model(h5, model, path, optimizer=True)
    return state


def restore_generators(model, state, use_epoch_start=False):
    """Sets tomei's generator (and seeded layers' generators) to the backed-up states."""
    key = "epoch_rng" if use_epoch_start and state.get("epoch_rng") else "rng"
    set_generator_state(config.rng(), state[key])
    generators = layer_generators(model)
    for path, saved in (state.get("layer_rngs") or {}).items():
        if path in generators:
            set_generator_state(generators[path], saved)
