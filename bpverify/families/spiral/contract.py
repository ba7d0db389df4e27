"""The lecture's demo as an item: the submission's ``TwoLayerNet`` trained on the spiral."""

from __future__ import annotations

from bpverify.contract import Item

__all__ = ["CATEGORY", "ITEMS", "ON_REQUEST"]

#: The category of the family's items (the checks are in checks.py).
CATEGORY = "demo"

ITEMS: tuple[Item, ...] = (Item("TwoLayerNet spiral", CATEGORY, ("TwoLayerNet",)),)

#: Graded only when asked for (``only=`` or a rubric that names it): training takes seconds,
#: not milliseconds.
ON_REQUEST = True
