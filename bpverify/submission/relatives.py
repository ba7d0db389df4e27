"""A lone file that imports the files beside it relatively (``from .functions import *``).

Python runs such a file only as a module of its folder's package (``from common.layers import
Affine``, or ``python -m common.layers`` from the folder above), never as a script. bpverify
loads it the same way: the file becomes a module of a package made for it, whose modules are
the files and folders beside it. Only the first level is resolved (``from .x``; ``from ..x``
reaches above the file's folder and stays an import error, said as Python says it).
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Neighbours", "neighbours", "parse", "statements", "uses_relative_imports"]


def parse(file: Path) -> tuple[str, ast.Module] | None:
    """``file``'s text and syntax tree (None if it cannot be read or parsed); kept while the
    file is unchanged, since loading a submission reads each of its files more than once."""
    try:
        stat = file.stat()
        key = (str(file), stat.st_size, stat.st_mtime_ns)
        if key not in _PARSED:
            text = file.read_text(encoding="utf-8", errors="replace")
            if len(_PARSED) >= 256:
                _PARSED.clear()
            _PARSED[key] = (text, ast.parse(text))
        return _PARSED[key]
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


_PARSED: dict[tuple[str, int, int], tuple[str, ast.Module]] = {}


def statements(tree: ast.AST) -> Iterator[ast.stmt]:
    """Every statement of ``tree``, at any depth (in functions, classes, branches, handlers),
    without visiting the expressions, where most of a module's nodes are."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.stmt):
            yield node
        todo.extend(child for child in ast.iter_child_nodes(node)
                    if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)))


def _relative_names(file: Path) -> tuple[bool, set[str]]:
    """Whether ``file`` imports relatively, and the module names its ``from .x`` imports name
    (``from . import x`` names x)."""
    source = parse(file)
    if source is None:
        return False, set()
    relative = False
    names: set[str] = set()
    for node in statements(source[1]):
        if isinstance(node, ast.ImportFrom) and node.level:
            relative = True
            if node.level == 1 and node.module:
                names.add(node.module.split(".")[0])
            elif node.level == 1:
                names.update(a.name for a in node.names)
    return relative, names


def uses_relative_imports(file: Path) -> bool:
    """True when ``file`` has a ``from .x import ...`` (at any level)."""
    return _relative_names(file)[0]


def neighbours(file: Path) -> list[Path]:
    """The files and folders beside ``file`` that its first-level relative imports name."""
    found: list[Path] = []
    for name in sorted(_relative_names(file)[1]):
        for candidate in (file.parent / f"{name}.py", file.parent / name):
            if candidate.exists() and candidate != file:
                found.append(candidate)
                break
    return found


class Neighbours(importlib.abc.MetaPathFinder):
    """Makes ``package`` a package of ``folder``'s files, found without listing the folder
    (in the sandbox only the files the submission imports are readable)."""

    def __init__(self, package: str, folder: Path) -> None:
        self.package, self.folder = package, folder

    def install(self) -> types.ModuleType:
        """The package module, registered in sys.modules; its own ``__init__`` is not run."""
        spec = importlib.machinery.ModuleSpec(self.package, None, is_package=True)
        pkg = importlib.util.module_from_spec(spec)
        pkg.__path__ = []  # its modules come from this finder, nowhere else
        sys.modules[self.package] = pkg
        return pkg

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        head, _, rest = name.rpartition(".")
        if head != self.package:
            return None
        file, folder = self.folder / f"{rest}.py", self.folder / rest
        if file.is_file():
            return importlib.util.spec_from_file_location(name, file)
        if (folder / "__init__.py").is_file():
            return importlib.util.spec_from_file_location(
                name, folder / "__init__.py", submodule_search_locations=[str(folder)])
        if folder.is_dir():
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
            return spec
        return None
