"""The lecture's circuits as items: one per circuit of :data:`bpverify.contract.CIRCUITS`, built
from the submission's own gates (an item needs every gate class its circuit uses)."""

from __future__ import annotations

from bpverify.contract import CIRCUITS, Item

__all__ = ["CATEGORY", "ITEMS"]

#: The category of the family's items (the checks are in checks.py).
CATEGORY = "circuit"

ITEMS: tuple[Item, ...] = tuple(Item(c.name, CATEGORY, c.gates) for c in CIRCUITS.values())
