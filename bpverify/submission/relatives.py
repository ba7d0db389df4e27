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
from pathlib import Path
from typing import Any

__all__ = ["Neighbours", "neighbours", "uses_relative_imports"]


def _relative_names(file: Path) -> tuple[bool, set[str]]:
    """Whether ``file`` imports relatively, and the module names its ``from .x`` imports name
    (``from . import x`` names x)."""
    try:
        tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return False, set()
    relative = False
    names: set[str] = set()
    for node in ast.walk(tree):
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
