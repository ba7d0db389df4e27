"""Diagnoses of scalar autograd engines (micrograd's ``Value``), from a failed check's facts.

The engine checks (checks/) tag what they established in the check's kind
(``engine-overwrite``, ``engine-order``, ``engine-unseeded``, ``engine-shadowed``,
``engine-detached``, ``engine-local``), in its facts (``built_on``: the wrong operations an
operation is built from) and in its node-by-node trace; these rules name the mistake (its id
in the catalogue, :mod:`bpverify.feedback.mistakes`, to which :data:`MISTAKES` adds the
family's own) and the lecture's idea behind it (:data:`IDEAS`).
"""

from __future__ import annotations

from typing import Any

from bpverify.families.engines.contract import METHODS_ITEM
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import match
from bpverify.model import CheckResult, Diagnosis, GateStep, ItemResult

__all__ = ["GENERIC_RULES", "IDEAS", "MISTAKES", "diagnose", "engine_diagnosis"]

#: The rules every item shares are not tried on an engine's failures: an engine's facts are
#: not arrays by name, and what these rules do not recognise stays undiagnosed.
GENERIC_RULES = False

IDEAS: dict[str, str] = {
    "fanout-add": "if a value is used in several places, the backward flows add: each use "
                  "adds its share to the gradient, so use += in _backward",
    "topo-order": "a node may pass its gradient back only once every node that uses it has: "
                  "append a node to the topological order after all its children, then walk "
                  "the order in reverse",
    "seed": "backpropagation starts at the end, where the gradient of the output with respect "
            "to itself is 1: set self.grad = 1 in backward() before walking the graph",
    "shadowed": "keep each node's closure in _backward: an instance attribute named backward "
                "hides the backward() method of the class",
    "graph": "we need an object to connect the gates: every operation returns a Value whose "
             "children are its operands, or no gradient can flow back through it",
    "reflected": "2 - a calls a.__rsub__(2), which computes other - self: the number comes first",
    "import-math": "the local rules use math.tanh and math.exp: add import math at the top of "
                   "the engine's file",
    "recursion": "a graph can be deeper than Python's recursion limit: build the topological "
                 "order with an explicit stack, and make sure no operator calls itself",
    "modular": "we rely on the modular nature of backpropagation: an operation built from "
               "other gates (a - b as a + (-b)) is right once they are, like a tower of Lego "
               "blocks, so fix the block that is wrong",
}

MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("engine-overwrite", "fanout-add",
                 "overwrote gradients (=) instead of adding them (+=) in _backward"),
    KnownMistake("engine-order", "topo-order", "ran _backward in a wrong topological order"),
    KnownMistake("engine-unseeded", "seed", "never seeded the output's gradient with 1"),
    KnownMistake("engine-shadowed", "shadowed",
                 "stored closures as .backward, hiding the backward() method"),
    KnownMistake("engine-detached", "graph", "returned a plain number from {what}",
                 "an operation"),
    KnownMistake("reflected-order", "reflected",
                 "swapped the operands of a reflected operator (__rsub__, __rtruediv__)"),
    KnownMistake("missing-import", "import-math", "used math without importing it"),
    KnownMistake("recursion", "recursion", "hit Python's recursion limit"),
    KnownMistake("built-on-wrong", "modular",
                 "failed {what} only through a wrong operation it is built on",
                 "an operation"),
)


def _all_close(got: Any, exp: Any) -> bool:
    return len(got) == len(exp) and bool(got) and all(match(g, e) for g, e in zip(got, exp))


def _guilty(check: CheckResult) -> GateStep | None:
    bad = [s for s in check.trace if s.upstream is not None and not s.backward_ok]
    return bad[-1] if bad else None


def _local_rule(check: CheckResult, item: ItemResult, s: GateStep) -> Diagnosis | None:
    where = f"{s.output} = {s.label} of {', '.join(s.inputs)}" if s.inputs else s.output
    up = float(s.upstream)
    exp, got = list(s.expected_grads), list(s.grads)
    if up and not match(up, 1.0) and _all_close([g * up for g in got], exp):
        return found("upstream-not-multiplied", f"{s.gate}'s _backward ({where}) passes back its "
                     f"local gradient alone, without the upstream gradient {up:.4g}",
                     subject=s.gate)
    if len(exp) == 2 and s.gate in ("Value *", "Value r*") and _all_close(got, exp[::-1]):
        return found("inputs-swapped", f"{s.gate}'s _backward gives each operand the upstream "
                     "gradient times itself, not times the other operand", idea="mul",
                     subject=s.gate)
    if _all_close(got, [-e for e in exp]):
        if s.gate.startswith("Value r"):
            return found("reflected-order", f"{s.gate} has the right size but the wrong sign: "
                         "the operands are swapped", subject=s.gate)
        return found("sign-flipped", f"{s.gate}'s _backward ({where}) has the right size but "
                     "the wrong sign", subject=s.gate)
    return None


def _reflected_forward(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if not item.name.startswith("Value r") or not (f.got_name and f.expected_name):
        return None
    return found("reflected-order", f"{f.expected_name} gave the value of {f.got_name}: the "
                 "reflected operator computes self op other", subject=item.name)


def engine_diagnosis(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The recognised mistake behind a failed check of an engine item, or None."""
    kind = check.kind
    if check.facts.built_on:  # its own rule may be right: the block it stands on is not
        root, via = check.facts.built_on[0], check.facts.built_on[1:]
        through = f" (through {', '.join(via)})" if via else ""
        return found("built-on-wrong", f"{item.name} fails because it is built on {root}"
                     f"{through}, which is wrong: fix {root[len('Value '):]} first",
                     subject=item.name)
    simple = {
        "engine-overwrite": "gradients were overwritten where a value fans out, so only one "
                            "contribution survives",
        "engine-order": "a node ran its _backward before every node that uses it had, so it "
                        "passed on a partial gradient",
        "engine-unseeded": "every gradient stayed 0: the output's own gradient is never set to 1",
        "engine-shadowed": "out.backward() ran a single node's closure: the closures are stored "
                           "as .backward on each node",
        "engine-detached": "an operation returned a plain number instead of a Value",
    }
    if item.name == METHODS_ITEM:
        return _method_diagnosis(check, item)
    if kind == "engine-detached" and check.facts.where:
        return found(kind, f"{check.facts.where} returned a {check.facts.value or 'number'} "
                     "instead of a Value", subject=item.name)
    if kind in simple:
        return found(kind, simple[kind], subject=item.name)
    if kind == "raised":
        exc = check.facts.exc_type
        if exc == "NameError" and check.facts.got_name == "math":
            return found("missing-import", "math is not defined where an operation uses it",
                         subject=item.name)
        if exc == "RecursionError":
            return found("recursion", "the engine raised RecursionError", subject=item.name)
        return None
    if check.trace:
        s = _guilty(check)
        if s is not None:
            return _local_rule(check, item, s)
    if kind == "wrong-values" and check.name == "forward":
        return _reflected_forward(check, item)
    return None


def _method_diagnosis(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """A method the engine adds (``a.softplus()``): named by its call, in the facts."""
    f = check.facts
    if check.kind == "engine-overwrite":
        return found("engine-overwrite", f"{f.where}'s _backward overwrote {f.value} (=) where "
                     "it fans out, so the share another use passed back was lost",
                     subject=item.name)
    if check.kind == "numerical" and f.expected_name == "local gradient × upstream":
        return found("upstream-not-multiplied", f"{f.where}'s _backward passes back its local "
                     "gradient alone, without multiplying by the upstream gradient",
                     subject=item.name)
    if check.kind == "engine-detached":
        return found("engine-detached", f"{f.where} returned a {f.value or 'number'} instead of "
                     "a Value", subject=item.name)
    return None


#: The family's diagnosis (the registry's entry point).
diagnose = engine_diagnosis
