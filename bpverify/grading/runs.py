"""One check of one item, run under Hypothesis (or replayed from a batch's examples).

Each check's Hypothesis seed is derived from the run's seed and the item's and check's names,
the example database is off, and the same seed gives the same result in every process.  A
failure is shrunk to a minimal example; the result records it with the check's verdict.  With
a batch's :class:`~bpverify.grading.replay.Replays`, a check judges recorded examples first and
runs Hypothesis only where an outcome differs (see :mod:`bpverify.grading.replay`).
"""

from __future__ import annotations

import contextlib
import functools
import traceback
import zlib
from dataclasses import replace
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Flaky, UnsatisfiedAssumption

from bpverify.contract import ContractError
from bpverify.grading import memo
from bpverify.grading.checks import Check, CheckFailed, plain_case
from bpverify.grading.checks.base import contract_failed, student_failed
from bpverify.grading.draws import strategies_only
from bpverify.grading.replay import (
    Known,
    Outcome,
    Replays,
    Trace,
    copied,
    recordable,
    replay,
    taping,
)
from bpverify.model import CheckResult
from bpverify.submission import Executor, StudentError

__all__ = ["run_check"]


def _check_seed(seed: int, item: str, check: str) -> int:
    return zlib.crc32(f"{seed}:{item}:{check}".encode())


def run_check(
    item: str, check: Check, executor: Executor, *, seed: int, max_examples: int,
    replays: Replays | None = None,
) -> CheckResult:
    """Run one check under Hypothesis; a failure is shrunk to a minimal example.

    With ``replays`` (a batch's, :mod:`bpverify.grading.replay`), a check that passed before
    in the batch is first judged on the examples that run went through; Hypothesis runs only
    when an example's outcome differs, and the result is the same as without ``replays``.
    """
    check_seed = _check_seed(seed, item, check.name)
    key = (check_seed, item, check.name, max_examples)
    state: dict[str, Any] = {"runs": 0, "rejected": 0, "judged": 0, "case": None}
    known: Known | None = None
    trace = replays.get(key) if replays is not None else None
    if replays is not None and trace is not None:
        same, outcomes = replay(trace, functools.partial(_judge, check, executor), executor,
                                replays)
        for outcome in outcomes:
            _count(state, outcome)
        if same:
            replays.replayed += 1
            return _passed(check, state, {"name": check.name, "seed": check_seed})
        replays.fallbacks += 1
        known = Known(outcomes)
        state = {"runs": 0, "rejected": 0, "judged": 0, "case": None}
    recording: list[Outcome] | None = [] if replays is not None else None

    def prop(case: Any) -> None:
        told = known.next(case) if known is not None else None
        if told is not None:  # the replay saw this example's outcome: repeat it
            _count(state, told)
            if told.error is not None:
                raise told.error
            if told.rejected:
                raise UnsatisfiedAssumption()
            return
        if recording is not None:
            recording.append(Outcome(copied(case)) if recordable(case) else Outcome(None))
        state["runs"] += 1
        state["case"] = case
        # The first run of a check in a batch records each example's calls too.
        tape: contextlib.AbstractContextManager[list[Any]] = (
            taping(executor) if recording is not None and known is None
            else contextlib.nullcontext([]))
        taped: list[Any] = []
        try:
            with tape as taped:
                judged = _judge(check, executor, case)
        except UnsatisfiedAssumption:  # set aside by the check's assume (at a ReLU kink, ...)
            state["rejected"] += 1
            if recording:
                recording[-1] = replace(recording[-1], rejected=True, judged=False)
            raise
        finally:
            if recording and taped:
                recording[-1] = replace(recording[-1], taped=taped[0])
        if recording:
            recording[-1] = replace(recording[-1], judged=judged)
        if judged:
            state["judged"] += 1

    test = hypothesis.seed(check_seed)(
        settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            derandomize=False,
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
        )(given(check.strategy)(prop))
    )
    base: dict[str, Any] = {"name": check.name, "seed": check_seed}
    try:
        # The same draws in every process, whatever it has loaded; after a replay that went
        # another way, what this one submission's run computes is not worth keeping.
        with strategies_only(), memo.not_kept() if known is not None else contextlib.nullcontext():
            test()
    except CheckFailed as exc:
        return _failed(base, exc, state)
    except Flaky as exc:  # a failure that did not repeat: report the first one seen
        inner = _find(exc, CheckFailed)
        if inner is not None:
            return _failed(base, inner, state, note=" (this failure did not always repeat)")
        return CheckResult(status="failed", kind="flaky", message=str(exc)[:2000],
                           **_counts(state), **base)
    except hypothesis.errors.Unsatisfiable:
        return CheckResult(status="skipped", message="no valid example could be generated",
                           **_counts(state), **base)
    except Exception:  # a bug in bpverify itself: say so, never blame the submission
        return CheckResult(
            status="failed", kind="internal-error",
            message="bpverify internal error (please report it):\n" + traceback.format_exc(),
            example=plain_case(state["case"]), **_counts(state), **base,
        )
    if replays is not None and recording is not None and known is None \
            and all(o.case is not None for o in recording):
        # A passing run from its first example: every later submission replays it.
        replays.record(key, Trace(tuple(o.case for o in recording),
                                  tuple(o.rejected for o in recording),
                                  tuple(o.judged for o in recording),
                                  tuple(o.taped for o in recording)))
    return _passed(check, state, base)


def _judge(check: Check, executor: Executor, case: Any) -> bool:
    """Judge one example (the property Hypothesis runs): True when it was judged, False when
    the check waved it through; raises CheckFailed to fail, UnsatisfiedAssumption to reject."""
    try:
        judged = check.run(executor, case)
    except StudentError as exc:
        raise student_failed(exc) from None
    except ContractError as exc:
        raise contract_failed(exc) from None
    return judged is not False


def _count(state: dict[str, Any], outcome: Outcome) -> None:
    state["runs"] += 1
    state["case"] = outcome.case
    state["rejected"] += outcome.rejected
    state["judged"] += outcome.error is None and not outcome.rejected and outcome.judged


def _passed(check: Check, state: dict[str, Any], base: dict[str, Any]) -> CheckResult:
    if state["judged"] == 0:
        return CheckResult(
            status="skipped", **_counts(state),
            message=f"not judged: {check.unjudged}", **base,
        )
    return CheckResult(status="passed", **_counts(state), **base)


def _counts(state: dict[str, Any]) -> dict[str, Any]:
    return {"examples_run": state["runs"], "examples_rejected": state["rejected"]}


def _find(exc: BaseException, kind: type[CheckFailed]) -> CheckFailed | None:
    if isinstance(exc, kind):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        found = _find(sub, kind)
        if found is not None:
            return found
    return _find(exc.__cause__, kind) if exc.__cause__ is not None else None


def _failed(base: dict[str, Any], exc: CheckFailed, state: dict[str, Any],
            note: str = "") -> CheckResult:
    # The check filled in its verdict; the run adds the example, the counts and the name.
    return replace(exc.result, message=exc.message + note, example=plain_case(state["case"]),
                   **_counts(state), **base)
