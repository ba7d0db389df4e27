"""Teaching figures: what a failing item's drawing shows, as plain data.

A family's ``explain`` role builds a :class:`Figure` from one failed check (its minimal example,
the values expected and got, its facts and its diagnosis; never its message), and the reports
draw it (:mod:`bpverify.output.figures`) the way the lecture draws a circuit: forward values in
green, gradients in red, the first guilty stage ringed.  Three kinds of part make every drawing:

- :class:`Graph`: stages (gates, layer calls, time steps) left to right, each output wire
  labelled with its value and its gradient; a wire whose gradient never came back is dashed;
- :class:`Grid`: a small 2-D array (a pooling plane, a mask) with windows outlined and cells
  marked or ringed;
- :class:`Formula`: the lines of a rule (an update rule, a loss), with the wrong term ringed.

A ring is evidence, never decoration: a family rings a stage only when the check saw it wrong
(a diagnosis that replayed the mistake exactly, a blame that judged the call on its own inputs,
values that differ).  :meth:`Figure.describe` says the same as the drawing in words, the text
alternative every report shows with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpverify.feedback.words import num

__all__ = ["Figure", "Formula", "Graph", "Grid", "Line", "Stage", "numbers", "vector"]


@dataclass(frozen=True)
class Stage:
    """One gate, stage, layer call or time step of a :class:`Graph`, with its output wire.

    A stage without inputs is a leaf (an input of the graph, drawn as its name).
    """

    key: str  #: the output wire's name, unique in the graph
    label: str  #: written on the node: "mean", "√", "rnn_step_forward", "t = 2"
    inputs: tuple[str, ...] = ()  #: keys of the stages (or leaves) feeding it
    value: str = ""  #: its forward value (green)
    grad: str = ""  #: the gradient its output wire carries by the chain rule (red)
    got: str = ""  #: the gradient (or value) the submission gave there, when the check saw it
    ring: bool = False  #: the guilty stage: only where the check saw it wrong
    tag: str = ""  #: the word over a ringed stage ("guilty", "no gradient back")
    #: Inputs whose backward path is missing in the submission (drawn dashed): only on evidence.
    lost: tuple[str, ...] = ()
    #: The lane it is drawn in (0 the top one); None: between the stages feeding it.
    row: int | None = None

    @property
    def leaf(self) -> bool:
        return not self.inputs


@dataclass(frozen=True)
class Graph:
    """Stages in forward order (inputs before the stages they feed)."""

    stages: tuple[Stage, ...]
    output: str = ""  #: the name written after the last stage ("out", "loss")

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for s in self.stages:
            if s.key in seen:
                raise ValueError(f"stage {s.key!r} appears twice in a graph; keys are unique")
            missing = [w for w in s.inputs if w not in seen]
            if missing:
                raise ValueError(f"stage {s.key!r} reads {', '.join(missing)} before any stage "
                                 "makes it; expected the stages in forward order")
            seen.add(s.key)


@dataclass(frozen=True)
class Grid:
    """A small 2-D array of numbers written out, with windows and marked cells."""

    title: str
    cells: tuple[tuple[str, ...], ...]
    tone: str = "val"  #: "val" (green, forward) or "grad" (red, gradients)
    windows: tuple[tuple[int, int, int, int], ...] = ()  #: (row, col, height, width)
    marked: tuple[tuple[int, int], ...] = ()  #: cells shown in bold (a window's max)
    ringed: tuple[tuple[int, int], ...] = ()  #: cells the submission got wrong


@dataclass(frozen=True)
class Line:
    """One line of a :class:`Formula`: code, the value it has at the example, and a ring."""

    text: str
    value: str = ""
    ring: bool = False
    note: str = ""  #: said by the ring, e.g. "missing in yours"
    yours: bool = False  #: the submission's value, not the rule's (drawn red)


@dataclass(frozen=True)
class Formula:
    title: str
    lines: tuple[Line, ...]


Part = Graph | Grid | Formula


@dataclass(frozen=True)
class Figure:
    """One drawing of a failed check: its parts side by side, a title and the callout."""

    title: str
    parts: tuple[Part, ...]
    #: The few sentences boxed under the drawing, the guilty stage's story in numbers.
    callout: tuple[str, ...] = ()
    #: Said before the parts' description in the text alternative (what is drawn, at what).
    intro: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def ringed(self) -> bool:
        """Something in the drawing is ringed as guilty."""
        for p in self.parts:
            if isinstance(p, Graph) and any(s.ring or s.lost for s in p.stages):
                return True
            if isinstance(p, Grid) and p.ringed:
                return True
            if isinstance(p, Formula) and any(ln.ring for ln in p.lines):
                return True
        return False

    def describe(self) -> list[str]:
        """The drawing in words, one sentence a line: its text alternative."""
        out = [self.intro] if self.intro else []
        for p in self.parts:
            if isinstance(p, Graph):
                out += _describe_graph(p)
            elif isinstance(p, Grid):
                out += _describe_grid(p)
            else:
                out.append(f"{p.title}:")
                for ln in p.lines:
                    out.append(f"  {ln.text}" + (f" = {ln.value}" if ln.value else "")
                               + (f" (ringed: {ln.note or 'wrong'})" if ln.ring else ""))
        return out + list(self.callout) + list(self.notes)


def _describe_graph(g: Graph) -> list[str]:
    out = []
    for s in g.stages:
        head = s.label if s.leaf else f"{s.label} ({', '.join(s.inputs)} → {s.key})"
        words = [f"value {s.value}"] if s.value else []
        if s.got and s.got != s.grad:
            words.append(f"gradient {s.got} in yours, {s.grad} by the chain rule")
        elif s.grad:
            words.append(f"gradient {s.grad}")
        line = f"{head}: {', '.join(words)}" if words else head
        if s.ring:
            line += f" [ringed: {s.tag or 'guilty'}]"
        if s.lost:
            line += f" [no gradient back to {', '.join(s.lost)}]"
        out.append(line)
    return out


def _describe_grid(g: Grid) -> list[str]:
    out = [f"{g.title}: " + " / ".join(" ".join(row) for row in g.cells)]
    if g.ringed:
        out.append("  ringed, where yours is wrong, at (row, column) "
                   + ", ".join(f"({r}, {c})" for r, c in g.ringed))
    return out


# --- numbers as the drawings write them -------------------------------------------------------


def numbers(value: Any, limit: int = 4) -> str:
    """A scalar as the lecture writes it, a short vector as [a, b, c] (the first ``limit``
    elements, then …), anything else as its shape."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return num(float(a))
    flat = a.reshape(-1)
    if a.ndim > 1 and a.size > limit:
        return f"shape {tuple(a.shape)}"
    shown = ", ".join(num(v) for v in flat[:limit])
    return f"[{shown}{', …' if flat.size > limit else ''}]"


def vector(values: Sequence[float]) -> str:
    """A list of floats as :func:`numbers` writes it."""
    return numbers(np.asarray(values, dtype=np.float64))
