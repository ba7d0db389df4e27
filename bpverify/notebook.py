"""Check objects that live in a notebook's kernel, and show the report inline.

>>> import bpverify
>>> bpverify.check(affine_forward, affine_backward)      # doctest: +SKIP
>>> bpverify.check(MultiplyGate)                           # doctest: +SKIP
>>> bpverify.check(cs231n.layers)                          # doctest: +SKIP
>>> bpverify.check(globals())                              # doctest: +SKIP

The items are inferred from the names found, the way a submission file's are (the same lookup and
the same name finders); they run in this process, on the student's own code in their own kernel.
The result is a :class:`~bpverify.model.SubmissionResult` that draws itself: an inline HTML
report in Jupyter and VS Code, a short text summary elsewhere.
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from bpverify import registry
from bpverify.contract import Item
from bpverify.feedback.diagnose import diagnosis_line
from bpverify.feedback.words import example_text, tally
from bpverify.grading.engine import DEFAULT_SEED, check_submission
from bpverify.grading.rubric import load_rubric
from bpverify.model import SubmissionResult
from bpverify.output.html import to_html_fragment
from bpverify.submission import InProcessExecutor, LoadedSubmission
from bpverify.submission.loading import find_names

__all__ = ["NotebookResult", "check"]

#: How the code ran, for every output that shows it.
SANDBOX = "in-process (your own kernel, no isolation)"
_MARKS = {"passed": "✓", "failed": "✗", "skipped": "–", "not implemented": "○"}


@dataclass(frozen=True, repr=False)
class NotebookResult(SubmissionResult):
    """A :class:`SubmissionResult` of :func:`check` that displays itself.

    ``submission`` holds the arguments of the call, e.g. ``"affine_forward, affine_backward"``,
    so that :attr:`reproduce` is the call to run again.
    """

    @property
    def reproduce(self) -> str:
        return f"bpverify.check({self.submission}, seed={self.seed}, profile={self.profile!r})"

    def summary(self) -> str:
        """A few lines of text: the call, then one line per item (its first failure, if any)."""
        lines = [f"bpverify.check({self.submission}): {tally(self)}"
                 f" (seed {self.seed}, profile {self.profile})"]
        width = max((len(i.name) for i in self.items), default=0)
        for item in self.items:
            first = item.first_failure
            if first is not None:
                why = diagnosis_line(first, item, prefix="") or first.message.splitlines()[0]
                what = f"{first.name}: {why}" if why else first.name
            elif item.checks:
                judged = [c for c in item.checks if c.status != "skipped"]
                what = f"{sum(c.passed for c in judged)}/{len(judged)} checks passed"
            else:
                what = item.message
            mark = "·" if item.absent else _MARKS.get(item.status, "?")
            lines.append(f"  {mark} {item.name:<{width}}  {what}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.load_error:
            lines.append(f"  could not use: {self.load_error}")
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Return quietly when every graded item passed; else raise :class:`AssertionError`.

        For an autograded notebook cell (nbgrader, otter-grader): the error's text is the
        tally, then each failing check's diagnosis and minimal example, and each missing
        item's reason, short enough to read in a traceback.  An optional item the code does
        not define is not a failure.
        """
        problems = []
        for item in self.graded_items:
            if item.missing:
                problems.append(f"{item.name}: {item.message}")
            for check in item.checks:
                if check.status != "failed":
                    continue
                first = check.message.strip().splitlines()[:1] or [check.kind]
                why = diagnosis_line(check, item, prefix="") or first[0]
                problems.append(f"{item.name} · {check.name}: {why}")
                if check.example is not None:
                    problems.append(f"    minimal example: {example_text(check.example)}")
        if problems:
            raise AssertionError("\n".join([f"bpverify: {tally(self)}", *problems]))

    def __repr__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.summary())

    def _repr_html_(self) -> str:
        return to_html_fragment(self)


def check(
    *objects: Any,
    only: Iterable[str] | str | None = None,
    profile: str | None = None,
    seed: int | None = None,
) -> NotebookResult:
    """Check functions, classes, modules or namespaces that live in this kernel.

    Each object is a function or class (looked up by its ``__name__``), a module, or a mapping
    of names to objects such as ``globals()``.  Every item whose name is found is checked; an
    item that needs a partner (``affine_backward`` needs ``affine_forward``) says so when the
    partner is missing.  ``only`` names the items to check instead (a name or a list of names
    from ``bpverify.registry.all_items()``).  ``profile`` is "dev" (the default, or
    ``$BPVERIFY_PROFILE``), "ci" or "thorough"; ``seed`` picks the examples (the same seed, the
    same examples).
    """
    if not objects:
        raise TypeError("check() needs something to check, e.g. check(affine_forward, "
                        "affine_backward), check(MultiplyGate) or check(globals())")
    caller = inspect.currentframe()
    caller_globals = caller.f_back.f_globals if caller and caller.f_back else None
    del caller
    given, namespaces, labels = _namespaces(objects, caller_globals)
    if isinstance(only, str):
        only = (only,)
    wanted = None if only is None else tuple(only)
    label = ", ".join(labels) + ("" if wanted is None else f", only={list(wanted)!r}")

    rules = load_rubric("default")
    sub = LoadedSubmission(path=Path("the objects passed to check()"))
    find_names(sub, namespaces, rules.lookup)
    found = set(sub.names)
    sub.notes.extend(_unknown_names(given, sub))
    if wanted is None:
        wanted = tuple(i.name for i in _inferred(found))
        if not wanted:
            raise ValueError(_nothing_found(labels, sub))

    result = check_submission(
        Path("notebook"), seed=DEFAULT_SEED if seed is None else seed, profile=profile,
        only=wanted, rubric=rules, executor_factory=lambda _path, _spec: InProcessExecutor(sub),
    )
    by_name = {i.name: i for i in registry.all_items()}
    items = tuple(
        replace(r, message=_missing_message(by_name[r.name], found, sub.load_errors))
        if r.missing and not r.checks else r  # not defined (a stub keeps its reason)
        for r in result.items
    )
    values = {f.name: getattr(result, f.name) for f in fields(SubmissionResult)}
    values.update(submission=label, items=items, sandbox=SANDBOX)
    return NotebookResult(**values)


def _namespaces(objects: tuple[Any, ...], caller_globals: Mapping[str, Any] | None,
                ) -> tuple[dict[str, Any], list[Mapping[str, Any]], list[str]]:
    """(the functions and classes given by name, every namespace to look in, a label per object).

    The objects given one by one come first, so they win over a module or ``globals()``.
    """
    given: dict[str, Any] = {}
    spaces: list[Mapping[str, Any]] = []
    labels: list[str] = []
    for k, obj in enumerate(objects):
        if isinstance(obj, types.ModuleType):
            spaces.append(vars(obj))
            labels.append(obj.__name__)
        elif isinstance(obj, Mapping):
            spaces.append(obj)
            labels.append("globals()" if obj is caller_globals else f"<{len(obj)} names>")
        elif isinstance(obj, types.SimpleNamespace):
            spaces.append(vars(obj))
            labels.append(f"<{len(vars(obj))} names>")
        elif callable(obj) and isinstance(getattr(obj, "__name__", None), str) \
                and obj.__name__.isidentifier():
            given.setdefault(obj.__name__, obj)
            labels.append(obj.__name__)
        else:
            raise TypeError(
                f"check() argument {k + 1} is {_describe(obj)}; expected a function, a class, a "
                "module or a dict of names such as globals(). To check an object under another "
                "name, pass a dict: check({'affine_backward': my_affine_backward})"
            )
    return given, [given, *spaces] if given else spaces, labels


def _describe(obj: Any) -> str:
    text = repr(obj)
    return f"{text if len(text) <= 60 else text[:57] + '...'} (a {type(obj).__name__})"


def _known_names() -> list[str]:
    return list(dict.fromkeys(n for i in registry.all_items() for n in i.needs))


def _inferred(found: set[str]) -> list[Item]:
    """The items to check: those named after something found, and those (circuits, an engine's
    items) whose every name was found.  Optional items (seconds each) run only when named."""
    optional = {i.name for i in registry.on_request_items()}
    return [i for i in registry.all_items() if i.name not in optional
            and (i.name in found if i.name in i.needs else set(i.needs) <= found)]


def _unknown_names(given: Mapping[str, Any], sub: LoadedSubmission) -> list[str]:
    """A note for each object given by name that no item uses, with the name it resembles."""
    used = {id(o) for o in sub.names.values()}
    known = _known_names()
    notes = []
    for name, obj in given.items():
        if name in sub.names or id(obj) in used or name in known:  # a known name: load_errors
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = (f"; did you mean {close[0]}? Rename it, or pass "
                f"{{{close[0]!r}: {name}}}" if close else
                "; bpverify checks the names of docs/contract.md, e.g. affine_forward or "
                "MultiplyGate")
        notes.append(f"{name} is not a name bpverify checks{hint}")
    return notes


def _nothing_found(labels: list[str], sub: LoadedSubmission) -> str:
    why = [*sub.notes, *sub.load_errors]
    return (f"found nothing to check in {', '.join(labels)}"
            + (f": {'; '.join(why)}" if why else
               "; expected functions or classes named as in docs/contract.md, e.g. "
               "affine_forward, affine_backward, MultiplyGate"))


def _missing_message(item: Item, found: set[str], load_errors: list[str]) -> str:
    """Why an item could not be checked, said as what to pass (and why a name was refused)."""
    missing = [n for n in item.needs if n not in found]
    refused = [e for e in load_errors if e.split(" ", 1)[0] in missing]
    them = "it" if len(missing) == 1 else "them"
    names = " and ".join(missing)
    if item.name in item.needs and item.name in found:
        text = f"{item.name} needs {names}: pass {them} too"
    else:
        text = f"not implemented: {names} not found among the objects passed; pass {them} too"
    return text + (f" ({'; '.join(refused)})" if refused else "")
