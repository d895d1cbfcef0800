"""Weights and optimizer state in the Keras 3 HDF5 layout (``model.weights.h5``).

The same layout is used inside a ``.keras`` archive and in a ``.weights.h5`` file
(docs/keras_facts.md, 'The .keras file')::

    vars/                        the model's own variables (usually none); attr name=<model name>
    layers/<key>/vars/0, 1, ...  each layer's variables, trainable first, in creation order
    layers/<key>/layers/...      the layers of a nested model, the same way
    optimizer/vars/0             iteration (integer scalar)
    optimizer/vars/1             learning_rate (float32 scalar; absent with a schedule)
    optimizer/vars/2, ...        the slots, per trainable variable in model order

``<key>`` is NOT the layer's name: it is the snake_case class name made unique in list order
("dense", "dense_1", ...), so a Dense named "my_dense" is still stored under ``layers/dense``.
A functional model's list starts with its InputLayers ("input_layer"); a Sequential's does not.

Optimizer slots are grouped as Keras creates them: Adam-like optimizers interleave their two
moments per variable (kernel_m, kernel_v, bias_m, bias_v, ...) and add any further slots
(AMSGrad's velocity_hat) after all of them; the others store each slot kind as a block
(RMSprop: all velocities, then all momentums, then all average gradients). Nadam appends its
``u_product`` scalar last.

Reading checks every dataset's count, shape and dtype before any weight is written, so a file
that does not fit leaves the model untouched. Every group and dataset of the file is reached
through :func:`tomei.keras.saving.safety.h5_get` (hard links inside the file only, bounded
depth); weights holding NaN or infinite values load with a warning naming them.
"""
from __future__ import annotations

import warnings

import numpy as np

from tomei.engine import device
from tomei.keras import serialization
from tomei.keras.layers.layer import Layer
from tomei.keras.naming import snake_case
from tomei.keras.saving.safety import (
    ModelFileError,
    h5_get,
    h5_has,
    h5_names,
    h5_walk_datasets,
    parse_json_text,
)

# --- naming ----------------------------------------------------------------------------------


def unique_keys(objects) -> list[str]:
    """['dense', 'dropout', 'dense_1'] for [Dense, Dropout, Dense]: Keras's group names."""
    used, keys = {}, []
    for obj in objects:
        base = snake_case(type(obj).__name__)
        if base in used:
            used[base] += 1
            keys.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            keys.append(base)
    return keys


def own_variables(layer) -> list:
    """A layer's own variables as Keras stores them: trainable ones, then the others."""
    own = list(layer._weights)
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def children(layer) -> list:
    """[(group name, [(key, sublayer), ...]) or (attribute, sublayer)] below ``layer``.

    A model's layers go in a "layers" container; a custom layer's sublayers are stored under
    the attribute that holds them (sorted, private names last), lists as containers.
    """
    if serialization.is_registered_instance(layer, "Model"):  # saving never imports models
        layers = layer.layers
        return [("layers", list(zip(unique_keys(layers), layers)))] if layers else []
    if not layer._sublayers:
        return []
    out = []
    for attr in sorted(vars(layer), key=lambda a: (a.startswith("_"), a)):
        value = vars(layer)[attr]
        if attr == "_sublayers":
            continue
        if isinstance(value, Layer) and value is not layer:
            out.append((attr, value))
        elif isinstance(value, (list, tuple)) and value and \
                all(isinstance(v, Layer) for v in value):
            out.append((attr, list(zip(unique_keys(value), value))))
    return out


def layer_paths(layer, prefix=""):
    """(Keras path, layer) for every layer below ``layer``: ("layers/dense", ...), ...
    (the names of the groups in the weights file and of the folders under assets/)."""
    for name, content in children(layer):
        entries = content if isinstance(content, list) else [(None, content)]
        for key, child in entries:
            path = f"{prefix}{name}/{key}" if key is not None else f"{prefix}{name}"
            yield path, child
            yield from layer_paths(child, path + "/")


# --- writing ---------------------------------------------------------------------------------


def write_model(h5, model, optimizer: str = "compiled"):
    """Writes ``model``'s weights (and optimizer state) into the open h5py File ``h5``.

    Args:
        optimizer: "compiled" writes the optimizer group whenever the model is compiled (as
            ``model.save``); "built" only once the optimizer has slots (as ``save_weights``);
            "never" skips it.
    """
    _write_layer(h5, model)
    opt = getattr(model, "optimizer", None)
    if opt is None or optimizer == "never" or (optimizer == "built" and not opt.built):
        return
    group = h5.create_group("optimizer").create_group("vars")
    group.attrs["name"] = str(opt.name)
    for i, array in enumerate(optimizer_arrays(opt, model.trainable_variables)):
        group.create_dataset(str(i), data=array)


def _write_layer(group, layer):
    own = group.create_group("vars")
    own.attrs["name"] = str(layer.name)
    for i, var in enumerate(own_variables(layer)):
        own.create_dataset(str(i), data=var.numpy())  # a host copy, also from the GPU
    for name, content in children(layer):
        if isinstance(content, list):
            container = group.create_group(name)
            for key, child in content:
                _write_layer(container.create_group(key), child)
        else:
            _write_layer(group.create_group(name), content)


# --- legacy whole-model .h5 (Keras 2 layout; Keras 3 still writes and reads it) --------------

HDF5_ATTRIBUTE_LIMIT = 64512  # bytes in one HDF5 attribute header; longer lists are split


def legacy_weights(layer) -> list:
    """A layer's weights in the legacy order: trainable first, then the others (Keras's
    ``_legacy_weights``); for a nested model, all of its layers' weights."""
    weights = layer.weights
    return [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]


def _write_names(group, name, names):
    """``names`` (bytes) as the attribute ``name``, split into name0, name1, ... when it
    exceeds the HDF5 header limit (as Keras's ``save_attributes_to_hdf5_group``)."""
    data = np.asarray(names, dtype=bytes) if names else np.asarray([], dtype="S1")
    chunks = 1
    while data.nbytes / chunks > HDF5_ATTRIBUTE_LIMIT and chunks < len(names):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for k, part in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{k}"] = part


def write_legacy(h5, model, metadata: dict, optimizer: bool):
    """Writes ``model`` into the open h5py File ``h5`` in the legacy whole-model layout.

    Root attributes: ``metadata`` (strings, or JSON text for dicts: keras_version, backend,
    model_config, training_config). ``model_weights``: attributes layer_names (in
    ``model.layers`` order), backend, keras_version; one group per layer named after it,
    with attribute weight_names ("<model>/<layer>/<variable>") and a dataset at each of those
    paths; an empty ``top_level_model_weights`` group. ``optimizer_weights`` (when
    ``optimizer`` and the model is compiled): attribute weight_names ("adam/iteration",
    "adam/learning_rate", "adam/<model>_<layer>_<variable>_<slot>", ...) in Keras's variable
    order, a dataset at each. Layout: docs/keras_facts.md (section 5).
    """
    import json
    for key, value in metadata.items():
        h5.attrs[key] = json.dumps(value).encode("utf8") if isinstance(value, dict) else value
    weights = h5.create_group("model_weights")
    _write_names(weights, "layer_names", [layer.name.encode("utf8") for layer in model.layers])
    weights.attrs["backend"] = metadata["backend"]
    weights.attrs["keras_version"] = metadata["keras_version"]
    for layer in model.layers:
        group = weights.create_group(layer.name)
        variables = legacy_weights(layer)
        names = [f"{model.name}/{v.path}" for v in variables]
        _write_names(group, "weight_names", [n.encode("utf8") for n in names])
        for name, var in zip(names, variables):
            group.create_dataset(name, data=np.asarray(var.value))
    _write_names(weights.create_group("top_level_model_weights"), "weight_names", [])
    opt = getattr(model, "optimizer", None)
    if not optimizer or opt is None or not getattr(model, "compiled", False):
        return
    arrays = optimizer_arrays(opt, model.trainable_variables)
    names = [f"{opt.name}/iteration"] + ([f"{opt.name}/learning_rate"] if len(arrays) > 1 and
                                        not callable(opt._learning_rate) else [])
    if opt.built and len(arrays) > len(names):
        for group in slot_groups(opt):
            for v in model.trainable_variables:
                stem = f"{model.name}/{v.path}".replace("/", "_")
                names.extend(f"{opt.name}/{stem}_{slot}" for slot in group)
        if hasattr(opt, "u_product"):
            names.append(f"{opt.name}/u_product")
    names = names[:len(arrays)]
    group = h5.create_group("optimizer_weights")
    _write_names(group, "weight_names", [n.encode("utf8") for n in names])
    for name, array in zip(names, arrays):
        group.create_dataset(name, data=array)


def read_legacy_optimizer(h5, model, where):
    """Restores the optimizer state of a legacy ``.h5`` (its ``optimizer_weights`` group, in
    Keras's variable order) into the compiled ``model``; nothing when the group is absent."""
    if not h5_has(h5, "optimizer_weights") or getattr(model, "optimizer", None) is None:
        return
    group = h5_get(h5, "optimizer_weights", where)
    datasets = []
    for name in _attr_strings(group.attrs, "weight_names"):
        ds = h5_get(group, name, where)
        if not hasattr(ds, "dtype") or ds.dtype.kind not in "fiu":
            raise ModelFileError(f"{where}/optimizer_weights/{name} is not an array of numbers.")
        datasets.append(ds)
    if datasets:
        restore_optimizer(model, datasets, f"{where}/optimizer_weights")


def slot_groups(optimizer) -> list[tuple]:
    """How Keras orders an optimizer's slots: [('momentum', 'velocity'), ('velocity_hat',)]
    for AMSGrad Adam (interleaved pair, then a block), [('velocity',), ('momentum',)] for
    RMSprop with momentum (one block per kind)."""
    names = tuple(optimizer.slot_names)
    if _adam_like(optimizer) and len(names) >= 2:
        return [names[:2]] + [(n,) for n in names[2:]]
    return [(n,) for n in names]


def _adam_like(optimizer):
    return any(cls.__name__ in ("Adam", "Adamax", "Nadam") for cls in type(optimizer).__mro__)


def optimizer_arrays(optimizer, variables) -> list[np.ndarray]:
    """The optimizer's state in Keras's order for ``variables`` (the model's trainable ones)."""
    arrays = [np.asarray(optimizer.iterations, np.int64)]
    if not optimizer.has_schedule:
        arrays.append(np.asarray(optimizer.learning_rate, np.float32))
    if not optimizer.built:
        return arrays
    slots_of = {id(v): optimizer.slots_of(v) for v in variables}
    if any(s is None for s in slots_of.values()):
        warnings.warn(f"The optimizer '{optimizer.name}' has no state for some trainable weights "
                      f"of the model; only its step count and learning rate are saved.",
                      UserWarning, stacklevel=4)
        return arrays
    for group in slot_groups(optimizer):
        for v in variables:
            arrays.extend(np.asarray(device.to_host(slots_of[id(v)][name])) for name in group)
    if hasattr(optimizer, "u_product"):  # Nadam's running product of momentum factors
        arrays.append(np.asarray(optimizer.u_product, np.float32))
    return arrays


# --- reading ---------------------------------------------------------------------------------


class _Loader:
    """Collects (variable, array) pairs after checking them; assigns only at the end."""

    def __init__(self, where, skip_mismatch):
        self.where = where
        self.skip_mismatch = skip_mismatch
        self.assignments = []

    def problem(self, message):
        if self.skip_mismatch:
            warnings.warn(f"Skipping: {message}", UserWarning, stacklevel=5)
            return
        raise ModelFileError(f"{self.where}: {message} (load_weights(..., skip_mismatch=True) "
                             f"skips weights that do not fit).")

    def read_vars(self, group, path, variables, label):
        """Checks ``group`` (a 'vars' group) against ``variables`` and queues them."""
        names = _dataset_names(group, f"{self.where}/{path}")
        if len(names) != len(variables):
            self.problem(
                f"layer {label} expects {len(variables)} weight(s) "
                f"{[tuple(v.shape) for v in variables]}; the file's {path} has {len(names)} "
                f"({_shapes(group, names)})")
            return
        pending = []
        for name, var in zip(names, variables):
            ds = h5_get(group, name, f"{self.where}/{path}")
            if tuple(ds.shape) != tuple(var.shape):
                self.problem(f"weight '{var.path}' of layer {label} has shape {tuple(var.shape)}; "
                             f"the file's {path}/{name} has shape {tuple(ds.shape)}")
                return
            if _kind(ds.dtype) is None or _kind(ds.dtype) != _kind(var.dtype):
                self.problem(f"weight '{var.path}' of layer {label} is {np.dtype(var.dtype).name}; "
                             f"the file's {path}/{name} holds {ds.dtype} values")
                return
            pending.append((var, ds))
        self.assignments.extend(pending)

    def layer(self, group, layer, path):
        label = f"'{layer.name}' ({type(layer).__name__})"
        own = own_variables(layer)
        if h5_has(group, "vars"):
            self.read_vars(h5_get(group, "vars", f"{self.where}/{path}"), f"{path}/vars", own,
                           label)
        elif own:
            self.problem(f"layer {label} has {len(own)} weight(s) but the file has no {path}/vars")
        for name, content in children(layer):
            container = _child_group(group, name)
            sub = f"{path}/{name}" if path else name
            if container is None:
                if _has_variables(content):
                    self.problem(f"the file has no group {sub} for the weights of layer {label}")
                continue
            if isinstance(content, list):
                self.container(container, content, sub)
            else:
                self.layer(container, content, sub)

    def container(self, group, entries, path):
        keys = {key for key, _ in entries}
        where = f"{self.where}/{path}"
        for key, child in entries:
            if not h5_has(group, key):
                if _has_variables(child):
                    self.problem(f"the file has no group {path}/{key} for layer '{child.name}' "
                                 f"({type(child).__name__}); it holds: "
                                 f"{_listing(h5_names(group))}")
                continue
            self.layer(h5_get(group, key, where), child, f"{path}/{key}")
        extra = [k for k in h5_names(group)
                 if k not in keys and _group_has_data(h5_get(group, k, where), where)]
        if extra:
            self.problem(f"the file has weights for layers the model does not have: "
                         f"{', '.join(f'{path}/{k}' for k in sorted(extra))}")

    def assign(self):
        """Reads every queued dataset, then writes them all into the variables."""
        values = []
        for var, ds in self.assignments:
            try:
                values.append(np.asarray(ds[()], dtype=var.dtype))
            except (OSError, RuntimeError, KeyError, ValueError) as err:
                raise ModelFileError(f"{self.where} is truncated or damaged: reading "
                                     f"{ds.name} failed ({err}).") from None
            warn_if_not_finite(values[-1], f"weight '{var.path}'", f"{self.where}:{ds.name}")
        for (var, _), value in zip(self.assignments, values):
            var.assign(value)


def warn_if_not_finite(array, what, where):
    """A UserWarning naming ``what`` when the float ``array`` read from ``where`` holds NaN
    or infinite values (they load, as in Keras, but training or predicting on them gives
    NaN)."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return
    bad = array.size - int(np.count_nonzero(np.isfinite(array)))
    if bad:
        warnings.warn(f"{what} loaded from {where} holds {bad} NaN or infinite value(s) of "
                      f"{array.size}; predictions and training with it will give NaN. The file "
                      f"was saved from a diverged run or has been tampered with.",
                      UserWarning, stacklevel=5)


def _listing(names, limit=20):
    shown = sorted(names)[:limit]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{shown}{more}"


def _kind(dtype):
    """'float' or 'int' (a Normalization's count is an int32 weight); None for anything else."""
    return {"f": "float", "i": "int", "u": "int"}.get(np.dtype(dtype).kind)


def _child_group(group, name):
    for candidate in ([name, "_layer_checkpoint_dependencies"] if name == "layers" else [name]):
        if h5_has(group, candidate):
            return h5_get(group, candidate, group.file.filename)
    return None


def _has_variables(content):
    if isinstance(content, list):
        return any(_has_variables(child) for _, child in content)
    return bool(content.weights)


def _group_has_data(node, where):
    return next(h5_walk_datasets(node, where), None) is not None


def _dataset_names(group, where) -> list[str]:
    import h5py
    names = sorted(h5_names(group),
                   key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
    for n in names:
        if not n.isdigit() or not isinstance(h5_get(group, n, where), h5py.Dataset):
            raise ModelFileError(f"{where} should hold datasets named 0, 1, ...; found {n!r}.")
    if [int(n) for n in names] != list(range(len(names))):
        raise ModelFileError(f"{where} should hold datasets 0..{len(names) - 1}; found {names}.")
    return names


def _shapes(group, names):
    return ", ".join(str(tuple(h5_get(group, n, group.name).shape)) for n in names) or "none"


def read_model(h5, model, where, skip_mismatch=False, optimizer=True):
    """Loads weights (and, if the model is compiled, optimizer state) from an open h5 File.

    Raises:
        ModelFileError: a missing group, a wrong count, shape or dtype (unless
            ``skip_mismatch``), or a damaged file.
    """
    try:
        if "layer_names" in h5.attrs or h5_has(h5, "model_weights"):
            return read_legacy(h5, model, where, skip_mismatch)
        loader = _Loader(where, skip_mismatch)
        loader.layer(h5, model, "")
        opt_state = None
        if optimizer and getattr(model, "optimizer", None) is not None and \
                h5_has(h5, "optimizer"):
            opt_group = h5_get(h5, "optimizer", where)
            if h5_has(opt_group, "vars"):
                opt_state = _read_optimizer_arrays(h5_get(opt_group, "vars", where),
                                                   f"{where}/optimizer/vars")
        loader.assign()
    except OSError as err:
        raise ModelFileError(f"{where} is truncated or damaged ({err}).") from None
    if opt_state is not None:
        restore_optimizer(model, opt_state, where)


def _read_optimizer_arrays(group, where):
    names = _dataset_names(group, where)
    arrays = []
    for n in names:
        ds = h5_get(group, n, where)
        if ds.dtype.kind not in "fiu":
            raise ModelFileError(f"{where}/{n} holds {ds.dtype} values; expected numbers.")
        arrays.append(ds)
    return arrays


def restore_optimizer(model, datasets, where):
    """Puts Keras-ordered optimizer state back into ``model.optimizer`` (building its slots).

    A file whose variable count does not fit (another optimizer, another model) is skipped
    with a warning, as Keras does; the weights are loaded either way.
    """
    opt = model.optimizer
    variables = model.trainable_variables
    has_lr = not opt.has_schedule
    base = 1 + int(has_lr)
    groups = slot_groups(opt)
    per_var = sum(len(g) for g in groups)
    extra = int(hasattr(opt, "u_product"))
    full = base + per_var * len(variables) + extra
    if len(datasets) not in (base, full):
        warnings.warn(f"{where}: the file has {len(datasets)} optimizer variables but "
                      f"'{opt.name}' ({type(opt).__name__}) on this model needs {full}; the "
                      f"optimizer state was not loaded (training restarts its moments).",
                      UserWarning, stacklevel=4)
        return
    if datasets[0].shape != () or datasets[0].dtype.kind not in "iu":
        raise ModelFileError(f"{where}/0 (iteration) must be an integer scalar; found "
                             f"{datasets[0].dtype} of shape {datasets[0].shape}.")
    scalars = [(1, "learning_rate")] if has_lr else []
    if extra and len(datasets) == full:
        scalars.append((len(datasets) - 1, "u_product"))
    for index, what in scalars:  # checked before reading: a huge "scalar" is never loaded
        if datasets[index].shape != () or datasets[index].dtype.kind not in "fiu":
            raise ModelFileError(f"{where}/{index} ({what}) must be a number (a scalar); found "
                                 f"{datasets[index].dtype} of shape {datasets[index].shape}.")
    slots_data = datasets[base:base + per_var * len(variables)]
    expected = [tuple(v.shape) for g in groups for v in variables for _ in g]
    for ds, shape in zip(slots_data, expected):
        if tuple(ds.shape) != shape or ds.dtype.kind != "f":
            raise ModelFileError(f"{where}: optimizer variable {ds.name} has shape "
                                 f"{tuple(ds.shape)} ({ds.dtype}); expected {shape} float.")
    try:
        iterations = int(datasets[0][()])
        lr = float(datasets[1][()]) if has_lr else None
        slot_values = [np.asarray(ds[()]) for ds in slots_data]
        u_product = float(datasets[-1][()]) if extra and len(datasets) == full else None
    except (OSError, RuntimeError, ValueError) as err:
        raise ModelFileError(f"{where} is truncated or damaged ({err}).") from None
    if iterations < 0:
        raise ModelFileError(f"{where}/0 (iteration) is {iterations}; a step count is >= 0.")
    if lr is not None and not (np.isfinite(lr) and lr >= 0):
        raise ModelFileError(f"{where}/1 (learning_rate) is {lr}; expected a finite number "
                             f">= 0.")
    for ds, value in zip(slots_data, slot_values):
        warn_if_not_finite(value, f"optimizer variable {ds.name}", where)
    opt.iterations = iterations
    if lr is not None and np.float32(lr) != np.float32(opt.learning_rate):
        opt.learning_rate = lr
    if len(datasets) == base:
        return
    opt.build_for(variables)
    slots_of = {id(v): opt.slots_of(v) for v in variables}
    values = iter(slot_values)
    for group in groups:
        for v in variables:
            for name in group:
                slots_of[id(v)][name][...] = next(values)
    if u_product is not None:
        opt.set_momentum_product(u_product, iterations)


# --- Keras 2 (legacy HDF5) weights ---------------------------------------------------------


def _attr_strings(attrs, name):
    """A list-of-strings attribute, joining the chunks name0, name1... Keras 2 splits large
    attributes into."""
    def strings(key):
        try:
            value = attrs[key]
        except (OSError, RuntimeError, TypeError, ValueError) as err:
            raise ModelFileError(f"attribute {key} cannot be read from the file "
                                 f"({err}).") from None
        if isinstance(value, (str, bytes)):
            value = [value]
        value = np.asarray(value)
        if value.size == 0:
            return []
        if value.ndim != 1 or value.dtype.kind not in "SUO":
            raise ModelFileError(f"attribute {key} should be a list of names; found "
                                 f"{value.dtype} of shape {value.shape}.")
        out = []
        for v in value:
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf8")
                except UnicodeDecodeError:
                    raise ModelFileError(f"attribute {key} holds a name that is not UTF-8: "
                                         f"{v[:60]!r}.") from None
            elif not isinstance(v, str):
                raise ModelFileError(f"attribute {key} holds a {type(v).__name__}, not a name.")
            out.append(v)
        return out

    if name in attrs:
        return strings(name)
    values, i = [], 0
    while f"{name}{i}" in attrs:
        values.extend(strings(f"{name}{i}"))
        i += 1
    return values


def read_legacy(h5, model, where, skip_mismatch=False):
    """Loads weights from a Keras 2 HDF5 file (``save_weights('w.h5')`` or the
    ``model_weights`` group of ``model.save('m.h5')``), matching layers with weights in order.
    """
    import h5py
    group = h5_get(h5, "model_weights", where) if h5_has(h5, "model_weights") else h5
    loader = _Loader(where, skip_mismatch)
    file_layers = []
    for name in _attr_strings(group.attrs, "layer_names"):
        if not h5_has(group, name):
            raise ModelFileError(f"{where}: layer_names lists {name!r} but there is no such group.")
        weight_names = _attr_strings(h5_get(group, name, where).attrs, "weight_names")
        if weight_names:
            file_layers.append((name, weight_names))
    model_layers = [layer for layer in model.layers if legacy_weights(layer)]
    if len(file_layers) != len(model_layers):
        loader.problem(f"the file has weights for {len(file_layers)} layers "
                       f"({[n for n, _ in file_layers]}); the model has {len(model_layers)} "
                       f"layers with weights ({[layer.name for layer in model_layers]})")
    for (name, weight_names), layer in zip(file_layers, model_layers):
        variables = legacy_weights(layer)
        label = f"'{layer.name}' ({type(layer).__name__})"
        if len(weight_names) != len(variables):
            loader.problem(f"layer {label} expects {len(variables)} weight(s); the file's "
                           f"{name} has {len(weight_names)}")
            continue
        for wname, var in zip(weight_names, variables):
            ds = h5_get(h5_get(group, name, where), wname, where)
            if not isinstance(ds, h5py.Dataset) or tuple(ds.shape) != tuple(var.shape) or ds.dtype.kind != "f":
                loader.problem(f"weight '{var.path}' of layer {label} has shape "
                               f"{tuple(var.shape)}; the file's {name}/{wname} has "
                               f"{tuple(ds.shape)} ({ds.dtype})")
                break
            loader.assignments.append((var, ds))
    loader.assign()


def legacy_model_config(h5, where):
    """The ``model_config`` JSON of a Keras 2 whole-model ``.h5`` file, or None."""
    raw = h5.attrs.get("model_config")
    if raw is None:
        return None
    return parse_json_text(raw, where, "model_config")
