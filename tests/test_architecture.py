"""The architecture's rules, checked on the source (docs/architecture.md explains them):

- no import cycle between tomei's modules, counting imports inside functions too;
- imports go down the layers only: ``config`` < ``engine`` < ``keras`` < the ``tf`` surface
  (``tomei/__init__.py``, ``nn.py``, ``tf_functions.py``, ``inspection.py``) < ``tools`` (the CLI);
- every module under ``tomei/`` that defines a function or class has its test module at the
  mirrored path (``tomei/keras/layers/core.py`` -> ``tests/keras/layers/test_core.py``;
  a package's ``__init__.py`` -> ``tests/<package path>/test_<package>.py``);
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
LAYERS = {"config": 0, "version": 0, "engine": 1, "keras": 2,
          "": 3, "nn": 3, "tf_functions": 3, "inspection": 3,
          "tools": 4, "cli": 4, "__main__": 4}
LAYER_NAMES = {0: "config/version", 1: "engine", 2: "keras", 3: "the tf surface", 4: "tools/cli"}


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
    parts = name.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else ""]


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
    assert not upward, ("Imports must go down: config/version < engine < keras < the tf "
                        "surface < tools/cli. Upward imports:\n" + "\n".join(upward))


def _defines_code(path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for n in tree.body)


def mirrored_test_path(path) -> pathlib.Path:
    """tomei/a/b.py -> tests/a/test_b.py; tomei/a/pkg/__init__.py -> tests/a/pkg/test_pkg.py."""
    rel = path.relative_to(PACKAGE)
    if rel.name == "__init__.py":
        folder = rel.parent
        return TESTS / folder / f"test_{folder.name or 'tomei'}.py"
    return TESTS / rel.parent / f"test_{rel.stem.lstrip('_')}.py"


def test_every_module_has_its_test_module():
    missing = [f"  {path.relative_to(ROOT)} -> {mirrored_test_path(path).relative_to(ROOT)}"
               for path, _ in _modules().values()
               if _defines_code(path) and not mirrored_test_path(path).exists()]
    assert not missing, ("Every module that defines a function or class has its tests at the "
                         "mirrored path. Missing test modules:\n" + "\n".join(missing))


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
