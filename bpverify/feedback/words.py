"""How numbers and values are written for people, the same way in every output."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import numpy as np

from bpverify.model import CheckResult

__all__ = ["ARRAY_THRESHOLD", "MAX_VALUE_CHARS", "clip", "compact", "hint", "num"]

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
