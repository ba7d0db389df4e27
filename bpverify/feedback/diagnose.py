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
from bpverify.feedback.faults import Fault, locate_fault
from bpverify.feedback.mistakes import IDEAS, found
from bpverify.feedback.patterns import arr, generic, name_list
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


# --- shape, contract and run-time failures ------------------------------------------------


def _shape_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if f.got_shape is None or f.expected_shape is None:
        return None
    name, got, exp = f.value, tuple(f.got_shape), tuple(f.expected_shape)
    if len(got) == 2 and tuple(reversed(got)) == exp and got != exp:
        return found("transposed", f"{name} has shape {got}, the transpose of {exp}",
                     subject=name)
    if len(got) == len(exp) + 1 and got[1:] == exp and got[0] == 1 and _batch(check) > 1:
        # Summed over a batch of several, with the summed axis kept (keepdims=True).
        return found("not-reshaped", f"{name} has shape {got}, the right size but not the "
                     f"shape {exp}: the sum over the batch kept its axis (keepdims=True); "
                     "drop it", subject=name)
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


def _batch(check: CheckResult) -> int:
    """The batch size N of the check's minimal example (0 when it has no batch input)."""
    ex = check.example if isinstance(check.example, dict) else {}
    for key in ("x", "X", "dout", "scores"):
        a = arr(ex.get(key))
        if a is not None and a.ndim >= 1:
            return int(a.shape[0])
    return 0


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
    return None


def _raised_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    if check.facts.array_truth_value:
        return found("python-max-on-arrays", "Python's max or an if compared whole arrays")
    if check.facts.array_to_scalar:
        return found("array-to-scalar", "int() or float() was given a one-element array, "
                     "which numpy 2 refuses")
    return None


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
    """A wrong-values failure: the family's own rule (its feedback's ``wrong_values``)."""
    family = registry.feedback_module(item.category)
    rule = getattr(family, "wrong_values", None)
    if rule is None or family is None or getattr(rule, "__module__", None) != family.__name__:
        return None  # a helper the module imported under that name is not its rule
    return rule(check, item)


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The recognised mistake behind a failed ``check`` of ``item``, or None."""
    if check.status != "failed":
        return None
    resource = _resource(check)
    if resource:
        return resource
    family = registry.feedback_module(item.category)
    if family is not None:  # the family's own rules first (bpverify/families/<name>/feedback.py)
        rule = getattr(family, "diagnose", None)
        own: Diagnosis | None = rule(check, item) if rule is not None else None
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
