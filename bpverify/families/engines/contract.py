"""Scalar autograd engines in the style of micrograd: names, operations and items.

An engine is a class (``Value``) whose instances hold a number (``data``) and a gradient
(``grad``); its operators build a graph and attach a ``_backward`` closure to each result, and
``backward()`` walks the graph in reverse topological order.  The grader talks to an engine
through *programs*: plain data naming leaf values and operations (:class:`EngineOp`), built
with the engine in the submission's process (see :mod:`.scenarios`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = [
    "CATEGORY",
    "CLASS_NAMES",
    "DATA_ATTRS",
    "ENGINE_ITEMS",
    "ENGINE_OPS",
    "GRAD_ATTRS",
    "GRAPH_ITEMS",
    "ITEMS",
    "METHODS_ITEM",
    "EngineOp",
    "op_item",
]

#: The category of the family's items (the checks are in checks/).
CATEGORY = "engine"
#: The engine class's names tried in order (a rubric's ``names`` on any engine item overrides).
CLASS_NAMES = ("Value",)
#: Where an engine keeps its number and its gradient, first found wins.
DATA_ATTRS = ("data", "val", "value")
GRAD_ATTRS = ("grad", "grade", "gradient")


@dataclass(frozen=True)
class EngineOp:
    """One operation of an engine, as a program names it.

    ``form`` says where a Python number may stand: "vv" ``a + b``, "vc" ``a + 2.0``, "cv"
    ``2.0 + a`` (the reflected ``__radd__``), "v" a unary operation (a method or ``-a``).
    """

    name: str  #: the item's name, e.g. "Value +", "Value r-", "Value tanh"
    op: str  #: the program's operation: + - * / ** neg relu tanh exp log sigmoid
    forms: tuple[str, ...]
    attrs: tuple[str, ...]  #: class attributes that must exist, e.g. ("__sub__",)
    code: str  #: how a student writes it, ``{a}``/``{b}`` for the operands

    @property
    def binary(self) -> bool:
        return self.forms != ("v",)


ENGINE_OPS: dict[str, EngineOp] = {
    o.name: o
    for o in (
        EngineOp("Value +", "+", ("vv", "vc"), ("__add__",), "{a} + {b}"),
        EngineOp("Value -", "-", ("vv", "vc"), ("__sub__",), "{a} - {b}"),
        EngineOp("Value *", "*", ("vv", "vc"), ("__mul__",), "{a} * {b}"),
        EngineOp("Value /", "/", ("vv", "vc"), ("__truediv__",), "{a} / {b}"),
        EngineOp("Value **", "**", ("vc",), ("__pow__",), "{a} ** {b}"),
        EngineOp("Value r+", "+", ("cv",), ("__radd__",), "{a} + {b}"),
        EngineOp("Value r-", "-", ("cv",), ("__rsub__",), "{a} - {b}"),
        EngineOp("Value r*", "*", ("cv",), ("__rmul__",), "{a} * {b}"),
        EngineOp("Value r/", "/", ("cv",), ("__rtruediv__",), "{a} / {b}"),
        EngineOp("Value r**", "rpow", ("cv",), ("__rpow__",), "{a} ** {b}"),
        EngineOp("Value neg", "neg", ("v",), ("__neg__",), "-{a}"),
        EngineOp("Value relu", "relu", ("v",), ("relu",), "{a}.relu()"),
        EngineOp("Value tanh", "tanh", ("v",), ("tanh",), "{a}.tanh()"),
        EngineOp("Value exp", "exp", ("v",), ("exp",), "{a}.exp()"),
        EngineOp("Value log", "log", ("v",), ("log",), "{a}.log()"),
        EngineOp("Value sigmoid", "sigmoid", ("v",), ("sigmoid",), "{a}.sigmoid()"),
    )
}

#: The engine items: random graphs of every operation the engine has.
GRAPH_ITEMS = ("Value graph", "Value fan-out", "Value deep chain")
#: The item of the methods an engine adds beyond :data:`ENGINE_OPS` (``softplus()``,
#: ``linear(w, b)``, ...): each found by calling it (see the finder), judged against
#: centred differences of its own forward and where its input fans out.
METHODS_ITEM = "Value methods"


def op_item(name: str) -> Item:
    return Item(name, CATEGORY, ("Value", name))


#: Every item of the family, operations first.  An operation's item needs the class and the
#: operation (the finder names each operation the class has); a graph item needs the class.
ENGINE_ITEMS: tuple[Item, ...] = (
    *(op_item(n) for n in ENGINE_OPS),
    *(Item(n, CATEGORY, ("Value",)) for n in GRAPH_ITEMS),
    Item(METHODS_ITEM, CATEGORY, ("Value", METHODS_ITEM)),
)

#: The family's items (the registry reads ITEMS); the finder names what the class has.
ITEMS = ENGINE_ITEMS
