"""Tests mirror the package: every module under ``tomei/`` that defines a function or class
has its test module at the mirrored path (``tomei/keras/layers/core.py`` ->
``tests/keras/layers/test_core.py``; a package's ``__init__.py`` ->
``tests/<package path>/test_<package>.py``; a leading ``_`` of a private module is dropped).
See docs/architecture.md, 'Invariants'.
"""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tomei"
TESTS = ROOT / "tests"


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
               for path in sorted(PACKAGE.rglob("*.py"))
               if _defines_code(path) and not mirrored_test_path(path).exists()]
    assert not missing, ("Every module that defines a function or class has its tests at the "
                         "mirrored path. Missing test modules:\n" + "\n".join(missing))
