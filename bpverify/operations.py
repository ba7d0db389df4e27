"""One table of the elementary operations: each one's value, local gradients, lecture formula and
the lecture's gate (or engine operation) that computes it.

The gate oracles (:mod:`bpverify.grading.oracles`), the engine oracle and the program builder
(``bpverify/families/engines/checks/``) and the lecture walk's formulas
(:mod:`bpverify.teaching.lecture`) all read this table, so that one operation's mathematics is
written once.  A value or a local gradient is written against a small maths namespace ``m``
(``m.exp``, ``m.where``, ...): :data:`MATH` computes with Python floats (the program builder),
the grader's oracles pass one of ``jax.numpy`` (:func:`bpverify.grading.oracles.jax_math`), so
that this module imports no JAX and the worker side may read it too.

An operand that is a constant of the gate (``AddConstGate(c)``, ``ScaleGate(a)``) is the last
operand: ``+c`` computes ``x + c``; the gate's own inputs come first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MATH", "OPERATIONS", "Math", "Operation", "of_gate"]


@dataclass(frozen=True)
class Math:
    """The functions an operation's formulas use, for one kind of number."""

    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]
    tanh: Callable[[Any], Any]
    sigmoid: Callable[[Any], Any]
    #: ``where(cond, a, b)``: a where cond holds, else b (element by element for arrays)
    where: Callable[[Any, Any, Any], Any]


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


#: Python floats (``math``): what the program builder computes node values with.
MATH = Math(exp=math.exp, log=math.log, tanh=math.tanh, sigmoid=_sigmoid,
            where=lambda cond, a, b: a if cond else b)


@dataclass(frozen=True)
class Operation:
    """One elementary operation."""

    key: str  #: "+", "*", "max", "exp", "1/x", "+c", "*c", "sigmoid", "-", "/", "**", ...
    arity: int  #: its operands, a gate's constant included (the last one)
    value: Callable[..., Any]  #: ``value(m, *operands)``
    local: Callable[..., tuple[Any, ...]]  #: ``local(m, *operands)``: d value / d each operand
    #: How the lecture writes it, ``{0}``, ``{1}`` for the operands: "{0} + {1}", "exp({0})"
    lecture: str
    gate: str | None = None  #: the lecture's gate class that computes it (contract.GATES)


def _op(*args: Any, **kwargs: Any) -> tuple[str, Operation]:
    op = Operation(*args, **kwargs)
    return op.key, op


OPERATIONS: dict[str, Operation] = dict((
    _op("+", 2, lambda m, a, b: a + b, lambda m, a, b: (1.0, 1.0), "{0} + {1}", "AddGate"),
    _op("*", 2, lambda m, a, b: a * b, lambda m, a, b: (b, a), "{0} * {1}", "MultiplyGate"),
    _op("max", 2, lambda m, a, b: m.where(a >= b, a, b),
        lambda m, a, b: (m.where(a >= b, 1.0, 0.0), m.where(a >= b, 0.0, 1.0)),
        "max({0}, {1})", "MaxGate"),
    _op("exp", 1, lambda m, a: m.exp(a), lambda m, a: (m.exp(a),), "exp({0})", "ExpGate"),
    _op("1/x", 1, lambda m, a: 1.0 / a, lambda m, a: (-1.0 / (a * a),), "1/{0}",
        "ReciprocalGate"),
    _op("+c", 2, lambda m, a, c: a + c, lambda m, a, c: (1.0, 1.0), "{0} + {1}",
        "AddConstGate"),
    _op("*c", 2, lambda m, a, c: c * a, lambda m, a, c: (c, a), "{1} * {0}", "ScaleGate"),
    _op("sigmoid", 1, lambda m, a: m.sigmoid(a),
        lambda m, a: (m.sigmoid(a) * (1.0 - m.sigmoid(a)),), "σ({0})", "SigmoidGate"),
    _op("-", 2, lambda m, a, b: a - b, lambda m, a, b: (1.0, -1.0), "{0} - {1}"),
    _op("/", 2, lambda m, a, b: a / b, lambda m, a, b: (1.0 / b, -a / (b * b)), "{0} / {1}"),
    # The exponent is a constant: it gets no gradient.
    _op("**", 2, lambda m, a, b: a ** b, lambda m, a, b: (b * a ** (b - 1), 0.0), "{0} ** {1}"),
    # A constant raised to a value (``2 ** a``, __rpow__): the base is the constant.
    _op("rpow", 2, lambda m, c, x: c ** x, lambda m, c, x: (0.0, c ** x * m.log(c)),
        "{0} ** {1}"),
    _op("neg", 1, lambda m, a: -a, lambda m, a: (-1.0,), "-{0}"),
    _op("relu", 1, lambda m, a: m.where(a > 0, a, 0.0), lambda m, a: (m.where(a > 0, 1.0, 0.0),),
        "relu({0})"),
    _op("tanh", 1, lambda m, a: m.tanh(a), lambda m, a: (1.0 - m.tanh(a) ** 2,), "tanh({0})"),
    _op("log", 1, lambda m, a: m.log(a), lambda m, a: (1.0 / a,), "log({0})"),
))


def of_gate(gate: str) -> Operation:
    """The operation the lecture's gate class ``gate`` computes (not the sigmoid neuron, which
    is a circuit of several), or a KeyError that names the gates there are."""
    for op in OPERATIONS.values():
        if op.gate == gate:
            return op
    gates = ", ".join(o.gate for o in OPERATIONS.values() if o.gate)
    raise KeyError(f"no operation is computed by the gate {gate!r}; expected one of {gates}")
