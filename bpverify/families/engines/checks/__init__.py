"""Scalar autograd engines (micrograd's ``Value``): each operation, and random graphs of them.

One module per concept: :mod:`.programs` (programs built from draws, shown as code),
:mod:`.oracle` (JAX, float64), :mod:`.judging` (the comparisons), :mod:`.blame` (node by node),
:mod:`.ops` (an operation's item and the survey of sound operations), :mod:`.methods` (the
methods an engine adds) and :mod:`.graphs` (the graph items).
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.engines.checks.blame import PRESET, Blame, blame, program_trace
from bpverify.families.engines.checks.graphs import graph_checks
from bpverify.families.engines.checks.methods import method_checks
from bpverify.families.engines.checks.ops import op_checks
from bpverify.families.engines.checks.oracle import program_oracle
from bpverify.families.engines.checks.programs import Program
from bpverify.families.engines.contract import ENGINE_OPS, METHODS_ITEM
from bpverify.grading.checks.base import Check

__all__ = ["PRESET", "Blame", "Program", "blame", "checks_for", "engine_checks", "program_oracle",
           "program_trace"]


def engine_checks(name: str) -> list[Check]:
    """The checks of an engine item: an operation's, the added methods', or a graph item's."""
    if name == METHODS_ITEM:
        return method_checks(name)
    return op_checks(name) if name in ENGINE_OPS else graph_checks(name)


def checks_for(item: Item) -> list[Check]:
    """The checks of one item of the family (the registry's entry point)."""
    return engine_checks(item.name)
