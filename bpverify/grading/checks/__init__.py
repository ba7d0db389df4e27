"""The checks of every family of items, one module per family.

A family module exposes a function ``name -> list[Check]``; :data:`FAMILIES` maps an item's
category to it.  docs/architecture.md says how to add a family.
"""

from __future__ import annotations

from collections.abc import Callable

from bpverify import registry
from bpverify.contract import Item
from bpverify.grading.checks.base import Check, CheckFailed, plain_case
from bpverify.grading.checks.circuits import circuit_checks, circuit_trace
from bpverify.grading.checks.demo import spiral_checks
from bpverify.grading.checks.gates import gate_checks
from bpverify.grading.checks.layers import layer_checks
from bpverify.grading.checks.losses import loss_checks
from bpverify.grading.checks.nets import net_checks

__all__ = ["FAMILIES", "Check", "CheckFailed", "checks_for", "circuit_trace", "plain_case"]

#: An item's category -> the checks of an item of that category (given the item).
FAMILIES: dict[str, Callable[[Item], list[Check]]] = {
    "gate": lambda item: gate_checks(item.name),
    "layer": lambda item: layer_checks(item.name),
    "loss": lambda item: loss_checks(item.name),
    "net": lambda item: net_checks(item.name),
    "circuit": lambda item: circuit_checks(item.name),
    "demo": lambda item: spiral_checks(item.needs[0]),
}


def checks_for(item: Item) -> list[Check]:
    """The checks of one item, in reporting order."""
    family = FAMILIES.get(item.category)
    if family is not None:
        return family(item)
    module = registry.checks_module(item.category)
    if module is None:
        known = [*FAMILIES, *(c for f in registry.families() for c in f.categories)]
        raise ValueError(f"item {item.name!r} has category {item.category!r}; expected one of "
                         f"{', '.join(known)}")
    checks: list[Check] = module.checks_for(item)
    return checks
