"""Diagnoses of the lecture's gates: a wrong gradient read against the gate's own maths (the
distributor, the switcher, the router, e^x, σ, ...: :func:`~bpverify.feedback.patterns.gate_rules`).
"""

from __future__ import annotations

from typing import Any

from bpverify.contract import GATES
from bpverify.feedback.patterns import gate_rules, generic
from bpverify.feedback.patterns import wrong_values as wrong_names
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["gate_check", "wrong_values"]


def gate_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                got: dict[str, Any]) -> Diagnosis | None:
    spec = GATES.get(item.name)
    if spec is None:
        return None
    ex = dict(check.example or {})
    wrong = wrong_names(check, exp, got)
    if check.name == "forward" or list(exp) == ["out"]:
        return generic(exp, got, wrong, None)
    ins = {n: ex.get(n) for n in spec.inputs}
    const = ex.get(spec.const) if spec.const else None
    return (gate_rules(item.name, ins, const, ex.get("dout"), exp, got, wrong)
            or generic(exp, got, wrong, None))


def wrong_values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a wrong-values failure of a gate, or None."""
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    return gate_check(check, item, exp, got)
