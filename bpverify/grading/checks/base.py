"""What every check shares: the verdict exception, the check record and the judging helpers.

A check draws a case from a Hypothesis strategy, asks the executor to run a scenario on the
submission, and judges the plain data that comes back.  It raises :class:`CheckFailed` with
everything a report needs; the engine lets Hypothesis shrink that to a minimal example.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.contract import check_numeric
from bpverify.grading.compare import Tolerance, compare_values, tolerance_for, working_dtype
from bpverify.model import ElementMismatch, GateStep
from bpverify.submission import Executor

Case = dict[str, Any]


class CheckFailed(Exception):
    """A check's verdict on one example, with what the report needs to explain it."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        expected: dict[str, Any] | None = None,
        got: dict[str, Any] | None = None,
        mismatches: Sequence[ElementMismatch] = (),
        count: int = 0,
        trace: Sequence[GateStep] = (),
    ) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message
        self.expected, self.got = expected, got
        self.mismatches, self.count, self.trace = tuple(mismatches), count, tuple(trace)


@dataclass(frozen=True)
class Check:
    """One named property of an item.  ``run`` returns False when an example was not judged."""

    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Executor, Any], bool | None]
    doc: str = ""
    #: Why a check that judged no example at all was skipped.
    unjudged: str = ("this check uses your forward, which is wrong on every example "
                     "(see the forward check)")


# --- shared judging helpers ------------------------------------------------------------------


def rounded(v: Any, dtype: np.dtype[Any]) -> Any:
    """v as the submission saw it after rounding to its working precision."""
    if dtype == np.float64:
        return v
    return np.asarray(v).astype(dtype).astype(np.float64)


def expect_shape(value: Any, shape: tuple[int, ...], name: str, where: str, hint: str) -> None:
    check_numeric(value, f"{where} ({name})")
    got = np.shape(value)
    if got != shape:
        raise CheckFailed(
            "wrong-shape",
            f"{where} returned {name} of shape {got}; expected shape {shape} ({hint})",
        )


def expect_finite(value: Any, name: str, where: str) -> None:
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        what = "nan" if np.isnan(arr[idx]) else "inf"
        raise CheckFailed(
            "not-finite",
            f"{where} returned {name} containing {what}"
            + (f" at index {idx}" if idx else "")
            + f" ({int(bad.sum())} of {arr.size} elements are not finite). "
            "Large inputs overflow exp(); a stable formula avoids it.",
        )


def judge(
    where: str,
    names: Sequence[str],
    got: Sequence[Any],
    expected: Sequence[Any],
    tol: Tolerance,
    what: str,
) -> None:
    """Raise CheckFailed listing every element of every value that disagrees."""
    mismatches: list[ElementMismatch] = []
    count = 0
    for name, g, e in zip(names, got, expected):
        m, c = compare_values(name, g, e, tol)
        mismatches += m
        count += c
    if count:
        wrong = sorted({m.value for m in mismatches}, key=list(names).index)
        raise CheckFailed(
            "wrong-values",
            f"{where}: {', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from {what} "
            f"in {count} element{'s' if count != 1 else ''}; largest: {mismatches[0].describe()}",
            expected={n: to_plain(e) for n, e in zip(names, expected)},
            got={n: to_plain(g) for n, g in zip(names, got)},
            mismatches=mismatches,
            count=count,
        )


def to_plain(v: Any) -> Any:
    """Nested lists and floats, for the result model and reports."""
    if isinstance(v, dict):
        return {k: to_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    a = np.asarray(v)
    if a.dtype.kind in "iu":  # labels and dimensions stay integers
        return a.tolist()
    if a.dtype.kind == "f":
        return a.astype(np.float64).tolist()
    return repr(v)


def plain_case(case: Any) -> Any:
    return to_plain(case)


def judge_unmodified(
    where: str, names: Sequence[str], before: Sequence[Any], after: Sequence[Any], role: str
) -> None:
    for name, b, a in zip(names, before, after):
        if not isinstance(b, np.ndarray):
            continue
        a = np.asarray(a)
        changed = a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)
        if changed:
            n = int((a != b).sum()) if a.shape == b.shape else b.size
            advice = (
                "A gradient that flows to several places (an add gate hands the same array "
                "to both of its inputs) is then corrupted; compute into a new array instead."
                if role == "upstream gradient"
                else "The caller still needs it; work on a copy instead."
            )
            raise CheckFailed(
                "mutates-input",
                f"{where} modified its {role} {name} in place ({n} of {b.size} elements "
                f"changed). {advice}",
                expected={name: to_plain(b)},
                got={name: to_plain(a)},
            )


def raise_numerical(where: str, names: Sequence[str], result: Any) -> None:
    mismatches = [
        ElementMismatch(
            value=names[m.arg],
            index=tuple(m.index),
            expected=float(m.expected),
            got=float(m.got),
            abs_error=float(m.abs_error),
            rel_error=float(m.rel_error),
        )
        for m in result.mismatches
    ]
    first = mismatches[0].describe() if mismatches else ""
    raise CheckFailed(
        "numerical",
        f"{where} disagrees with centred differences of your own forward in "
        f"{len(mismatches)} element{'s' if len(mismatches) != 1 else ''}; largest: {first}",
        mismatches=mismatches[:20],
        count=len(mismatches),
    )


def case_seed(case: Case) -> int:
    return zlib.crc32(repr(plain_case(case)).encode()) & 0x7FFFFFFF


def judge_numerical(
    where: str,
    names: Sequence[str],
    f: Callable[..., Any],
    args: Sequence[Any],
    grads: Sequence[Any],
    case: Case,
) -> None:
    from bpverify.gradcheck import check_gradient

    # A submission whose gradients are float32 computes in float32, even where it hands back a
    # float64 loss (a float64 regularizer added to a float32 data loss): say so.
    dtype = working_dtype(*grads)
    precision = None if dtype == np.float64 else str(dtype)
    result = check_gradient(f, list(args), list(grads), seed=case_seed(case), precision=precision)
    # The claimed gradients carry their own rounding error, a few ulps of the largest gradient
    # in the submission's precision (float32: ~1e-7 relative), which the difference quotient's
    # error bound does not include: judge what remains by the same dtype table as the oracle.
    tol = tolerance_for(dtype)
    scale = max((float(np.max(np.abs(g), initial=0.0)) for g in grads), default=0.0)
    real = [m for m in result.mismatches
            if not abs(m.got - m.expected) <= tol.rtol * abs(m.expected) + tol.atol * scale
            + tol.floor]
    if real:
        raise_numerical(where, names, replace(result, mismatches=tuple(real)))


def weighted_sum(out: Any, dout: Any) -> Any:
    """sum(out * dout) in the precision ``out`` was computed in (the scalar to differentiate)."""
    arr = np.asarray(out)
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return dtype.type(np.sum(arr.astype(np.float64) * dout))



def nearby(case: Case, names: Sequence[str]) -> Case:
    """The case with the named inputs moved a little, deterministically.

    The numerical checks differentiate the submission's own forward.  Being right at one point
    does not make a forward right nearby (a missing bias is invisible at b = 0), so a forward is
    trusted only where it is right at both points.
    """
    rng = np.random.default_rng(case_seed(case))
    moved = dict(case)
    for n in names:
        v = case[n]
        shift = rng.uniform(0.05, 0.3, np.shape(v)) * rng.choice([-1.0, 1.0], np.shape(v))
        moved[n] = float(v + shift) if isinstance(v, float) else np.asarray(v) + shift
    return moved


