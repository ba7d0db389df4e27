"""THE closeness rule: when a submission's number counts as the number it should be.

Every comparison of bpverify uses it: the checks (against the oracle), the net's blame, the
circuit trace, the diagnoses and the SVG's "should be" notes.  One bound, element by element:

    |got - expected| <= rtol*|expected| + atol*scale + floor

where ``scale`` is the largest finite expected magnitude in the array.  A submission may compute
in float32 (CS231n's default dtype); the oracle is then re-evaluated on the same rounded inputs,
so only the submission's own arithmetic error remains.  That error is a few units in the last
place of the *largest* value the computation handles, not of each element, hence the ``atol *
scale`` term.  :data:`TOLERANCES` holds every tolerance there is, each with its reason.

Rule: numpy only; imports nothing of bpverify (it sits in the bottom layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "TOLERANCES",
    "Tolerance",
    "close",
    "scale_of",
    "tolerance_for",
    "working_dtype",
    "wrong_elements",
]


@dataclass(frozen=True)
class Tolerance:
    rtol: float  #: relative to the element itself
    atol: float  #: relative to the largest expected magnitude in the array
    floor: float  #: absolute, for arrays whose expected values are all (nearly) zero
    reason: str = ""

    def allows(self, error: Any, expected: Any, scale: float) -> Any:
        """``error <= bound`` element by element (NaN errors are never allowed)."""
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(error) <= (self.rtol * np.abs(expected) + self.atol * scale
                                         + self.floor)


def _by_eps(eps: float, reason: str) -> Tolerance:
    return Tolerance(rtol=max(1e-7, 2e3 * eps), atol=max(1e-9, 2e3 * eps), floor=1e3 * eps,
                     reason=reason)


#: Every tolerance bpverify uses, by name: one per floating dtype, and the named exceptions.
TOLERANCES: dict[str, Tolerance] = {
    "float64": _by_eps(
        float(np.finfo(np.float64).eps),
        "gates and layers of this size lose at most ~1e2 ulps (eps = 2.2e-16) to rounding, so "
        "1e-7 leaves five orders of magnitude of room yet still catches any real mistake, the "
        "smallest of which (a wrong constant factor) is off by tens of percent",
    ),
    "float32": _by_eps(
        float(np.finfo(np.float32).eps),
        "sums over D terms and exp/log chains lose up to ~1e2-1e3 ulps (eps = 1.2e-7), so "
        "~2e-4 relative to the array's scale",
    ),
    "float16": _by_eps(float(np.finfo(np.float16).eps), "as float32, scaled by its eps"),
    "pattern": Tolerance(
        rtol=1e-4, atol=1e-4, floor=1e-12,
        reason="a diagnosis recognises a mistake's pattern (a factor of 2 is 100% off) in "
               "values that may be float32: far looser than grading, yet tight enough that a "
               "pattern never matches by accident on random inputs",
    ),
}


def tolerance_for(dtype: np.dtype[Any] | type) -> Tolerance:
    """The tolerance of the precision the submission computed in (see :data:`TOLERANCES`)."""
    dt = np.dtype(dtype)
    known = _BY_DTYPE.get(dt)
    if known is None:  # (a grade asks thousands of times, for a few dtypes)
        known = TOLERANCES.get(dt.name) or _by_eps(float(np.finfo(dt).eps),
                                                   f"{dt.name}: as float32, scaled by its eps")
        _BY_DTYPE[dt] = known
    return known


_BY_DTYPE: dict[np.dtype[Any], Tolerance] = {}


def working_dtype(*values: Any) -> np.dtype[Any]:
    """The lowest floating precision among the submission's returned values (float64 if none)."""
    lowest: np.dtype[Any] | None = None
    for v in values:
        if v is None:
            continue
        dt = v.dtype if isinstance(v, (np.ndarray, np.generic)) else np.asarray(v).dtype
        # Floating dtypes: the fewer bytes, the coarser (float16 < float32 < float64 < longdouble).
        if dt.kind == "f" and (lowest is None or dt.itemsize < lowest.itemsize):
            lowest = dt
    return np.dtype(np.float64) if lowest is None else lowest


def scale_of(expected: Any) -> float:
    """The largest finite magnitude of ``expected`` (0 for none)."""
    e = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(e[np.isfinite(e)]), initial=0.0))


def wrong_elements(got: Any, expected: Any, tol: Tolerance) -> tuple[np.ndarray, np.ndarray]:
    """(|got - expected|, where they differ beyond ``tol``), element by element.

    NaN and inf count as wrong unless the expected value is the same special value.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g - e)
        same_special = (g == e) | (np.isnan(g) & np.isnan(e))
        bad = ~same_special & ~tol.allows(err, e, scale_of(e))
    return err, bad


def close(got: Any, expected: Any, tol: Tolerance | str | None = None) -> bool:
    """``got`` has ``expected``'s shape and every element within ``tol``.

    ``tol`` is a :class:`Tolerance`, a name in :data:`TOLERANCES`, or None for the tolerance of
    the precision ``got`` was computed in.  Values that are not numbers are never close.
    """
    try:
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != e.shape:
        return False
    if tol is None:
        tol = tolerance_for(working_dtype(got))
    elif isinstance(tol, str):
        tol = TOLERANCES[tol]
    return not wrong_elements(g, e, tol)[1].any()
