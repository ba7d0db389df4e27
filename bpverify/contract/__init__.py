"""The submission contract: the lecture's gates and circuits, an item, and the shapes of what a
submission returns.

One contract serves the reference implementation and every student's code.  See
docs/contract.md for the user-facing description with a runnable example.  The lecture's
tables (:data:`GATES`, :data:`CIRCUITS`) live here because the lecture walk, the drawings and the
oracles share them; the items graded from them, and every other family's, are in
``bpverify/families/`` (:func:`bpverify.registry.all_items`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "CIRCUITS",
    "GATES",
    "Circuit",
    "ContractError",
    "Gate",
    "GateSpec",
    "Item",
    "Node",
    "Opaque",
    "as_gradients",
    "check_numeric",
]


@runtime_checkable
class Gate(Protocol):
    """A gate in the lecture's style: forward caches what backward needs."""

    def forward(self, *inputs: Any) -> Any: ...

    def backward(self, dout: Any) -> Any: ...


class ContractError(Exception):
    """A value returned by a submission does not have the form the contract asks for.

    Besides its message it carries the facts a diagnosis needs, as data: where it was returned,
    whether it was None, and how many values came back for how many expected.
    """

    def __init__(self, message: str, *, where: str = "", returned_none: bool = False,
                 returned_count: int | None = None, expected_count: int | None = None,
                 only_none: bool = False) -> None:
        super().__init__(message)
        self.where, self.returned_none, self.only_none = where, returned_none, only_none
        self.returned_count, self.expected_count = returned_count, expected_count


@dataclass(frozen=True)
class GateSpec:
    name: str
    inputs: tuple[str, ...]  #: argument names of forward, e.g. ("x", "y")
    const: str | None = None  #: constructor argument, e.g. "c" for AddConstGate(c)
    label: str = ""  #: how the lecture draws it

    @property
    def grads(self) -> tuple[str, ...]:
        return tuple("d" + n for n in self.inputs)


GATES: dict[str, GateSpec] = {
    g.name: g
    for g in (
        GateSpec("AddGate", ("x", "y"), label="+"),
        GateSpec("MultiplyGate", ("x", "y"), label="*"),
        GateSpec("MaxGate", ("x", "y"), label="max"),
        GateSpec("ExpGate", ("x",), label="exp"),
        GateSpec("ReciprocalGate", ("x",), label="1/x"),
        GateSpec("AddConstGate", ("x",), const="c", label="+c"),
        GateSpec("ScaleGate", ("x",), const="a", label="*a"),
        GateSpec("SigmoidGate", ("x",), label="σ"),
        GateSpec("SigmoidNeuron", ("w", "x"), label="neuron"),
    )
}


@dataclass(frozen=True)
class Node:
    """One gate of a circuit: output = gate(*inputs)."""

    gate: str
    inputs: tuple[str, ...]
    output: str
    label: str
    const: float | None = None


@dataclass(frozen=True)
class Circuit:
    """A small computational graph of contract gates, as the lecture draws it."""

    name: str
    title: str
    inputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    lecture_values: tuple[tuple[str, float], ...]

    @property
    def output(self) -> str:
        return self.nodes[-1].output

    @property
    def gates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n.gate for n in self.nodes))


CIRCUITS: dict[str, Circuit] = {
    c.name: c
    for c in (
        Circuit(
            name="circuit (x+y)*z",
            title="f(x, y, z) = (x + y) z",
            inputs=("x", "y", "z"),
            nodes=(
                Node("AddGate", ("x", "y"), "q", "+"),
                Node("MultiplyGate", ("q", "z"), "f", "*"),
            ),
            lecture_values=(("x", -2.0), ("y", 5.0), ("z", -4.0)),
        ),
        Circuit(
            name="circuit sigmoid neuron",
            title="f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))",
            inputs=("w0", "x0", "w1", "x1", "w2"),
            nodes=(
                Node("MultiplyGate", ("w0", "x0"), "a", "*"),
                Node("MultiplyGate", ("w1", "x1"), "b", "*"),
                Node("AddGate", ("a", "b"), "c", "+"),
                Node("AddGate", ("c", "w2"), "d", "+"),
                Node("ScaleGate", ("d",), "e", "*-1", const=-1.0),
                Node("ExpGate", ("e",), "g", "exp"),
                Node("AddConstGate", ("g",), "h", "+1", const=1.0),
                Node("ReciprocalGate", ("h",), "f", "1/x"),
            ),
            lecture_values=(("w0", 2.0), ("x0", -1.0), ("w1", -3.0), ("x1", -2.0), ("w2", -3.0)),
        ),
    )
}


@dataclass(frozen=True)
class Item:
    """One graded name (or circuit) and the names it needs from the submission."""

    name: str
    category: str  #: its family's, e.g. "gate", "layer", "net", "circuit", "engine"
    needs: tuple[str, ...]


def as_gradients(value: Any, names: Sequence[str], where: str) -> tuple[Any, ...]:
    """Normalize what a backward returned to one gradient per input, or explain what is wrong.

    Two inputs: a tuple or list of two.  One input: a bare value, or a one-element tuple/list.
    """
    n = len(names)
    expected = (
        f"a tuple ({', '.join(names)})" if n > 1 else f"{names[0]} (an array or float)"
    )
    if value is None:
        raise ContractError(
            f"{where} returned None; expected {expected}. Did you forget a return statement?",
            where=where, returned_none=True,
        )
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ContractError(
                f"{where} returned {type(value).__name__} of {len(value)} values; "
                f"expected {n}: {expected}",
                where=where, returned_count=len(value), expected_count=n,
            )
        parts = tuple(value)
    elif n == 1:
        parts = (value,)
    else:
        raise ContractError(
            f"{where} returned a single {describe_type(value)}; expected {expected}"
        )
    if n > 1 and all(part is None for part in parts):
        raise ContractError(f"{where} returned only None ({', '.join(names)}); expected "
                            f"{expected}. Is it still the starter code?", where=where,
                            only_none=True)
    for name, part in zip(names, parts):
        if part is None:
            raise ContractError(f"{where} returned None for {name}; expected {expected}")
        check_numeric(part, f"{where} ({name})")
    return parts


@dataclass(frozen=True)
class Opaque:
    """Stands in for a returned object that is not plain numeric data (it never crosses over)."""

    type_name: str
    text: str = ""


def describe_type(value: Any) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def check_numeric(value: Any, where: str, *, named: bool = False) -> None:
    """Raise ContractError unless value is a real number or an array of real numbers.

    ``named``: the value is one of several a call returns (``out`` of ``(out, cache)``, the
    loss of ``(loss, dx)``), where None is a starter stub's placeholder, not a missing return.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ContractError(f"{where} is a bool; expected a float or a float array",
                            where=where)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return
    if value is None and named:
        raise ContractError(f"{where} is None; expected a float or a float array. Is it still "
                            "the starter code?", where=where, only_none=True)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return
    raise ContractError(
        f"{where} is a {describe_type(value)}; expected a float or a float array"
        + (f" (got dtype {value.dtype})" if isinstance(value, np.ndarray) else ""),
        where=where,
    )
