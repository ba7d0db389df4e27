"""Run every check of every item under Hypothesis and build the result model.

Runs are deterministic: each check's Hypothesis seed is derived from the run's printed seed and
the check's name, the example database is off, and the same seed gives the same results.
"""

from __future__ import annotations

import time
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Flaky

from bpverify.contract import ALL_ITEMS, CIRCUITS, ContractError, Item, item_named
from bpverify.grading.checks import Check, CheckFailed, checks_for, circuit_trace, plain_case
from bpverify.grading.rubric import Rubric, choose_rubric, load_rubric
from bpverify.model import CheckResult, ItemResult, Status, SubmissionResult
from bpverify.options import (
    DEFAULT_SEED,
    PROFILE_ENV,
    PROFILES,
    GradeOptions,
    Profile,
    resolve_profile,
)
from bpverify.submission import Executor, InProcessExecutor, LoadSpec, StudentError, load_submission
from bpverify.version import __version__

__all__ = [
    "DEFAULT_SEED",
    "PROFILES",
    "PROFILE_ENV",
    "Profile",
    "check_item",
    "check_submission",
    "resolve_profile",
]

def _check_seed(seed: int, item: str, check: str) -> int:
    return zlib.crc32(f"{seed}:{item}:{check}".encode())


def run_check(
    item: str, check: Check, executor: Executor, *, seed: int, max_examples: int
) -> CheckResult:
    """Run one check under Hypothesis; a failure is shrunk to a minimal example."""
    check_seed = _check_seed(seed, item, check.name)
    state: dict[str, Any] = {"runs": 0, "judged": 0, "case": None}

    def prop(case: Any) -> None:
        state["runs"] += 1
        state["case"] = case
        try:
            judged = check.run(executor, case)
        except StudentError as exc:
            tb = f"\n{exc.tb}" if exc.tb else ""
            raise CheckFailed("raised", f"{exc}{tb}") from None
        except ContractError as exc:
            raise CheckFailed("bad-return", str(exc)) from None
        if judged is not False:
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
        test()
    except CheckFailed as exc:
        return _failed(base, exc, state)
    except Flaky as exc:  # a failure that did not repeat: report the first one seen
        inner = _find(exc, CheckFailed)
        if inner is not None:
            return _failed(base, inner, state, note=" (this failure did not always repeat)")
        return CheckResult(status="failed", kind="flaky", message=str(exc)[:2000],
                           examples_run=state["runs"], **base)
    except hypothesis.errors.Unsatisfiable:
        return CheckResult(status="skipped", message="no valid example could be generated",
                           examples_run=state["runs"], **base)
    except Exception:  # a bug in bpverify itself: say so, never blame the submission
        return CheckResult(
            status="failed", kind="internal-error",
            message="bpverify internal error (please report it):\n" + traceback.format_exc(),
            example=plain_case(state["case"]), examples_run=state["runs"], **base,
        )
    if state["judged"] == 0:
        return CheckResult(
            status="skipped", examples_run=state["runs"],
            message=f"not judged: {check.unjudged}", **base,
        )
    return CheckResult(status="passed", examples_run=state["runs"], **base)


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
    return CheckResult(
        status="failed",
        kind=exc.kind,
        message=exc.message + note,
        example=plain_case(state["case"]),
        expected=exc.expected,
        got=exc.got,
        mismatches=exc.mismatches,
        mismatch_count=exc.count or len(exc.mismatches),
        trace=exc.trace,
        examples_run=state["runs"],
        **base,
    )


def _lecture_trace(item: Item, executor: Executor) -> CheckResult:
    """A passing circuit still gets its gate-by-gate trace at the lecture's values."""
    spec = CIRCUITS[item.name]
    values = dict(spec.lecture_values)
    try:
        res = executor.call("circuit", name=item.name, values=values, dout=1.0)
        trace = circuit_trace(item.name, values, 1.0, res)
    except (StudentError, ContractError) as exc:
        return CheckResult(name="lecture values", status="failed", kind="raised",
                           message=str(exc), example=values)
    ok = all(s.forward_ok and s.backward_ok for s in trace)
    return CheckResult(
        name="lecture values", status="passed" if ok else "failed", example=values,
        trace=tuple(trace), kind="" if ok else "wrong-values",
        message="" if ok else "the circuit disagrees with the lecture's worked example",
    )


def check_item(
    item: Item | str,
    submission: Executor | str | Path,
    *,
    seed: int = DEFAULT_SEED,
    profile: str | None = None,
    max_examples: int | None = None,
    available: Iterable[str] | None = None,
) -> ItemResult:
    """Check one contract item (by name or :class:`Item`) of a submission.

    ``submission`` is a path (loaded and run in-process) or an executor to run scenarios with.
    """
    if isinstance(submission, (str, Path)):
        loaded = load_submission(submission)
        executor: Executor = InProcessExecutor(loaded)
        if available is None:
            available = loaded.names
    else:
        executor = submission
    if isinstance(item, str):
        item = item_named(item)
    if available is not None:
        missing = [n for n in item.needs if n not in set(available)]
        if missing:
            return ItemResult(
                name=item.name, category=item.category, status="not implemented",
                message=f"not implemented: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not defined in the submission",
            )
    n = max_examples or resolve_profile(profile).max_examples
    begin_item = getattr(executor, "begin_item", None)
    if begin_item is not None:  # optional: an isolated executor gives each item its own budget
        begin_item(item.name)
    results = [run_check(item.name, c, executor, seed=seed, max_examples=n)
               for c in checks_for(item)]
    if item.category == "circuit":
        results.append(_lecture_trace(item, executor))
    status: Status = "failed" if any(r.status == "failed" for r in results) else "passed"
    return ItemResult(name=item.name, category=item.category, status=status,
                      checks=tuple(results))


def check_submission(
    path: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    profile: str | None = None,
    max_examples: int | None = None,
    only: Iterable[str] | None = None,
    rubric: str | Path | Rubric | None = None,
    executor_factory: Callable[[Path, LoadSpec], Executor] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SubmissionResult:
    """Grade the submission at ``path`` (a .py file or a folder) by a rubric.

    ``rubric`` is a built-in name ("default", "cs231n"), a TOML file or a :class:`Rubric`; it
    says which items are graded, for how many points, and how the submission is laid out.
    ``only`` narrows the items further (and may name optional items the rubric leaves out).
    ``executor_factory(path, load_spec)`` runs the submission elsewhere (an isolated worker);
    by default it runs in this process.
    """
    start = time.perf_counter()
    path = Path(path)
    prof = resolve_profile(profile)
    by_name = {i.name: i for i in ALL_ITEMS}
    if only is not None:
        only = list(only)
        unknown = [n for n in only if n not in by_name]
        if unknown:
            raise ValueError(
                f"unknown item(s) {sorted(unknown)}; expected names from {', '.join(by_name)}"
            )
    rules = load_rubric(rubric)

    def start_executor(rules: Rubric) -> Executor:
        spec = LoadSpec(layout=rules.layout, options=dict(rules.options), lookup=rules.lookup)
        if executor_factory is None:
            return InProcessExecutor(spec.load(path))
        return executor_factory(path, spec)

    executor = start_executor(rules)
    items = []
    notes: list[str] = []
    try:
        inv = executor.call("inventory")
        if rubric is None:  # no rubric named: choose by what the submission defines
            chosen, why = choose_rubric(path, inv["names"])
            if chosen != rules.name:
                executor.close()
                rules = load_rubric(chosen)
                executor = start_executor(rules)
                inv = executor.call("inventory")
            if why:
                notes.append(why)
        notes += [n for n in inv.get("notes", ()) if isinstance(n, str)]
        wanted = list(rules.item_names)
        if only is not None:
            wanted = [n for n in by_name if n in only]
        load_error = "; ".join(inv["load_errors"])
        for name in wanted:
            if progress:
                progress(name)
            result = check_item(by_name[name], executor, seed=seed, max_examples=max_examples
                                or prof.max_examples, available=inv["names"])
            if result.status == "not implemented" and load_error:
                result = replace(result, message=f"{result.message} (the submission failed to "
                                 f"import: {load_error})")
            score, max_score = rules.score(result)
            items.append(replace(result, score=score, max_score=max_score,
                                 visibility=rules.rule(name).visibility))
    finally:
        executor.close()
    return SubmissionResult(
        submission=path.name or str(path),
        seed=seed,
        profile=prof.name,
        items=tuple(items),
        bpverify_version=__version__,
        load_error=load_error,
        rubric=rules.name,
        duration_s=time.perf_counter() - start,
        notes=tuple(notes),
    )
