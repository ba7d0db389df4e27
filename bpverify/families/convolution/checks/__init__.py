"""The checks of CS231n's convolutional layers and of ThreeLayerConvNet.

One module per concept: :mod:`.cases` (the strategies), :mod:`.numerical` (centred
differences on a budget), :mod:`.layers` (the four layer functions) and :mod:`.net`
(ThreeLayerConvNet); the oracle is the core's :mod:`bpverify.grading.conv_oracles` (JAX,
float64), which the book's Convolution and Pooling classes share.
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.convolution.checks.layers import layer_checks
from bpverify.families.convolution.checks.net import conv_net_checks
from bpverify.families.convolution.contract import NET_CATEGORY
from bpverify.grading.checks.base import Check

__all__ = ["checks_for"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a convolutional layer function, or of ThreeLayerConvNet."""
    if item.category == NET_CATEGORY:
        return conv_net_checks()
    return layer_checks(item.name)
