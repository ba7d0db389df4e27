"""How numbers and values are written for people, the same way in every output."""

from __future__ import annotations

import ast
import contextlib
import json
import math
from typing import Any, Literal

import numpy as np

from bpverify.model import CheckResult, SubmissionResult

__all__ = ["ARRAY_THRESHOLD", "MAX_VALUE_CHARS", "clip", "compact", "example_code", "example_text",
           "hint", "num", "tally"]

#: The most characters a value (an example, an array) takes in any output; longer ones are cut.
MAX_VALUE_CHARS = 400
#: Arrays with more elements than this are shown by their corners ("compact for big arrays").
ARRAY_THRESHOLD = 24


def num(v: Any) -> str:
    """A value the way the lecture writes it: -12, 0.73, -0.20 (two decimals), else 1.2e-05."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "?"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if abs(v) < 5e-13:
        return "0"
    r = round(v)
    if abs(v - r) < 1e-9 * max(1.0, abs(v)) and abs(v) < 1e6:
        return str(int(r))
    if 0.01 <= abs(v) < 1e4:
        return f"{v:.2f}"
    return f"{v:.2e}"


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text``, cut to ``limit`` characters (ending in " …") when longer."""
    return text if len(text) <= limit else text[: limit - 2] + " …"


def compact(value: Any, form: Literal["json", "repr", "array"] = "array") -> str:
    """A value in a few lines at most, the way an output shows it.

    ``"json"``: as JSON (Gradescope, JUnit); ``"repr"``: as Python writes it (the terminal);
    ``"array"``: scalars to 6 digits, arrays with their shape, big ones by their corners (HTML).
    """
    if form == "json":
        return clip(json.dumps(value, allow_nan=True))
    if form == "repr":
        return clip(repr(value))
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return clip(repr(value))
    arr = arr + 0.0  # -0.0 reads as a mistake that is not there
    if arr.ndim == 0:
        return f"{float(arr):.6g}"
    body = np.array2string(arr, threshold=ARRAY_THRESHOLD, edgeitems=2, precision=4,
                           max_line_width=72, separator=", ")
    return f"{body}   shape {arr.shape}" if "\n" not in body else f"shape {arr.shape}\n{body}"


def hint(check: CheckResult, prefix: str = "diagnosis: ") -> str:
    """``prefix`` and the check's stored diagnosis when it has one, else ""."""
    return f"{prefix}{check.diagnosis.text}" if check.diagnosis is not None else ""


def example_code(example: Any) -> str | None:
    """The code of an example that is a program to run (an engine's), else None.

    Such an example is ``{"code": "a = Value(0.25); b = a + a; b.backward()"}``: every output
    shows the code as code, never as a quoted string in a dict.
    """
    if isinstance(example, dict) and set(example) == {"code"} and isinstance(example["code"],
                                                                              str):
        code = example["code"]
        if code[:1] in ("'", '"'):  # a result written by 0.2.0 holds the code's repr
            with contextlib.suppress(ValueError, SyntaxError):
                old = ast.literal_eval(code)
                code = old if isinstance(old, str) else code
        return code
    return None


def example_text(example: Any, form: Literal["json", "repr", "array"] = "repr") -> str:
    """A minimal example in one piece of text: its code, or the values as :func:`compact`."""
    code = example_code(example)
    return clip(code) if code is not None else compact(example, form)


def tally(result: SubmissionResult) -> str:
    """How the items went, as every output says it: "13/14 items passed · 1 to fix · 2 missing".

    Failures (to fix) and required items the submission lacks (missing) are counted apart;
    optional items it lacks are not graded and not counted.
    """
    graded = result.graded_items
    passed = sum(i.passed for i in graded)
    parts = [f"{passed}/{len(graded)} items passed"]
    if result.failed_items:
        parts.append(f"{len(result.failed_items)} to fix")
    if result.missing_items:
        parts.append(f"{len(result.missing_items)} missing")
    return " · ".join(parts)
