"""Load a submission: import its files and look up every contract name.

Nothing raised while importing escapes: it is recorded in ``load_errors`` and the names that
could not be found are simply missing (graded as not implemented).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpverify import registry
from bpverify.contract import GATES
from bpverify.submission.cs231n import load_cs231n
from bpverify.submission.namespace import LoadedSubmission, describe_exception
from bpverify.submission.relatives import (
    Neighbours,
    neighbours,
    parse,
    statements,
    uses_relative_imports,
)
from bpverify.submission.standins import StandIns

__all__ = [
    "LAYOUTS", "LoadSpec", "LoadedSubmission", "find_names", "import_paths",
    "load_submission",
]

#: How a submission is laid out: "python" (a file or a folder of modules) or "cs231n".
LAYOUTS = ("python", "cs231n")


@dataclass(frozen=True)
class LoadSpec:
    """How to load a submission (plain data, so it can be sent to an isolated worker)."""

    layout: str = "python"
    options: dict[str, Any] = field(default_factory=dict)
    lookup: dict[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)

    def load(self, path: str | Path) -> LoadedSubmission:
        return load_submission(path, layout=self.layout, options=self.options,
                               lookup=self.lookup)


def load_submission(
    path: str | Path,
    *,
    layout: str = "python",
    options: dict[str, Any] | None = None,
    lookup: dict[str, tuple[tuple[str, ...], str | None]] | None = None,
) -> LoadedSubmission:
    """Import a submission and look up every contract name.

    ``layout="python"``: a .py file or a package folder.  ``layout="cs231n"``: a CS231n
    assignment folder graded as it is (see :mod:`bpverify.submission.cs231n`).  Nothing raised while
    importing escapes: it is recorded in ``load_errors`` and the names that could not be found
    are simply missing (graded as not implemented).  ``lookup`` maps a contract name to the
    aliases to try and the module (file stem) to look in, from a rubric.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}; expected one of {', '.join(LAYOUTS)}")
    path = Path(path).resolve()
    sub = LoadedSubmission(path=path, options=dict(options or {}))
    if layout == "cs231n":
        load_cs231n(sub, options)
        return sub
    modname = f"_bpverify_submission_{zlib.crc32(str(path).encode()):08x}"
    modules: list[types.ModuleType] = []
    # Imports resolve as the student ran them: from the file's own folder and its parent (the
    # book's sys.path.append(os.pardir) reaches a sibling common/ folder).
    roots = list(dict.fromkeys([str(path if path.is_dir() else path.parent),
                                str(path.parent if path.is_dir() else path.parent.parent)]))
    # In the sandbox only these paths are readable, not the folders that hold them.
    own_paths = import_paths(path)
    siblings = _Siblings(own_paths)
    # Imports that resolve only from a folder further up: the student ran from there.
    homes = {str(Path(p).parent) for p in own_paths} - set(roots)
    far = sorted((h for h in homes if roots[-1].startswith(h + "/")), key=len)
    if far:
        names = ", ".join(sorted(Path(p).stem for p in own_paths
                                 if str(Path(p).parent) in far))
        sub.notes.append(f"imports of {names} resolve from {far[0]}: loaded as if run from "
                         "there")
    # The folder the student's run could import from (sys.path.append("../x") included).
    top = os.path.commonpath([*roots, *homes])
    libraries = [p for p in map(os.path.realpath, filter(None, sys.path))
                 if p.startswith(top + "/")]
    sys.path[:0] = roots
    before = set(sys.modules)
    sys.meta_path.insert(0, siblings)
    own = _OwnName(path.name, modname) if path.is_dir() else None
    if own is not None and own.usable():
        sys.meta_path.insert(0, own)
    # A library the submission's files import but grading never uses (PIL to show a picture)
    # gets a stand-in when it is missing, as in a CS231n folder; each is listed in the notes.
    missing = StandIns(Path(top), (), last=True, libraries=libraries)
    sys.meta_path.append(missing)
    try:
        if path.is_dir():
            init = path / "__init__.py"
            if init.exists():
                spec = importlib.util.spec_from_file_location(
                    modname, init, submodule_search_locations=[str(path)]
                )
            else:
                spec = importlib.util.spec_from_loader(modname, loader=None, is_package=True)
            pkg = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            if not init.exists():
                pkg.__path__ = [str(path)]
            sys.modules[modname] = pkg
            if _exec(spec, pkg, sub, init.name):
                modules.append(pkg)
            for file in sorted(path.glob("*.py")):
                if file.name == "__init__.py":
                    continue
                name = f"{modname}.{file.stem}"
                if name in sys.modules:
                    modules.append(sys.modules[name])
                    continue
                spec = importlib.util.spec_from_file_location(name, file)
                mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
                sys.modules[name] = mod
                if _exec(spec, mod, sub, file.name):
                    modules.append(mod)
        elif path.suffix == ".py" and path.is_file():
            name = modname
            if uses_relative_imports(path):  # a module of its folder's package, as it ran
                package = Neighbours(modname, path.parent)
                package.install()
                sys.meta_path.insert(0, package)
                name = f"{modname}.{path.stem}"
                sub.notes.append(f"{path.name} imports the files beside it relatively: loaded "
                                 f"as a module of {path.parent.name}/, as "
                                 f"`from {path.parent.name} import {path.stem}` would")
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[name] = mod
            if _exec(spec, mod, sub, path.name):
                modules.append(mod)
        else:
            sub.load_errors.append(
                f"{path} is neither a .py file nor a folder; expected a submission file "
                "(e.g. solution.py) or a package folder"
            )
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, Neighbours)]
        for root in roots:
            sys.path.remove(root)
        sys.meta_path.remove(siblings)
        sys.meta_path.remove(missing)
        StandIns.forget(before)
        sub.notes += missing.notes("not installed where bpverify grades")
        if own is not None and own in sys.meta_path:
            sys.meta_path.remove(own)
            own.forget()
        _forget_siblings(before, roots[0], top, libraries)
    sub.modules = modules
    find_names(sub, [vars(m) for m in modules], lookup)
    return sub


def find_names(
    sub: LoadedSubmission,
    namespaces: Sequence[Mapping[str, Any]],
    lookup: dict[str, tuple[tuple[str, ...], str | None]] | None = None,
) -> None:
    """Look every contract name up in ``namespaces`` (first found wins), then run the finders.

    Fills ``sub.names`` (and ``sub.load_errors`` for a name bound to the wrong kind of object).
    A namespace is a module's ``vars()`` or any mapping, e.g. a notebook's ``globals()``; a
    rubric's ``lookup`` module restriction matches the mapping's ``__name__``.
    """
    lookup = lookup or {}
    for name in dict.fromkeys([*registry.lookup_names(), *lookup]):
        aliases, module = lookup.get(name, ((name,), None))
        where = [ns for ns in namespaces if module is None
                 or str(ns.get("__name__", "")).rsplit(".", 1)[-1] == module
                 or (ns is namespaces[0] and module == "__init__")]
        for alias in aliases:
            obj = next((ns[alias] for ns in where if ns.get(alias) is not None), None)
            if obj is None:
                continue
            problem = _protocol_problem(name, obj)
            if problem:
                sub.load_errors.append(f"{alias} {problem}")
            else:
                sub.names[name] = obj
            break
    for finder in registry.finders():
        finder(namespaces, sub)


#: A family's name finder (its ``finder.find``; autograd engines, layer classes): it gets the
#: namespaces of the submission's modules (first module first) and adds what it recognises to
#: ``sub.names`` under the family's canonical names, with notes and load errors.  A finder takes
#: mappings, not modules, so that the notebook API can run it on ``globals()``.
Finder = Callable[[Sequence[Mapping[str, Any]], LoadedSubmission], None]


#: How many folders above a submission's parent its imports are looked for: a learner's
#: repository is run from its root (``from src.common.functions import softmax``).
FARTHEST = 3
#: At most this many files are read to follow the imports of the modules found.
_MAX_FILES = 200


def _imported(file: Path) -> tuple[set[str], list[Path]]:
    """The top-level names ``file`` imports absolutely, and the folders it adds to sys.path
    (``sys.path.append("../03. Neural Net")``, ``os.pardir``), relative to its own folder as
    the learner's run from there resolved them."""
    import ast

    source = parse(file)
    if source is None:
        return set(), []
    text, tree = source
    wanted: set[str] = set()
    folders: list[Path] = []
    for node in statements(tree):
        if isinstance(node, ast.Import):
            wanted.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            wanted.add(node.module.split(".")[0])
    if "sys.path" in text:  # only then look through the expressions for sys.path.append(...)
        for call in ast.walk(tree):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("append", "insert") and call.args
                    and ast.unparse(call.func.value) == "sys.path"):
                folder = _static_path(call.args[-1])
                if folder is not None:
                    folders.append((file.parent / folder).resolve())
    return wanted, folders


def _static_path(node: Any) -> str | None:
    """A path written as a literal, ``os.pardir``, ``os.curdir`` or os.path.join of those."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and ast.unparse(node) in ("os.pardir", "os.curdir"):
        return ".." if node.attr == "pardir" else "."
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.path.join":
        parts = [_static_path(a) for a in node.args]
        return os.path.join(*parts) if parts and all(p is not None for p in parts) else None  # type: ignore[arg-type]
    return None


def import_paths(submission: str | Path) -> list[str]:
    """The modules and packages of the student's own that a submission imports.

    Each name is looked for beside the submission, one folder up (the book's
    ``sys.path.append(os.pardir)`` reaching ``common/``), then up to :data:`FARTHEST` folders
    further up, the nearest first (a repository run from its root); the modules found are
    followed for their own imports.  The isolated worker may read these besides the
    submission itself, so that the submission loads as it did for the student.
    """
    path = Path(submission).resolve()
    near = [path, path.parent] if path.is_dir() else [path.parent, path.parent.parent]
    # Never the grader's own folder (an editable install's checkout holds reference/), nor /.
    grader = Path(__file__).resolve().parents[2]
    far = [p for p in list(near[-1].parents)[:FARTHEST] if p != grader and p.parent != p]
    todo = sorted(path.glob("*.py")) if path.is_dir() else [path]
    seen_files: set[Path] = set()
    found: dict[str, Path] = {}
    while todo and len(seen_files) < _MAX_FILES:
        file = todo.pop(0)
        if file in seen_files:
            continue
        seen_files.add(file)
        names, added = _imported(file)
        for beside in neighbours(file):  # from .functions import *
            if beside not in found.values():
                found[f".{beside}"] = beside
                todo += sorted(beside.rglob("*.py"))[:_MAX_FILES] if beside.is_dir() else [beside]
        for name in sorted(names - set(found)):
            where = _locate(name, [*near, *added], path) or (
                None if name in sys.stdlib_module_names or name == "numpy"
                else _locate(name, far, path))
            if where is None:
                continue
            found[name] = where
            todo += sorted(where.rglob("*.py"))[:_MAX_FILES] if where.is_dir() else [where]
    return [str(p) for p in found.values()]


def _locate(name: str, roots: Sequence[Path], submission: Path) -> Path | None:
    for root in roots:
        for candidate in (root / name, root / f"{name}.py"):
            if candidate.exists() and candidate != submission:
                return candidate
    return None


class _Siblings:
    """Finds the top-level modules at the given paths without listing the folders above them."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = {Path(p).stem if p.endswith(".py") else Path(p).name: Path(p)
                      for p in reversed(paths)}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        where = self.paths.get(name) if path is None else None
        if where is None:
            return None
        if where.is_dir():
            init = where / "__init__.py"
            if init.exists():
                return importlib.util.spec_from_file_location(
                    name, init, submodule_search_locations=[str(where)])
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(where)]
            return spec
        return importlib.util.spec_from_file_location(name, where)


class _Existing(importlib.abc.Loader):
    """Loads a module that already exists (the loader's own, under another name)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: Any) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set the alias's spec on it


class _OwnName:
    """A package folder importable under its own name while it loads.

    ``micrograd/nn.py`` says ``from micrograd.engine import Value``: ``micrograd`` and
    ``micrograd.<module>`` resolve to the modules the loader made from the folder's files (one
    ``Value`` class, not a second copy from wherever else ``micrograd`` is installed).  Only
    names that are neither loaded already nor the standard library's; a module the folder does
    not have is not found here.
    """

    def __init__(self, name: str, real: str) -> None:
        self.name, self.real = name, real

    def usable(self) -> bool:
        return (self.name.isidentifier() and self.name not in sys.modules
                and self.name not in sys.stdlib_module_names)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name and not name.startswith(self.name + "."):
            return None
        real = self.real + name[len(self.name):]
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as exc:
            if exc.name == real:
                return None
            raise
        return importlib.util.spec_from_loader(name, _Existing(module))

    def forget(self) -> None:
        """Drop the aliases (the modules stay under the loader's names)."""
        # list(): one copy, atomic, while another thread of the process may be importing
        for name in [n for n in list(sys.modules)
                     if n == self.name or n.startswith(self.name + ".")]:
            sys.modules.pop(name, None)


def _forget_siblings(before: set[str], own: str, parent: str, libraries: list[str]) -> None:
    """Forget modules imported from beside the submission's folder (a book's common/).

    Another submission graded in this process has its own common/ of the same name.  Modules
    found in ``libraries`` (the grader's own sys.path entries inside ``parent``: a virtual
    environment next to the submission) are no siblings: they stay, also when another thread
    imported them meanwhile (the grader warms its oracles in a thread while an in-process
    submission loads, and JAX imports parts of itself lazily).
    """
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not isinstance(file, str) or not file:
            continue
        file = os.path.realpath(file)
        if file.startswith(parent + "/") and not file.startswith(own + "/") and \
                not any(file.startswith(lib + "/") for lib in libraries):
            sys.modules.pop(name, None)


def _protocol_problem(name: str, obj: Any) -> str:
    """Why ``obj`` cannot be the contract's ``name`` (empty when it can)."""
    if name in GATES:
        if not isinstance(obj, type):
            return f"is a {type(obj).__name__}; expected a class with forward and backward"
        missing = [m for m in ("forward", "backward") if not callable(getattr(obj, m, None))]
        return f"has no {' or '.join(missing)} method" if missing else ""
    if name in ("TwoLayerNet", "ThreeLayerNet"):
        if not isinstance(obj, type):
            return f"is a {type(obj).__name__}; expected a class with params and loss"
        return "" if callable(getattr(obj, "loss", None)) else "has no loss method"
    return "" if callable(obj) else f"is a {type(obj).__name__}; expected a function"


def _exec(spec: Any, module: types.ModuleType, sub: LoadedSubmission, label: str) -> bool:
    try:
        with np.errstate(all="ignore"):
            spec.loader.exec_module(module)
        return True
    except BaseException as exc:
        sub.load_errors.append(f"importing {label} failed: {describe_exception(exc)}")
        return False
