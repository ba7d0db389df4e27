"""Scenarios: call the submission's code on inputs the grader chose and return plain data only.

A scenario returns floats, numeric arrays (copies), tuples, lists, dicts, None and
:class:`~bpverify.contract.Opaque` placeholders.  The grader never compares anything here; it
receives the plain data and judges it.  Keeping this boundary strict lets the same scenarios
run in-process or in an isolated worker.

The scenarios of each family of items are in its folder (``bpverify/families/<name>/scenarios.py``,
found through the registry); here are the helpers they share (:func:`plain`, :func:`copied`,
:func:`pair`, :func:`make_gate`) and the two every submission answers: ``inventory`` and ``many``.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from bpverify import registry
from bpverify.contract import ContractError, Opaque
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import InventoryReply, ManyReply, TracedCall

__all__ = ["SCENARIOS", "InProcessExecutor", "copied", "make_gate", "pair", "plain", "run_scenario",
           "scenario_named", "traced_calls"]

T = TypeVar("T")


# --- plain data -------------------------------------------------------------------------


def plain(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` made of plain data only; anything else becomes :class:`Opaque`."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return Opaque("bool", str(bool(value)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "fiu":
        return np.array(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu" and value.dtype.itemsize <= 8:
            return np.array(value, copy=True)
        return Opaque(f"ndarray of dtype {value.dtype}")
    if depth < 3 and isinstance(value, (tuple, list)):
        items = [plain(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if depth < 3 and isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    return Opaque(type(value).__name__)


def copied(v: Any) -> Any:
    """An input as handed to the submission: arrays copied, so in-place edits are seen."""
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else v


def pair(value: Any, where: str, what: str) -> tuple[Any, Any]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = f" of {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise ContractError(
            f"{where} returned {type(value).__name__}{n}; expected a pair {what}"
        )
    return value[0], value[1]


def make_gate(sub: LoadedSubmission, name: str, const: float | None) -> Any:
    """An instance of the submission's gate class ``name``, built with ``const`` if it takes one."""
    cls = sub.get(name)
    args = () if const is None else (const,)
    return _call(f"{name}({', '.join(map(repr, args))})", cls, *args)


# --- a net's layer calls, recorded -------------------------------------------------------


def _in_order(fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> list[Any]:
    """A call's arguments, positional and keyword, in the order of ``fn``'s parameters."""
    if not kw:
        return list(args)
    try:
        return list(inspect.signature(fn).bind(*args, **kw).arguments.values())
    except (TypeError, ValueError):  # no signature, or a call it does not accept
        return [*args, *kw.values()]


def _recorded(values: list[Any]) -> Any:
    """A call's arguments as plain data (a boolean mask travels as 0/1: plain data has no
    booleans)."""
    return plain([np.asarray(v).astype(np.int64) if isinstance(v, np.ndarray) and v.dtype == bool
                  else v for v in values])


def traced_calls(sub: LoadedSubmission, owner: Any, names: Sequence[str],
                 run: Callable[[], T]) -> tuple[T, list[TracedCall]]:
    """``run()`` with every call of the layer functions ``names`` recorded, in order.

    The functions are swapped, for this run only, in the globals of ``owner``'s module (a
    net's class is defined there, and its base classes' modules) and of every module of the
    submission, so calls made
    through helpers (``affine_relu_forward`` in layer_utils) are seen too.  A forward call's
    record holds its arguments (``args``) and ``out`` (its first value when it returns
    ``(out, cache)``); a backward call's holds ``dout`` and the index of the forward call
    whose cache it got (``forward``: its last argument, -1 when no traced forward made it).
    A dict argument's ``mode`` ('train' or 'test') is kept as ``mode``.
    """
    calls: list[TracedCall] = []
    producer: dict[int, int] = {}  # id(cache) -> index of the forward call that returned it
    keep: list[Any] = []  # keeps caches alive so that their ids stay unique

    def traced(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            record: TracedCall = {"fn": name}
            calls.append(record)
            values = _in_order(fn, args, kw)
            if "_backward" in name and len(values) >= 2:
                record["dout"] = plain(values[0])
                record["forward"] = producer.get(id(values[-1]), -1)
            else:
                record["args"] = _recorded(values)
            modes = [v["mode"] for v in values if isinstance(v, dict)
                     and isinstance(v.get("mode"), str)]
            if modes:
                record["mode"] = modes[0]
            result = fn(*args, **kw)
            if "_forward" in name and isinstance(result, tuple) and len(result) == 2:
                producer[id(result[1])] = len(calls) - 1
                keep.append(result[1])
                record["out"] = plain(result[0])
            else:
                record["out"] = plain(result)
            return result

        return wrapper

    modules = list(sub.modules)
    for klass in type(owner).__mro__[:-1]:  # a net built on a base class of another module
        own = sys.modules.get(klass.__module__)
        if own is not None and own not in modules and klass.__module__ != "builtins":
            modules.append(own)
    patched = []
    for mod in modules:
        for name in names:
            fn = mod.__dict__.get(name)
            if callable(fn):
                mod.__dict__[name] = traced(name, fn)
                patched.append((mod, name, fn))
    try:
        return run(), calls
    finally:
        for mod, name, fn in patched:
            mod.__dict__[name] = fn


# --- scenarios ----------------------------------------------------------------------------


def inventory(sub: LoadedSubmission) -> InventoryReply:
    return {
        "names": {n: type(o).__name__ for n, o in sub.names.items()},
        "load_errors": list(sub.load_errors),
        "notes": list(sub.notes),
        "unavailable": dict(sub.unavailable),
        "elsewhere": dict(sub.elsewhere),
    }


def many(
    sub: LoadedSubmission, calls: list[tuple[str, dict[str, Any]]],
    time_limit: float | None = None,
) -> ManyReply:
    """Run several forward-value scenarios (the families' ``BATCHABLE``) in one request, in order.

    Returns their replies in order; an error in one of them leaves as it would from that call
    alone.  With ``time_limit`` (seconds), no further call starts once it would likely end past
    the limit (elapsed time plus the longest call so far): the replies of the calls made come
    back, at least one, so that a slow submission is never timed out by a batch.
    """
    replies: ManyReply = []
    start = time.monotonic()
    longest = 0.0
    batchable = _tables()[1]
    for scenario, kwargs in calls:
        if scenario not in batchable:
            raise ValueError(f"many: scenario {scenario!r} cannot be batched; expected one of "
                             f"{', '.join(batchable)}")
        if replies and time_limit is not None:
            elapsed = time.monotonic() - start
            if elapsed + longest > time_limit:
                break
        began = time.monotonic()
        replies.append(scenario_named(scenario)(sub, **kwargs))
        longest = max(longest, time.monotonic() - began)
    return replies


SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (inventory, many)
}


def scenario_named(name: str) -> Callable[..., Any]:
    """The scenario called ``name``: one of :data:`SCENARIOS` or of a registered family."""
    found = SCENARIOS.get(name) or _tables()[0].get(name)
    if found is None:
        raise KeyError(f"unknown scenario {name!r}")
    return found


_TABLES: list[Any] = [None, None, None]  #: (registry.families() they were built from, ...)


def _tables() -> tuple[dict[str, Callable[..., Any]], tuple[str, ...]]:
    """The families' scenarios and batchable scenarios, built once per set of families (the
    registry's own tables are rebuilt on every call, and a grade makes tens of thousands)."""
    families = registry.families()
    if _TABLES[0] is not families:
        _TABLES[1:] = registry.scenarios(), registry.batchable()
        _TABLES[0] = families
    return _TABLES[1], _TABLES[2]


def run_scenario(sub: LoadedSubmission, scenario: str, **kwargs: Any) -> Any:
    """Run one scenario; only StudentError and ContractError leave it."""
    fn = scenario_named(scenario)
    with np.errstate(all="ignore"):
        return fn(sub, **kwargs)


class InProcessExecutor:
    """Runs scenarios in the grader's own process (fast; no isolation)."""

    sandbox = "in-process (no isolation)"

    def __init__(self, submission: LoadedSubmission) -> None:
        self.submission = submission

    def call(self, scenario: str, **kwargs: Any) -> Any:
        return run_scenario(self.submission, scenario, **kwargs)

    def begin_item(self, name: str) -> None:
        """Nothing to reset: in this process no item has a budget of its own."""

    def close(self) -> None:
        pass
