"""Programs of ``Value`` operations: built from Hypothesis draws, run as plain data, shown as code.

A :class:`Program` is what the grader sends the engine (leaves and nodes, plain data) and what
a failure prints (lines a student can paste).  The ``realize_*`` functions turn a draw into a
tree, a graph whose values fan out, or a long chain, adding only nodes that are safe where they
stand (away from kinks, poles and overflow).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from bpverify.families.engines.contract import EngineOp
from bpverify.operations import MATH, OPERATIONS

__all__ = [
    "BASES",
    "LEAF",
    "NICE",
    "POWERS",
    "STEP_DRAW",
    "Program",
    "add_node",
    "fmt_const",
    "local_value",
    "program_on",
    "realize_chain",
    "realize_fanout",
    "realize_tree",
    "safe_at",
]

NICE = (2.0, -3.0, 0.5, 1.5, -0.5, 3.0, -2.0, 4.0, -1.5, 2.5)
#: Bases of a constant raised to a value (``2 ** a``): positive, so its gradient log(c) exists.
BASES = (2.0, 0.5, 3.0, 1.5)
POWERS = (2, 3, -1, 0.5, 2.5, -2)


@dataclass
class Program:
    """A program as the grader builds it: plain data for the engine, code for the student."""

    leaves: list[float]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  #: float64 values (domain checks only)
    #: How the program is run after it is built: ``f.backward()`` unless the check says
    #: otherwise (an operation's item: ``c.grad = 0.125; c._backward()``)
    run: list[str] = field(default_factory=list)
    #: program_oracle's answers, once computed (a program realized once is judged thrice)
    memo: dict[bool, tuple[float, list[float], list[float]]] = field(
        default_factory=dict, repr=False, compare=False)

    def plain(self) -> dict[str, Any]:
        return {"leaves": list(self.leaves), "nodes": self.nodes, "names": self.names}

    def operands(self, j: int) -> list[int]:
        return [i for kind, i in self.nodes[j]["args"] if kind == "v"]

    def code(self, comment: str = "") -> str:
        lines = [f"{self.names[k]} = Value({x!r})" for k, x in enumerate(self.leaves)]
        first = len(self.leaves)
        lines += [f"{self.names[first + j]} = {n['code']}" for j, n in enumerate(self.nodes)]
        lines += self.run or [f"{self.names[-1]}.backward()"]
        lines[-1] += f"  # {comment}" if comment else ""
        return "; ".join(lines) if len(lines) <= 8 else "\n".join(lines)


def _name(k: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[k] if k < len(letters) else f"v{k}"


def _code(op: EngineOp, form: str, args: Sequence[str]) -> str:
    if form == "v":
        return op.code.format(a=args[0])
    return op.code.format(a=args[0], b=args[1])


def fmt_const(x: Any) -> str:
    return repr(x)


def local_value(op: str, xs: Sequence[float]) -> float:
    """The operation's value on Python floats, from the one table of operations."""
    operation = OPERATIONS[op]
    value: float = operation.value(MATH, *xs[:operation.arity])
    return value


def safe_at(op: str, xs: Sequence[float]) -> bool:
    """Away from where the operation is undefined, has a kink, or overflows."""
    a = xs[0]
    b = xs[1] if len(xs) > 1 else 0.0
    if op == "/" and abs(b) < 0.25:
        return False
    if op == "log" and a < 0.25:
        return False
    if op == "**" and ((float(b) != int(b) and a < 0.25) or (b < 0 and abs(a) < 0.25)):
        return False
    if op == "relu" and abs(a) < 0.05:
        return False
    if op == "exp" and a > 6:
        return False
    if op == "sigmoid" and abs(a) > 30:
        return False
    # The lecture's tanh, (e^2x - 1) / (e^2x + 1) with math.exp, overflows from |x| ~ 355:
    # graph items stay where its formula holds (extreme inputs are not what they test).
    if op == "tanh" and abs(a) > 20:
        return False
    if op == "rpow" and (a <= 0.25 or abs(b) > 20):
        return False
    try:
        v = local_value(op, xs)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return isinstance(v, float) and math.isfinite(v) and abs(v) <= 1e4


def add_node(p: Program, op: EngineOp, form: str, slots: Sequence[int], const: Any) -> bool:
    """Append ``op`` in ``form`` on ``slots`` (and ``const``) if it is safe there."""
    names = [p.names[s] for s in slots]
    if form == "v":
        args, xs, shown = [("v", slots[0])], [p.values[slots[0]]], names
    elif form == "vv":
        args, xs, shown = [("v", slots[0]), ("v", slots[1])], [p.values[s] for s in slots], names
    elif form == "vc":
        args, xs, shown = [("v", slots[0]), ("c", const)], [p.values[slots[0]], const], \
            [names[0], fmt_const(const)]
    else:
        args, xs, shown = [("c", const), ("v", slots[0])], [const, p.values[slots[0]]], \
            [fmt_const(const), names[0]]
    if not safe_at(op.op, xs):
        return False
    p.nodes.append({"op": op.op, "args": [list(a) for a in args], "code": _code(op, form, shown),
                    "item": op.name, "form": form})
    p.values.append(local_value(op.op, xs))
    p.names.append(_name(len(p.names)))
    return True


def program_on(values: Sequence[float]) -> Program:
    p = Program(leaves=[float(v) for v in values])
    p.names = [_name(k) for k in range(len(values))]
    p.values = list(p.leaves)
    return p


LEAF = st.integers(-12, 12).filter(lambda k: k != 0).map(lambda k: k / 4)
STEP_DRAW = st.tuples(st.integers(0, 63), st.integers(0, 7), st.integers(0, 15), st.integers(0, 15),
                  st.integers(0, 15))


def _choices(ops: Sequence[EngineOp], pick: int, form_pick: int, need: str = ""
             ) -> list[tuple[EngineOp, str]]:
    """(op, form) pairs starting at ``pick``, each op in one of its forms."""
    out = []
    for k in range(len(ops)):
        op = ops[(pick + k) % len(ops)]
        forms = [f for f in op.forms if not need or (f == "vv") == (need == "vv")]
        if forms:
            out.append((op, forms[form_pick % len(forms)]))
    return out


def _const(op: EngineOp, pick: int) -> Any:
    if op.op == "rpow":
        return BASES[pick % len(BASES)]
    return POWERS[pick % len(POWERS)] if op.op == "**" else NICE[pick % len(NICE)]


def realize_tree(ops: Sequence[EngineOp], leaves: Sequence[float],
                 steps: Sequence[tuple[int, ...]]) -> Program:
    """Every value used once: a tree, so no gradient ever fans out."""
    p = program_on(leaves)
    pool = list(range(len(leaves)))
    for pick, form_pick, i, j, c in steps:
        for op, form in _choices(ops, pick, form_pick):
            if form == "vv" and len(pool) < 2:
                continue
            a = pool[i % len(pool)]
            rest = [s for s in pool if s != a]
            b = rest[j % len(rest)] if form == "vv" else a
            if add_node(p, op, form, [a, b] if form == "vv" else [a], _const(op, c)):
                pool = [s for s in pool if s not in (a, b)] + [len(p.values) - 1]
                break
    joins = _choices(ops, 0, 0, need="vv")
    while len(pool) > 1 and joins:
        a, b = pool[0], pool[1]
        if not any(add_node(p, op, "vv", [a, b], 0) for op, _ in joins):
            break
        pool = [*pool[2:], len(p.values) - 1]
    return p


def realize_fanout(ops: Sequence[EngineOp], leaves: Sequence[float],
                   steps: Sequence[tuple[int, ...]]) -> Program:
    """Values reused anywhere (``a * a``, shared sub-expressions), ending on a node that joins
    the last value with an earlier one, so some value is reached by paths of different lengths.
    """
    p = program_on(leaves)
    for pick, form_pick, i, j, c in steps:
        n = len(p.values)
        for op, form in _choices(ops, pick, form_pick):
            slots = [n - 1 - i % n, n - 1 - j % n] if form == "vv" else [n - 1 - i % n]
            if add_node(p, op, form, slots, _const(op, c)):
                break
    joins = _choices(ops, steps[0][0] if steps else 0, 0, need="vv")
    n = len(p.values)
    earlier = (steps[-1][2] if steps else 0) % max(1, n - 1)
    for op, _ in joins:
        if add_node(p, op, "vv", [n - 1, earlier], 0):
            break
    return p


def realize_chain(ops: Sequence[EngineOp], leaf: float, scale: float,
                  picks: Sequence[int], length: int) -> Program:
    """A chain of ``length`` one-operand steps (constants on either side), times a leaf."""
    p = program_on([leaf, scale])
    unary = [o for o in ops if o.forms != ("vv",)]
    shrink = [o for o in unary if o.op in ("tanh", "sigmoid")] + [
        o for o in unary if o.op in ("*", "/") and "vc" in o.forms]
    last = 0
    for k in range(length):
        pick = picks[k % len(picks)] + k
        x = p.values[last]
        choices = [(o, f) for o, f in _choices(unary, pick, pick // 7) if f != "vv"]
        if abs(x) > 4 and shrink:
            o = shrink[pick % len(shrink)]
            choices = [(o, "v" if o.forms == ("v",) else "vc")]
        for op, form in choices:
            const = 0.5 if op.op == "*" and abs(x) > 4 else 2.0 if op.op == "/" else \
                _const(op, pick)
            if add_node(p, op, form, [last], const):
                last = len(p.values) - 1
                break
    mul = [o for o in ops if o.op == "*" and "vv" in o.forms]
    if mul:
        add_node(p, mul[0], "vv", [last, 1], 0)
    return p
