"""The checks of an item, from its family (``bpverify/families/<name>/checks``), by category.

A family's checks module has ``checks_for(item) -> list[Check]`` (generated examples) and may
have ``fixed_checks(item) -> {name: run(executor) -> CheckResult}`` (run once, on fixed values,
after them: a circuit's "lecture values").  The registry finds the family of an item's category.
"""

from __future__ import annotations

from collections.abc import Callable

from bpverify import registry
from bpverify.contract import Item
from bpverify.grading.checks.base import Check, CheckFailed, plain_case
from bpverify.model import CheckResult
from bpverify.submission import Executor

__all__ = ["Check", "CheckFailed", "checks_for", "fixed_checks", "plain_case"]


def _module(item: Item) -> object:
    module = registry.checks_module(item.category)
    if module is None:
        known = [c for f in registry.families() for c in f.categories]
        raise ValueError(f"item {item.name!r} has category {item.category!r}; expected one of "
                         f"{', '.join(known)}")
    return module


def checks_for(item: Item) -> list[Check]:
    """The checks of one item, in reporting order."""
    checks: list[Check] = _module(item).checks_for(item)  # type: ignore[attr-defined]
    return checks


def fixed_checks(item: Item) -> dict[str, Callable[[Executor], CheckResult]]:
    """The item's checks run once on fixed values (after :func:`checks_for`'s), by name."""
    fixed = getattr(_module(item), "fixed_checks", None)
    return dict(fixed(item)) if fixed is not None else {}
