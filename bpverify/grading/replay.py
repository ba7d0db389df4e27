"""A batch's examples, drawn once and replayed to every submission.

Hypothesis's run of a check is a function of its seed and of the *outcome* of each example it
has run so far (valid, set aside by ``assume``, or failing): with the same outcomes it draws
the same next example.  So the examples a passing run went through, in order, with which of
them ``assume`` set aside, are every passing run's examples.  A batch records that sequence
(a :class:`Trace`) the first time a check passes, and for every later submission runs the
check's judge on the recorded examples directly, without Hypothesis: when each example has
the recorded outcome, the submission's Hypothesis run would have been this very replay, and
its result (passed, the counts of examples run and set aside and judged) is the same.

The first example whose outcome differs (it fails, or ``assume`` disagrees) ends the replay.
The check is then run under Hypothesis after all, told the outcomes the replay already saw
(:class:`Known`): Hypothesis draws the same examples up to there, and for those the judge is
not run again, its outcome is repeated (the same exception object for the last one).  From
there Hypothesis goes on (shrinking, for a failure) calling the submission exactly as a grade
of this submission alone would, so the minimal example and the report are the same; and the
submission has seen the same calls in the same order, as alone.

Cases are copied before each use: a judge may change its case's arrays in place.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis.errors import HypothesisDeprecationWarning, UnsatisfiedAssumption

__all__ = ["Known", "Outcome", "Replays", "Trace", "copied", "recordable", "replay", "same_case"]


@dataclass(frozen=True)
class Outcome:
    """What judging one example did: passed (``judged``: it was judged, not waved through),
    was set aside by ``assume`` (``rejected``), or raised ``error`` (the prop's exception)."""

    case: Any
    rejected: bool = False
    judged: bool = True
    error: BaseException | None = None


@dataclass(frozen=True)
class Trace:
    """A passing run's examples in order, each with whether ``assume`` set it aside."""

    cases: tuple[Any, ...]
    rejected: tuple[bool, ...]


@dataclass
class Known:
    """Outcomes a replay saw, for the Hypothesis run that continues after it: the n-th call of
    the property gets the n-th outcome, as long as Hypothesis drew the same example."""

    outcomes: list[Outcome]
    used: int = 0

    def next(self, case: Any) -> Outcome | None:
        """The known outcome of ``case`` (the next one Hypothesis drew), or None: run it."""
        if self.used >= len(self.outcomes):
            return None
        known = self.outcomes[self.used]
        if not same_case(known.case, case):  # never expected; then nothing more is known
            self.used = len(self.outcomes)
            return None
        self.used += 1
        return known


@dataclass
class Replays:
    """The traces of one batch, by check (its seed, item, name and ``max_examples``).

    One per grading process, shared by the submissions it grades one after another.  Also
    counts what it saved, for a profile: checks replayed, and checks Hypothesis ran after all.
    """

    traces: dict[tuple[Any, ...], Trace] = field(default_factory=dict)
    replayed: int = 0
    fallbacks: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, key: tuple[Any, ...]) -> Trace | None:
        with self._lock:
            return self.traces.get(key)

    def record(self, key: tuple[Any, ...], trace: Trace) -> None:
        with self._lock:
            self.traces.setdefault(key, trace)


def copied(case: Any) -> Any:
    """A copy of ``case`` to judge (judges may change arrays in place); the case itself if it
    cannot be copied (then it is not recorded either: see :func:`recordable`)."""
    return copy.deepcopy(case)


def recordable(case: Any) -> bool:
    try:
        copy.deepcopy(case)
    except Exception:
        return False
    return True


def same_case(a: Any, b: Any) -> bool:
    """Whether two cases are the same example: equal structure, equal values, equal dtypes
    (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_case(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_case(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    try:
        return bool(a == b)
    except Exception:
        return False


def replay(trace: Trace, judge: Callable[[Any], bool]) -> tuple[bool, list[Outcome]]:
    """Judge ``trace``'s examples in order with ``judge(case)`` (True when judged, False
    when waved through; raises to fail or to reject).  ``(True, outcomes)`` when every example
    had its recorded outcome; else ``(False, outcomes)`` up to and including the first that
    did not.

    The judges' ``assume`` runs outside a Hypothesis test here, which Hypothesis deprecates
    with a warning (silenced); should it ever raise something else instead, that example's
    outcome differs and Hypothesis runs the check after all: slower, never different.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        return _replay(trace, judge)


def _replay(trace: Trace, judge: Callable[[Any], bool]) -> tuple[bool, list[Outcome]]:
    outcomes: list[Outcome] = []
    for case, rejected in zip(trace.cases, trace.rejected):
        try:
            judged = judge(copied(case))
        except UnsatisfiedAssumption:
            outcomes.append(Outcome(case, rejected=True, judged=False))
            if not rejected:
                return False, outcomes
            continue
        except Exception as exc:
            outcomes.append(Outcome(case, judged=False, error=exc))
            return False, outcomes
        outcomes.append(Outcome(case, judged=judged))
        if rejected:
            return False, outcomes
    return True, outcomes
