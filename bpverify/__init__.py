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

import importlib
from typing import TYPE_CHECKING, Any

from bpverify.version import __version__

if TYPE_CHECKING:  # the names below are loaded on first use (PEP 562): see __getattr__
    from bpverify.contract import CIRCUITS, GATES, ContractError, Gate, Item
    from bpverify.gradcheck import GradCheckResult, check_gradient
    from bpverify.grading.engine import DEFAULT_SEED, PROFILES, check_item, check_submission
    from bpverify.grading.rubric import Rubric, load_rubric
    from bpverify.model import (
        CheckResult,
        ElementMismatch,
        GateStep,
        ItemResult,
        SubmissionResult,
    )
    from bpverify.notebook import NotebookResult, check
    from bpverify.output.formats import to_gradescope, to_junit
    from bpverify.output.html import to_html
    from bpverify.submission import InProcessExecutor, load_submission
    from bpverify.submission.worker import WorkerExecutor

    #: The default contract's items (docs/contract.md), in reporting order.
    ITEMS: tuple[Item, ...]

#: Where each public name lives.  ``import bpverify`` loads none of them, so it imports neither
#: JAX nor Hypothesis (and changes nothing in a user's JAX): the first use of a name does.
_LAZY = {
    "bpverify.contract": ("CIRCUITS", "GATES", "ContractError", "Gate"),
    "bpverify.gradcheck": ("GradCheckResult", "check_gradient"),
    "bpverify.grading.engine": ("DEFAULT_SEED", "PROFILES", "check_item", "check_submission"),
    "bpverify.grading.rubric": ("Rubric", "load_rubric"),
    "bpverify.model": ("CheckResult", "ElementMismatch", "GateStep", "ItemResult",
                       "SubmissionResult"),
    "bpverify.notebook": ("NotebookResult", "check"),
    "bpverify.output.formats": ("to_gradescope", "to_junit"),
    "bpverify.output.html": ("to_html",),
    "bpverify.submission": ("InProcessExecutor", "load_submission"),
    "bpverify.submission.worker": ("WorkerExecutor",),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "ITEMS":  # the default contract's items: its families', from the registry
        value: Any = importlib.import_module("bpverify.registry").default_items()
        globals()[name] = value
        return value
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'bpverify' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | {"ITEMS"})


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
