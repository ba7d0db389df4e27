"""The checks of CS231n's convolutional layers and of ThreeLayerConvNet.

One module per concept: :mod:`.oracle` (JAX, float64), :mod:`.cases` (the strategies),
:mod:`.numerical` (centred differences on a budget), :mod:`.layers` (the four layer functions).
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.convolution.checks.layers import layer_checks
from bpverify.grading.checks.base import Check

__all__ = ["checks_for"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a convolutional layer function, or of ThreeLayerConvNet."""
    return layer_checks(item.name)
