"""Load a submission: import its files and look up every contract name.

Nothing raised while importing escapes: it is recorded in ``load_errors`` and the names that
could not be found are simply missing (graded as not implemented).
"""

from __future__ import annotations

import importlib.util
import sys
import types
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpverify.contract import CONTRACT_NAMES, GATES
from bpverify.submission.cs231n import load_cs231n
from bpverify.submission.namespace import LoadedSubmission, describe_exception

__all__ = ["LAYOUTS", "LoadSpec", "LoadedSubmission", "load_submission"]

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
    sub = LoadedSubmission(path=path)
    if layout == "cs231n":
        load_cs231n(sub, options)
        return sub
    modname = f"_bpverify_submission_{zlib.crc32(str(path).encode()):08x}"
    modules: list[types.ModuleType] = []
    sys.path.insert(0, str(path if path.is_dir() else path.parent))
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
            spec = importlib.util.spec_from_file_location(modname, path)
            mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[modname] = mod
            if _exec(spec, mod, sub, path.name):
                modules.append(mod)
        else:
            sub.load_errors.append(
                f"{path} is neither a .py file nor a folder; expected a submission file "
                "(e.g. solution.py) or a package folder"
            )
    finally:
        sys.path.remove(str(path if path.is_dir() else path.parent))
    sub.modules = modules
    lookup = lookup or {}
    for name in CONTRACT_NAMES:
        aliases, module = lookup.get(name, ((name,), None))
        where = [m for m in modules if module is None
                 or m.__name__.rsplit(".", 1)[-1] == module or (m is modules[0] and
                                                              module == "__init__")]
        for alias in aliases:
            obj = next((getattr(m, alias) for m in where if getattr(m, alias, None) is not None),
                       None)
            if obj is None:
                continue
            problem = _protocol_problem(name, obj)
            if problem:
                sub.load_errors.append(f"{alias} {problem}")
            else:
                sub.names[name] = obj
            break
    for finder in FINDERS:
        finder([vars(m) for m in modules], sub)
    return sub


#: Name finders of the families that follow other conventions (autograd engines, layer classes).
#: Each gets the namespaces of the submission's modules (first module first) and adds what it
#: recognises to ``sub.names`` under the family's canonical names, with notes and load errors.
#: A finder takes mappings, not modules, so that the notebook API can run it on ``globals()``.
Finder = Callable[[Sequence[Mapping[str, Any]], LoadedSubmission], None]
FINDERS: list[Finder] = []


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
