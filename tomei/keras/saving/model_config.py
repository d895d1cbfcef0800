"""A model as Keras 3's ``config.json``, and back, without running anything from the file.

Writing follows what Keras 3.15 writes (docs/keras_facts.md, 'The .keras file'): every object is
``{"module", "class_name", "config", "registered_name"}``, built layers carry
``"build_config": {"input_shape": [...]}``, the model carries ``build_config`` and, when
compiled, ``compile_config`` {optimizer, loss, loss_weights, metrics, weighted_metrics,
run_eagerly, steps_per_execution, jit_compile}. Functions (a loss given as a function, a
custom activation) are written as Keras does: ``{"module": "builtins", "class_name":
"function", "config": "<name>", "registered_name": "function"}``.

Reading first walks the whole config (:func:`check_config`): every class must be a tomei
class, a registered one or one given in ``custom_objects``; Python lambdas (Keras writes
their bytecode) are refused. Only then are objects built, by name lookup. Keras-only keys
tomei does not implement are dropped when they hold their "off" value (``None``) and
refused otherwise, never silently ignored.
"""
from __future__ import annotations

import copy
import inspect

from tomei.keras import serialization
from tomei.keras.saving.safety import ModelFileError

FUNCTION = "function"
_SPECIAL = {"__keras_tensor__", "DTypePolicy", "FloatDTypePolicy", "__tensor__", "__numpy__",
            "__bytes__", "__tuple__", "__ellipsis__", "__slice__"}
# Keras keys with no tomei meaning; dropped when they hold this "off" value.
_HARMLESS = {"sparse": False, "ragged": False, "optional": False, "autocast": True,
             "synchronized": False, "rms_scaling": False}


# --- writing ---------------------------------------------------------------------------------


def model_to_config(model) -> dict:
    """The model as Keras 3's config.json dict (with build_config and compile_config)."""
    entry = serialize_layer(model)
    entry["build_config"] = model.get_build_config()
    compiled = compile_config(model)
    if compiled is not None:
        entry["compile_config"] = compiled
    return entry


def serialize_layer(layer, input_shape=None) -> dict:
    """``serialization.serialize(layer)`` completed to the Keras 3 form, recursively for
    nested models."""
    from tomei.keras.layers.core import InputLayer
    if serialization.is_registered_instance(layer, "Sequential"):
        entry = serialization.serialize(layer)
        cfg = entry["config"]
        shape = layer.input_layer.batch_shape if layer.input_layer is not None else None
        layers = []
        if layer.input_layer is not None:
            layers.append(serialization.serialize(layer.input_layer))
        for sub in layer.layers:
            layers.append(serialize_layer(sub, shape if sub.built else None))
            if shape is not None:
                shape = getattr(sub, "_output_shape", None) or sub.compute_output_shape(shape)
        cfg["layers"] = layers
    elif serialization.is_registered_instance(layer, "Functional"):
        entry = {"module": "keras.src.models.functional", "class_name": "Functional",
                 "config": layer.get_config(), "registered_name": "Functional"}
        for sub_entry, sub in zip(entry["config"]["layers"], layer.layers):
            if any(serialization.is_registered_instance(sub, kind)
                   for kind in ("Sequential", "Functional")):
                nested = serialize_layer(sub)
                sub_entry.update({k: nested[k] for k in ("module", "class_name", "config",
                                                         "registered_name")})
    else:
        entry = serialization.serialize(layer)
        entry["config"].pop("batch_input_shape", None)  # the model's InputLayer has the shape
        if input_shape is not None and not isinstance(layer, InputLayer):
            entry["build_config"] = {"input_shape": _jsonable_shape(input_shape)}
    _functions_to_keras(entry["config"])
    return entry


def _jsonable_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _functions_to_keras(cfg):
    """Custom activation names become Keras function dicts, so Keras finds them in its own
    custom_objects; built-in names stay strings, as Keras writes them."""
    from tomei.keras import activations
    if not isinstance(cfg, dict):
        return
    for key, value in cfg.items():
        if key == "activation" and isinstance(value, str) and value not in activations._ALL \
                and value != "__lambda__":
            cfg[key] = function_config(value)
        elif isinstance(value, dict):
            _functions_to_keras(value)


def function_config(name: str, module: str = "builtins") -> dict:
    """Keras 3's config entry for a function referred to by ``name`` (a ``__function__`` dict)."""
    return {"module": module, "class_name": FUNCTION, "config": name, "registered_name": FUNCTION}


def _serialize_spec(spec):
    """Loss/metric specs in compile(): strings stay, objects become dicts, functions by name."""
    if spec is None or isinstance(spec, (str, int, float, bool)):
        return spec
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(s) for s in spec]
    if isinstance(spec, dict):
        return {k: _serialize_spec(v) for k, v in spec.items()}
    if inspect.isfunction(spec) or inspect.isbuiltin(spec):
        if spec.__name__ == "<lambda>":
            return {"class_name": "__lambda__", "config": None}
        return function_config(spec.__name__)
    if isinstance(spec, type):
        return spec.__name__
    if hasattr(spec, "fn") and inspect.isfunction(getattr(spec, "fn", None)) and \
            type(spec).__name__ == "LossFunctionWrapper":
        return _serialize_spec(spec.fn)
    return serialization.serialize(spec)


def compile_config(model) -> dict | None:
    """compile()'s arguments in Keras 3's compile_config form, or None if not compiled."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    return {"optimizer": serialization.serialize(model.optimizer),
            "loss": _serialize_spec(getattr(model, "_loss_spec", None)),
            "loss_weights": copy.deepcopy(getattr(model, "_loss_weights", None)),
            "metrics": _serialize_spec(getattr(model, "_metric_specs", None)),
            "weighted_metrics": _serialize_spec(getattr(model, "_weighted_metric_specs", None)),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


# --- checking --------------------------------------------------------------------------------


def _is_object(node):
    return isinstance(node, dict) and isinstance(node.get("class_name"), str) and "config" in node


def _is_lambda(node):
    if isinstance(node, str):
        return node == "__lambda__"
    if not isinstance(node, dict):
        return False
    if node.get("class_name") == "__lambda__":
        return True
    # Keras writes a lambda activation as {"value": [base64 bytecode, defaults, closure]}.
    return "class_name" not in node and ("code" in node or (
        set(node) == {"value"} and isinstance(node["value"], list)))


def _owner(path):
    return path or "the model"


def check_config(config, custom_objects=None, safe_mode=True, where="the file"):
    """Refuses lambdas and unknown classes anywhere in ``config`` before anything is built.

    Lambdas are looked for first, in the whole config, so that a file naming both a lambda
    and an unknown class (Keras's ``Lambda`` layer) is refused for the lambda.

    Raises:
        ModelFileError: a lambda (in any mode: tomei never runs code from a file) or a class or
            function that is neither tomei's, registered, nor in ``custom_objects``.
    """
    def find_lambda(node, path, owner):
        if _is_lambda(node):
            return path, owner
        children = enumerate(node) if isinstance(node, list) else \
            node.items() if isinstance(node, dict) else ()
        if isinstance(node, dict) and _is_object(node) and node["class_name"] not in _SPECIAL:
            name = _config_name(node)
            owner = f"{node['class_name']} ('{name}')" if name else node["class_name"]
        for key, value in children:
            if key in ("module", "class_name", "registered_name"):
                continue
            sub = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
            found = find_lambda(value, sub, owner)
            if found:
                return found
        return None

    found = find_lambda(config, "", "the model")
    if found:
        path, owner = found
        mode = "" if safe_mode else " (safe_mode=False does not change this)"
        raise ModelFileError(
            f"Refusing to load {where}: it contains a Python lambda (class '__lambda__') at "
            f"{_owner(path)}, inside {owner}. Loading it would run code stored in the file, "
            f"which tomei never does{mode}. Define the function in your script and pass it, or "
            f"the class that uses it, through custom_objects, e.g. load_model(path, "
            f"custom_objects={{'{owner.split(' ')[0]}': ...}}).")

    def walk(node, path):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
            return
        if not isinstance(node, dict):
            return
        if _is_object(node) and node["class_name"] not in _SPECIAL:
            if node["class_name"] == FUNCTION:
                resolve_function(node.get("config"), custom_objects, where, path)
            else:
                lookup_class(node, custom_objects, where, path)
        for key, value in node.items():
            if key not in ("module", "class_name", "registered_name"):
                walk(value, f"{path}.{key}" if path else key)
    walk(config, "")


def _config_name(node):
    cfg = node.get("config")
    return cfg.get("name") if isinstance(cfg, dict) else None


def lookup_class(node, custom_objects, where, path):
    """The class a config dict names (by class_name, or its registered_name)."""
    custom = {**serialization.custom_objects_in_scope(), **(custom_objects or {})}
    registered = node.get("registered_name")
    if isinstance(registered, str) and registered in custom:
        return custom[registered]
    module = node.get("module") or ""
    if not module.startswith("keras"):  # a user's module: say what kind of object it is
        module = _kind_from_path(path)
    try:
        return serialization.lookup(node["class_name"], module, custom)
    except ValueError as err:
        name = node["class_name"]
        raise ModelFileError(
            f"Cannot load {where}: {err} Found at {_owner(path)}. A class you wrote can also "
            f"be registered once with @tomei.keras.saving.register_keras_serializable(), or "
            f"given for one load with load_model(path, custom_objects={{'{name}': {name}}}).") \
            from None


def _kind_from_path(path):
    for word, module in (("loss", "keras.losses"), ("metrics", "keras.metrics"),
                         ("optimizer", "keras.optimizers"), ("initializer", "keras.initializers"),
                         ("regularizer", "keras.regularizers"), ("constraint", "keras.constraints"),
                         ("layers", "keras.layers")):
        if word in path.rsplit(".", 1)[-1] or (word == "layers" and "layers[" in path):
            return module
    return "keras.models"


def resolve_function(name, custom_objects, where, path=""):
    """A function a config names: from custom_objects, registered objects, or tomei's
    activations, losses and metrics (in that order)."""
    from tomei.keras import activations, losses, metrics
    custom = {**serialization.custom_objects_in_scope(), **(custom_objects or {})}
    if not isinstance(name, str):
        raise ModelFileError(f"Cannot load {where}: a function at {_owner(path)} has no name "
                             f"(received {name!r}).")
    if name in custom:
        return custom[name]
    if name in activations._ALL:
        return activations._ALL[name]
    for module in (losses, metrics):
        fn = getattr(module, name, None)
        if inspect.isfunction(fn) and not name.startswith("_"):
            return fn
    raise ModelFileError(
        f"Cannot load {where}: it uses a function named '{name}' (at {_owner(path)}) that tomei "
        f"does not know. If it is yours, pass it when loading: "
        f"load_model(path, custom_objects={{'{name}': {name}}}).")


# --- preparing configs for tomei's constructors ----------------------------------------------


def prepare(config, custom_objects=None, where="the file"):
    """A copy of ``config`` ready for from_config: functions resolved to callables, custom
    activation names resolved, Keras-only keys dropped (or refused when switched on)."""
    config = copy.deepcopy(config)
    return _prepare(config, custom_objects, where, "")


def _prepare(node, custom_objects, where, path):
    if isinstance(node, list):
        return [_prepare(v, custom_objects, where, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if _is_object(node) and node["class_name"] == FUNCTION:
        return resolve_function(node.get("config"), custom_objects, where, path)
    out = {}
    for key, value in node.items():
        sub = f"{path}.{key}" if path else key
        if key == "activation" and isinstance(value, str):
            out[key] = _activation(value, custom_objects, where, sub)
        else:
            out[key] = _prepare(value, custom_objects, where, sub)
    if _is_object(out) and out["class_name"] not in _SPECIAL and isinstance(out["config"], dict):
        cls = lookup_class(out, custom_objects, where, path)
        out["config"] = _fit_arguments(cls, out["config"], where, path)
    return out


def _activation(name, custom_objects, where, path):
    from tomei.keras import activations
    if name in activations._ALL:
        return name
    return resolve_function(name, custom_objects, where, path)


def _accepted(cls):
    """Keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up the base classes
    (tomei's base classes take ``**kwargs`` only to reject unknown names)."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # pragma: no cover - builtins
            return None
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def _fit_arguments(cls, cfg, where, path):
    """Drops Keras keys that cls does not take when they are off; refuses them otherwise.

    Classes with their own from_config (models, metric wrappers) read their config
    themselves and are left alone.
    """
    model_class = serialization.registered("keras").get("Model")
    if not isinstance(cls, type) or (model_class is not None and issubclass(cls, model_class)) \
            or "from_config" in vars(cls):
        return cfg
    accepted = _accepted(cls)
    out = {}
    for key, value in cfg.items():
        if key in accepted:
            out[key] = value
        elif value is None or _HARMLESS.get(key, object()) == value:
            continue
        else:
            raise ModelFileError(
                f"Cannot load {where}: {cls.__name__} at {_owner(path)} sets {key}={value!r}, "
                f"a Keras feature tomei does not implement.")
    return out


# --- compile ---------------------------------------------------------------------------------


def _deserialize_spec(spec, module):
    if spec is None or isinstance(spec, (str, int, float, bool)) or callable(spec):
        return spec
    if isinstance(spec, list):
        return [_deserialize_spec(s, module) for s in spec]
    if _is_object(spec):
        return serialization.deserialize(spec, module)
    if isinstance(spec, dict):
        return {k: _deserialize_spec(v, module) for k, v in spec.items()}
    return spec


def compile_from_config(model, cfg, where):
    """``model.compile(...)`` from a (prepared) compile_config."""
    from tomei.keras import optimizers
    try:
        optimizer = cfg.get("optimizer", "rmsprop")
        optimizer = optimizers.get(optimizer) if not _is_object(optimizer) else \
            serialization.deserialize(optimizer, "keras.optimizers")
        model.compile(optimizer=optimizer,
                      loss=_deserialize_spec(cfg.get("loss"), "keras.losses"),
                      loss_weights=cfg.get("loss_weights"),
                      metrics=_deserialize_spec(cfg.get("metrics"), "keras.metrics"),
                      weighted_metrics=_deserialize_spec(cfg.get("weighted_metrics"),
                                                         "keras.metrics"))
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"Cannot compile the model from {where}: {err} Load it with "
                             f"compile=False and call compile() yourself.") from None
