"""The lecture's gates as items: one per gate of :data:`bpverify.contract.GATES` (the lecture's
table of gates, which the lecture walks, the drawings and the circuits share)."""

from __future__ import annotations

from bpverify.contract import GATES, Item

__all__ = ["CATEGORY", "ITEMS"]

#: The category of the family's items (the checks are in checks.py).
CATEGORY = "gate"

#: One item per gate class, needing the class of its name.
ITEMS: tuple[Item, ...] = tuple(Item(g, CATEGORY, (g,)) for g in GATES)
