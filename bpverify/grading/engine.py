"""Run every check of every item under Hypothesis and build the result model.

Runs are deterministic: each check's Hypothesis seed is derived from the run's printed seed and
the check's name, the example database is off, and the same seed gives the same results.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bpverify import registry
from bpverify.contract import Item
from bpverify.feedback.diagnose import diagnose_item
from bpverify.grading import oracles
from bpverify.grading.checks import checks_for, fixed_checks
from bpverify.grading.parallel import grade_items
from bpverify.grading.replay import Replays
from bpverify.grading.rubric import Rubric, choose_rubric, load_rubric
from bpverify.grading.runs import run_check
from bpverify.model import CheckResult, ItemResult, Status, SubmissionResult
from bpverify.options import (
    DEFAULT_SEED,
    PROFILE_ENV,
    PROFILES,
    GradeOptions,
    Profile,
    resolve_profile,
)
from bpverify.registry import all_items, item_named
from bpverify.submission import Executor, InProcessExecutor, LoadSpec, load_submission
from bpverify.version import __version__

__all__ = [
    "DEFAULT_SEED",
    "PROFILES",
    "PROFILE_ENV",
    "Profile",
    "check_item",
    "check_names",
    "check_submission",
    "not_implemented",
    "resolve_profile",
    "run_check",
    "run_named_check",
]


def check_names(item: Item) -> list[str]:
    """The names of an item's checks, in the order they run (a circuit adds "lecture values",
    a check run once on fixed values)."""
    return [*(c.name for c in checks_for(item)), *fixed_checks(item)]


def run_named_check(item: Item, name: str, executor: Executor, *, seed: int,
                    max_examples: int, replays: Replays | None = None) -> CheckResult:
    """Run the check of ``item`` called ``name`` (one of :func:`check_names`), diagnosed
    (``replays``: a batch's examples, as :func:`run_check` takes them)."""
    fixed = fixed_checks(item)
    if name in fixed:
        result = fixed[name](executor)
    else:
        check = next((c for c in checks_for(item) if c.name == name), None)
        if check is None:
            raise ValueError(f"{item.name} has no check {name!r}; expected one of "
                             f"{', '.join(check_names(item))}")
        result = run_check(item.name, check, executor, seed=seed, max_examples=max_examples,
                           replays=replays)
    alone = ItemResult(name=item.name, category=item.category, status=result.status,
                       checks=(result,))
    return diagnose_item(alone).checks[0]


def not_implemented(item: Item, available: Iterable[str], load_error: str = "") -> str | None:
    """Why ``item`` cannot be checked (names it needs that ``available`` lacks), else None."""
    names = set(available)
    missing = [n for n in item.needs if n not in names]
    if not missing:
        return None
    why = f" (the submission failed to import: {load_error})" if load_error else ""
    return (f"not implemented: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not defined in the submission{why}")


def check_item(
    item: Item | str,
    submission: Executor | str | Path,
    *,
    seed: int = DEFAULT_SEED,
    profile: str | None = None,
    max_examples: int | None = None,
    available: Iterable[str] | None = None,
    load_error: str = "",
    replays: Replays | None = None,
) -> ItemResult:
    """Check one contract item (by name or :class:`Item`) of a submission.

    ``submission`` is a path (loaded and run in-process) or an executor to run scenarios with.
    ``available`` names what the submission defines (an item needing anything else is "not
    implemented"); ``load_error`` says why its import failed, if it did.  ``replays``: a
    batch's examples (:mod:`bpverify.grading.replay`), which change nothing in the result.
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
        missing = not_implemented(item, available, load_error)
        if missing:
            return ItemResult(name=item.name, category=item.category, status="not implemented",
                              message=missing)
    n = max_examples or resolve_profile(profile).max_examples
    executor.begin_item(item.name)  # an isolated executor gives each item its own time budget
    results = [run_named_check(item, name, executor, seed=seed, max_examples=n,
                               replays=replays)
               for name in check_names(item)]
    status: Status = "failed" if any(r.status == "failed" for r in results) else "passed"
    unwritten = _unwritten(results)
    if unwritten:  # a starter stub: missing, like an item not defined, with its checks shown
        return ItemResult(name=item.name, category=item.category, status="not implemented",
                          checks=tuple(results), message=unwritten)
    # Each failure's diagnosis, computed once here and stored: every output reads it.
    return diagnose_item(ItemResult(name=item.name, category=item.category, status=status,
                                    checks=tuple(results)))


def _unwritten(results: Sequence[CheckResult]) -> str:
    """Why the item is a starter stub not written yet, or "": every check that failed raised
    NotImplementedError or got only None where numbers belong (``dx, dw, db = None, None,
    None`` as the starter code leaves them).  Any other failure is a mistake to fix."""
    failed = [r for r in results if r.status == "failed"]
    if not failed or not all(r.facts.only_none or r.facts.exc_type == "NotImplementedError"
                             for r in failed):
        return ""
    first = failed[0].facts
    what = ("raised NotImplementedError" if first.exc_type == "NotImplementedError"
            else "returned only None")
    return f"not written yet: {first.where or 'it'} {what}, as the starter code does"


def _load_error_of(item: Item, inv: Mapping[str, Any], load_error: str) -> str:
    """Why the modules defining ``item``'s names did not import (a layout that loads each
    module on its own says so per name); else the submission's import errors."""
    unavailable = inv.get("unavailable") or {}
    reasons = list(dict.fromkeys(str(unavailable[n]) for n in item.needs if n in unavailable))
    return "; ".join(reasons) if reasons or unavailable else load_error


def _scored_note(result: ItemResult, rules: Rubric) -> ItemResult:
    """Say what the score left out: checks not judged, and advisory failures (weight 0)."""
    if result.status == "not implemented" or result.message:
        return result
    notes = []
    skipped = [c for c in result.checks if c.status == "skipped"]
    if skipped:
        notes.append("scored over the checks that could be judged; not judged: " + "; ".join(
            f"{c.name} ({c.message.removeprefix('not judged: ')})" for c in skipped))
    if rules.advisory_only(result):
        failed = [c.name for c in result.checks if c.status == "failed"]
        notes.append(f"advisory, costs no points under the {rules.name} rubric: "
                     + ", ".join(failed))
        result = replace(result, status="passed")
    return replace(result, message="; ".join(notes)) if notes else result


def _not_this_assignment(item: Item, inv: Mapping[str, Any], rules: Rubric) -> str:
    """Why ``item`` is not part of this CS231n assignment folder at all ("" when it is): the
    course module that defines it is not in the folder, or the folder defines none of its
    family's names (assignment 3's layers.py has no batchnorm).  One function deleted from a
    family the folder has is missing, not elsewhere."""
    if rules.layout != "cs231n":
        return ""
    elsewhere = dict(inv.get("elsewhere") or {})
    if all(n in elsewhere for n in item.needs):
        return "; ".join(dict.fromkeys(elsewhere[n] for n in item.needs))
    family = registry.family_of(item.category)
    if family is None:
        return ""
    names = {n for i in registry.all_items() if i.category in family.categories for n in i.needs}
    if names & set(inv["names"]) or names & set(inv.get("unavailable") or {}):
        return ""
    return f"the folder defines none of {family.title}"


def _absent_note(item: Item, inv: Mapping[str, Any]) -> str:
    """What an optional item the submission lacks is: nothing to fix, nothing lost."""
    family = registry.family_of(item.category)
    what = family.noun if family is not None else "submission"
    missing = [n for n in item.needs if n not in inv["names"]]
    needs = f" (it needs {', '.join(missing)})" if missing and missing != [item.name] else ""
    # A module that did not import may be where it is: say why rather than "not in it".
    why = _load_error_of(item, inv, "; ".join(inv.get("load_errors") or ()))
    if why:
        return (f"not graded{needs}: optional, but the {what} did not import, so whether it "
                f"defines it is not known: {why}")
    return f"not in this {what}{needs}: optional, graded when the {what} defines it"


def _warm(items: list[str]) -> None:
    # Only a head start: on any error the checks compile what they need themselves.
    with contextlib.suppress(Exception):
        oracles.warm(items)


def _start_executor(path: Path, rules: Rubric,
                    factory: Callable[[Path, LoadSpec], Executor] | None) -> Executor:
    spec = LoadSpec(layout=rules.layout, options=dict(rules.options), lookup=rules.lookup)
    if factory is None:
        return InProcessExecutor(spec.load(path))
    return factory(path, spec)


def _grade_item(name: str, executor: Executor, inv: Mapping[str, Any], *, seed: int,
                max_examples: int, replays: Replays | None = None) -> ItemResult:
    """One item of the submission whose inventory is ``inv``: the same in every process."""
    item = item_named(name)
    return check_item(item, executor, seed=seed, max_examples=max_examples,
                      available=inv["names"],
                      load_error=_load_error_of(item, inv, "; ".join(inv["load_errors"])),
                      replays=replays)


@contextlib.contextmanager
def _helper_grader(path: Path, factory: Callable[[Path, LoadSpec], Executor] | None,
                   rules: Rubric, inv: Mapping[str, Any], seed: int,
                   max_examples: int) -> Iterator[Callable[[str], ItemResult] | None]:
    """In a helper process: its own executor, made as the parent made its own, grading by the
    parent's inventory.  A submission that defines other names when loaded again is not
    helped with (None): the parent grades it alone, as it would with one job."""
    executor = _start_executor(path, rules, factory)
    try:
        if executor.call("inventory")["names"] != inv["names"]:
            yield None
        else:
            yield functools.partial(_grade_item, executor=executor, inv=inv, seed=seed,
                                    max_examples=max_examples)
    finally:
        executor.close()


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
    jobs: int = 1,
    replays: Replays | None = None,
) -> SubmissionResult:
    """Grade the submission at ``path`` (a .py file or a folder) by a rubric.

    ``rubric`` is a built-in name ("default", "cs231n"), a TOML file or a :class:`Rubric`; it
    says which items are graded, for how many points, and how the submission is laid out.
    ``only`` narrows the items further (and may name optional items the rubric leaves out).
    ``executor_factory(path, load_spec)`` runs the submission elsewhere (an isolated worker);
    by default it runs in this process.  ``jobs`` processes grade the items at once: this one
    and ``jobs - 1`` spawned helpers, each with its own executor from ``executor_factory``
    (which must then pickle, as a ``functools.partial`` of ``WorkerExecutor`` does; if it does
    not, this process grades alone).  The result is the same for every ``jobs``.  As always
    with spawned processes, a script that passes ``jobs > 1`` keeps its work under
    ``if __name__ == "__main__":`` (a helper imports the script's main module again).
    ``progress(name)`` names an item being graded, whenever one starts or finishes.
    ``replays`` is a batch's record of examples (:class:`~bpverify.grading.replay.Replays`),
    shared by the submissions one process grades: it saves work, never changes a result.
    """
    start = time.perf_counter()
    path = Path(path)
    # The same checks, and messages, as every door's: a bad value fails before any work.
    only = GradeOptions(seed=seed, profile=profile, examples=max_examples or None, jobs=jobs,
                        only=None if only is None else tuple(only)).only
    prof = resolve_profile(profile)
    n_examples = max_examples or prof.max_examples
    by_name = {i.name: i for i in all_items()}
    rules = load_rubric(rubric)

    # Compile the oracles in a thread while the worker boots (XLA compiles without the GIL).
    # Helper processes warm nothing: each compiles (mostly: loads from the disk cache, which
    # this thread fills) only the items it is handed.
    warming = threading.Thread(target=_warm, args=(list(only or rules.item_names),),
                               name="bpverify-warm-oracles", daemon=True)
    warming.start()
    executor = _start_executor(path, rules, executor_factory)
    items = []
    notes: list[str] = []
    try:
        inv = executor.call("inventory")
        if rubric is None:  # no rubric named: choose by what the submission defines
            chosen, why = choose_rubric(path, inv["names"], failed=bool(inv["load_errors"]))
            if chosen != rules.name:
                executor.close()
                rules = load_rubric(chosen)
                executor = _start_executor(path, rules, executor_factory)
                inv = executor.call("inventory")
            if why:
                notes.append(why)
        notes += [n for n in inv.get("notes", ()) if isinstance(n, str)]
        wanted = list(rules.item_names)
        if only is not None:
            wanted = [n for n in by_name if n in only]
        load_error = "; ".join(inv["load_errors"])
        # Helpers only for items that run checks: "not implemented" takes no time.
        busy = sum(not_implemented(by_name[n], inv["names"]) is None for n in wanted)
        graded = grade_items(
            wanted,
            functools.partial(_grade_item, executor=executor, inv=inv, seed=seed,
                              max_examples=n_examples, replays=replays),
            functools.partial(_helper_grader, path, executor_factory, rules, dict(inv), seed,
                              n_examples),
            jobs=min(jobs, busy), progress=progress)
        for result in graded:  # scored here, once, whichever process graded the item
            rule = rules.rule(result.name)
            # Not part of this submission at all (another assignment's items): out of the
            # total, as an optional item is.
            other = (_not_this_assignment(by_name[result.name], inv, rules)
                     if result.status == "not implemented" else "")
            required = rule.required and not other
            score, max_score = rules.score(result) if required or result.status != (
                "not implemented") else (0.0, 0.0)
            result = _scored_note(result, rules)
            if other:
                said = result.message.removeprefix("not implemented: ")
                result = replace(result, message=f"not in this assignment ({other}): {said}")
            elif result.status == "not implemented" and not rule.required:
                result = replace(result, message=_absent_note(by_name[result.name], inv))
            items.append(replace(result, score=score, max_score=max_score,
                                 visibility=rule.visibility, required=required))
    finally:
        # What confined the submission (a worker's sandbox; in-process: nothing).
        sandbox = executor.sandbox
        executor.close()
        warming.join()
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
        sandbox=sandbox,
    )
