"""``save_model`` / ``load_model`` / ``save_weights`` / ``load_weights``, with Keras 3's rules.

File names decide the format, as in Keras 3 (keras/src/saving/saving_api.py):

===================  =========================================  ================================
name ends in         written by                                 read by
===================  =========================================  ================================
``.keras``           ``model.save`` (zip: metadata.json,        ``load_model``, ``load_weights``
                     config.json, model.weights.h5)
``.weights.h5``      ``model.save_weights`` (HDF5, Keras 3      ``load_weights``
                     layout, with the optimizer state)
``.h5`` / ``.hdf5``  ``model.save`` (the legacy whole-model     ``load_model``, ``load_weights``
                     HDF5 layout of Keras 2, which Keras 3      (Keras 2 or 3 layout)
                     still writes and reads)
===================  =========================================  ================================

Every file is written to a temporary name in the same folder and renamed over the target
only when complete, so an interrupted save never leaves a broken file where a good one was.
"""
from __future__ import annotations

import datetime
import json
import os
import warnings
import zipfile

from tomei.keras import serialization
from tomei.keras.saving import h5_layout, model_config, safety
from tomei.keras.saving.safety import ModelFileError
from tomei.keras.utils.atomic_write import atomic_path, temp_path_beside

KERAS_FORMAT_VERSION = "3.15.1"  # the Keras release whose .keras layout tomei writes
CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


def _fspath(filepath, argument="filepath"):
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"{argument} must be a str or os.PathLike file name; received "
                        f"{type(filepath).__name__}.") from None


def _split_name(path):
    """``(folder, name)`` of ``path``; the folder ('' when none) is kept in suggested names."""
    trimmed = path.rstrip("/\\") or path
    folder, name = os.path.split(trimmed)
    return folder, name or trimmed


def _in_folder(folder, name):
    return os.path.join(folder, name) if folder else name


def _check_save_path(path):
    lower = path.lower()
    if lower.endswith(".keras") or (lower.endswith((".h5", ".hdf5")) and
                                    not lower.endswith(".weights.h5")):
        return
    folder, name = _split_name(path)
    stem = name[:-len(".weights.h5")] if lower.endswith(".weights.h5") else name.split(".")[0]
    keras_file = _in_folder(folder, f"{stem}.keras")
    if lower.endswith(".weights.h5"):
        hint = (f"To save only the weights, call model.save_weights({path!r}); to save the "
                f"whole model, model.save({keras_file!r}).")
    elif os.path.splitext(name)[1] == "":
        hint = (f"A name without an extension meant a TensorFlow SavedModel folder in Keras 2; "
                f"Keras 3 and tomei do not write those. Use model.save({keras_file!r}).")
    else:
        hint = f"Use model.save({keras_file!r})."
    raise ValueError(f"model.save: the file name must end in '.keras' (the Keras 3 model "
                     f"format); received filepath={path!r}. {hint}")


def _check_weights_path(path, call="save_weights"):
    if path.lower().endswith(".weights.h5"):
        return
    folder, name = _split_name(path)
    stem = name.split(".")[0] or "model"
    raise ValueError(f"{call}: the file name must end in '.weights.h5'; received "
                     f"filepath={path!r}. Use model.{call}"
                     f"({_in_folder(folder, stem + '.weights.h5')!r}), or "
                     f"model.save({_in_folder(folder, stem + '.keras')!r}) to save the whole "
                     f"model (architecture, weights and optimizer state).")


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists and overwrite=False. Pass overwrite=True "
                              f"to replace it, or choose another name.")


def _check_built(model, what):
    if not model.built:
        raise ValueError(f"{what}: the model has not been built yet, so it has no weights. "
                         f"Build it first: call it on data, fit it, or give it an input shape "
                         f"(Input(shape=...) or input_shape= on the first layer).")


def _makedirs(path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)


# --- save ------------------------------------------------------------------------------------


def save_model(model, filepath, overwrite=True, **kwargs):
    """Saves ``model`` as a Keras 3 ``.keras`` archive that Keras 3 can load too.

    The zip holds (uncompressed, as Keras writes it) ``metadata.json``
    {"keras_version", "date_saved", "tomei_version"} (plus "tomei": {"class_names", "dataset"}
    when ``model.class_names`` / ``model.dataset_name`` are set; Keras 3 does not read this
    file, so it still opens the archive), ``config.json`` (the architecture and
    ``compile_config``) and ``model.weights.h5`` (weights and optimizer state in Keras's HDF5
    layout; see :mod:`tomei.keras.saving.h5_layout`). Format: docs/keras_facts.md.

    Args:
        model: a built Model. filepath: str or PathLike ending in ``.keras``.
        overwrite: default True; False raises FileExistsError if the file exists (Keras
            would ask on the terminal instead).
        **kwargs: ``zipped=True`` and ``include_optimizer=True`` are accepted (Keras names).

    Raises:
        ValueError: a name not ending in ``.keras`` (the message says which call to use), or
            an unbuilt model. FileExistsError: overwrite=False and the file exists.
    """
    path = _fspath(filepath)
    _check_save_path(path)
    include_optimizer = kwargs.pop("include_optimizer", True)
    zipped = kwargs.pop("zipped", True)
    if kwargs:
        raise TypeError(f"model.save() / save_model() got unexpected keyword argument(s): "
                        f"{', '.join(kwargs)}. It takes filepath, overwrite, zipped and "
                        f"include_optimizer.")
    if not zipped:
        raise NotImplementedError("save_model(zipped=False) (an unzipped folder) is not "
                                  "supported; tomei writes the .keras zip.")
    _check_built(model, "model.save")
    if os.path.isdir(path):
        raise IsADirectoryError(f"filepath: {path!r} is a folder; model.save writes a file. "
                                f"Pick another name or remove the folder.")
    _check_overwrite(path, overwrite)
    if path.lower().endswith((".h5", ".hdf5")):
        return _save_legacy(model, path, include_optimizer)
    config = model_config.model_to_config(model)
    from tomei.version import __version__
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "tomei_version": __version__}
    extensions = _extensions_of(model)
    if extensions:
        metadata["tomei"] = extensions
    _makedirs(path)
    with atomic_path(path) as tmp_zip:
        tmp_h5 = temp_path_beside(path)  # a second temporary file, removed in any case
        try:
            _write_h5(tmp_h5, model, "compiled" if include_optimizer else "never")
            with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(METADATA, json.dumps(metadata))
                archive.writestr(CONFIG, json.dumps(config))
                archive.write(tmp_h5, WEIGHTS)
        finally:
            _remove_quietly(tmp_h5)


def _save_legacy(model, path, include_optimizer):
    """``model.save('name.h5')``: the legacy whole-model HDF5 file (Keras 2's layout, which
    Keras 3 also writes and loads), with a warning that it is legacy, as Keras gives."""
    warnings.warn(f"Saving {path} in the legacy HDF5 model format. It works in tomei, Keras 2 "
                  f"and Keras 3, but the native format is model.save('...keras').",
                  UserWarning, stacklevel=3)
    entry = model_config.model_to_config(model)
    metadata = {"keras_version": KERAS_FORMAT_VERSION, "backend": LEGACY_BACKEND,
                "model_config": {"class_name": entry["class_name"],
                                 "config": _legacy_layer_config(entry["config"])}}
    training = entry.get("compile_config")
    if training is not None and include_optimizer:
        training = dict(training)
        optimizer = training.pop("optimizer")
        training = {k: _legacy_object(v) for k, v in training.items()}
        training["optimizer_config"] = {"class_name": optimizer["class_name"],
                                        "config": optimizer["config"]}
        metadata["training_config"] = training
    _makedirs(path)
    import h5py
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5_layout.write_legacy(h5, model, metadata, optimizer=include_optimizer)


LEGACY_BACKEND = "numpy"  # the Keras backend name closest to tomei (NumPy, CPU)


def _legacy_object(node):
    """A serialized object (or list of them) in the legacy form: {"class_name", "config"}."""
    if isinstance(node, list):
        return [_legacy_object(v) for v in node]
    if isinstance(node, dict) and "class_name" in node and "config" in node:
        return {"class_name": node["class_name"], "config": node["config"]}
    return node


def _legacy_layer_config(config):
    """A model config whose ``layers`` entries are in the legacy form (no module,
    registered_name or build_config), nested models included; other values stay as Keras 3
    writes them (Keras's legacy writer keeps dtype policies and initializers as objects)."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        return config
    layers = []
    for layer in config["layers"]:
        entry = {k: v for k, v in layer.items()
                 if k not in ("module", "registered_name", "build_config", "compile_config")}
        entry["config"] = _legacy_layer_config(entry.get("config"))
        layers.append(entry)
    return {**config, "layers": layers}


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_h5(path, model, optimizer):
    import h5py
    with h5py.File(path, "w") as h5:
        h5_layout.write_model(h5, model, optimizer=optimizer)


def save_weights(model, filepath, overwrite=True):
    """Saves the weights (and the optimizer state, once it exists) to ``.weights.h5``.

    Layout: Keras 3's HDF5 layout, identical to ``model.weights.h5`` inside a ``.keras``
    file, so Keras's ``load_weights`` reads it (docs/keras_facts.md).

    Raises:
        ValueError: a name not ending in ``.weights.h5``, or an unbuilt model.
        FileExistsError: overwrite=False and the file exists.
    """
    path = _fspath(filepath)
    _check_weights_path(path, "save_weights")
    _check_built(model, "save_weights")
    _check_overwrite(path, overwrite)
    _makedirs(path)
    with atomic_path(path) as tmp:
        _write_h5(tmp, model, "built")
    return None


# --- load ------------------------------------------------------------------------------------


def _existing_file(path, call):
    if os.path.isdir(path):
        raise ValueError(f"{call}: {path} is a folder. Keras 2 SavedModel folders are "
                         f"TensorFlow's format; tomei and Keras 3 read .keras files.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{call}: no such file: {path}")
    return safety.file_kind(path)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``model.save`` (tomei or Keras 3): architecture, weights,
    compile configuration and optimizer state.

    Nothing in the file is executed: classes are found by name among tomei's, the ones
    registered with ``register_keras_serializable`` and ``custom_objects``.

    Args:
        filepath: a ``.keras`` file (or a Keras 2 ``.h5`` whole-model file).
        custom_objects: optional {name: class or function} for your own layers, losses,
            metrics and activations.
        compile: default True: compile the model as it was saved and restore the optimizer
            state; False loads architecture and weights only.
        safe_mode: default True. Lambdas are refused in either mode: tomei never runs code
            stored in a file.

    Returns:
        The model (Sequential, Functional, or your registered Model subclass).

    Raises:
        FileNotFoundError: no such file. ModelFileError (a ValueError): a truncated, damaged,
        incomplete or unsafe file, an unknown class or function (the message shows the
        ``custom_objects`` fix), or weights that do not fit. ValueError: an unsupported name.
    """
    path = _fspath(filepath)
    kind = _existing_file(path, "load_model")
    lower = path.lower()
    if kind == "hdf5" and lower.endswith((".h5", ".hdf5")) and not lower.endswith(".weights.h5"):
        return _load_legacy_model(path, custom_objects, compile)
    if lower.endswith(".weights.h5"):
        raise ValueError(f"load_model: {path} holds weights only. Build the model in code, then "
                         f"call model.load_weights({path!r}).")
    if not lower.endswith(".keras"):
        raise ValueError(f"load_model: the file name must end in '.keras' (or '.h5' for Keras 2 "
                         f"files); received filepath={path!r}.")
    if kind != "zip":
        what = {"empty": "empty", "hdf5": "an HDF5 file, not a zip"}.get(kind, "not a zip archive")
        raise ModelFileError(f"{path} is {what}; a .keras file is a zip archive (the file is "
                             f"damaged, truncated, or was renamed).")
    with safety.open_archive(path) as archive:
        config = _read_json(archive, CONFIG, path)
        extensions = {}
        if METADATA in archive.namelist():
            extensions = _read_extensions(_read_json(archive, METADATA, path), path)
        if WEIGHTS not in archive.namelist() and "model.weights.npz" in archive.namelist():
            raise ModelFileError(f"{path} stores its weights as model.weights.npz (pickled "
                                 f"arrays); tomei never loads pickles. Re-save it with "
                                 f"model.save() in Keras, which writes model.weights.h5.")
        safety.member_info(archive, WEIGHTS, path)
        where = f"{path}/{WEIGHTS}"
        with safety.member_as_file(archive, WEIGHTS, path) as fh, safety.h5_open(fh, where) as h5:
            model = _build_within_file(h5, where, config, custom_objects, compile, safe_mode,
                                       path)
            _read_open_h5(h5, model, where, skip_mismatch=False, optimizer=compile)
        _read_vocabulary_assets(archive, model, path)
    for name, value in extensions.items():
        setattr(model, name, value)
    return model


def _read_vocabulary_assets(archive, model, path):
    """Keras stores an adapted lookup layer's vocabulary (TextVectorization) as the text file
    ``assets/<layer path>/vocabulary.txt``, one token per line; the layer reads it back."""
    names = set(archive.namelist())
    for layer_path, layer in h5_layout.layer_paths(model):
        member = f"assets/{layer_path}/vocabulary.txt"
        if member in names and hasattr(layer, "load_vocabulary_asset"):
            raw = safety.read_member(archive, member, path)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ModelFileError(f"{path}: {member} is not UTF-8 text ({err}).") from None
            layer.load_vocabulary_asset(text)


def _build_within_file(h5, where, config, custom_objects, compile, safe_mode, path):
    """model_from_config, refusing (before allocating) weights the file does not store."""
    from tomei.keras.layers.layer import weight_budget
    with weight_budget(safety.h5_stored_values(h5, where), ModelFileError):
        return model_from_config(config, custom_objects, compile, safe_mode, where=path)


# The tomei extensions are kept in metadata.json under "tomei" (Keras 3 never reads that file):
# {"class_names": [str, ...], "dataset": str}. Limits, because the file is untrusted:
_MAX_CLASS_NAMES = 100_000
_MAX_NAME_CHARS = 200


def _extensions_of(model):
    """The model's tomei extensions to save: {'class_names': [...], 'dataset': 'mnist'}."""
    saved = {}
    names = getattr(model, "class_names", None)
    if names is not None:
        names = [str(name) for name in names]
        if len(names) > _MAX_CLASS_NAMES or any(len(n) > _MAX_NAME_CHARS for n in names):
            raise ValueError(f"model.class_names: expected at most {_MAX_CLASS_NAMES:,} names "
                             f"of at most {_MAX_NAME_CHARS} characters each.")
        saved["class_names"] = names
    dataset = getattr(model, "dataset_name", None)
    if dataset is not None:
        saved["dataset"] = str(dataset)[:_MAX_NAME_CHARS]
    return saved


def _read_extensions(metadata, path):
    """The tomei extensions of a metadata.json, checked (a bad entry is ignored with a warning,
    as it only affects what the commands print)."""
    raw = metadata.get("tomei")
    if raw is None:
        return {}
    found = {}
    names = raw.get("class_names") if isinstance(raw, dict) else None
    dataset = raw.get("dataset") if isinstance(raw, dict) else None
    names_ok = names is None or (
        isinstance(names, list) and len(names) <= _MAX_CLASS_NAMES
        and all(isinstance(n, str) and len(n) <= _MAX_NAME_CHARS for n in names))
    dataset_ok = dataset is None or (isinstance(dataset, str) and len(dataset) <= _MAX_NAME_CHARS)
    if not (isinstance(raw, dict) and names_ok and dataset_ok):
        warnings.warn(f"{path}: metadata.json has a malformed 'tomei' entry (class names, "
                      f"dataset); it is ignored.", UserWarning, stacklevel=3)
        return {}
    if names is not None:
        found["class_names"] = list(names)
    if dataset is not None:
        found["dataset_name"] = dataset
    return found


def _read_json(archive, name, path):
    return safety.parse_json_text(safety.read_member(archive, name, path), path, name)


def model_from_config(config, custom_objects=None, compile=True, safe_mode=True, where="config"):
    """Builds (and optionally compiles) a model from a Keras 3 model config dict.

    Raises:
        ModelFileError: anything in the config that tomei cannot or will not build (an
            unknown class, a lambda, a wrong type or value anywhere): never a raw KeyError,
            TypeError, AttributeError or RecursionError.
    """
    if not isinstance(config, dict):
        raise ModelFileError(f"Cannot rebuild the model from {where}: the config should be a "
                             f"JSON object; found {type(config).__name__}.")
    try:
        return _model_from_config(config, custom_objects, compile, safe_mode, where)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError,
            OverflowError) as err:
        what = "it nests too deeply" if isinstance(err, RecursionError) else str(err) \
            if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        raise ModelFileError(f"Cannot rebuild the model from {where}: {what}") from None


def _model_from_config(config, custom_objects, compile, safe_mode, where):
    compile_cfg = config.get("compile_config") if compile else None
    checked = {k: v for k, v in config.items() if k != "compile_config"}
    if compile_cfg:
        checked["compile_config"] = compile_cfg
    model_config.check_config(checked, custom_objects, safe_mode, where)
    prepared = model_config.prepare(checked, custom_objects, where)
    with serialization.custom_object_scope(custom_objects):
        cls = model_config.lookup_class(prepared, custom_objects, where, "")
        cfg = prepared.get("config") or {}
        if hasattr(cls, "from_config"):
            try:
                model = cls.from_config(cfg, custom_objects=custom_objects)
            except TypeError:
                model = cls.from_config(cfg)
        else:  # pragma: no cover - every tomei class has from_config
            model = cls(**cfg)
        build = (prepared.get("build_config") or {}).get("input_shape")
        if not model.built and build:
            model.build(tuple(build))
        if compile_cfg:
            model_config.compile_from_config(model, prepared["compile_config"], where)
    return model


def _read_h5(fileobj_or_path, model, where, skip_mismatch, optimizer=True):
    with safety.h5_open(fileobj_or_path, where) as h5:
        _read_open_h5(h5, model, where, skip_mismatch, optimizer)


def _read_open_h5(h5, model, where, skip_mismatch, optimizer=True):
    try:
        h5_layout.read_model(h5, model, where, skip_mismatch=skip_mismatch, optimizer=optimizer)
    except RecursionError:
        raise ModelFileError(f"Refusing {where}: its groups nest too deeply.") from None


def load_weights(model, filepath, skip_mismatch=False):
    """Loads weights into ``model`` from ``.weights.h5``, a ``.keras`` file, or a Keras 2
    ``.h5`` weights file. When the model is compiled and the file has optimizer state for it,
    the optimizer state is restored too.

    Args:
        skip_mismatch: default False. True skips (with a warning) layers whose weight count or
            shapes differ instead of raising.

    Raises:
        FileNotFoundError: no such file. ValueError: an unsupported file name.
        ModelFileError: a damaged file, or weights that do not fit (count, shape, dtype,
        missing layers); nothing is assigned in that case.
    """
    path = _fspath(filepath)
    kind = _existing_file(path, "load_weights")
    _check_built(model, "load_weights")
    lower = path.lower()
    if lower.endswith(".keras"):
        if kind != "zip":
            raise ModelFileError(f"{path} is not a zip archive; a .keras file is one.")
        with safety.open_archive(path) as archive, \
                safety.member_as_file(archive, WEIGHTS, path) as fh:
            _read_h5(fh, model, f"{path}/{WEIGHTS}", skip_mismatch)
        return
    if not lower.endswith((".h5", ".hdf5")):
        raise ValueError(f"load_weights: the file name must end in '.weights.h5' (or '.keras', or "
                         f"'.h5' for Keras 2 files); received filepath={path!r}.")
    if kind != "hdf5":
        raise ModelFileError(f"{path} is not an HDF5 file (it is {kind}); it is damaged or was "
                             f"renamed.")
    _read_h5(path, model, path, skip_mismatch)


def _load_legacy_model(path, custom_objects, compile):
    """A Keras 2 whole-model .h5: the model_config attribute, then the weights."""
    with safety.h5_open(path, path) as h5:
        config = h5_layout.legacy_model_config(h5, path)
        if config is None:
            raise ValueError(f"load_model: {path} holds weights only (no model_config). Build "
                             f"the model in code, then call model.load_weights({path!r}).")
        model = _build_within_file(h5, path, _upgrade_legacy(config), custom_objects, False,
                                   True, path)
        h5_layout.read_legacy(h5, model, path)
        training = h5.attrs.get("training_config") if compile else None
        if training is not None:
            _compile_legacy(model, training, custom_objects, path)
            if getattr(model, "compiled", False):
                h5_layout.read_legacy_optimizer(h5, model, path)
    return model


def _compile_legacy(model, raw, custom_objects, path):
    """compile() from a legacy file's training_config; a warning if tomei cannot."""
    import warnings
    try:
        cfg = safety.parse_json_text(raw, path, "training_config")
        opt = cfg.get("optimizer_config")
        if isinstance(opt, dict) and "module" not in opt:
            opt = {**opt, "module": "keras.optimizers"}
        compile_cfg = {"optimizer": opt, "loss": cfg.get("loss"), "metrics": cfg.get("metrics"),
                       "loss_weights": cfg.get("loss_weights"),
                       "weighted_metrics": cfg.get("weighted_metrics")}
        model_config.check_config(compile_cfg, custom_objects, where=path)
        prepared = model_config.prepare(compile_cfg, custom_objects, path)
        with serialization.custom_object_scope(custom_objects):
            model_config.compile_from_config(model, prepared, path)
    except (ValueError, TypeError, AttributeError) as err:
        warnings.warn(f"{path}: tomei loaded the architecture and weights of this legacy HDF5 "
                      f"file but could not compile it from its training_config ({err}). Call "
                      f"compile() yourself before fit().", UserWarning, stacklevel=4)


def _upgrade_legacy(config):
    """Keras 2 configs name no modules; add them so the lookups use the right registry."""
    def walk(node, module):
        if isinstance(node, list):
            return [walk(v, module) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v, module) for k, v in node.items()}
        if "class_name" in out and "config" in out and "module" not in out:
            out["module"] = module
        return out
    upgraded = walk(config, "keras.layers")
    upgraded["module"] = "keras"
    return upgraded
