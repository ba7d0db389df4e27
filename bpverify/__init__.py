"""bpverify: property-based verification and teaching harness for backpropagation.

Check a submission (a .py file or a package folder that follows the contract in
docs/contract.md) against two oracles, JAX autodiff and centred numerical differences:

>>> import bpverify
>>> result = bpverify.check_submission("reference")       # doctest: +SKIP
>>> result.passed                                           # doctest: +SKIP
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from .contract import CIRCUITS, GATES, ITEMS, ContractError, Gate
from .engine import DEFAULT_SEED, PROFILES, check_item, check_submission

try:
    from .gradcheck import check_gradient
except ImportError:  # TEMP until gradcheck lands
    pass
from .model import (
    CheckResult,
    ElementMismatch,
    GateStep,
    ItemResult,
    SubmissionResult,
)
from .student import InProcessExecutor, load_submission

__all__ = [
    "CIRCUITS",
    "DEFAULT_SEED",
    "GATES",
    "ITEMS",
    "PROFILES",
    "CheckResult",
    "ContractError",
    "ElementMismatch",
    "Gate",
    "GateStep",
    "InProcessExecutor",
    "ItemResult",
    "SubmissionResult",
    "__version__",
    "check_gradient",
    "check_item",
    "check_submission",
    "load_submission",
]
