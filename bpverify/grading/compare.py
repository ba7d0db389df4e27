"""Element-by-element records of where a submission's values disagree with the oracle's.

The rule itself (when two numbers count as equal, by dtype) is :mod:`bpverify.closeness`; this
module turns its verdict into the result model's :class:`~bpverify.model.ElementMismatch`
records, whether the disagreement was found against the oracle or by the numerical check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bpverify.closeness import Tolerance, tolerance_for, working_dtype, wrong_elements
from bpverify.gradcheck import GradMismatch
from bpverify.model import MAX_RECORDED_MISMATCHES, ElementMismatch

# Tolerance, tolerance_for and working_dtype are re-exported for code written before the rule
# moved to bpverify.closeness; new code imports them from there.
__all__ = [
    "Tolerance",
    "compare_values",
    "element_mismatch",
    "mismatch_from_grad",
    "tolerance_for",
    "working_dtype",
]


def element_mismatch(name: str, index: tuple[int, ...], expected: float, got: float,
                     ) -> ElementMismatch:
    """One differing element, with CS231n's relative error ``|g - e| / (|g| + |e|)``."""
    ae = abs(got - expected)
    denom = abs(got) + abs(expected)
    return ElementMismatch(value=name, index=index, expected=expected, got=got, abs_error=ae,
                           rel_error=ae / denom if denom > 0 else 0.0)


def compare_values(
    name: str, got: Any, expected: Any, tol: Tolerance
) -> tuple[list[ElementMismatch], int]:
    """All elements of ``got`` that differ from ``expected`` beyond ``tol``.

    Returns the first :data:`MAX_RECORDED_MISMATCHES` mismatches (largest error first) and the
    total count.  Shapes must already agree; NaN and inf count as mismatches unless expected.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    err, bad = wrong_elements(g, e, tol)
    count = int(bad.sum())
    if not count:
        return [], 0
    g, e = np.broadcast_to(g, bad.shape), np.broadcast_to(e, bad.shape)
    idx = np.argwhere(bad)
    order = np.argsort(-np.nan_to_num(err[bad], nan=np.inf, posinf=np.inf), kind="stable")
    out = []
    for k in order[:MAX_RECORDED_MISMATCHES]:
        i = tuple(int(v) for v in idx[k])
        out.append(element_mismatch(name, i, float(e[i]), float(g[i])))
    return out, count


def mismatch_from_grad(m: GradMismatch, names: Sequence[str]) -> ElementMismatch:
    """The numerical check's record of one element as the result model's (``arg`` -> a name)."""
    return ElementMismatch(value=names[m.arg], index=tuple(m.index), expected=float(m.expected),
                           got=float(m.got), abs_error=float(m.abs_error),
                           rel_error=float(m.rel_error))


def mismatches_from_grad(found: Iterable[GradMismatch],
                         names: Sequence[str]) -> list[ElementMismatch]:
    return [mismatch_from_grad(m, names) for m in found]
