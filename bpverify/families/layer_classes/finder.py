"""Finding the book's layer classes under the names learners give them, and their interface.

The finder (registered in :data:`bpverify.submission.loading.FINDERS` through
:mod:`bpverify.families.layer_classes.scenarios`) recognises the book's classes under the names
learners give them (``Mullayer``, ``ReLU``, ``SoftMaxWithLoss``, a name a letter or two off)
and says what it did in the submission's notes.  :func:`interface_of` explains a class that
does not have the book's interface (a misspelled method, a method outside its class, another
course's signature) so that the item fails with that explanation, not with a TypeError.
"""

from __future__ import annotations

import inspect
import sys
import types
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from bpverify.families.layer_classes.contract import LAYER_CLASSES, LayerClassSpec, name_key
from bpverify.submission.namespace import LoadedSubmission

__all__ = [
    "FORMS",
    "Interface",
    "binds",
    "edit_distance",
    "find",
    "handles",
    "interface_of",
    "interface_problem",
    "takes",
    "typo_of",
]

_METHODS = ("forward", "backward")


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def typo_of(key: str, known: str) -> bool:
    """``key`` is one or two letters off ``known`` (two only for longer names)."""
    if len(known) < 4 or key == known:
        return False
    most = 1 if len(known) <= 5 else 2
    # The distance is at least the difference in length: most pairs need no table.
    return abs(len(key) - len(known)) <= most and _within(key, known, most)


def _within(a: str, b: str, most: int) -> bool:
    """``edit_distance(a, b) <= most``, row by row, stopping once every entry of a row (and
    so every later one: entries never fall below their row's minimum) is above ``most``."""
    before: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > most:
            return False
        before, prev = prev, row
    return prev[len(b)] <= most


# --- the finder ----------------------------------------------------------------------------


def _classes(namespaces: Sequence[Mapping[str, Any]]) -> list[tuple[str, type, str]]:
    """(name, class, where) for every public class of the namespaces, nested ones too."""
    found: list[tuple[str, type, str]] = []
    for ns in namespaces:
        for name, obj in list(ns.items()):
            if isinstance(obj, type) and not name.startswith("_"):
                found.append((name, obj, ""))
                for inner, sub in vars(obj).items():
                    if isinstance(sub, type) and not inner.startswith("_"):
                        found.append((inner, sub, name))
    return found


def _module_methods(namespaces: Sequence[Mapping[str, Any]]) -> list[str]:
    """Functions named like a layer's methods, with a ``self`` parameter, at module level."""
    out = []
    for ns in namespaces:
        for name, obj in list(ns.items()):
            if (isinstance(obj, types.FunctionType) and name.lower() in _METHODS
                    and obj.__code__.co_varnames[:1] == ("self",)):
                out.append(name)
    return list(dict.fromkeys(out))


def find(namespaces: Sequence[Mapping[str, Any]], sub: LoadedSubmission) -> None:
    """Add the book's layer classes found in ``namespaces`` to ``sub.names``, with notes."""
    classes = _classes(namespaces)
    renamed: list[str] = []
    for spec in LAYER_CLASSES.values():
        if spec.name in sub.names:
            continue  # found by name, or under a name the rubric lists
        keys = {name_key(spec.name), *spec.keys}
        ranked: list[tuple[int, str, type, str]] = []
        for name, cls, outer in classes:
            key = name_key(name)
            if name == spec.name:
                rank = 0
            elif key in keys:
                rank = 1
            elif any(typo_of(key, k) for k in keys) and not any(
                    key in s.keys or key == name_key(s.name) for s in LAYER_CLASSES.values()):
                rank = 2
            else:
                continue
            ranked.append((rank + (3 if outer else 0), name, cls, outer))
        if not ranked:
            continue
        rank, name, cls, outer = min(ranked, key=lambda r: r[0])
        sub.names[spec.name] = cls
        if outer:
            sub.notes.append(
                f"class {name} is defined inside class {outer} (indented under it), not at "
                f"module level; it was graded as {spec.name}, but unindent it so that it is a "
                "class of its own")
        elif rank == 2:
            sub.notes.append(f"no class {spec.name} was found; class {name} is a letter or two "
                             f"off, so it was graded as {spec.name} (a typo?)")
        elif name != spec.name:
            renamed.append(f"{name} as {spec.name}")
        last = _ignores_dout(spec, cls)
        if last:
            sub.notes.append(last)
    if renamed:
        sub.notes.append("layer classes found under the book's other spellings: "
                         + ", ".join(renamed))
    loose = _module_methods(namespaces)
    if loose:
        sub.notes.append(
            f"{' and '.join(loose)} {'are' if len(loose) > 1 else 'is'} defined at module level "
            "with a self parameter, outside any class: a method belongs indented under its "
            "class line (e.g. class MulLayer:)")


def _ignores_dout(spec: LayerClassSpec, cls: type) -> str:
    """The note for a loss layer whose backward takes no dout or never reads it."""
    if not spec.last:
        return ""
    fn = vars(cls).get("backward")
    if not isinstance(fn, types.FunctionType):
        return ""
    code = fn.__code__
    params = code.co_varnames[1:code.co_argcount]
    if params and any(_reads(code, p) for p in params):
        return ""
    return (f"{spec.name}.backward ignores its upstream gradient dout, as the book's does: it "
            "ends the net, where dout is 1, so it is graded at dout = 1 only")


def _reads(code: types.CodeType, name: str) -> bool:
    import dis

    return any(ins.argval == name and ins.opname.startswith("LOAD")
               for ins in dis.get_instructions(code))


# --- the interface ---------------------------------------------------------------------------


def _signature(fn: Any, label: str) -> str:
    try:
        return f"{label}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return f"{label}(...)"


#: The forms of input a class handles beyond chapter 5's, and the names its code uses when it
#: does: Affine on N-D input reshapes it (chapter 7's ``original_x_shape``); SoftmaxWithLoss
#: with integer labels tells them from one-hot ones (``t.size == y.size``) and indexes with
#: ``np.arange``.
FORMS: dict[str, tuple[str, frozenset[str]]] = {
    "nd input": ("Affine", frozenset({"reshape", "original_x_shape", "ravel", "flatten"})),
    "integer labels": ("SoftmaxWithLoss", frozenset({"size", "arange", "ndim", "argmax"})),
    # The book's BatchNormalization reshapes the 4-D output of a convolution to (N, -1).
    "4-d input": ("BatchNormalization", frozenset({"reshape", "input_shape", "ndim", "ravel",
                                                   "flatten"})),
}


def _names_used(fn: Any) -> set[str]:
    """Every attribute and global name the code of ``fn`` (and the functions in it) uses."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    names: set[str] = set()
    todo = [code] if isinstance(code, types.CodeType) else []
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return names


def handles(cls: Any, form: str) -> bool:
    """Whether the code of ``cls``'s forward and backward handles ``form`` (a key of
    :data:`FORMS`): the book's chapter-5 classes take 2-D input and one-hot labels only."""
    used = _names_used(getattr(cls, "forward", None)) | _names_used(getattr(cls, "backward",
                                                                            None))
    return bool(used & FORMS[form][1])


def takes(cls: type, method: str, n: int) -> bool:
    """``cls().method`` accepts ``n`` positional arguments (a static method takes no self)."""
    raw = inspect.getattr_static(cls, method, None)
    fn = getattr(cls, method)
    if isinstance(raw, (staticmethod, classmethod)):
        return binds(fn, n)
    return binds(fn, 1 + n)


def binds(fn: Any, n: int) -> bool:
    """``fn`` accepts ``n`` positional arguments."""
    try:
        inspect.signature(fn).bind(*range(n))
        return True
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): assume it fits
        return True


_SIZE_WORDS = ("dim", "size", "in_", "out", "feature", "unit", "num", "n_")


def _missing_method(spec: LayerClassSpec, cls: type, method: str) -> Interface:
    base = f"{spec.name} has no method {method}"
    abstract: frozenset[str] = getattr(cls, "__abstractmethods__", frozenset())
    if method in abstract:
        base = f"{spec.name} leaves the abstract method {method} of its base class undefined"
    defined = [n for n in dir(cls) if not n.startswith("__") and callable(getattr(cls, n, None))
               and n not in abstract]
    close = [n for n in defined if n.lower() == method or typo_of(n.lower(), method)]
    if close:
        return Interface(f"{base}; it defines {close[0]} — a typo?", "misspelled-method",
                         method, close[0], method)
    owner = _nested_in(cls, method)
    if owner:
        return Interface(f"{base}; a function {method} is defined inside {spec.name}.{owner}, "
                         "indented one level too far: dedent it to the level of the other "
                         "methods", "nested-method", method, f"{owner}.{method}", method)
    module = sys.modules.get(cls.__module__)
    loose = getattr(module, method, None) if module is not None else None
    if isinstance(loose, types.FunctionType) and loose.__code__.co_varnames[:1] == ("self",):
        return Interface(f"{base}; {_signature(loose, method)} is defined at module level, "
                         f"outside the class: indent it under class {cls.__name__}",
                         "method-outside-class", method, method, method)
    expected = spec.forward_signature() if method == "forward" else spec.backward_signature()
    return Interface(f"{base}; expected {expected}, as in the book", "missing-method", method,
                     "", method)


def _nested_in(cls: type, method: str) -> str:
    """The method of ``cls`` whose body holds a ``def method`` (indented too far), or ""."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return ""
    owner, indent = "", None
    for line in lines:
        stripped = line.lstrip()
        if not stripped.startswith("def "):
            continue
        depth = len(line) - len(stripped)
        name = stripped[4:].split("(")[0].strip()
        if indent is None or depth <= indent:
            indent, owner = depth, name
        elif name == method:
            return owner
    return ""


class Interface(NamedTuple):
    """What differs from the book's interface, as plain facts ("" everywhere when nothing).

    ``kind`` tags it ("misspelled-method", "nested-method", "method-outside-class",
    "missing-method", "interface", "unwritten": a placeholder class with no methods);
    ``method`` is the method concerned; ``found`` is what the class has instead (a name or a
    signature), ``expected`` what the book's has.
    """

    problem: str = ""
    kind: str = ""
    method: str = ""
    found: str = ""
    expected: str = ""


def _differs(method: str, found: str, expected: str, why: str = "") -> Interface:
    return Interface(f"interface differs: {found} found; expected {expected}{why}", "interface",
                     method, found, expected)


def _interface(spec: LayerClassSpec, cls: Any) -> Interface:
    if not isinstance(cls, type):
        return Interface(f"{spec.name} is a {type(cls).__name__}; expected a class with forward "
                         "and backward", "interface", "", type(cls).__name__, "class")
    abstract: frozenset[str] = getattr(cls, "__abstractmethods__", frozenset())
    own = [n for n, v in vars(cls).items() if not n.startswith("__") and (
        callable(v) or isinstance(v, (staticmethod, classmethod)))]
    if (not own and not any(callable(getattr(cls, m, None)) for m in _METHODS)
            and all(_missing_method(spec, cls, m).kind == "missing-method" for m in _METHODS)):
        # class BatchNormalization: def __init__(self): pass -- a placeholder, not a mistake.
        return Interface(f"{spec.name} defines no methods but __init__ (neither forward nor "
                         "backward): not written yet", "unwritten", "forward", "",
                         spec.forward_signature())
    for method in _METHODS:
        # An abstract method of a base class (class Sigmoid(Layer)) is not one of its own.
        if not callable(getattr(cls, method, None)) or method in abstract:
            return _missing_method(spec, cls, method)
    init = cls.__init__  # type: ignore[misc]
    found = _signature(init, f"{cls.__name__}.__init__")
    if not binds(init, 1 + len(spec.init)):
        return _differs("__init__", found, spec.init_signature(),
                        f" (the book builds {spec.name}({', '.join(spec.init)}))")
    if spec.params:  # a class given arrays (Affine(W, b)), not sizes
        try:
            names = list(inspect.signature(init).parameters)[1:1 + len(spec.init)]
        except (TypeError, ValueError):
            names = []
        if any(w in n.lower() for n in names for w in _SIZE_WORDS):
            return _differs("__init__", found, spec.init_signature(),
                            f": the book's {spec.name} is given its parameters, not their sizes")
    fwd = cls.forward  # type: ignore[attr-defined]
    if not takes(cls, "forward", len(spec.inputs) + spec.flag):
        return _differs("forward", _signature(fwd, f"{cls.__name__}.forward"),
                        spec.forward_signature())
    bwd = cls.backward  # type: ignore[attr-defined]
    if not (takes(cls, "backward", 1) or (spec.last and takes(cls, "backward", 0))):
        return _differs("backward", _signature(bwd, f"{cls.__name__}.backward"),
                        spec.backward_signature())
    return Interface()


#: class -> {spec name: its interface}: inspecting signatures costs more than a layer's call.
_INTERFACES: weakref.WeakKeyDictionary[type, dict[str, Interface]] = weakref.WeakKeyDictionary()


def interface_of(spec: LayerClassSpec, cls: Any) -> Interface:
    """How ``cls`` differs from the book's interface for ``spec`` (all "" when it does not)."""
    if not isinstance(cls, type):
        return _interface(spec, cls)
    try:
        known = _INTERFACES.setdefault(cls, {})
    except TypeError:  # a class that cannot be weakly referenced: no memo
        return _interface(spec, cls)
    if spec.name not in known:
        known[spec.name] = _interface(spec, cls)
    return known[spec.name]


def interface_problem(spec: LayerClassSpec, cls: Any) -> str:
    """Why ``cls`` does not have the book's interface for ``spec`` ("" when it does)."""
    return interface_of(spec, cls).problem

