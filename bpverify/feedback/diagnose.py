"""Name the mistake behind a failed check, in one sentence that points to the lecture's idea.

``diagnose`` is a pure function of a :class:`CheckResult` (and its item): it reads the check's
structured facts (:class:`~bpverify.model.Facts`: shapes, counts, the exception type, what was
changed in place), and compares what the submission returned with what the oracle expected on
the minimal example Hypothesis found, to recognise the classic backpropagation mistakes of the
catalogue (:mod:`bpverify.feedback.mistakes`).  It never reads a message: rewording one cannot
change a diagnosis.  It returns None when it sees no pattern: a diagnosis is a guess that must
never be wrong about what it *saw*.

The grading engine calls :func:`diagnose_item` once per graded item and stores each diagnosis
in the result model; every output reads the stored one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bpverify import registry
from bpverify.contract import CIRCUITS, GATES
from bpverify.feedback.families import FAMILY_RULES
from bpverify.feedback.faults import Fault, locate_fault
from bpverify.feedback.mistakes import IDEAS, found
from bpverify.feedback.patterns import arr, factor, gate_rules, generic, match, name_list
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = [
    "IDEAS",
    "Diagnosis",
    "Fault",
    "diagnose",
    "diagnose_item",
    "diagnosis_line",
    "locate_fault",
]

#: Checks whose failure compares the whole returned arrays with the oracle's.
_ORACLE_CHECKS = ("backward", "gradient", "gradients")


# --- circuits -------------------------------------------------------------------------------


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


# --- shape, contract and run-time failures ------------------------------------------------


def _shape_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if f.got_shape is None or f.expected_shape is None:
        return None
    name, got, exp = f.value, tuple(f.got_shape), tuple(f.expected_shape)
    if len(got) == 2 and tuple(reversed(got)) == exp and got != exp:
        return found("transposed", f"{name} has shape {got}, the transpose of {exp}",
                     subject=name)
    if len(got) == len(exp) + 1 and got[1:] == exp:
        what = "per-example losses" if name == "loss" else f"one {name} per example"
        return found("not-summed-over-batch", f"{name} has shape {got}: {what}, not reduced "
                     "over the batch", idea="mean" if name == "loss" else "fanout", subject=name)
    if item.name == "SigmoidNeuron" and name == "dw" and len(got) == 1 and got[0] + 1 == exp[0]:
        return found("missing-bias-gradient", "dw has no entry for the bias w[D]", subject="dw")
    if np.prod(got, dtype=int) == np.prod(exp, dtype=int):
        return found("not-reshaped", f"{name} has shape {got}, the right size but not the "
                     f"shape {exp}; reshape it", subject=name)
    return None


def _no_scores(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    if item.category == "net" and check.name == "scores" and "loss(X)" in check.facts.where:
        return found("no-scores-branch", "loss(X) without labels did not return the scores")
    return None


def _contract_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if f.returned_none:
        return found("no-return", "backward returned None, so its return statement is missing")
    if f.returned_count is not None and f.expected_count is not None:
        k, n = f.returned_count, f.expected_count
        return found("wrong-count", f"backward returned {k} gradients for {n} input"
                     f"{'s' if n != 1 else ''}, where a gate returns one per input of forward",
                     idea="const" if item.name == "AddConstGate" else "return")
    if f.missing_keys:
        return found("wrong-keys", "grads is missing keys of params", subject="grads")
    return _no_scores(check, item)


def _raised_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    if check.facts.array_truth_value:
        return found("python-max-on-arrays", "Python's max or an if compared whole arrays")
    return _no_scores(check, item)


def _resource(check: CheckResult) -> Diagnosis | None:
    exc = check.facts.exc_type
    if check.kind == "timeout" or exc == "TimeoutError":
        return found("timeout", "the code ran past the time limit on a small example, likely "
                     "a Python loop over elements or one that never ends")
    if exc == "MemoryError":
        return found("memory", "the code used more memory than allowed, likely by building a "
                     "huge intermediate array such as a full Jacobian")
    return None


# --- by kind of failure ---------------------------------------------------------------------


def _numerical(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    # Centred differences record only the differing elements; the oracle's check of the
    # same item sees whole arrays and the example's N, so its diagnosis comes first.
    oracle = next((c for c in item.checks if c.status == "failed"
                   and c.name in _ORACLE_CHECKS), None)
    first = diagnose(oracle, item) if oracle is not None else None
    if first is not None:
        return first
    exp = {f"{m.value}{list(m.index)}": m.expected for m in check.mismatches}
    got = {f"{m.value}{list(m.index)}": m.got for m in check.mismatches}
    names = name_list(list(dict.fromkeys(m.value for m in check.mismatches)))
    return generic(exp, got, list(exp), None, says=names)


def _shared_state(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    backward = next((c for c in item.checks if c.name == "backward"), None)
    if backward is not None and backward is not check and backward.status == "failed":
        # The instances check reports every wrong gradient of the two-instance run as shared
        # state; when backward is wrong on its own, that is the mistake to name.
        return diagnose(backward, item)
    return found("shared-state", "two instances forwarded before either ran backward "
                 "disturbed each other, so state lives on the class or in a global")


def _wrong_values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
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
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    rule = FAMILY_RULES.get(item.category)
    return rule(check, item, exp, got) if rule else None


def _same_guilty(a: CheckResult, b: CheckResult | None) -> bool:
    ga, gb = _guilty(a), (_guilty(b) if b is not None else None)
    return ga is not None and gb is not None and ga[1] == gb[1]


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The recognised mistake behind a failed ``check`` of ``item``, or None."""
    if check.status != "failed":
        return None
    resource = _resource(check)
    if resource:
        return resource
    family = registry.feedback_module(item.category)
    if family is not None:  # the family's own rules first (bpverify/families/<name>/feedback.py)
        own: Diagnosis | None = family.diagnose(check, item)
        if own is not None or not getattr(family, "GENERIC_RULES", True):
            return own
    kind = check.kind
    if kind == "mutates-input":
        what = check.facts.changed_input or next(iter(check.expected or {}), "an input")
        return found("mutates-input", f"{what} was changed in place",
                     idea="inplace" if what == "dout" else "inplace-input",
                     subject="" if what == "an input" else what)
    if kind == "shared-state":
        return _shared_state(check, item)
    if kind == "not-finite" or (kind == "wrong-values" and _has_nonfinite(check.got)):
        return found("overflow", "it returned nan or inf for large inputs")
    if kind == "wrong-shape":
        return _shape_check(check, item)
    if kind == "bad-return":
        return _contract_check(check, item)
    if kind == "raised":
        return _raised_check(check, item)
    if kind == "numerical" and check.mismatches:
        return _numerical(check, item)
    if kind == "wrong-values":
        return _wrong_values(check, item)
    return None


def diagnose_item(item: ItemResult) -> ItemResult:
    """``item`` with the diagnosis of each failed check stored on it (the engine's one call)."""
    checks = tuple(replace(c, diagnosis=diagnose(c, item)) if c.status == "failed" else c
                   for c in item.checks)
    return replace(item, checks=checks)


def diagnosis_line(check: CheckResult, item: ItemResult, *,
                   prefix: str = "diagnosis: ") -> str:
    """``prefix`` and the hint when there is one, else "": the stored diagnosis if the check
    has one, else a fresh one (for a result built by hand)."""
    d = check.diagnosis if check.diagnosis is not None else diagnose(check, item)
    return f"{prefix}{d.text}" if d is not None else ""


def _has_nonfinite(values: dict[str, Any] | None) -> bool:
    for v in (values or {}).values():
        a = arr(v)
        if a is not None and a.size and not np.all(np.isfinite(a)):
            return True
    return False
