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
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def generator_state(generator: np.random.Generator) -> dict:
    """The generator's bit_generator state as a JSON-able dict."""
    return _jsonable(generator.bit_generator.state)


def set_generator_state(generator: np.random.Generator, state: dict):
    """Puts a state from :func:`generator_state` back, in place (holders keep their object).

    Raises:
        ModelFileError: a state for another kind of bit generator.
    """
    state = _from_json(state)
    kind = type(generator.bit_generator).__name__
    if state.get("bit_generator") != kind:
        raise ModelFileError(f"The backup's random state is for {state.get('bit_generator')}, "
                             f"but tomei's generator is {kind}.")
    generator.bit_generator.state = state


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
    with safety.atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5_layout.write_model(h5, model, optimizer="built")
            h5.attrs[STATE_ATTR] = json.dumps(state)


def read_backup(path, model) -> dict:
    """Loads weights and optimizer state from a backup into ``model``; returns its state
    dict (generators not yet restored: see :func:`restore_generators`).

    Raises:
        ModelFileError: a damaged backup or one made for another model.
    """
    import h5py
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(f"The backup {path} is not a readable HDF5 file ({err}). Delete "
                             f"it to start training from the beginning.") from None
    with h5:
        raw = h5.attrs.get(STATE_ATTR)
        if raw is None:
            raise ModelFileError(f"{path} has no {STATE_ATTR} attribute; it is not a tomei "
                                 f"BackupAndRestore file.")
        try:
            state = json.loads(raw.decode("utf8") if isinstance(raw, bytes) else raw)
            int(state["epoch"]), int(state["step"])
        except (ValueError, KeyError, TypeError) as err:
            raise ModelFileError(f"{path}: the training state is not valid ({err}).") from None
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
