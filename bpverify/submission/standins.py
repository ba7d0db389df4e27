"""Stand-ins: placeholder modules for what a submission imports but grading does not need.

A module that is not installed where bpverify grades (``matplotlib``, ``PIL``, the Cython
``im2col`` extension, ...) or that the rubric leaves out is replaced by a :class:`StandInModule`
whose every attribute is an :class:`Absent` value: harmless until graded code uses it; a
display library's (``matplotlib.pyplot``) is a :class:`Drawing`, which accepts any call, so a
script that plots at import still loads.  Python
2 helpers that graded code really uses (``past.builtins.xrange``, ``six.moves``) get working
shims.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import pickle
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["DISPLAY", "Absent", "Drawing", "StandInModule", "StandIns"]

#: Libraries that only show things (plots, graphs, notebook output): their stand-ins accept
#: any call and draw nothing, so a script that plots at import still loads.
DISPLAY = ("matplotlib", "seaborn", "graphviz", "plotly", "IPython", "pylab")


class Absent:
    """A value from a module that is not there: harmless until graded code uses it."""

    def __init__(self, what: str, why: str) -> None:
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_why", why)

    def _fail(self) -> ModuleNotFoundError:
        return ModuleNotFoundError(f"{self._what} cannot be used: {self._why}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Absent(f"{self._what}.{name}", self._why)

    def __setattr__(self, name: str, value: Any) -> None:
        pass  # configuration at import time (plt.rcParams...) is accepted and ignored

    def __getitem__(self, key: Any) -> Any:
        return Absent(f"{self._what}[{key!r}]", self._why)

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __iter__(self) -> Any:
        raise self._fail()

    def __repr__(self) -> str:
        return f"<bpverify stand-in for {self._what}>"


class Drawing(Absent):
    """A value from a display library that is not there (``plt.plot``, ``Digraph``): every call
    is accepted and draws nothing.  Unpacking one gives two (``fig, ax = plt.subplots()``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Drawing(f"{self._what}.{name}", self._why)

    def __getitem__(self, key: Any) -> Any:
        return Drawing(f"{self._what}[{key!r}]", self._why)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Drawing(f"{self._what}(...)", self._why)

    def __iter__(self) -> Any:
        return iter((Drawing(f"{self._what}[0]", self._why),
                     Drawing(f"{self._what}[1]", self._why)))

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class StandInModule(types.ModuleType):
    """A module that is not there: importing it works, using what it holds fails."""

    def __init__(self, name: str, why: str, attrs: dict[str, Any] | None = None,
                 drawing: bool = False) -> None:
        super().__init__(name, f"bpverify stand-in: {why}")
        self.__bpverify_drawing__ = drawing
        self.__path__: list[str] = []
        self.__all__: list[str] = list(attrs or {})
        self.__bpverify_why__ = why
        for k, v in (attrs or {}).items():
            setattr(self, k, v)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        kind = Drawing if self.__bpverify_drawing__ else Absent
        return kind(f"{self.__name__}.{attr}", self.__bpverify_why__)


def _shims() -> dict[str, dict[str, Any]]:
    """Python 2 helpers that graded code really uses (xrange in a loop): working shims."""
    py2 = {"xrange": range, "range": range, "basestring": str, "unicode": str, "long": int,
           "raw_input": input, "unichr": chr, "reduce": functools.reduce, "str": str,
           "object": object, "zip": zip, "map": map, "filter": filter, "input": input}
    return {
        "past": {}, "past.builtins": py2, "past.utils": {},
        "future": {}, "future.utils": {"PY2": False, "PY3": True},
        "future.builtins": py2,
        "future.standard_library": {"install_aliases": lambda: None},
        "six": {"PY2": False, "PY3": True, "string_types": (str,), "integer_types": (int,),
                "iteritems": lambda d: iter(d.items())},
        "six.moves": {**py2, "cPickle": pickle, "xrange": range},
        "six.moves.cPickle": dict(vars(pickle)),
        "cPickle": dict(vars(pickle)),
    }


class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds stand-ins: first for the modules forced by the rubric, last for missing ones."""

    def __init__(self, root: Path, forced: Sequence[str], last: bool,
                 libraries: Sequence[str] = ()) -> None:
        self.root, self.forced, self.last = str(root) + "/", tuple(forced), last
        #: Folders under ``root`` that are no submission's (a virtual environment beside it).
        self.libraries = tuple(p.rstrip("/") + "/" for p in libraries)
        self.shims = _shims()
        self.used: dict[str, str] = {}  # module -> who imported it

    def _importer(self) -> str | None:
        """The submission file doing this import, or None (a library's optional import)."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(self.libraries):
                return None
            if name.startswith(self.root):
                return name[len(self.root):]
            if "importlib" not in name and name != __file__:
                return None
            frame = frame.f_back  # type: ignore[assignment]
        return None

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname == "cs231n" or fullname.startswith("cs231n."):
            return None
        forced = any(fullname == f or fullname.startswith(f + ".") for f in self.forced)
        if self.last == forced:
            return None
        who = self._importer()
        if who is None and not forced:
            return None
        self.used.setdefault(fullname, who or "the package")
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        why = (f"bpverify stands in for {name}, which "
               + ("the rubric leaves out" if not self.last else "is not installed")
               + " where it grades")
        return StandInModule(name, why, self.shims.get(name),
                             drawing=name.split(".")[0] in DISPLAY)

    def exec_module(self, module: types.ModuleType) -> None:
        pass

    def notes(self, how: str) -> list[str]:
        """One note per stood-in top-level module: who imported it, ``how`` it came to be."""
        roots = sorted({n for n in self.used if n.rpartition(".")[0] not in self.used})
        return [f"{self.used[n]} imports {n} ({how}): "
                + ("a Python 2 compatibility shim took its place"
                   if n.split(".")[0] in ("past", "future", "six", "cPickle") else
                   "a stand-in took its place, which accepts any call and draws nothing"
                   if n.split(".")[0] in DISPLAY else
                   "a stand-in took its place, which fails only if graded code uses it")
                for n in roots]

    @staticmethod
    def forget(before: set[str]) -> None:
        """Take the stand-ins made since ``before`` out of sys.modules (the names graded code
        bound to them stay bound)."""
        for name in [m for m in sys.modules if m not in before]:
            if isinstance(sys.modules[name], StandInModule):
                del sys.modules[name]

