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

Where the submission runs in a worker (:class:`~bpverify.submission.Rerunnable`), each recorded
example also keeps the calls its judge made: each request's bytes and a digest of its reply's
(:class:`Taped`).  A later submission is asked those same calls first; when every reply is the
same bytes, the judge would have been given the same answers and would have asked the same
questions, so the example has its recorded outcome and is not judged at all (not even copied).
At the first reply that differs the judge runs after all, answered from the calls already asked
as long as it asks the same (it does, having had the same answers so far): the submission sees
each call once, as in a grade of it alone.  What the judges keep per submission besides (what the
submission defines, an engine's dtype) goes through :func:`asked_once`, which the tape records
too: an example is asked again only where the grader knows the same as when it was recorded.
"""

from __future__ import annotations

import copy
import threading
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from hypothesis.errors import HypothesisDeprecationWarning, UnsatisfiedAssumption

from bpverify.submission import Executor, Rerunnable

__all__ = ["Known", "Outcome", "Replays", "Taped", "Trace", "asked_once", "copied", "recordable",
           "replay", "same_case", "taping"]

_T = TypeVar("_T")

#: The most bytes of recorded calls a grading process keeps (requests and replies' digests:
#: the whole default rubric's come to about 14 MB); past it, checks are replayed without
#: their calls.
TAPE_LIMIT = 256 * 2**20


@dataclass(frozen=True)
class Taped:
    """One recorded example's calls (request bytes and reply digest, in order) and what its
    judge looked up with :func:`asked_once` (key, whether it was known already, the value)."""

    calls: tuple[tuple[bytes, bytes], ...]
    notes: tuple[tuple[Hashable, bool, Any], ...]


@dataclass(frozen=True)
class Outcome:
    """What judging one example did: passed (``judged``: it was judged, not waved through),
    was set aside by ``assume`` (``rejected``), or raised ``error`` (the prop's exception)."""

    case: Any
    rejected: bool = False
    judged: bool = True
    error: BaseException | None = None
    taped: Taped | None = None  #: its calls, when recorded (see :func:`taping`)


@dataclass(frozen=True)
class Trace:
    """A passing run's examples in order, each with whether ``assume`` set it aside, whether
    it was judged, and its calls where they were recorded."""

    cases: tuple[Any, ...]
    rejected: tuple[bool, ...]
    judged: tuple[bool, ...] = ()
    tapes: tuple[Taped | None, ...] = ()


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
    reasked: int = 0  #: examples whose calls were asked again with the same replies
    tape_bytes: int = 0  #: the size of the calls kept
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, key: tuple[Any, ...]) -> Trace | None:
        with self._lock:
            return self.traces.get(key)

    def record(self, key: tuple[Any, ...], trace: Trace) -> None:
        """Keep ``trace`` for ``key`` (the first one recorded stays); its calls only while
        all the tapes kept stay under :data:`TAPE_LIMIT` bytes."""
        size = sum(len(q) + len(r) for t in trace.tapes if t is not None for q, r in t.calls)
        with self._lock:
            if key in self.traces:
                return
            if self.tape_bytes + size > TAPE_LIMIT:
                trace = replace(trace, tapes=())
            else:
                self.tape_bytes += size
            self.traces[key] = trace


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


def replay(trace: Trace, judge: Callable[[Any], bool],
           executor: Executor | None = None, replays: Replays | None = None,
           ) -> tuple[bool, list[Outcome]]:
    """Judge ``trace``'s examples in order with ``judge(case)`` (True when judged, False
    when waved through; raises to fail or to reject).  ``(True, outcomes)`` when every example
    had its recorded outcome; else ``(False, outcomes)`` up to and including the first that
    did not.  With ``executor`` (a :class:`~bpverify.submission.Rerunnable` one), an example
    whose recorded calls get the same replies is not judged (the module's docstring).

    The judges' ``assume`` runs outside a Hypothesis test here, which Hypothesis deprecates
    with a warning (silenced); should it ever raise something else instead, that example's
    outcome differs and Hypothesis runs the check after all: slower, never different.
    """
    again = executor if isinstance(executor, Rerunnable) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        return _replay(trace, judge, again, replays)


def _replay(trace: Trace, judge: Callable[[Any], bool], again: Rerunnable | None,
            replays: Replays | None) -> tuple[bool, list[Outcome]]:
    outcomes: list[Outcome] = []
    tapes = trace.tapes if again is not None and trace.tapes else (None,) * len(trace.cases)
    for case, rejected, judged_then, taped in zip(
            trace.cases, trace.rejected, trace.judged or (True,) * len(trace.cases), tapes):
        if taped is not None and again is not None and _rerun(again, taped):
            if replays is not None:
                replays.reasked += 1
            outcomes.append(Outcome(case, rejected=rejected, judged=judged_then))
            continue
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
        finally:
            if taped is not None and again is not None:
                again.settle()
        outcomes.append(Outcome(case, judged=judged))
        if rejected:
            return False, outcomes
    return True, outcomes


# -- what judges keep per submission, and the tape of an example --

#: executor -> {key: value}: what judges asked once per submission (:func:`asked_once`).
_NOTES: weakref.WeakKeyDictionary[Any, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
#: The notes taken by the example being recorded (see :func:`taping`), else None.
_NOTING: ContextVar[list[tuple[Hashable, bool, Any]] | None] = ContextVar("noting", default=None)
_MISSING = object()


def asked_once(executor: Executor, key: Hashable, ask: Callable[[], _T]) -> _T:
    """``ask()``'s value (it asks the submission something), asked once per executor.

    Every judge that keeps something per submission must keep it here: a batch records what
    an example looked up, and asks that example's calls again only where it would find the
    same (see the module's docstring)."""
    try:
        notes = _NOTES.setdefault(executor, {})
    except TypeError:  # cannot be weakly referenced: ask every time
        return ask()
    noting = _NOTING.get()
    value = notes.get(key, _MISSING)
    if value is not _MISSING:
        if noting is not None:
            noting.append((key, True, value))
        return value
    value = ask()
    notes[key] = value
    if noting is not None:
        noting.append((key, False, value))
    return value


@contextmanager
def taping(executor: Executor) -> Iterator[list[Taped | None]]:
    """Record the example judged inside: the list given gets its :class:`Taped` (or None:
    the executor cannot ask calls again, or one of them did not come back)."""
    got: list[Taped | None] = []
    if not isinstance(executor, Rerunnable):
        try:
            yield got
        finally:
            got.append(None)
        return
    notes: list[tuple[Hashable, bool, Any]] = []
    token = _NOTING.set(notes)
    tape = None
    try:
        with executor.taping() as tape:
            yield got
    finally:
        _NOTING.reset(token)
        got.append(None if tape is None or tape.spoilt
                   else Taped(tuple(tape.calls), tuple(notes)))


def _rerun(again: Rerunnable, taped: Taped) -> bool:
    """Ask ``taped``'s calls of ``again`` if the grader knows what it knew then: True when
    every reply was the same bytes (what the judge would have kept is then kept too)."""
    notes = _NOTES.get(again, {})
    kept: dict[Hashable, Any] = {}
    for key, known, value in taped.notes:
        have = kept.get(key, notes.get(key, _MISSING))
        if known != (have is not _MISSING) or (known and not _equal(have, value)):
            return False
        kept[key] = value
    if not again.rerun(taped.calls):
        return False
    if kept:
        with_notes = _NOTES.setdefault(again, {})
        for key, value in kept.items():
            with_notes.setdefault(key, value)
    return True


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False
