"""Diagnoses of the lecture's circuits: the first wrong gate of the trace (forward, then going
backward), and what it got wrong, in the circuit's own wire names (dq, z)."""

from __future__ import annotations

from dataclasses import replace

from bpverify.contract import CIRCUITS, GATES
from bpverify.feedback.faults import Fault, locate_fault
from bpverify.feedback.mistakes import found
from bpverify.feedback.patterns import factor, gate_rules, generic, match, name_list
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["wrong_values"]


def _guilty(check: CheckResult) -> tuple[Fault, str] | None:
    """The circuit's first wrong gate, and how a sentence names it."""
    fault = locate_fault(check.trace)
    if fault is None:
        return None
    s = check.trace[fault.index]
    return fault, f"The {s.label} gate ({s.gate}, computing {s.output}) is the first wrong one"


def _circuit_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    guilty = _guilty(check)
    if guilty is None:
        return None
    fault, where = guilty
    s = check.trace[fault.index]
    if fault.direction == "forward":
        k = factor(s.output_value, s.expected_output)
        saw = (f"its output {s.output} = {s.output_value:.4g} should be "
               f"{s.expected_output:.4g}")
        if k is not None and abs(k + 1) < 1e-4:
            saw += ", the sign is flipped"
        return found("wrong-forward", f"{where}: {saw}")
    spec = CIRCUITS.get(item.name)
    const = spec.nodes[fault.index].const if spec and fault.index < len(spec.nodes) else None
    gspec = GATES[s.gate]
    names = [f"d{w}" for w in s.inputs]
    if len(s.grads) != len(names):
        return None
    exp = dict(zip(gspec.grads, s.expected_grads))
    got = dict(zip(gspec.grads, s.grads))
    wrong = [n for n in gspec.grads if not match(got[n], exp[n])]
    # shared state: it returned what another instance of its class should have returned
    for t in check.trace:
        if t is not s and t.gate == s.gate and t.input_values != s.input_values and all(
            match(g, lg * s.upstream) for g, lg in zip(s.grads, t.local_grads)
        ):
            return found("shared-state", f"{where} going backward: it returned the gradient "
                         f"for the inputs of the other {s.gate} ({', '.join(t.inputs)}), so "
                         "the instances share one cache")
    ins = dict(zip(gspec.inputs, s.input_values))
    # The rules know the gate's own names (dx, y); they say the circuit's wires (dq, z).
    wires = dict(zip(gspec.grads, names)) | dict(zip(gspec.inputs, s.inputs))
    gate = gate_rules(s.gate, ins, const, s.upstream, exp, got, wrong, say=wires) or generic(
        exp, got, wrong, None, says=name_list([wires[n] for n in wrong]) if wrong else None)
    if gate is None:
        return found("wrong-gate", f"{where} going backward: given upstream "
                     f"{s.upstream:.4g} it returned "
                     f"({', '.join(f'{g:.4g}' for g in s.grads)}), expected "
                     f"({', '.join(f'{g:.4g}' for g in s.expected_grads)})")
    return replace(gate, saw=f"{where} going backward: {gate.saw}")


def wrong_values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The first wrong gate of a failed circuit check's trace, and its mistake, or None."""
    if check.trace:
        first = _circuit_check(check, item)
        if first is not None and first.mistake == "sign-or-upstream":
            # The lecture's values feed other upstream gradients: they may tell the two apart
            # when they blame the same gate.
            other = next((c for c in item.checks if c is not check and c.trace
                          and c.status == "failed"), None)
            better = _circuit_check(other, item) if other is not None else None
            if (better is not None and better.mistake != "sign-or-upstream"
                    and _same_guilty(check, other)):
                return better
        return first
    return None


def _same_guilty(a: CheckResult, b: CheckResult | None) -> bool:
    ga, gb = _guilty(a), (_guilty(b) if b is not None else None)
    return ga is not None and gb is not None and ga[1] == gb[1]


