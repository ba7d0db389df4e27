"""Finding a scalar autograd engine (micrograd's ``Value``) in a submission, and reading it.

:func:`find` (the family's finder, run by the loader through the registry) names the engine
class ``Value`` and every operation it defines (``Value +``, ``Value tanh``, ...); the attribute
readers find where a value keeps its number and its gradient.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

from bpverify.families.engines.contract import (
    CLASS_NAMES,
    DATA_ATTRS,
    ENGINE_OPS,
    GRAD_ATTRS,
    METHODS_ITEM,
)
from bpverify.submission.namespace import LoadedSubmission

__all__ = [
    "CHILDREN_ATTRS",
    "LEAF_FLAGS",
    "data_attr",
    "discover_methods",
    "dtype_of",
    "engine_class",
    "find",
    "find_engine",
    "grad_attr",
    "leaf_flag",
    "number_of",
]


def find_engine(namespaces: Sequence[Mapping[str, Any]], sub: LoadedSubmission) -> None:
    """Name the engine class ``Value`` and every operation it defines (``Value +``, ...)."""
    cls = None
    for key in [n for n in list(sub.names) if n.startswith("Value ")]:
        found = sub.names.pop(key)  # a rubric's names = [...] on an engine item: the class
        if isinstance(found, type) and cls is None:
            cls = found
    for alias in CLASS_NAMES if cls is None else ():
        cls = next((ns[alias] for ns in namespaces if _own_class(ns.get(alias))), None)
        if cls is not None:
            break
    if cls is None:
        return
    flag = leaf_flag(cls)
    if flag is not None:  # PyTorch-style: a leaf keeps a gradient only when asked to
        cls = _with_flag(cls, flag)
        sub.notes.append(f"{cls.__name__}(...) takes {flag}=False by default, so a leaf keeps "
                         f"no gradient unless asked: leaves were built with {flag}=True")
    try:
        probe = cls(1.5)
    except Exception as exc:
        sub.load_errors.append(f"{cls.__name__}(1.5) raised {type(exc).__name__}: {exc}; "
                               "expected an engine value holding 1.5")
        return
    data = data_attr(probe)
    if data is None:
        sub.load_errors.append(f"{cls.__name__}(1.5) has no {', '.join(DATA_ATTRS)} attribute "
                               "equal to 1.5; expected the number it holds in one of them")
        return
    if grad_attr(probe) is None:
        sub.load_errors.append(f"{cls.__name__}(1.5) has no numeric {', '.join(GRAD_ATTRS)} "
                               "attribute; expected its gradient there (0 to start with)")
        return
    if not callable(getattr(cls, "backward", None)) and not callable(
            getattr(probe, "backward", None)):
        sub.load_errors.append(f"{cls.__name__} has no backward method; expected "
                               "out.backward() to fill in every gradient")
        return
    sub.names["Value"] = cls
    for name, op in ENGINE_OPS.items():
        if all(callable(getattr(cls, a, None)) for a in op.attrs):
            sub.names[name] = getattr(cls, op.attrs[0])
    methods = discover_methods(cls)
    if methods:
        sub.names[METHODS_ITEM] = tuple(methods)
        sub.notes.append("other methods returning a Value, judged against centred differences "
                         "of their own forward and where their input fans out: " + ", ".join(
                             _signature(m) for m in methods))
    has = [n[len("Value "):] for n in ENGINE_OPS if n in sub.names]
    dtype = dtype_of(probe)
    kept = "" if dtype == "float64" else f", kept in {dtype}: judged in {dtype}'s precision"
    sub.notes.append(f"autograd engine: class {cls.__name__} (value in .{data}, gradient in "
                     f".{grad_attr(probe)}{kept}) with {' '.join(has) or 'no operations'}")


def _own_class(found: Any) -> bool:
    """A class the submission may have written: not one of Python's own (``Value = Any``, a
    type alias in a typed gates file: ``typing.Any`` is a class since Python 3.11)."""
    if not isinstance(found, type):
        return False
    module = str(getattr(found, "__module__", "")).split(".")[0]
    return module != "builtins" and module not in sys.stdlib_module_names


#: Where engines keep a node's operands (micrograd: ``_prev``).
CHILDREN_ATTRS = ("_prev", "_children", "children", "_parents", "parents", "prev", "_inputs",
                  "inputs", "_operands")
#: Methods never called to find out what they return: they run the graph, draw, print, save,
#: train or change the value in place.
_NOT_CALLED = ("backward", "zero_grad", "zero", "build_topo", "topo", "topological", "draw",
               "plot", "show", "print", "save", "load", "train", "step", "update", "item",
               "tolist", "numpy", "graph", "trace", "visual", "render", "dot", "parameters")
#: What a discovered method is called with: its own value and the arguments, per kind.
PROBE_SELF, PROBE_VALUES, PROBE_NUMBER = 0.75, (0.5, -1.25, 1.5), 1.25


def discover_methods(cls: type) -> list[dict[str, Any]]:
    """The public methods of ``cls`` beyond :data:`ENGINE_OPS` that build a new node: called on
    ``cls(0.75)`` with no argument, or one to three arguments that are all Values, all numbers,
    or a Value then numbers, they return a new instance whose graph reaches every Value given.

    Each is ``{"name": "softplus", "args": "v"}``: the argument kinds after ``self`` ("v" a
    Value, "c" a number).  Methods whose names say they run, draw or save are never called.
    """
    known = {a for op in ENGINE_OPS.values() for a in op.attrs}
    found: list[dict[str, Any]] = []
    for name in sorted({n for k in cls.__mro__[:-1] for n in vars(k)}):
        if name.startswith("_") or name in known or any(w in name.lower() for w in _NOT_CALLED):
            continue
        raw = inspect.getattr_static(cls, name, None)
        if not isinstance(raw, types.FunctionType):  # static/class methods, properties
            continue
        n = _required_args(raw)
        if n is None:
            continue
        for kinds in _arg_kinds(n):
            if _builds(cls, name, kinds):
                found.append({"name": name, "args": kinds})
                break
    return found


def _required_args(fn: Any) -> int | None:
    """How many arguments after ``self`` a call must give (None: not a plain method of 0-3)."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    n = 0
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty:
            continue
        if p.kind == p.KEYWORD_ONLY:
            return None
        n += 1
    return n if n <= 3 else None


def _arg_kinds(n: int) -> list[str]:
    return list(dict.fromkeys(["v" * n, "c" * n, "v" + "c" * (n - 1) if n else ""]))


def probe_args(cls: type, kinds: str) -> list[Any]:
    """The arguments a method is probed with (also what its item's first example uses)."""
    return [cls(PROBE_VALUES[k]) if kind == "v" else PROBE_NUMBER
            for k, kind in enumerate(kinds)]


def _builds(cls: type, name: str, kinds: str) -> bool:
    try:
        me, args = cls(PROBE_SELF), probe_args(cls, kinds)
        out = getattr(me, name)(*args)
    except (Exception, SystemExit):  # a method that cannot take these arguments: not one
        return False
    if out is me or not isinstance(out, engine_class(cls)) or number_of(
            getattr(out, data_attr(cls(1.5)) or "data", None)) is None:
        return False
    inputs = [me, *(a for a in args if isinstance(a, cls))]
    return all(any(x is r for r in _reachable(out)) for x in inputs)


def _reachable(root: Any, limit: int = 10000) -> list[Any]:
    """Every node reachable from ``root`` through its operands (any of CHILDREN_ATTRS)."""
    seen: dict[int, Any] = {}
    stack = [root]
    while stack and len(seen) < limit:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for attr in CHILDREN_ATTRS:
            kids = getattr(node, attr, None)
            if isinstance(kids, (set, list, tuple, frozenset)):
                stack.extend(kids)
    return list(seen.values())


def _signature(method: dict[str, Any]) -> str:
    names = {"v": "value", "c": "number"}
    return f"{method['name']}({', '.join(names[k] for k in method['args'])})"


#: Constructor flags that make a leaf keep its gradient (PyTorch's spelling and its cousins).
LEAF_FLAGS = ("requires_grad", "require_grad", "requires_gradient")


def leaf_flag(cls: type) -> str | None:
    """The constructor parameter that must be True for a leaf to keep its gradient (one of
    :data:`LEAF_FLAGS` whose default is False), or None."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return None
    return next((n for n in LEAF_FLAGS if n in params and params[n].default is False), None)


def _with_flag(cls: type, flag: str) -> type:
    """A subclass of ``cls`` whose instances are built with ``flag=True`` unless told otherwise
    (the engine's own operations still pass what they compute)."""
    base_init = cls.__init__  # type: ignore[misc]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(flag, True)
        base_init(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__,
                                       "__bpverify_engine__": cls})


def engine_class(cls: type) -> type:
    """The submission's own engine class (the one its operations build), also when leaves are
    built through a subclass that sets a flag."""
    base = vars(cls).get("__bpverify_engine__", cls)
    return base if isinstance(base, type) else cls


def data_attr(v: Any) -> str | None:
    """The attribute in which ``v`` (built as ``Value(1.5)``) keeps its number, or None."""
    return next((a for a in DATA_ATTRS if number_of(getattr(v, a, None)) == 1.5), None)


def dtype_of(v: Any) -> str:
    """The precision ``v`` keeps its number in: the numpy dtype's name (``float32``) of a numpy
    value, else float64 (Python floats, and anything without a floating dtype)."""
    x = getattr(v, data_attr(v) or "data", None)
    dtype = getattr(x, "dtype", None)
    kind = getattr(dtype, "kind", "")
    return str(getattr(dtype, "name", "float64")) if kind == "f" else "float64"


def grad_attr(v: Any) -> str | None:
    """The attribute in which ``v`` keeps its gradient, or None."""
    return next((a for a in GRAD_ATTRS if number_of(getattr(v, a, None)) is not None), None)


def number_of(x: Any) -> float | None:
    """A plain float for a number of any numeric type (numpy scalars too), else None."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    if hasattr(x, "shape") and getattr(x, "shape", ()) not in ((), (1,)):
        return None
    return f



#: The family's finder (the registry's entry point).
find = find_engine
