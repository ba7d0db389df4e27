"""Element-by-element comparison of a submission's values with the oracle's, by dtype.

A submission may compute in float32 (CS231n's default dtype).  Its inputs are then rounded to
float32 before any arithmetic, so the oracle is re-evaluated on the same rounded inputs (in
float64) and only the submission's own arithmetic error remains.  That error is a few units in
the last place of the *largest* value the computation handles, not of each element, hence the
bound below: ``|got - expected| <= rtol*|expected| + atol*scale + floor`` where ``scale`` is the
largest expected magnitude in the array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpverify.model import MAX_RECORDED_MISMATCHES, ElementMismatch

__all__ = ["Tolerance", "compare_values", "tolerance_for", "working_dtype"]


@dataclass(frozen=True)
class Tolerance:
    rtol: float  #: relative to the element itself
    atol: float  #: relative to the largest expected magnitude in the array
    floor: float  #: absolute, for arrays whose expected values are all (nearly) zero


def tolerance_for(dtype: np.dtype[Any] | type) -> Tolerance:
    """Tolerances keyed by the precision the submission computed in.

    float64: gates and layers of this size lose at most ~1e2 ulps (eps = 2.2e-16) to rounding,
    so 1e-7 leaves five orders of magnitude of room yet still catches any real mistake, the
    smallest of which (a wrong constant factor) is off by tens of percent.
    float32 (eps = 1.2e-7): sums over D terms and exp/log chains lose up to ~1e2-1e3 ulps, so
    ~2e-4 relative to the array's scale.
    """
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return Tolerance(rtol=max(1e-7, 2e3 * eps), atol=max(1e-9, 2e3 * eps), floor=1e3 * eps)


def working_dtype(*values: Any) -> np.dtype[Any]:
    """The lowest floating precision among the submission's returned values (float64 if none)."""
    dtypes = [
        np.asarray(v).dtype
        for v in values
        if v is not None and np.issubdtype(np.asarray(v).dtype, np.floating)
    ]
    if not dtypes:
        return np.dtype(np.float64)
    return max(dtypes, key=lambda d: np.finfo(d).eps)


def compare_values(
    name: str, got: Any, expected: Any, tol: Tolerance
) -> tuple[list[ElementMismatch], int]:
    """All elements of ``got`` that differ from ``expected`` beyond ``tol``.

    Returns the first :data:`MAX_RECORDED_MISMATCHES` mismatches (largest error first) and the
    total count.  Shapes must already agree; NaN and inf count as mismatches unless expected.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g - e)
        bound = tol.rtol * np.abs(e) + tol.atol * scale + tol.floor
        same_special = (g == e) | (np.isnan(g) & np.isnan(e))
        bad = ~same_special & ~(err <= bound)
    count = int(bad.sum())
    if not count:
        return [], 0
    idx = np.argwhere(bad)
    order = np.argsort(-np.nan_to_num(err[bad], nan=np.inf, posinf=np.inf), kind="stable")
    out = []
    for k in order[:MAX_RECORDED_MISMATCHES]:
        i = tuple(int(v) for v in idx[k])
        gi, ei = float(g[i]), float(e[i])
        ae = abs(gi - ei)
        denom = abs(gi) + abs(ei)
        out.append(
            ElementMismatch(
                value=name,
                index=i,
                expected=ei,
                got=gi,
                abs_error=ae,
                rel_error=ae / denom if denom > 0 else 0.0,
            )
        )
    return out, count
