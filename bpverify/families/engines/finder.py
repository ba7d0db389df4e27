"""Finding a scalar autograd engine (micrograd's ``Value``) in a submission, and reading it.

:func:`find` (the family's finder, run by the loader through the registry) names the engine
class ``Value`` and every operation it defines (``Value +``, ``Value tanh``, ...); the attribute
readers find where a value keeps its number and its gradient.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from bpverify.families.engines.contract import CLASS_NAMES, DATA_ATTRS, ENGINE_OPS, GRAD_ATTRS
from bpverify.submission.namespace import LoadedSubmission

__all__ = [
    "LEAF_FLAGS",
    "data_attr",
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
        cls = next((ns[alias] for ns in namespaces if isinstance(ns.get(alias), type)), None)
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
    has = [n[len("Value "):] for n in ENGINE_OPS if n in sub.names]
    dtype = dtype_of(probe)
    kept = "" if dtype == "float64" else f", kept in {dtype}: judged in {dtype}'s precision"
    sub.notes.append(f"autograd engine: class {cls.__name__} (value in .{data}, gradient in "
                     f".{grad_attr(probe)}{kept}) with {' '.join(has) or 'no operations'}")


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
