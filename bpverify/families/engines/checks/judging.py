"""Judging an engine's numbers: the comparisons that raise :class:`CheckFailed` with facts.

Most engines compute with Python floats, so the float64 tolerance of the closeness rule
applies; an engine whose values are float32 numpy scalars or arrays is judged in its own
precision (:func:`precision`, set per check from :func:`engine_dtype`), as CS231n layers are.
The numerical comparisons allow centred differences their own error, and a float32 engine's
differences a larger step (a step of 1e-6 is lost to rounding in float32).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np

from bpverify.closeness import Tolerance, tolerance_for
from bpverify.families.engines.checks.programs import Program
from bpverify.grading.checks.base import CheckFailed
from bpverify.grading.replay import asked_once
from bpverify.model import ElementMismatch, Facts, GateStep
from bpverify.submission import Executor

__all__ = [
    "STEP",
    "compare",
    "compare_numerical",
    "engine_dtype",
    "near",
    "nudged",
    "num",
    "precision",
    "reject_detached",
    "steps_of",
]

#: The precision the engine being judged computes in (its values' dtype): float64 for Python
#: floats, float32 for an engine that keeps float32 numpy values.
_DTYPE: ContextVar[str] = ContextVar("engine_dtype", default="float64")
#: Step of the centred differences through the engine's forward, relative to the leaf.
STEP = 1e-6
#: The step in float32 (and coarser): 2**-7, so a leaf k/4 moved by it stays exact in float32,
#: and rounding (eps / step ~ 2e-5) stays far below the numerical tolerance.
STEP_LOW = 2.0**-7
#: Centred differences' tolerance, relative to max(1, |difference|): float64's, and that of a
#: float32 engine, whose differences carry its rounding over the step (~1e-4 on a long chain).
NUMERICAL_TOL = {"float64": 1e-4, "low": 1e-2}


def engine_dtype(ex: Executor) -> str:
    """The dtype of the engine's values (``Value(1.5).data``), asked once per executor."""
    return asked_once(ex, "engine_dtype",
                      lambda: str(ex.call("engine_info").get("dtype") or "float64"))


@contextlib.contextmanager
def precision(dtype: str) -> Iterator[None]:
    """Judge in ``dtype`` (the engine's own precision) inside the block."""
    token = _DTYPE.set(dtype if dtype in ("float64", "float32", "float16") else "float64")
    try:
        yield
    finally:
        _DTYPE.reset(token)


def _tol() -> Tolerance:
    return tolerance_for(np.dtype(_DTYPE.get()))


def _low() -> bool:
    return _DTYPE.get() != "float64"


def near(got: Any, exp: float) -> bool:
    """``got`` is a number within the closeness rule's tolerance of ``exp`` in the engine's
    precision (one scalar: its absolute term is taken at scale 1); nan, inf and non-numbers
    never are."""
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return bool(_tol().allows(abs(float(got) - exp), exp, 1.0))


def _mismatch(name: str, exp: float, got: Any) -> ElementMismatch:
    g = float(got) if isinstance(got, (int, float)) else math.nan
    err = abs(g - exp)
    return ElementMismatch(value=name, index=(), expected=exp, got=g, abs_error=err,
                           rel_error=err / abs(exp) if exp else math.inf)


def num(x: Any) -> str:
    try:
        return f"{float(x) + 0.0:.6g}"
    except (TypeError, ValueError):
        return repr(x)


def compare(where: str, names: Sequence[str], got: Sequence[Any], exp: Sequence[float],
             what: str, program: Program | None, kind: str = "wrong-values",
             trace: Sequence[GateStep] = (), blame: str = "") -> None:
    bad = [k for k in range(len(names)) if not near(got[k], exp[k])]
    if not bad:
        return
    first = bad[0]
    comment = f"{names[first]}: expected {num(exp[first])}, got {num(got[first])}"
    code = f"\n{program.code(comment)}" if program is not None else ""
    wrong = ", ".join(names[k] for k in bad)
    raise CheckFailed(
        kind,
        f"{where}: {wrong} differ{'s' if len(bad) == 1 else ''} from {what}; {comment}."
        + (f" {blame}" if blame else "") + code,
        expected={names[k]: float(exp[k]) for k in range(len(names))},
        got={names[k]: (float(got[k]) if isinstance(got[k], (int, float)) else None)
             for k in range(len(names))},
        mismatches=[_mismatch(names[k], exp[k], got[k]) for k in bad],
        facts=Facts(where=where, value=wrong),
        trace=trace,
    )


def reject_detached(reply: dict[str, Any], program: Program) -> None:
    det = reply.get("detached") or {}
    if det:
        node = program.nodes[int(det["node"])]
        raise CheckFailed(
            "engine-detached",
            f"{node['code']} returned a {det['type']}, not a Value: the result is cut off "
            "from the graph, so no gradient can flow back through it."
            f"\n{program.code()}",
            facts=Facts(where=node["code"], value=str(det["type"])),
        )



def compare_numerical(where: str, names: Sequence[str], got: Sequence[Any],
                 numeric: Sequence[float], program: Program) -> None:
    """Centred differences carry an error of about STEP² and rounding over STEP."""
    tol = NUMERICAL_TOL["low" if _low() else "float64"]
    bad = [k for k in range(len(names)) if not isinstance(got[k], (int, float))
           or abs(float(got[k]) - numeric[k]) > tol * max(1.0, abs(numeric[k]))]
    if not bad:
        return
    k = bad[0]
    comment = f"{names[k]}: centred differences give {num(numeric[k])}, got {num(got[k])}"
    raise CheckFailed(
        "numerical",
        f"{where}: {', '.join(names[b] for b in bad)} disagree{'s' if len(bad) == 1 else ''} "
        "with centred differences of "
        f"your own forward; {comment}.\n{program.code(comment)}",
        expected={n: float(v) for n, v in zip(names, numeric)},
        got={n: (float(g) if isinstance(g, (int, float)) else None) for n, g in zip(names, got)},
        mismatches=[_mismatch(names[b], numeric[b], got[b]) for b in bad],
        facts=Facts(where=where, value=", ".join(names[b] for b in bad)),
    )


def steps_of(leaves: Sequence[float]) -> list[float]:
    step = STEP_LOW if _low() else STEP
    return [step * max(1.0, abs(x)) for x in leaves]


def nudged(leaves: Sequence[float]) -> list[list[float]]:
    """The leaf sets of centred differences: each leaf moved up, then down, by its step."""
    sets = []
    for k, h in enumerate(steps_of(leaves)):
        for sgn in (1, -1):
            moved = list(leaves)
            moved[k] += sgn * h
            sets.append(moved)
    return sets
