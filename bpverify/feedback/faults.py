"""Who is guilty in a circuit: the first gate whose own result disagrees with the oracle.

``locate_fault`` reads a circuit's gate-by-gate trace: the first gate whose own result disagrees
with the oracle is guilty; gates that merely received its wrong value are affected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bpverify.closeness import close
from bpverify.model import GateStep

__all__ = ["Fault", "locate_fault"]


@dataclass(frozen=True)
class Fault:
    """Where a circuit went wrong first, and which other gates only suffered from it."""

    index: int  #: the guilty step, an index into the trace (forward order)
    direction: Literal["forward", "backward"]
    faulty: frozenset[int]  #: every step that is itself wrong (the guilty one included)
    affected: frozenset[int]  #: right given what they received, but received a wrong value
    true_grads: dict[str, float]  #: each wire's gradient had every gate been right


def _true_grads(trace: Sequence[GateStep]) -> dict[str, float]:
    """Backward with the oracle's local gradients at the inputs each gate actually saw."""
    if not trace or trace[-1].upstream is None:
        return {}
    grads: dict[str, float] = {trace[-1].output: float(trace[-1].upstream)}
    for s in reversed(trace):
        up = grads.get(s.output, 0.0)
        for w, local in zip(s.inputs, s.local_grads):
            grads[w] = grads.get(w, 0.0) + float(local) * up
    return grads


def _descendants(trace: Sequence[GateStep], start: int) -> set[int]:
    """Steps that use, directly or not, the output of step ``start``."""
    tainted = {trace[start].output}
    out = set()
    for i in range(start + 1, len(trace)):
        if tainted & set(trace[i].inputs):
            out.add(i)
            tainted.add(trace[i].output)
    return out


def locate_fault(trace: Sequence[GateStep]) -> Fault | None:
    """The first wrong gate: going backward for gradients, else going forward for values.

    A gate is judged on the inputs and upstream gradient it actually received (the trace's
    ``forward_ok`` and ``backward_ok``), so a correct gate fed a wrong value is affected, not
    guilty.  Gradients of the trace are float64, judged by that row of the closeness table.
    """
    trace = tuple(trace)
    true = _true_grads(trace)
    bad_back = [i for i, s in enumerate(trace) if s.upstream is not None and not s.backward_ok]
    if bad_back:
        guilty = max(bad_back)  # the backward pass meets the last gate first
        affected = {
            i for i, s in enumerate(trace)
            if i not in bad_back and i < guilty and s.upstream is not None
            and s.output in true and not close(s.upstream, true[s.output], "float64")
        }
        return Fault(guilty, "backward", frozenset(bad_back), frozenset(affected), true)
    bad_fwd = [i for i, s in enumerate(trace) if not s.forward_ok]
    if bad_fwd:
        guilty = min(bad_fwd)
        affected = _descendants(trace, guilty) - set(bad_fwd)
        return Fault(guilty, "forward", frozenset(bad_fwd), frozenset(affected), true)
    return None
