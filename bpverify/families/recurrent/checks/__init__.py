"""CS231n's recurrent layers (rnn_layers.py), graded against JAX in float64.

One module per concept: :mod:`.oracle` (the layers in JAX, recurrences by ``lax.scan``),
:mod:`.cases` (the strategies), :mod:`.layers` (a forward/backward pair's checks) and
:mod:`.loss` (``temporal_softmax_loss``), :mod:`.captioning` (``CaptioningRNN``) and
:mod:`.blame` (its layer-by-layer blame).
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.recurrent.checks.captioning import captioning_checks
from bpverify.families.recurrent.checks.layers import layer_checks
from bpverify.families.recurrent.checks.loss import loss_checks
from bpverify.families.recurrent.contract import CAPTIONING_CATEGORY, LOSS_CATEGORY
from bpverify.grading.checks.base import Check

__all__ = ["checks_for"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a recurrent layer's forward or backward, of the temporal loss, or of
    the captioning net."""
    if item.category == LOSS_CATEGORY:
        return loss_checks()
    if item.category == CAPTIONING_CATEGORY:
        return captioning_checks()
    return layer_checks(item.name)
