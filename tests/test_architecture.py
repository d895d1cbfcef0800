"""The architecture's rules, checked on the source (docs/architecture.md explains them):

- no import cycle between tomei's modules, counting imports inside functions too;
- imports go down the layers only: ``config`` < ``engine`` < ``data`` (``tf.data``, which
  ``fit`` consumes) < ``keras`` < the ``tf`` surface
  (``tomei/__init__.py`` and every other top-level module: ``nn.py``, ``tf_functions.py``,
  ``inspection.py``, ``data/``, ...) < ``tools`` (the CLI);
- every public function and class (module level, name without a leading ``_``) has a docstring.

The source is read with :mod:`ast`, nothing is imported, so a failure names the file and line.
"""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tomei"
TESTS = ROOT / "tests"

# Layer of each top-level part of tomei: a module may import only its own layer or lower ones.
# Any other top-level module or package (nn.py, tf_functions.py, inspection.py, data/, ...) is
# part of the tf surface, layer 3.
LAYERS = {"config": 0, "version": 0, "engine": 1, "data": 1.5, "keras": 2,
          "tools": 4, "cli": 4, "__main__": 4}
SURFACE = 3
# Modules placed apart from their package: engine/device.py (where arrays live, CPU or GPU)
# imports nothing of tomei, and config.py (tf.config) asks it which GPUs exist.
MODULE_LAYERS = {"tomei.engine.device": 0}
LAYER_NAMES = {0: "config/version", 1: "engine", 1.5: "data (tf.data)", 2: "keras",
               3: "the tf surface", 4: "tools/cli"}


def _modules() -> dict:
    """{dotted module name: (path, is_package)} for every .py file under tomei/."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _imported(name, node, modules) -> list:
    """The tomei modules that the import statement ``node`` in module ``name`` loads."""
    path, is_package = modules[name]
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = alias.name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target:
                found.append(target)
        return found
    if node.level:  # relative import
        base = here[:len(here) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("tomei"):
        return found
    for alias in node.names:
        if f"{target}.{alias.name}" in modules:  # ``from tomei.keras import layers``
            found.append(f"{target}.{alias.name}")
        elif target in modules:
            found.append(target)
    return found


def import_graph() -> dict:
    """{module: {imported module: first line number}}, inside functions included."""
    modules = _modules()
    graph = {}
    for name, (path, _) in modules.items():
        edges = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(name, node, modules):
                    if target != name:
                        edges[target] = min(edges.get(target, node.lineno), node.lineno)
        graph[name] = edges
    return graph


def _cycles(graph) -> list:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def _file(name) -> str:
    path, _ = _modules()[name]
    return str(path.relative_to(ROOT))


def _layer(name) -> int:
    if name in MODULE_LAYERS:
        return MODULE_LAYERS[name]
    parts = name.split(".")
    return LAYERS.get(parts[1], SURFACE) if len(parts) > 1 else SURFACE


def test_no_import_cycles():
    graph = import_graph()
    problems = []
    for component in _cycles(graph):
        inside = set(component)
        lines = [f"  {_file(a)}:{line} imports {b}" for a in component
                 for b, line in sorted(graph[a].items()) if b in inside]
        problems.append("import cycle between " + ", ".join(component) + ":\n" + "\n".join(lines))
    assert not problems, ("Break each cycle so that one side no longer imports the other "
                          "(see docs/architecture.md, 'Invariants'):\n" + "\n".join(problems))


def test_imports_go_down_the_layers_only():
    graph = import_graph()
    upward = [f"  {_file(a)}:{line} ({LAYER_NAMES[_layer(a)]}) imports {b} "
              f"({LAYER_NAMES[_layer(b)]})"
              for a, edges in graph.items() for b, line in sorted(edges.items())
              if _layer(b) > _layer(a)]
    assert not upward, ("Imports must go down: config/version < engine < data < keras < "
                        "the tf surface < tools/cli. Upward imports:\n" + "\n".join(upward))


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for name, (path, _) in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                    not node.name.startswith("_") and not ast.get_docstring(node):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                missing.append(f"  {path.relative_to(ROOT)}:{node.lineno} {kind} {node.name}")
    assert not missing, ("Every public function and class needs a docstring (shapes, dtypes, "
                         "defaults, errors raised, the source of each formula). Missing:\n"
                         + "\n".join(missing))


def test_the_checks_can_fail():
    """The cycle finder and the layer order on small made-up cases."""
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []
    assert _layer("tomei.engine.ops") < _layer("tomei.data.dataset") < _layer("tomei.keras.losses") \
        < _layer("tomei.nn") < _layer("tomei.tools.report")
