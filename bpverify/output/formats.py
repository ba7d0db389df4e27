"""Results files: Gradescope's and PrairieLearn's results.json, JUnit XML and bpverify's JSON.

Each format is a pure function of a :class:`~bpverify.model.SubmissionResult`; the writers only
add a file.  Points and visibility come from the result (the rubric put them there).  Apart from
the timing fields (Gradescope's ``execution_time``, JUnit's ``time``, the JSON's ``duration_s``)
the same result gives the same bytes.  PrairieLearn's file has no timing field.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from bpverify.feedback.words import example_text, hint, tally
from bpverify.model import CheckResult, ItemResult, SubmissionResult
from bpverify.output.html import write_page as _write

__all__ = [
    "to_gradescope",
    "to_json",
    "to_junit",
    "to_prairielearn",
    "write_gradescope",
    "write_json",
    "write_junit",
    "write_prairielearn",
]

#: Gradescope shows each test's output in the browser; a long internal traceback is cut here.
_MAX_OUTPUT = 10_000
# Characters XML 1.0 cannot hold, and lone surrogates that UTF-8 cannot encode.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- Gradescope ----------------------------------------------------------------------------


def to_gradescope(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json: one test per item, named after the item it checks.

    Fields follow https://gradescope-autograders.readthedocs.io/en/latest/specs/: ``score`` and
    ``execution_time`` (whole seconds) at the top, and for each test ``name``, ``score``,
    ``max_score``, ``status`` ("passed"/"failed"), ``output``, ``visibility`` and ``number``.
    A rubric's ``hidden`` item is shown to the student with the kind of each mistake (its
    tag and diagnosis) but not the inputs or values that expose it.  An optional item the
    submission does not define is not a test (the summary names it).
    """
    tests = [
        {
            "name": _clean(item.name),
            "score": item.score,
            "max_score": item.max_score,
            "status": "passed" if item.status == "passed" else "failed",
            "output": _clip(_clean(_item_text(item))),
            "visibility": "visible" if item.visibility == "hidden" else item.visibility,
            "number": str(n),
        }
        for n, item in enumerate(result.graded_items, start=1)
    ]
    return {
        "score": result.score,
        "execution_time": round(result.duration_s),
        "output": _clean(_summary(result)),
        "tests": tests,
    }


def _summary(result: SubmissionResult) -> str:
    lines = [
        f"bpverify {result.bpverify_version} graded {result.submission} by the "
        f"{result.rubric} rubric: {tally(result)}, "
        f"{result.score:g} of {result.max_score:g} points.",
    ]
    if result.absent_items:
        lines.append("Not graded (optional, not in the submission): "
                     + ", ".join(result.absent_items))
    if result.load_error:
        lines.append(f"The submission did not import cleanly: {result.load_error}")
    lines.append(f"Reproduce: {result.reproduce}")
    return "\n".join(lines)


def _item_text(item: ItemResult) -> str:
    if not item.checks:
        return item.message or item.status
    passed = sum(c.status == "passed" for c in item.checks)
    lines = [f"{passed} of {len(item.checks)} checks passed."]
    lines += [_check_text(c, item) for c in item.checks]
    return "\n".join(lines)


def _check_text(check: CheckResult, item: ItemResult | None = None) -> str:
    if check.status == "passed":
        return f"passed  {check.name}"
    head = f"{'FAILED' if check.status == 'failed' else check.status}  {check.name}"
    said = hint(check, prefix="    diagnosis: ") if item is not None else ""
    if item is not None and item.visibility == "hidden":
        kind = f"    kind of mistake: {check.kind}" if check.kind else ""
        return "\n".join(x for x in (head, kind, said) if x)
    body = [f"    {line}" for line in check.message.splitlines()]
    if said:
        body.append(said)
    if check.status == "failed" and check.example is not None:
        body.append(f"    minimal example: {example_text(check.example, 'json')}")
    return "\n".join([head, *body])


def _clip(text: str) -> str:
    """A whole test's output: Gradescope shows up to :data:`_MAX_OUTPUT` characters."""
    return text if len(text) <= _MAX_OUTPUT else text[: _MAX_OUTPUT - 14] + "\n… [truncated]"


def _clean(text: str) -> str:
    """Text safe for XML 1.0 and UTF-8: control characters and lone surrogates become '?'."""
    return _BAD_CHARS.sub("?", text)


# --- PrairieLearn --------------------------------------------------------------------------


def to_prairielearn(result: SubmissionResult) -> dict[str, Any]:
    """PrairieLearn's external-grader results.json: one test per graded item.

    Fields follow https://prairielearn.readthedocs.io/en/latest/externalGrading/ ("Grading
    results"), as PrairieLearn's Python autograder writes them: ``gradable``, ``score`` (a
    fraction from 0 to 1), ``message``, ``output`` and ``tests``, each with ``name``,
    ``description``, ``points``, ``max_points``, ``message`` and ``output``.  A failing test's
    message is each failed check's diagnosis and minimal example.  A submission that cannot
    be imported is still ``gradable`` (it was graded: every item is missing, score 0) and the
    message says why; ``gradable: false`` would give the attempt back, which is PrairieLearn's
    answer to malformed input, not to code that does not run.
    """
    tests = [
        {
            "name": _clean(item.name),
            "description": _clean(_pl_description(item)),
            "points": item.score,
            "max_points": item.max_score,
            "message": _clip(_clean(_pl_message(item))),
            "output": _clip(_clean(_item_text(item))),
        }
        for item in result.graded_items
    ]
    fraction = result.score / result.max_score if result.max_score else 1.0
    message = [f"{tally(result)}: {result.score:g} of {result.max_score:g} points."]
    if result.load_error:  # the reason first: it is why the items are missing
        message.insert(0, f"The submission did not import cleanly: {result.load_error}.")
    elif result.graded_items and len(result.missing_items) == len(result.graded_items):
        message.insert(0, "None of the items was found in the submission.")
    return {
        "gradable": True,
        "score": round(min(1.0, max(0.0, fraction)), 6),
        "message": _clean(" ".join(message)),
        "output": _clean(_summary(result)),
        "tests": tests,
    }


def _pl_description(item: ItemResult) -> str:
    if item.checks:
        return f"{item.category}: {', '.join(c.name for c in item.checks)}"
    return item.category


def _pl_message(item: ItemResult) -> str:
    """What the student reads first: passed, why it is missing, or each failure's diagnosis."""
    if item.status == "passed":
        return item.message or "passed"
    if item.status == "not implemented" or not item.checks:  # not defined, or a stub
        return item.message or item.status
    lines = []
    for check in item.checks:
        if check.status != "failed":
            continue
        said = hint(check, prefix="")
        if item.visibility == "hidden":
            lines.append(f"{check.name}: {said or check.kind or 'failed'}")
            continue
        first = check.message.strip().splitlines()[0] if check.message.strip() else check.kind
        lines.append(f"{check.name}: {said or first}")
        if check.example is not None:
            lines.append(f"  minimal example: {example_text(check.example, 'json')}")
    return "\n".join(lines) or item.message or item.status


# --- JUnit ---------------------------------------------------------------------------------


def to_junit(result: SubmissionResult) -> str:
    """JUnit XML: one testsuite, one testcase per check (named "<item> <check>").

    A failed check is a ``<failure>``, a bpverify internal error an ``<error>``, a skipped check
    ``<skipped>``; an item with no checks (not implemented) is one failed testcase, or one
    skipped testcase when it is optional.
    """
    suite = ET.Element("testsuite", name=_clean(f"bpverify: {result.submission}"))
    props = ET.SubElement(suite, "properties")
    for key, value in (("seed", result.seed), ("profile", result.profile),
                       ("rubric", result.rubric), ("bpverify_version", result.bpverify_version)):
        ET.SubElement(props, "property", name=key, value=str(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for item in result.items:
        cases = item.checks or (None,)
        for check in cases:
            counts["tests"] += 1
            name = item.name if check is None else f"{item.name} {check.name}"
            case = ET.SubElement(suite, "testcase", classname=_clean(item.name),
                                 name=_clean(name))
            if check is None and item.absent:  # optional and not there: nothing to fix
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_clean(item.message[:500]))
            elif check is None:
                counts["failures"] += 1
                _fail(case, "failure", item.status.replace(" ", "-"), item.message, item.message)
            elif check.status == "failed":
                tag = "error" if check.kind == "internal-error" else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                _fail(case, tag, check.kind or "failed", check.message, _check_text(check))
            elif check.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_clean(check.message[:500]))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{result.duration_s:.3f}")
    root = ET.Element("testsuites", name="bpverify")
    for key, value in counts.items():
        root.set(key, str(value))
    root.set("time", f"{result.duration_s:.3f}")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _fail(case: ET.Element, tag: str, kind: str, message: str, text: str) -> None:
    first = message.strip().splitlines()[0] if message.strip() else kind
    el = ET.SubElement(case, tag, type=_clean(kind), message=_clean(first[:500]))
    el.text = _clip(_clean(text))


# --- JSON and the writers ------------------------------------------------------------------


def to_json(result: SubmissionResult) -> str:
    """The full result model (``SubmissionResult.from_dict`` reads it back)."""
    return result.to_json() + "\n"


def write_gradescope(result: SubmissionResult, path: str | Path) -> Path:
    data = to_gradescope(result)
    return _write(path, json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n")


def write_prairielearn(result: SubmissionResult, path: str | Path) -> Path:
    data = to_prairielearn(result)
    return _write(path, json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n")


def write_junit(result: SubmissionResult, path: str | Path) -> Path:
    return _write(path, to_junit(result))


def write_json(result: SubmissionResult, path: str | Path) -> Path:
    return _write(path, to_json(result))

