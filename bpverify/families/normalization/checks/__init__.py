"""The checks of CS231n's normalization layers (see :mod:`.layers`; the oracle in
:mod:`.oracle`, the cases in :mod:`.cases`) and of FullyConnectedNet (:mod:`.net`, its oracle
in :mod:`.netoracle`, its blame in :mod:`.netblame`).

Failures say what they established as data for the diagnoses (feedback.py): the check's kind
(``wrong-values``, ``running-missing``, ...), the call judged (``facts.where``), and the case
with eps, momentum and the running averages in the minimal example.
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.normalization.checks.layers import NormChecks
from bpverify.families.normalization.checks.net import FcNetChecks
from bpverify.families.normalization.contract import NET, spec_of
from bpverify.grading.checks.base import Check

__all__ = ["FcNetChecks", "NormChecks", "checks_for"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a normalization's forward, backward or batchnorm_backward_alt, or of
    FullyConnectedNet (:mod:`.net`)."""
    if item.category == NET:
        return FcNetChecks().checks()
    spec = spec_of(item.name)
    backward = item.name if item.name != spec.forward else None
    return NormChecks(spec, backward).checks(item.name)
