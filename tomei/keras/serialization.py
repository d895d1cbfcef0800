"""Names to classes and back: how configs become objects again, without executing code.

Every public Keras class registers itself here under its Keras module ("keras.layers",
"keras.optimizers", ...). ``serialize`` writes the Keras 3 dict
``{"module", "class_name", "config", "registered_name"}``; ``deserialize`` looks the class
up by name only (never imports or evaluates anything a file names).
"""
from __future__ import annotations

import contextlib

_REGISTRY: dict[str, dict[str, type]] = {}
_CUSTOM_SCOPES: list[dict] = []  # custom_object_scope stack; [0] holds registered classes
_CUSTOM_SCOPES.append({})


class Configurable:
    """Base of objects whose config is their constructor's arguments (initializers,
    regularizers, constraints): ``get_config()`` returns them (none here) and
    ``from_config(config)`` is ``cls(**config)``."""

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-able dict (subclasses add theirs)."""
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """A new object from ``get_config()``'s dict."""
        return cls(**config)


def register(module: str, name: str | None = None):
    """Class decorator: ``@register("keras.layers")`` makes a class loadable by name."""
    def wrap(cls):
        _REGISTRY.setdefault(module, {})[name or cls.__name__] = cls
        cls._keras_module = module
        return cls
    return wrap


def registered(module: str) -> dict:
    """{class name: class} for one Keras module, e.g. ``registered("keras.layers")``."""
    return dict(_REGISTRY.get(module, {}))


def is_registered_instance(obj, class_name: str, module: str = "keras") -> bool:
    """True if ``obj`` is an instance of the class registered as ``module``/``class_name``.

    This is how ``tomei.keras.saving`` recognises a ``Sequential`` or ``Functional`` model
    without importing ``tomei.keras.models`` (which imports saving: see docs/architecture.md).
    False when no such class is registered yet.
    """
    cls = _REGISTRY.get(module, {}).get(class_name)
    return cls is not None and isinstance(obj, cls)


def serialize(obj) -> dict | str | None:
    """Keras 3's dict ``{"module", "class_name", "config", "registered_name"}`` for ``obj``;
    None, strings, numbers and booleans are returned unchanged."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    module = vars(type(obj)).get("_keras_module")  # not inherited: a user's subclass is custom
    registered_name = None if module else \
        getattr(type(obj), "_registered_name", None) or f"Custom>{type(obj).__name__}"
    return {"module": module or type(obj).__module__, "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": registered_name}


def lookup(class_name: str, module: str, custom_objects: dict | None = None) -> type:
    """The class called ``class_name``; ValueError naming the fix if it is unknown."""
    custom_objects = {**custom_objects_in_scope(), **(custom_objects or {})}
    if class_name in custom_objects:
        return custom_objects[class_name]
    for table in ([_REGISTRY.get(_public_module(module), {})] + list(_REGISTRY.values())):
        if class_name in table:
            return table[class_name]
    if class_name == "__lambda__":
        raise ValueError(
            "Refusing to deserialize a Python lambda: loading it would run code stored in the "
            "file. Rebuild that layer in your script, or pass the function through "
            "custom_objects={'name': fn} when you trust the file.")
    kind = _KINDS.get(_public_module(module).split(".")[-1], "object")
    raise ValueError(
        f"Unknown {kind} class '{class_name}'. If it is your "
        f"own class, pass it when loading: custom_objects={{'{class_name}': {class_name}}}.")


_KINDS = {"layers": "layer", "losses": "loss", "metrics": "metric", "optimizers": "optimizer",
          "initializers": "initializer", "regularizers": "regularizer",
          "constraints": "constraint", "models": "model", "schedules": "schedule"}


_PUBLIC_AREAS = ("layers", "losses", "metrics", "optimizers", "initializers", "regularizers",
                 "constraints", "activations")


def _public_module(module: str) -> str:
    """'keras.src.backend.torch.optimizers.torch_adam' -> 'keras.optimizers' (Keras files name
    the private module a class lives in; the registry uses the public one)."""
    if not module or not module.startswith("keras.src"):
        return module
    parts = module.split(".")
    if "schedules" in parts:
        return "keras.optimizers.schedules"
    for part in parts:
        if part in _PUBLIC_AREAS:
            return f"keras.{part}"
    return "keras"


def deserialize(config, module: str, custom_objects: dict | None = None):
    """Builds an object from ``serialize``'s dict (or returns strings/None unchanged)."""
    if config is None or isinstance(config, (str, int, float, bool)):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a dict with 'class_name' and 'config'; received {config!r}.")
    registered = config.get("registered_name")  # "package>Name" of a registered custom class
    custom = {**custom_objects_in_scope(), **(custom_objects or {})}
    if isinstance(registered, str) and registered in custom:
        cls = custom[registered]
    else:
        given = config.get("module") or module
        cls = lookup(config["class_name"], given if given.startswith("keras") else module,
                     custom_objects)
    return cls.from_config(config.get("config") or {})


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict | None):
    """Makes ``custom_objects`` ({name: class or function}) visible to every lookup inside
    the ``with`` block, including nested configs (a custom initializer inside a layer)."""
    _CUSTOM_SCOPES.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _CUSTOM_SCOPES.pop()


def custom_objects_in_scope() -> dict:
    """Registered custom classes plus those of every active ``custom_object_scope``."""
    merged = {}
    for scope in _CUSTOM_SCOPES:
        merged.update(scope)
    return merged


def register_custom(obj, registered_name: str):
    """Makes a user class or function loadable by ``registered_name`` ("package>Name") and
    by its own name, without passing ``custom_objects``."""
    _CUSTOM_SCOPES[0][registered_name] = obj
    _CUSTOM_SCOPES[0][registered_name.split(">")[-1]] = obj
    if isinstance(obj, type):
        obj._registered_name = registered_name
    return obj
