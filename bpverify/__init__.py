"""bpverify: property-based verification and teaching harness for backpropagation.

Check a submission (a .py file or a package folder that follows the contract in
docs/contract.md) against two oracles, JAX autodiff and centred numerical differences:

>>> import bpverify
>>> result = bpverify.check_submission("reference")       # doctest: +SKIP
>>> result.passed                                           # doctest: +SKIP
True

In a notebook, check the objects you defined; the result shows itself as an inline report:

>>> bpverify.check(affine_forward, affine_backward)        # doctest: +SKIP
"""

from __future__ import annotations

from bpverify.contract import CIRCUITS, GATES, ContractError, Gate
from bpverify.gradcheck import GradCheckResult, check_gradient
from bpverify.grading.engine import DEFAULT_SEED, PROFILES, check_item, check_submission
from bpverify.grading.rubric import Rubric, load_rubric
from bpverify.model import CheckResult, ElementMismatch, GateStep, ItemResult, SubmissionResult
from bpverify.notebook import NotebookResult, check
from bpverify.output.formats import to_gradescope, to_junit
from bpverify.output.html import to_html
from bpverify.registry import default_items
from bpverify.submission import InProcessExecutor, load_submission
from bpverify.submission.worker import WorkerExecutor
from bpverify.version import __version__

#: The default contract's items (docs/contract.md), in reporting order.
ITEMS = default_items()

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
    "GradCheckResult",
    "InProcessExecutor",
    "ItemResult",
    "NotebookResult",
    "Rubric",
    "SubmissionResult",
    "WorkerExecutor",
    "__version__",
    "check",
    "check_gradient",
    "check_item",
    "check_submission",
    "load_rubric",
    "load_submission",
    "to_gradescope",
    "to_html",
    "to_junit",
]
