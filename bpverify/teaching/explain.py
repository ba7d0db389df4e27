"""Explain any expression the lecture's way: build it into a circuit of gates and walk it.

The expression is parsed with :mod:`ast` and never evaluated: only numbers, variables,
``+ - * /``, unary minus, ``exp(...)``, ``max(a, b, ...)`` and ``sigmoid(...)`` are accepted, and
each becomes one of the contract's gates, the same ones a submission implements:

=================  ==================================================
``x + y``          AddGate
``x * y``          MultiplyGate
``x - y``          ScaleGate(-1) on y, then AddGate (as the lecture's ``*-1``)
``x / y``          ReciprocalGate on y, then MultiplyGate (a/b = a * 1/b)
``-x``, ``3 * x``  ScaleGate(-1), ScaleGate(3)
``x + 1``          AddConstGate(1)
``max(x, y)``      MaxGate (a number, as in ``max(x, 0)``, is a constant wire)
``exp(x)``         ExpGate
``sigmoid(x)``     SigmoidGate
=================  ==================================================

Parts made of numbers only are folded into one number.  The same circuit built with a
student's engine (``explain --engine``) is :mod:`bpverify.teaching.engine_comparison`.

>>> from bpverify.teaching.explain import build
>>> [n.label for n in build("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))").nodes]
['*', '*', '+', '+', '*-1', 'exp', '+1', '1/x']
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bpverify.contract import Node
from bpverify.feedback.words import num
from bpverify.teaching.lecture import Walk, walk

__all__ = [
    "ExplainError",
    "ExprCircuit",
    "build",
    "explain",
    "parse_values",
]

#: Longest expression accepted; a circuit of more gates is no longer a lesson.
MAX_LENGTH = 500
FUNCTIONS = {"exp": "ExpGate", "sigmoid": "SigmoidGate", "max": "MaxGate"}

_OPERATORS = {
    ast.Pow: ("**", "write x*x for x squared"),
    ast.Mod: ("%", ""),
    ast.FloorDiv: ("//", "use / for division"),
    ast.MatMult: ("@", "explain works on numbers, one gate at a time"),
    ast.BitAnd: ("&", ""), ast.BitOr: ("|", ""), ast.BitXor: ("^", "write x*x for x squared"),
    ast.LShift: ("<<", ""), ast.RShift: (">>", ""),
}


class ExplainError(ValueError):
    """The expression or the values cannot be explained; says what, where, and how to fix it."""

    def __init__(self, message: str, expr: str = "", start: int | None = None,
                 end: int | None = None) -> None:
        text = message
        if expr and start is not None:
            stop = max(end if end is not None else start + 1, start + 1)
            text += f"\n  {expr}\n  {' ' * start}{'^' * (stop - start)}"
        super().__init__(text)
        self.start, self.end = start, end


@dataclass(frozen=True)
class ExprCircuit:
    """An expression as a circuit: its variables, gates in forward order, constant wires."""

    expr: str
    title: str
    variables: tuple[str, ...]
    nodes: tuple[Node, ...]
    constants: dict[str, float] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.nodes[-1].output


def _char_col(line: str, byte_col: int) -> int:
    """ast's columns count UTF-8 bytes; the caret needs characters."""
    return len(line.encode()[:byte_col].decode(errors="ignore"))


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Compare):
        return "a comparison"
    if isinstance(node, ast.Attribute):
        return f"the attribute .{node.attr}"
    if isinstance(node, ast.Subscript):
        return "indexing"
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.SetComp,
                         ast.DictComp)):
        return f"a {type(node).__name__}"
    if isinstance(node, ast.IfExp):
        return "a conditional expression"
    if isinstance(node, ast.BoolOp):
        return f"the boolean operator {type(node.op).__name__.lower()}"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return f"{type(node).__name__} syntax"


@dataclass
class _Builder:
    expr: str
    variables: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    constants: dict[str, float] = field(default_factory=dict)
    _fresh: Iterator[str] | None = None

    def fail(self, node: ast.AST, message: str) -> ExplainError:
        start = _char_col(self.expr, getattr(node, "col_offset", 0))
        end = _char_col(self.expr, getattr(node, "end_col_offset", None) or start + 1)
        return ExplainError(f"cannot explain {self.expr!r}: {message} (column {start + 1})",
                            self.expr, start, end)

    def name(self) -> str:
        assert self._fresh is not None
        return next(self._fresh)

    def gate(self, gate: str, inputs: Sequence[str], label: str,
             const: float | None = None) -> str:
        out = self.name()
        self.nodes.append(Node(gate, tuple(inputs), out, label, const))
        return out

    def wire(self, value: str | float) -> str:
        """A gate input: a wire as is, a number as a constant wire."""
        if isinstance(value, str):
            return value
        name = f"const{len(self.constants)}"
        self.constants[name] = value
        return name

    # Each visit returns a wire name (str) or, for a part made of numbers only, a float.
    def visit(self, node: ast.AST) -> str | float:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(node, f"{_describe(node)} is not a number")
            if not math.isfinite(node.value):
                raise self.fail(node, f"{node.value!r} is not a finite number")
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise self.fail(node, f"{node.id} is a function; call it, e.g. {node.id}(x)")
            if node.id not in self.variables:
                self.variables.append(node.id)
            return node.id
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            if isinstance(node.op, ast.USub):
                v = self.visit(node.operand)
                return -v if isinstance(v, float) else self.gate("ScaleGate", [v], "*-1", -1.0)
            raise self.fail(node, f"the unary operator {type(node.op).__name__} is not "
                                  "supported; only - is")
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{_describe(node)} is not supported; use numbers, variables, "
                              "+ - * /, exp, max and sigmoid")

    def binop(self, node: ast.BinOp) -> str | float:
        op = type(node.op)
        if op in _OPERATORS:
            sym, hint = _OPERATORS[op]
            raise self.fail(node, f"the operator {sym} is not supported"
                                  + (f"; {hint}" if hint else ""))
        a, b = self.visit(node.left), self.visit(node.right)
        if isinstance(a, float) and isinstance(b, float):
            if op is ast.Div and b == 0:
                raise self.fail(node, "division by zero")
            folded = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b,
                      ast.Div: a / b if b else 0.0}[op]
            if not math.isfinite(folded):
                raise self.fail(node, f"{ast.unparse(node)} overflows a float")
            return folded
        if op is ast.Add:
            return self.add(a, b)
        if op is ast.Sub:
            if isinstance(b, float):
                return self.add(a, -b)
            return self.add(a, self.gate("ScaleGate", [b], "*-1", -1.0))
        if op is ast.Mult:
            if isinstance(a, float) or isinstance(b, float):
                c, w = (a, b) if isinstance(a, float) else (b, a)
                return self.gate("ScaleGate", [str(w)], f"*{num(c)}", float(c))
            return self.gate("MultiplyGate", [a, b], "*")
        # division: a / b = a * (1/b)
        if isinstance(b, float):
            if b == 0:
                raise self.fail(node, "division by zero")
            return self.gate("ScaleGate", [str(a)], f"/{num(b)}", 1.0 / b)
        inv = self.gate("ReciprocalGate", [b], "1/x")
        if isinstance(a, float):
            return inv if a == 1.0 else self.gate("ScaleGate", [inv], f"*{num(a)}", a)
        return self.gate("MultiplyGate", [a, inv], "*")

    def add(self, a: str | float, b: str | float) -> str:
        if isinstance(a, float):
            a, b = b, a
        if isinstance(b, float):
            label = f"+{num(b)}" if b >= 0 else f"-{num(-b)}"
            return self.gate("AddConstGate", [str(a)], label, b)
        return self.gate("AddGate", [str(a), b], "+")

    def call(self, node: ast.Call) -> str | float:
        if not isinstance(node.func, ast.Name):
            hint = ""
            if isinstance(node.func, ast.Attribute) and node.func.attr in FUNCTIONS:
                hint = f"; write {node.func.attr}(...) without a module"
            raise self.fail(node.func, f"{_describe(node.func)} cannot be called{hint}")
        fn = node.func.id
        if fn not in FUNCTIONS:
            raise self.fail(node.func, f"unknown function {fn}(); the functions are "
                                       f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{fn}() takes plain arguments only")
        want = "at least 2" if fn == "max" else "1"
        if (fn == "max" and len(node.args) < 2) or (fn != "max" and len(node.args) != 1):
            raise self.fail(node, f"{fn}() takes {want} argument"
                                  f"{'s' if fn == 'max' else ''}, got {len(node.args)}")
        args = [self.visit(a) for a in node.args]
        if fn == "max":
            acc = args[0]
            for nxt in args[1:]:
                if isinstance(acc, float) and isinstance(nxt, float):
                    acc = max(acc, nxt)
                else:
                    acc = self.gate("MaxGate", [self.wire(acc), self.wire(nxt)], "max")
            return acc
        (x,) = args
        if isinstance(x, float):
            try:
                return math.exp(x) if fn == "exp" else 1.0 / (1.0 + math.exp(-x))
            except OverflowError:
                raise self.fail(node, f"{fn}({num(x)}) overflows a float") from None
        return self.gate(FUNCTIONS[fn], [x], "exp" if fn == "exp" else "σ")


def _names(taken: set[str]) -> Iterator[str]:
    for ch in "abcdeghijklmnopqrstuvwxyz":  # f is the output, as in the lecture
        if ch not in taken:
            yield ch
    k = 1
    while True:
        if f"n{k}" not in taken:
            yield f"n{k}"
        k += 1


def build(expr: str) -> ExprCircuit:
    """The circuit of gates that computes ``expr``; raises ExplainError with where and why."""
    text = " ".join(expr.split())
    if not text:
        raise ExplainError("the expression is empty; write e.g. \"(x + y) * z\"")
    if len(text) > MAX_LENGTH:
        raise ExplainError(f"the expression is {len(text)} characters long; at most "
                           f"{MAX_LENGTH} make a circuit worth drawing")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = min(exc.offset - 1, len(text)) if exc.offset and exc.offset >= 1 else len(text)
        where = "at the end" if col >= len(text) else f"column {col + 1}"
        raise ExplainError(f"cannot parse {text!r}: {exc.msg} ({where})", text, col,
                           col + 1) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExplainError(f"cannot parse {text!r}: {type(exc).__name__}") from None
    variables = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
    b = _Builder(text)
    b._fresh = _names(set(variables) | {"f"})
    try:
        result = b.visit(tree.body)
    except RecursionError:
        raise ExplainError(f"cannot explain {text!r}: it is nested too deeply") from None
    if isinstance(result, float):
        raise ExplainError(f"{text!r} has no variables, so there is nothing to differentiate; "
                           "write e.g. \"x * 3\"")
    if not b.nodes or result in b.variables:
        raise ExplainError(f"{text!r} is just the variable {result}; there is no gate to walk "
                           "through, write e.g. \"2 * x\"")
    out = "f" if "f" not in b.variables else "out"
    last = b.nodes[-1]
    b.nodes[-1] = Node(last.gate, last.inputs, out, last.label, last.const)
    return ExprCircuit(text, f"{out} = {ast.unparse(tree)}", tuple(b.variables),
                       tuple(b.nodes), dict(b.constants))


def parse_values(assignments: Sequence[str]) -> dict[str, float]:
    """``["x=-2", "y=5"]`` as ``{"x": -2.0, "y": 5.0}``, or ExplainError naming the bad one."""
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name:
            raise ExplainError(f"{item!r}: expected NAME=VALUE, e.g. x=-2")
        if not name.isidentifier():
            raise ExplainError(f"{item!r}: {name!r} is not a variable name")
        try:
            value = float(raw)
        except ValueError:
            raise ExplainError(f"{item!r}: expected a number after '=', got {raw!r}") from None
        if not math.isfinite(value):
            raise ExplainError(f"{item!r}: expected a finite number, got {raw!r}")
        if name in values:
            raise ExplainError(f"{name} is given twice ({name}={num(values[name])} and {item})")
        values[name] = value
    return values


def explain(expr: str, values: Mapping[str, float]) -> Walk:
    """Build ``expr`` into gates and walk it forward and backward at ``values``."""
    circuit = build(expr)
    missing = [v for v in circuit.variables if v not in values]
    if missing:
        raise ExplainError(
            f"no value for {', '.join(missing)}; the expression uses "
            f"{', '.join(circuit.variables)}. Add "
            + " ".join(f"{m}=VALUE" for m in missing)
        )
    extra = [v for v in values if v not in circuit.variables]
    if extra:
        raise ExplainError(
            f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not in the expression; "
            f"its variables are {', '.join(circuit.variables)}"
        )
    w = walk(circuit.nodes, {v: values[v] for v in circuit.variables}, title=circuit.title,
             inputs=circuit.variables, constants=circuit.constants)
    for s in w.steps:
        if not math.isfinite(s.output_value):
            ins = ", ".join(f"{n} = {num(v)}" for n, v in zip(s.inputs, s.input_values)
                            if n not in circuit.constants)
            raise ExplainError(f"at these values the {s.label} gate ({s.gate}) gets {ins} and "
                               f"computes {s.output} = {num(s.output_value)}; choose other values")
    for name, g in w.grads.items():
        if not math.isfinite(g):
            raise ExplainError(f"at these values the gradient on {name} is {num(g)}; choose "
                               "other values")
    return w
