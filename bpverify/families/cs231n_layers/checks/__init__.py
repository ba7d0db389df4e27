"""CS231n's layer functions, losses and fully connected nets: one module per concept.

:mod:`.layers` (``affine_forward`` ... ``relu_backward``, a forward and its backward through
the cache), :mod:`.losses` (``softmax_loss``, ``svm_loss``), :mod:`.nets` (``TwoLayerNet``,
``ThreeLayerNet``: scores, loss, gradients, regularization) and :mod:`.blame` (a wrong net's
guilty layer call, from its traced calls).
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.cs231n_layers.checks.layers import layer_checks
from bpverify.families.cs231n_layers.checks.losses import loss_checks
from bpverify.families.cs231n_layers.checks.nets import net_checks
from bpverify.families.cs231n_layers.contract import LAYER, LOSS, NET
from bpverify.grading.checks.base import Check

__all__ = ["checks_for", "layer_checks", "loss_checks", "net_checks"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a layer function, a loss or a net (the registry's entry point)."""
    by_category = {LAYER: layer_checks, LOSS: loss_checks, NET: net_checks}
    return by_category[item.category](item.name)
