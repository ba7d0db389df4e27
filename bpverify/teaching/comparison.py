"""An expression's circuit built with a submission's own objects, beside the lecture's hand walk:
the records only (no screens), so that a family can fill them in.

A family that can build the lecture's circuits with a submission's objects (the autograd
engines: ``bpverify explain EXPR --engine FILE``) has an ``explain`` role module whose
``compare`` returns an :class:`EngineComparison`; :mod:`bpverify.teaching.engine_comparison`
walks the expression by hand, asks the family through the registry and draws both.  Each
verdict is stored by the family, judged by its grader's own rule, so that a ✓ there is a pass
in grading.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Node
from bpverify.model import GateStep

__all__ = ["ComparisonError", "EngineComparison", "EngineRow", "HandCircuit"]


class ComparisonError(ValueError):
    """The circuit cannot be built with the submission's objects; says which gate and why."""


@dataclass(frozen=True)
class HandCircuit:
    """What the family gets of the hand walk: the circuit and the walk's numbers."""

    variables: tuple[str, ...]  #: the leaves, in order
    nodes: tuple[Node, ...]  #: the gates in forward order
    constants: dict[str, float]  #: constant wires (e.g. the 0 of max(x, 0))
    values: dict[str, float]  #: every wire's value by hand
    upstreams: dict[str, float]  #: every gate output's gradient by hand
    steps: tuple[GateStep, ...]  #: the hand walk's gates, in forward order
    grads: dict[str, float]  #: each variable's gradient by hand


@dataclass(frozen=True)
class EngineRow:
    """One gate, by hand and by the engine, with the family's verdicts."""

    code: str  #: the engine's line, e.g. "a = x + y"
    hand: GateStep  #: the lecture walk's step
    engine: GateStep  #: the engine's node, replayed with the hand's upstream gradient
    value: float | None  #: the engine's value of the gate's output
    grad: float | None  #: the engine's gradient of the gate's output after backward()
    value_ok: bool = True  #: the engine's value is the hand's
    grad_ok: bool = True  #: the engine's gradient is the hand's upstream
    #: Given the hand's upstream gradient, the engine passes back what the hand does.
    backward_ok: bool = True

    @property
    def ok(self) -> bool:
        return self.value_ok and self.grad_ok and self.backward_ok


@dataclass(frozen=True)
class EngineComparison:
    """The circuit of an expression built with a student's engine, beside the hand walk."""

    source: str  #: the engine's file, as named on the command line
    code: str  #: the program, as lines a student can paste
    rows: tuple[EngineRow, ...] = ()  #: in forward order
    #: (variable, by hand, the engine's gradient, whether they agree)
    leaves: tuple[tuple[str, float, float | None, bool], ...] = ()
    verdict: str = ""  #: why they differ (the grader's blame), or "" when they agree
    error: str = ""  #: the engine raised, or cut the graph: nothing to compare past it

    @property
    def agrees(self) -> bool:
        return not self.error and all(r.ok for r in self.rows) and all(
            ok for *_, ok in self.leaves)
