"""Judging an engine's numbers: the comparisons that raise :class:`CheckFailed` with facts.

The engines compute with Python floats, so the float64 tolerance of the closeness rule applies;
the numerical comparisons allow centred differences their own error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bpverify.closeness import tolerance_for
from bpverify.families.engines.checks.programs import Program
from bpverify.grading.checks.base import CheckFailed
from bpverify.model import ElementMismatch, Facts, GateStep

__all__ = [
    "STEP",
    "compare",
    "compare_numerical",
    "near",
    "nudged",
    "num",
    "reject_detached",
    "steps_of",
]

_TOL = tolerance_for(float)  # the engines compute with Python floats: float64 tolerances
#: Step of the centred differences through the engine's forward, relative to the leaf.
STEP = 1e-6


def near(got: Any, exp: float) -> bool:
    """``got`` is a number within the closeness rule's float64 tolerance of ``exp`` (one
    scalar: its absolute term is taken at scale 1); nan, inf and non-numbers never are."""
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return bool(_TOL.allows(abs(float(got) - exp), exp, 1.0))


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
    bad = [k for k in range(len(names)) if not isinstance(got[k], (int, float))
           or abs(float(got[k]) - numeric[k]) > 1e-4 * max(1.0, abs(numeric[k]))]
    if not bad:
        return
    k = bad[0]
    comment = f"{names[k]}: centred differences give {num(numeric[k])}, got {num(got[k])}"
    raise CheckFailed(
        "numerical",
        f"{where}: {', '.join(names[b] for b in bad)} disagree with centred differences of "
        f"your own forward; {comment}.\n{program.code(comment)}",
        expected={n: float(v) for n, v in zip(names, numeric)},
        got={n: (float(g) if isinstance(g, (int, float)) else None) for n, g in zip(names, got)},
        mismatches=[_mismatch(names[b], numeric[b], got[b]) for b in bad],
        facts=Facts(where=where, value=", ".join(names[b] for b in bad)),
    )


def steps_of(leaves: Sequence[float]) -> list[float]:
    return [STEP * max(1.0, abs(x)) for x in leaves]


def nudged(leaves: Sequence[float]) -> list[list[float]]:
    """The leaf sets of centred differences: each leaf moved up, then down, by its step."""
    sets = []
    for k, h in enumerate(steps_of(leaves)):
        for sgn in (1, -1):
            moved = list(leaves)
            moved[k] += sgn * h
            sets.append(moved)
    return sets
